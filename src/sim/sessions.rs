//! Session Manager's session APIs (StartSession, ResumeSession, TerminateSession) and the table of
//! live sessions the WebSocket gateway and the simulated agent share (ssm-protocol.md §1).
//!
//! Choices (docs/simulator.md): every StartSession/ResumeSession issues a new random token and
//! only the newest one opens a data channel; an unknown or unconnectable target is
//! `TargetNotConnected` ("<target> is not connected."), which is the only target error the
//! StartSession model lists. Served documents: `SSM-SessionManagerRunShell` and the port documents
//! (`AWS-StartPortForwardingSession`, `AWS-StartPortForwardingSessionToRemoteHost`,
//! `AWS-StartSSHSession`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::agent::port::PortSpec;
use super::api::{ApiError, JsonInput};
use super::fleet::{ACCOUNT_ID, Health, SimInstance};
use super::gateway::Socket;
use super::ssm::SessionRecord;
use super::state::SimState;

pub(crate) const SHELL_DOCUMENT: &str = "SSM-SessionManagerRunShell";
pub(crate) const PORT_DOCUMENT: &str = "AWS-StartPortForwardingSession";
pub(crate) const REMOTE_HOST_DOCUMENT: &str = "AWS-StartPortForwardingSessionToRemoteHost";
pub(crate) const SSH_DOCUMENT: &str = "AWS-StartSSHSession";
/// Where session transcripts go (the account's session preferences in AWS; fixed here).
pub(crate) const LOG_GROUP: &str = "/fleetdeck/sessions";

/// One session the gateway may still connect.
#[derive(Debug)]
pub(crate) struct Live {
    pub region: String,
    pub target: String,
    pub token: String,
    /// Set once the agent task runs: new WebSockets for this session go there.
    pub attach: Option<mpsc::Sender<Socket>>,
    /// Cancelled by TerminateSession.
    pub cancel: CancellationToken,
    /// Cancelled when the instance's agent goes ConnectionLost ([`lose_agent`]): the agent
    /// vanishes without a `channel_closed`.
    pub lost: CancellationToken,
    /// Port documents: what to forward to.
    pub port: Option<PortSpec>,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    live: Mutex<HashMap<String, Live>>,
    /// Every (TokenValue, StreamUrl) handed out, so tests can prove they leak nowhere.
    issued: Mutex<Vec<(String, String)>>,
}

impl Registry {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_issued(&self, token: &str, url: &str) {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((token.to_string(), url.to_string()));
    }

    pub(crate) fn issued(&self) -> Vec<(String, String)> {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The caller's name as it appears in session ids and the owner ARN: the access key id.
pub(crate) fn caller_name(access_key: &str) -> String {
    let name: String = access_key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@'))
        .take(60)
        .collect();
    if name.is_empty() { "user".into() } else { name }
}

pub(crate) fn owner_arn(caller: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:user/{caller}")
}

fn new_session_id(caller: &str) -> String {
    let mut rng = rand::rng();
    let suffix: String = (0..17)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!("{caller}-{suffix}")
}

fn new_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 96];
    rand::rng().fill(&mut bytes[..]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn new_cell_number() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn not_connected(target: &str) -> ApiError {
    ApiError::client("TargetNotConnected", format!("{target} is not connected."))
}

/// Whether the simulated agent on this instance can take a session.
pub(crate) fn can_connect(inst: &SimInstance) -> bool {
    matches!(
        inst.health,
        Health::Online | Health::OutdatedAgent | Health::Hybrid
    ) && inst.ssm.is_some()
}

fn stream_url(state: &SimState, session_id: &str) -> String {
    format!(
        "ws://{}/v1/data-channel/{session_id}?role=publish_subscribe&cell-number={}",
        state.addr(),
        new_cell_number()
    )
}

fn required<'a>(input: &JsonInput<'a>, key: &str, member: &str) -> Result<&'a str, ApiError> {
    input
        .str(key)?
        .ok_or_else(|| ApiError::validation("null", member, "Member must not be null"))
}

