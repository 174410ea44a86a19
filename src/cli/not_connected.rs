//! Why StartSession answered TargetNotConnected, in one sentence: SSM's own message ("i-… is not
//! connected.") says nothing a user can act on, while the inventory entry that resolved TARGET
//! already holds the agent's health, which the diagnosis turns into a reason and what to do.
//! A session lost mid-way has its own sentence (src/channel/lost.rs).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::aws;
use crate::diagnosis::{self, Verdict};
use crate::model::Instance;

use super::Failure;
use super::connect::Resolved;

/// The error code StartSession (and ResumeSession) answer for an agent that cannot take one.
const NOT_CONNECTED: &str = "TargetNotConnected";
/// How long the inventory may take when TARGET was an id and was not looked up before: this is
/// an error path, and the endpoint itself may be what went away.
const LOOK_UP_LIMIT: Duration = Duration::from_secs(5);

/// The failure to report for `error`: explained when it is TargetNotConnected, else as it is.
pub(super) async fn explain(resolved: &Resolved, target: &str, error: String) -> Failure {
    if !error.contains(NOT_CONNECTED) {
        return Failure::Other(error);
    }
    let instance = match &resolved.instance {
        Some(instance) => Some(instance.clone()),
        None => look_up(resolved).await,
    };
    Failure::Other(sentence(
        instance.as_ref(),
        &resolved.instance_id,
        target,
        Utc::now(),
    ))
}

/// The inventory entry of the resolved instance, read from its own profile and region.
async fn look_up(resolved: &Resolved) -> Option<Instance> {
    let clients = std::slice::from_ref(&resolved.clients);
    let inventory = tokio::time::timeout(LOOK_UP_LIMIT, aws::inventory::fetch(clients))
        .await
        .ok()?;
    inventory
        .instances
        .into_iter()
        .find(|i| i.instance_id == resolved.instance_id)
}

fn sentence(
    instance: Option<&Instance>,
    instance_id: &str,
    target: &str,
    now: DateTime<Utc>,
) -> String {
    let doctor = format!("`fleetdeck doctor {target}`");
    let Some(instance) = instance else {
        return format!(
            "{instance_id} is not connected to Session Manager (its agent is stopped, unreachable \
             or not registered) and its inventory entry could not be read: run {doctor} to see why."
        );
    };
    let who = format!("{} ({})", instance.display_name(), instance.instance_id);
    let diagnosis = diagnosis::diagnose(instance, now);
    match diagnosis.headline() {
        Some(step) if step.verdict == Verdict::Fail => format!(
            "Session Manager says {who} is not connected: {} Run {doctor} for every check.",
            step.sentence
        ),
        // The inventory saw a healthy agent a moment ago: it has only just gone away.
        _ => format!(
            "{who} is not connected to Session Manager although its agent was {} when the fleet \
             was read: it may have just lost its connection; run {doctor} to check it again.",
            instance.ping_status
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstanceState, PingStatus, PlatformType};

    fn instance(ping: PingStatus, last_ping: Option<DateTime<Utc>>) -> Instance {
        Instance {
            instance_id: "i-0988".into(),
            name: Some("web-prod-4".into()),
            profile: "default".into(),
            region: "us-east-1".into(),
            state: InstanceState::Running,
            ping_status: ping,
            last_ping,
            agent_version: Some("3.3.987.0".into()),
            agent_is_latest: Some(true),
            platform_type: PlatformType::Linux,
            platform: "Ubuntu 22.04".into(),
            private_ip: None,
            public_ip: None,
            instance_type: None,
            availability_zone: None,
            iam_instance_profile: None,
            computer_name: None,
            launch_time: None,
            tags: Default::default(),
            managed: true,
        }
    }

    #[test]
    fn a_lost_agent_is_named_with_since_when_and_what_to_do() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T09:18:00Z")
            .expect("literal time")
            .with_timezone(&Utc);
        let since = now - chrono::Duration::hours(2);
        let lost = instance(PingStatus::ConnectionLost, Some(since));
        let s = sentence(Some(&lost), "i-0988", "web-prod-4", now);
        assert!(
            s.starts_with(
                "Session Manager says web-prod-4 (i-0988) is not connected: ConnectionLost since \
                 2026-11-26 07:18 UTC"
            ),
            "{s}"
        );
        assert!(s.contains("amazon-ssm-agent"), "{s}");
        assert!(
            s.ends_with("Run `fleetdeck doctor web-prod-4` for every check."),
            "{s}"
        );
    }

    #[test]
    fn an_agent_seen_online_or_unknown_still_points_to_doctor() {
        let now = Utc::now();
        let online = instance(PingStatus::Online, Some(now));
        let s = sentence(Some(&online), "i-0988", "web", now);
        assert!(s.contains("although its agent was Online"), "{s}");
        assert!(s.contains("`fleetdeck doctor web`"), "{s}");
        let s = sentence(None, "i-0988", "i-0988", now);
        assert!(s.starts_with("i-0988 is not connected"), "{s}");
        assert!(s.contains("`fleetdeck doctor i-0988`"), "{s}");
    }
}
