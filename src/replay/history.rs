//! Session history: DescribeSessions (Active and History, every page) across (profile, region)
//! targets, filtered, joined with host names from the inventory and with where each session's
//! log is (from `OutputUrl`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::logs::LogSource;
use crate::aws::{AwsError, Clients, InventoryProblem};
use crate::model::Instance;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Active,
    History,
}

impl SessionState {
    fn api(self) -> aws_sdk_ssm::types::SessionState {
        match self {
            SessionState::Active => aws_sdk_ssm::types::SessionState::Active,
            SessionState::History => aws_sdk_ssm::types::SessionState::History,
        }
    }
}

/// What to list. `states` empty = both; `owner` is an ARN (sent to the API) or a part of one
/// (matched here); times bound the start.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub states: Vec<SessionState>,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub status: Option<String>,
    pub session_id: Option<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

/// Where a session's log is, as its `OutputUrl` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLocation {
    /// CloudWatch Logs group and stream, when the URL names them.
    pub cloudwatch: Option<LogSource>,
    pub cloudwatch_url: Option<String>,
    pub s3_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub owner: String,
    pub target: String,
    pub host_name: Option<String>,
    pub profile: String,
    pub region: String,
    pub state: SessionState,
    pub status: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub document: Option<String>,
    pub reason: Option<String>,
    pub log: Option<LogLocation>,
}

impl SessionSummary {
    /// End − start; for an active session, until `now`.
    pub fn duration(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        Some(self.end.unwrap_or(now) - self.start?)
    }

    pub fn has_log(&self) -> bool {
        self.log.is_some()
    }

    /// The owner ARN's last part (`arn:aws:iam::1:user/ana` → `ana`).
    pub fn who(&self) -> &str {
        self.owner.rsplit('/').next().unwrap_or(&self.owner)
    }
}

#[derive(Debug, Default)]
pub struct History {
    /// Newest first.
    pub sessions: Vec<SessionSummary>,
    pub problems: Vec<InventoryProblem>,
}

impl History {
    /// Fills `host_name` from the inventory (same instance id, profile and region).
    pub fn join_host_names(&mut self, instances: &[Instance]) {
        for s in &mut self.sessions {
            s.host_name = instances
                .iter()
                .find(|i| {
                    i.instance_id == s.target && i.region == s.region && i.profile == s.profile
                })
                .or_else(|| instances.iter().find(|i| i.instance_id == s.target))
                .and_then(|i| i.name.clone().or_else(|| i.computer_name.clone()));
        }
    }
}

/// Reads every target concurrently; a target that fails is a problem, not the end.
pub async fn fetch(clients: &[Clients], filter: &HistoryFilter) -> History {
    let states = if filter.states.is_empty() {
        vec![SessionState::Active, SessionState::History]
    } else {
        filter.states.clone()
    };
    let calls = clients
        .iter()
        .flat_map(|c| states.iter().map(move |&s| fetch_one(c, s, filter)));
    let results = futures_util::future::join_all(calls).await;
    let mut history = History::default();
    for (c, result) in clients
        .iter()
        .flat_map(|c| states.iter().map(move |_| c))
        .zip(results)
    {
        match result {
            Ok(sessions) => history.sessions.extend(sessions),
            Err(error) => {
                if !history.problems.iter().any(|p| p.target == c.target) {
                    history.problems.push(InventoryProblem {
                        target: c.target.clone(),
                        error,
                    });
                }
            }
        }
    }
    history
        .sessions
        .sort_by(|a, b| b.start.cmp(&a.start).then(a.session_id.cmp(&b.session_id)));
    history
}

