//! CloudWatch streaming session logs as the agent writes them when the session preferences say
//! `cloudWatchStreamingEnabled` (ssm-protocol.md §9): about once a second, one event whose message
//! is a JSON object with the session's identity and `sessionData`, the output lines since the last
//! event. Only complete lines go out; a partial line (a prompt waiting for input) waits for its
//! newline or for the session's end, so each line carries the time it was finished.

use chrono::{DateTime, SecondsFormat, Utc};
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
    /// (end offset in `pending`, when those bytes arrived): a line's time is when it was finished.
    arrivals: Vec<(usize, DateTime<Utc>)>,
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
            arrivals: Vec::new(),
            wrote: false,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        self.arrivals.push((self.pending.len(), Utc::now()));
    }

    /// Writes the complete lines held so far, one event per moment they were finished, in one
    /// batch; `last` also writes a partial line.
    pub(crate) fn flush(&mut self, state: &SimState, last: bool) {
        let mut events: Vec<(i64, String)> = Vec::new();
        let mut group: Vec<String> = Vec::new();
        let mut group_time: Option<DateTime<Utc>> = None;
        let mut size = 0;
        for (time, line) in self.take_lines(last) {
            if group_time.is_some_and(|t| t != time) || size + line.len() > EVENT_CAP {
                if let Some(t) = group_time {
                    events.push((
                        t.timestamp_millis(),
                        self.event(t, std::mem::take(&mut group)),
                    ));
                }
                size = 0;
            }
            group_time = Some(time);
            size += line.len();
            group.push(line);
        }
        if let Some(t) = group_time {
            events.push((t.timestamp_millis(), self.event(t, group)));
        }
        if events.is_empty() {
            return;
        }
        state.append_session_log(&self.region, LOG_GROUP, &self.session_id, &events);
        self.wrote = true;
    }

    fn take_lines(&mut self, last: bool) -> Vec<(DateTime<Utc>, String)> {
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
        let arrivals = std::mem::take(&mut self.arrivals);
        let time_of = |end: usize| {
            arrivals
                .iter()
                .find(|(at, _)| *at >= end)
                .or(arrivals.last())
                .map_or_else(Utc::now, |(_, t)| *t)
        };
        self.arrivals = arrivals
            .iter()
            .filter(|(at, _)| *at > cut)
            .map(|(at, t)| (at - cut, *t))
            .collect();
        let mut lines = Vec::new();
        let mut start = 0;
        while start < taken.len() {
            let end = taken[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(taken.len(), |i| start + i + 1);
            let raw = &taken[start..end];
            let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let time = time_of(end);
            let text = String::from_utf8_lossy(raw);
            let mut rest: &str = &text;
            loop {
                let mut at = rest.len().min(LINE_CAP);
                while !rest.is_char_boundary(at) {
                    at -= 1;
                }
                lines.push((time, rest[..at].to_string()));
                rest = &rest[at..];
                if rest.is_empty() {
                    break;
                }
            }
            start = end;
        }
        lines
    }

    fn event(&self, at: DateTime<Utc>, lines: Vec<String>) -> String {
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
            arrivals: Vec::new(),
            wrote: false,
        }
    }

    fn texts(lines: Vec<(DateTime<Utc>, String)>) -> Vec<String> {
        lines.into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn only_complete_lines_until_the_end() {
        let mut l = logger();
        l.push(b"$ echo hi\r\nhi\r\n$ ");
        assert_eq!(texts(l.take_lines(false)), ["$ echo hi", "hi"]);
        assert!(l.take_lines(false).is_empty());
        std::thread::sleep(std::time::Duration::from_millis(5));
        l.push(b"exit\r\nbye\r\n");
        let lines = l.take_lines(true);
        assert_eq!(lines[0].1, "$ exit");
        // The prompt line is finished when "exit" arrives, not when the prompt did.
        assert_eq!(lines[0].0, l_time(&lines));
        assert_eq!(texts(lines), ["$ exit", "bye"]);
    }

    fn l_time(lines: &[(DateTime<Utc>, String)]) -> DateTime<Utc> {
        lines[1].0
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
