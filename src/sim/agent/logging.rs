//! CloudWatch streaming session logs as the agent writes them when the session preferences say
//! `cloudWatchStreamingEnabled` (ssm-protocol.md §9): about once a second, one event whose message
//! is a JSON object with the session's identity and `sessionData`, the output lines since the last
//! event. Only complete lines go out; a partial line (a prompt waiting for input) waits for its
//! newline or for the session's end, so each line carries the time it was finished.

use chrono::{SecondsFormat, Utc};
use serde_json::json;

use super::super::sessions::LOG_GROUP;
use super::super::state::SimState;

/// Lines above this many bytes are split (CloudWatch Logs takes events up to 256 KB).
const LINE_CAP: usize = 64 * 1024;
/// Bytes of output per event at most; the rest goes in the next event.
const EVENT_CAP: usize = 180 * 1024;

pub(crate) struct StreamLogger {
    region: String,
    session_id: String,
    target: String,
    owner: String,
    pending: Vec<u8>,
    /// Whether any event went out (the session then has a log).
    pub wrote: bool,
}

impl StreamLogger {
    pub(crate) fn new(state: &SimState, region: &str, session_id: &str, target: &str) -> Self {
        let owner = state
            .lock()
            .sessions
            .iter()
            .find(|s| s.session_id == session_id)
            .map(|s| s.owner.clone())
            .unwrap_or_default();
        StreamLogger {
            region: region.into(),
            session_id: session_id.into(),
            target: target.into(),
            owner,
            pending: Vec::new(),
            wrote: false,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Writes the complete lines held so far as events; `last` also writes a partial line.
    pub(crate) fn flush(&mut self, state: &SimState, last: bool) {
        let now = Utc::now();
        let events: Vec<(i64, String)> = self
            .take_lines(last)
            .chunks_by_size()
            .into_iter()
            .map(|lines| (now.timestamp_millis(), self.event(now, lines)))
            .collect();
        if events.is_empty() {
            return;
        }
        state.append_session_log(&self.region, LOG_GROUP, &self.session_id, &events);
        self.wrote = true;
    }

    fn take_lines(&mut self, last: bool) -> Lines {
        let cut = if last {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if self.pending.len() > LINE_CAP => self.pending.len(),
                None => 0,
            }
        };
        let taken: Vec<u8> = self.pending.drain(..cut).collect();
        let text = String::from_utf8_lossy(&taken).replace("\r\n", "\n");
        let mut lines = Vec::new();
        let body = text.strip_suffix('\n').unwrap_or(&text);
        if !taken.is_empty() {
            for line in body.split('\n') {
                let mut rest = line;
                loop {
                    let mut at = rest.len().min(LINE_CAP);
                    while !rest.is_char_boundary(at) {
                        at -= 1;
                    }
                    lines.push(rest[..at].to_string());
                    rest = &rest[at..];
                    if rest.is_empty() {
                        break;
                    }
                }
            }
        }
        Lines(lines)
    }

    fn event(&self, at: chrono::DateTime<Utc>, lines: Vec<String>) -> String {
        json!({
            "eventVersion": "1.0",
            "eventTime": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "awsRegion": self.region,
            "target": {"id": self.target},
            "userIdentity": {"arn": self.owner},
            "runAsUser": "ssm-user",
            "sessionId": self.session_id,
            "sessionData": lines,
        })
        .to_string()
    }
}

struct Lines(Vec<String>);

impl Lines {
    fn chunks_by_size(self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut size = 0;
        for line in self.0 {
            if out.is_empty() || size + line.len() > EVENT_CAP {
                out.push(Vec::new());
                size = 0;
            }
            size += line.len();
            if let Some(last) = out.last_mut() {
                last.push(line);
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn logger() -> StreamLogger {
        StreamLogger {
            region: "eu-west-1".into(),
            session_id: "ana-0a1b".into(),
            target: "i-0abc".into(),
            owner: "arn:aws:iam::111122223333:user/ana".into(),
            pending: Vec::new(),
            wrote: false,
        }
    }

    #[test]
    fn only_complete_lines_until_the_end() {
        let mut l = logger();
        l.push(b"$ echo hi\r\nhi\r\n$ ");
        assert_eq!(l.take_lines(false).0, ["$ echo hi", "hi"]);
        assert!(l.take_lines(false).0.is_empty());
        l.push(b"exit");
        assert_eq!(l.take_lines(true).0, ["$ exit"]);
    }

    #[test]
    fn event_has_the_aws_fields() {
        let l = logger();
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let v: serde_json::Value =
            serde_json::from_str(&l.event(at, vec!["$ uptime".into()])).unwrap();
        assert_eq!(v["eventVersion"], "1.0");
        assert_eq!(v["eventTime"], "2025-01-02T03:04:05.250Z");
        assert_eq!(v["target"]["id"], "i-0abc");
        assert_eq!(
            v["userIdentity"]["arn"],
            "arn:aws:iam::111122223333:user/ana"
        );
        assert_eq!(v["sessionData"][0], "$ uptime");
    }
}