/// Ends a session (TerminateSession; AWS lets whoever holds `ssm:TerminateSession` end anyone's),
/// then reads DescribeSessions until the session is listed in History, for at most `wait`.
/// Returns whether it was seen ended; AWS ends a session a moment after answering.
pub async fn terminate(
    clients: &Clients,
    session_id: &str,
    wait: std::time::Duration,
) -> Result<bool, AwsError> {
    let sdk_error = |e| {
        AwsError::from_sdk(
            e,
            &clients.target,
            "ssm:TerminateSession",
            clients.endpoint_for("ssm"),
        )
    };
    clients
        .ssm
        .terminate_session()
        .session_id(session_id)
        .send()
        .await
        .map_err(sdk_error)?;
    let filter = HistoryFilter {
        session_id: Some(session_id.to_owned()),
        ..HistoryFilter::default()
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let ended = fetch_one(clients, SessionState::History, &filter)
            .await?
            .iter()
            .any(|s| s.session_id == session_id);
        if ended {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn api_filter(
    key: aws_sdk_ssm::types::SessionFilterKey,
    value: &str,
) -> aws_sdk_ssm::types::SessionFilter {
    aws_sdk_ssm::types::SessionFilter::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap_or_else(|_| unreachable_filter())
}

#[allow(clippy::expect_used)]
fn unreachable_filter() -> aws_sdk_ssm::types::SessionFilter {
    // key and value are always set above; the builder only fails when one is missing.
    aws_sdk_ssm::types::SessionFilter::builder()
        .key(aws_sdk_ssm::types::SessionFilterKey::SessionId)
        .value("-")
        .build()
        .expect("a filter with key and value")
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn fetch_one(
    clients: &Clients,
    state: SessionState,
    filter: &HistoryFilter,
) -> Result<Vec<SessionSummary>, AwsError> {
    use aws_sdk_ssm::types::SessionFilterKey as K;
    let mut filters = Vec::new();
    if let Some(t) = &filter.target {
        filters.push(api_filter(K::TargetId, t));
    }
    if let Some(o) = filter.owner.as_deref().filter(|o| o.starts_with("arn:")) {
        filters.push(api_filter(K::Owner, o));
    }
    if let Some(s) = &filter.status {
        filters.push(api_filter(K::Status, s));
    }
    if let Some(id) = &filter.session_id {
        filters.push(api_filter(K::SessionId, id));
    }
    if let Some(t) = filter.after {
        filters.push(api_filter(K::InvokedAfter, &iso(t)));
    }
    if let Some(t) = filter.before {
        filters.push(api_filter(K::InvokedBefore, &iso(t)));
    }
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = clients
            .ssm
            .describe_sessions()
            .state(state.api())
            .set_filters((!filters.is_empty()).then(|| filters.clone()))
            .max_results(200)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &clients.target,
                    "ssm:DescribeSessions",
                    clients.endpoint_for("ssm"),
                )
            })?;
        for s in page.sessions() {
            let summary = summarize(clients, state, s);
            if let Some(o) = filter.owner.as_deref().filter(|o| !o.starts_with("arn:"))
                && !summary.owner.contains(o)
            {
                continue;
            }
            out.push(summary);
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn summarize(
    clients: &Clients,
    state: SessionState,
    s: &aws_sdk_ssm::types::Session,
) -> SessionSummary {
    let session_id = s.session_id().unwrap_or_default().to_string();
    let log = s.output_url().and_then(|u| {
        let cloudwatch_url = u.cloud_watch_output_url().filter(|x| !x.is_empty());
        let s3_url = u.s3_output_url().filter(|x| !x.is_empty());
        (cloudwatch_url.is_some() || s3_url.is_some()).then(|| LogLocation {
            cloudwatch: cloudwatch_url.and_then(|url| parse_cloudwatch_url(url, &session_id)),
            cloudwatch_url: cloudwatch_url.map(str::to_string),
            s3_url: s3_url.map(str::to_string),
        })
    });
    SessionSummary {
        owner: s.owner().unwrap_or_default().to_string(),
        target: s.target().unwrap_or_default().to_string(),
        host_name: None,
        profile: clients.target.profile_label(),
        region: clients.target.region.clone(),
        state,
        status: s
            .status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        start: s.start_date().and_then(to_chrono),
        end: s.end_date().and_then(to_chrono),
        document: s.document_name().map(str::to_string),
        reason: s.reason().map(str::to_string),
        log,
        session_id,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The log group (and stream) a `CloudWatchOutputUrl` points at. Understands the console's
/// `#logEventViewer:group=G;stream=S` form and the newer `#logsV2:log-groups/log-group/G/log-events/S`
/// form (with `$25`-escaped percent signs). The stream defaults to the session id (§9).
pub fn parse_cloudwatch_url(url: &str, session_id: &str) -> Option<LogSource> {
    let fragment = url.split_once('#')?.1;
    if let Some(rest) = fragment.strip_prefix("logEventViewer:") {
        let mut group = None;
        let mut stream = None;
        for part in rest.split(';') {
            if let Some(g) = part.strip_prefix("group=") {
                group = Some(percent_decode(g));
            } else if let Some(s) = part.strip_prefix("stream=") {
                stream = Some(percent_decode(s));
            }
        }
        return Some(LogSource {
            group: group.filter(|g| !g.is_empty())?,
            stream: stream.unwrap_or_else(|| session_id.to_string()),
        });
    }
    if let Some(rest) = fragment.strip_prefix("logsV2:log-groups/log-group/") {
        let decoded = |s: &str| percent_decode(&percent_decode(&s.replace('$', "%")));
        let (group, stream) = match rest.split_once("/log-events/") {
            Some((g, s)) => (decoded(g), decoded(s)),
            None => (decoded(rest), session_id.to_string()),
        };
        return (!group.is_empty()).then_some(LogSource { group, stream });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_urls_name_group_and_stream() {
        let simple = "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/fleetdeck/sessions;stream=ana-0abc";
        assert_eq!(
            parse_cloudwatch_url(simple, "x"),
            Some(LogSource {
                group: "/fleetdeck/sessions".into(),
                stream: "ana-0abc".into()
            })
        );
        let v2 = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Fssm$252Fsessions/log-events/ana-1";
        assert_eq!(
            parse_cloudwatch_url(v2, "x"),
            Some(LogSource {
                group: "/ssm/sessions".into(),
                stream: "ana-1".into()
            })
        );
        assert_eq!(parse_cloudwatch_url("https://example.com/", "x"), None);
        assert_eq!(
            parse_cloudwatch_url("https://c/#logEventViewer:group=g", "sid").map(|s| s.stream),
            Some("sid".into())
        );
    }
}