pub(crate) fn handle(
    state: &SimState,
    region: &str,
    caller: &str,
    operation: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    match operation {
        "StartSession" => start_session(state, region, caller, input),
        "ResumeSession" => resume_session(state, region, input),
        "TerminateSession" => terminate_session(state, region, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("AmazonSSM.{other} is not an operation the simulator answers"),
        )),
    }
}

fn start_session(
    state: &SimState,
    region: &str,
    caller: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let target = required(input, "Target", "target")?;
    if target.is_empty() || target.len() > 400 {
        return Err(ApiError::validation(
            &format!("'{target}'"),
            "target",
            "Member must have length between 1 and 400",
        ));
    }
    let document = input.str("DocumentName")?.unwrap_or(SHELL_DOCUMENT);
    let port = port_spec(document, input)?;
    let reason = input.str("Reason")?.map(str::to_string);
    let inst = state
        .fleet
        .iter()
        .find(|i| i.id == target && i.region == region)
        .ok_or_else(|| not_connected(target))?;
    if !can_connect(inst) || state.lock().lost_agents.contains_key(target) {
        return Err(not_connected(target));
    }
    let session_id = new_session_id(&caller_name(caller));
    let token = new_token();
    let url = stream_url(state, &session_id);
    state.upsert_session(SessionRecord {
        region: region.to_string(),
        session_id: session_id.clone(),
        target: target.to_string(),
        status: "Connecting".into(),
        start_date: Utc::now(),
        end_date: None,
        document_name: Some(document.to_string()),
        owner: owner_arn(&caller_name(caller)),
        reason,
        details: None,
        max_session_duration: None,
        cloudwatch_output_url: None,
    });
    state.live.lock().insert(
        session_id.clone(),
        Live {
            region: region.to_string(),
            target: target.to_string(),
            token: token.clone(),
            attach: None,
            cancel: CancellationToken::new(),
            lost: CancellationToken::new(),
            port,
        },
    );
    state.live.record_issued(&token, &url);
    Ok(json!({"SessionId": session_id, "TokenValue": token, "StreamUrl": url}))
}

/// The port a document's Parameters ask for; `None` for the shell document.
fn port_spec(document: &str, input: &JsonInput) -> Result<Option<PortSpec>, ApiError> {
    let (forwarding, remote) = match document {
        SHELL_DOCUMENT => return Ok(None),
        PORT_DOCUMENT => (true, false),
        REMOTE_HOST_DOCUMENT => (true, true),
        SSH_DOCUMENT => (false, false),
        other => {
            return Err(ApiError::client(
                "InvalidDocument",
                format!("Document {other} is not supported by the simulator."),
            ));
        }
    };
    let params = input.object("Parameters")?;
    let param = |name: &str| -> Option<String> {
        params
            .as_ref()?
            .strings(name)
            .ok()??
            .first()
            .map(|v| v.to_string())
    };
    let invalid = |why: String| ApiError::client("InvalidDocument", why);
    let port = match param("portNumber") {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(format!("portNumber {p} is not a valid port.")))?,
        None if document == SSH_DOCUMENT => 22,
        None => {
            return Err(invalid(format!(
                "{document} requires the portNumber parameter."
            )));
        }
    };
    let host = param("host");
    if remote && host.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(format!("{document} requires the host parameter.")));
    }
    Ok(Some(PortSpec {
        host: if remote { host } else { None },
        port,
        local_port: param("localPortNumber"),
        forwarding,
    }))
}

fn does_not_exist(id: &str) -> ApiError {
    ApiError::client(
        "DoesNotExistException",
        format!("Session with id {id} does not exist or is already terminated."),
    )
}

