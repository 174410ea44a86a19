//! Why a session could not be resumed, in one sentence: when the data channel breaks for good,
//! SSM is asked whether the instance's agent is still connected, so a session on an agent that
//! went ConnectionLost says that (and what to do) instead of a bare "could not be resumed".

use std::time::Duration;

use aws_sdk_ssm::types::InstanceInformationStringFilter;

/// How long the question may take: the endpoint itself may be what went away.
const ASK_LIMIT: Duration = Duration::from_secs(3);

/// The sentence for a session that could not be resumed on `instance`.
pub(crate) async fn unresumable_reason(
    ssm: &aws_sdk_ssm::Client,
    instance: &str,
    session_id: &str,
) -> String {
    match tokio::time::timeout(ASK_LIMIT, agent_status(ssm, instance)).await {
        Ok(Some((status, last_ping))) if status != "Online" => {
            lost_sentence(instance, &status, last_ping, session_id)
        }
        _ => format!("Session {session_id} could not be resumed after the connection dropped."),
    }
}

/// PingStatus and LastPingDateTime (epoch seconds) of `instance`, if SSM answers.
async fn agent_status(ssm: &aws_sdk_ssm::Client, instance: &str) -> Option<(String, Option<i64>)> {
    let filter = InstanceInformationStringFilter::builder()
        .key("InstanceIds")
        .values(instance)
        .build()
        .ok()?;
    let out = ssm
        .describe_instance_information()
        .filters(filter)
        .send()
        .await
        .ok()?;
    let info = out.instance_information_list().first()?;
    let status = info.ping_status()?.as_str().to_string();
    Some((status, info.last_ping_date_time().map(|t| t.secs())))
}

fn lost_sentence(instance: &str, status: &str, last_ping: Option<i64>, session_id: &str) -> String {
    let since = last_ping
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| format!(" since {} UTC", t.format("%H:%M:%S")))
        .unwrap_or_default();
    format!(
        "{instance} has been {status}{since}: its SSM agent stopped answering, so session \
         {session_id} ended and cannot be resumed. Run `fleetdeck doctor {instance}` to see when \
         it is back."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_names_the_instance_the_agent_and_what_to_do() {
        let s = lost_sentence(
            "i-0abc",
            "ConnectionLost",
            Some(3600 * 2 + 14 * 60),
            "ana-1",
        );
        assert_eq!(
            s,
            "i-0abc has been ConnectionLost since 02:14:00 UTC: its SSM agent stopped answering, \
             so session ana-1 ended and cannot be resumed. Run `fleetdeck doctor i-0abc` to see \
             when it is back."
        );
        assert!(!lost_sentence("i-0abc", "Inactive", None, "s").contains("since"));
    }
}