fn resume_session(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let id = required(input, "SessionId", "sessionId")?;
    let token = new_token();
    {
        let mut live = state.live.lock();
        let entry = live
            .get_mut(id)
            .filter(|l| l.region == region && !l.cancel.is_cancelled() && !l.lost.is_cancelled())
            .ok_or_else(|| does_not_exist(id))?;
        entry.token = token.clone();
    }
    let url = stream_url(state, id);
    state.live.record_issued(&token, &url);
    Ok(json!({"SessionId": id, "TokenValue": token, "StreamUrl": url}))
}

fn terminate_session(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let id = required(input, "SessionId", "sessionId")?;
    let found = {
        let live = state.live.lock();
        match live.get(id).filter(|l| l.region == region) {
            Some(l) => {
                l.cancel.cancel();
                l.attach.is_some()
            }
            None => false,
        }
    };
    if !found {
        // Never attached (or already over): end it here; terminating twice is not an error.
        let removed = state.live.lock().remove(id);
        if removed.is_some() {
            mark_terminated(state, id, None);
        }
    }
    Ok(json!({ "SessionId": id }))
}

/// The agent on `instance` stops answering, as when an instance loses its network or its agent
/// dies: from now on DescribeInstanceInformation reports it ConnectionLost (last ping = now),
/// StartSession answers TargetNotConnected, and each of its open sessions ends without a
/// `channel_closed`: the client's WebSocket breaks and ResumeSession finds no session
/// (DoesNotExistException). Returns how many sessions were open, or `None` when SSM does not
/// know the instance.
pub(crate) fn lose_agent(state: &SimState, instance: &str) -> Option<usize> {
    let inst = state.fleet.iter().find(|i| i.id == instance)?;
    inst.ssm.as_ref()?;
    state
        .lock()
        .lost_agents
        .entry(instance.to_string())
        .or_insert_with(Utc::now);
    let mut ended = Vec::new();
    let open = {
        let mut live = state.live.lock();
        let mut open = 0;
        live.retain(|id, l| {
            if l.target != instance {
                return true;
            }
            open += 1;
            l.lost.cancel();
            // No agent task yet: nothing else will end this session.
            if l.attach.is_none() {
                ended.push(id.clone());
                return false;
            }
            true
        });
        open
    };
    for id in ended {
        mark_terminated(state, &id, None);
    }
    Some(open)
}

/// Moves a session to History; `logged` = its transcript went to CloudWatch Logs.
pub(crate) fn mark_terminated(state: &SimState, id: &str, logged: Option<&str>) {
    let mut inner = state.lock();
    if let Some(s) = inner.sessions.iter_mut().find(|s| s.session_id == id) {
        s.status = "Terminated".into();
        s.end_date = Some(Utc::now());
        if let Some(region) = logged {
            s.cloudwatch_output_url = Some(format!(
                "https://console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={LOG_GROUP};stream={id}"
            ));
        }
    }
}

pub(crate) fn mark_connected(state: &SimState, id: &str) {
    let mut inner = state.lock();
    if let Some(s) = inner.sessions.iter_mut().find(|s| s.session_id == id)
        && s.status != "Terminated"
    {
        s.status = "Connected".into();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::faults::FaultSpec;
    use crate::sim::fleet::{FleetSpec, generate_fleet};

    fn state() -> SimState {
        let fleet = generate_fleet(&FleetSpec {
            instances: 60,
            seed: 1,
            regions: vec!["us-east-1".into()],
            start: Utc::now(),
        });
        let s = SimState::new(
            fleet,
            vec!["us-east-1".into()],
            FaultSpec::default(),
            1,
            Utc::now(),
        );
        s.set_addr("127.0.0.1:9".parse().unwrap());
        s
    }

    fn call(state: &SimState, op: &str, body: Value) -> Result<Value, ApiError> {
        handle(
            state,
            "us-east-1",
            "ana",
            op,
            &JsonInput::new(body.as_object().unwrap()),
        )
    }

    #[test]
    fn start_session_answers_like_aws() {
        let s = state();
        let online = s.fleet.iter().find(|i| i.health == Health::Online).unwrap();
        let out = call(&s, "StartSession", json!({"Target": online.id})).unwrap();
        let id = out["SessionId"].as_str().unwrap();
        assert!(id.starts_with("ana-") && id.len() == 4 + 17, "{id}");
        let url = out["StreamUrl"].as_str().unwrap();
        assert!(url.starts_with(&format!(
            "ws://127.0.0.1:9/v1/data-channel/{id}?role=publish_subscribe&cell-number="
        )));
        assert!(!out["TokenValue"].as_str().unwrap().is_empty());

        let resumed = call(&s, "ResumeSession", json!({"SessionId": id})).unwrap();
        assert_ne!(resumed["TokenValue"], out["TokenValue"]);
        call(&s, "TerminateSession", json!({"SessionId": id})).unwrap();
        let e = call(&s, "ResumeSession", json!({"SessionId": id})).unwrap_err();
        assert_eq!(e.code, "DoesNotExistException");
        assert_eq!(s.lock().sessions[0].status, "Terminated");
    }

    #[test]
    fn a_lost_agent_is_connection_lost_and_takes_no_session() {
        let s = state();
        let online = s.fleet.iter().find(|i| i.health == Health::Online).unwrap();
        let id = online.id.clone();
        let out = call(&s, "StartSession", json!({"Target": id})).unwrap();
        let session = out["SessionId"].as_str().unwrap().to_string();

        assert_eq!(lose_agent(&s, &id), Some(1));
        assert_eq!(lose_agent(&s, "i-0000000000000dead"), None);
        // Never attached, so nothing else will end it: it is over now.
        assert_eq!(s.lock().sessions[0].status, "Terminated");
        let e = call(&s, "ResumeSession", json!({"SessionId": session})).unwrap_err();
        assert_eq!(e.code, "DoesNotExistException");
        let e = call(&s, "StartSession", json!({"Target": id})).unwrap_err();
        assert_eq!(e.code, "TargetNotConnected");

        let filter = json!({"Filters": [{"Key": "InstanceIds", "Values": [id]}]});
        let inner = s.lock();
        let info = crate::sim::ssm::handle(
            &s.fleet,
            &inner.sessions,
            &inner.lost_agents,
            "us-east-1",
            "DescribeInstanceInformation",
            &JsonInput::new(filter.as_object().unwrap()),
        )
        .unwrap();
        let row = &info["InstanceInformationList"][0];
        assert_eq!(row["PingStatus"], "ConnectionLost");
        let since = inner.lost_agents[&id].timestamp_millis() as f64 / 1000.0;
        assert_eq!(row["LastPingDateTime"].as_f64().unwrap(), since);
    }

    #[test]
    fn start_session_errors() {
        let s = state();
        for health in [Health::ConnectionLost, Health::Stopped, Health::Unmanaged] {
            let Some(inst) = s.fleet.iter().find(|i| i.health == health) else {
                continue;
            };
            let e = call(&s, "StartSession", json!({"Target": inst.id})).unwrap_err();
            assert_eq!(e.code, "TargetNotConnected", "{health:?}");
            assert_eq!(e.message, format!("{} is not connected.", inst.id));
        }
        let e = call(&s, "StartSession", json!({"Target": "i-0000000000000dead"})).unwrap_err();
        assert_eq!(e.code, "TargetNotConnected");
        let e = call(&s, "StartSession", json!({})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let online = s.fleet.iter().find(|i| i.health == Health::Online).unwrap();
        let e = call(
            &s,
            "StartSession",
            json!({"Target": online.id, "DocumentName": "Nope"}),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidDocument");
        let e = call(&s, "ResumeSession", json!({"SessionId": "ana-1"})).unwrap_err();
        assert_eq!(e.code, "DoesNotExistException");
    }
}
