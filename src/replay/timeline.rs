//! A session log as a timeline: output frames with their offsets from the start, the lines as
//! plain text for search, the commands typed (lines that follow a prompt), idle gaps.
//!
//! JSON streaming logs carry real times (`eventTime`, else the event's timestamp). Plain-text logs
//! are uploaded at the session's end with one timestamp for everything, so their lines get an
//! honest even pace ([`Pacing::Even`]) that a viewer must label as such.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::text::strip_controls;

/// One CloudWatch Logs event as read: `timestamp` in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Uploaded at the end, one line per event, no per-line times.
    Plain,
    /// `cloudWatchStreamingEnabled`: JSON events with `eventTime` and `sessionData`.
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Times come from the log.
    Recorded,
    /// No times in the log: every line is `per_line` after the previous one.
    Even { per_line: Duration },
}

impl Pacing {
    /// What a viewer shows next to the clock.
    pub fn label(&self) -> &'static str {
        match self {
            Pacing::Recorded => "recorded pace",
            Pacing::Even { .. } => "plain-text log: no timestamps, lines at an even pace",
        }
    }
}

/// An event that could not be read, kept so the viewer can say so; it is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Position of the event in the stream (0-based).
    pub index: usize,
    pub timestamp: i64,
    pub reason: String,
}

/// Output that appeared at one moment: `text` is LF-terminated lines as logged (escape sequences
/// included); [`Frame::terminal_bytes`] gives what a terminal should be fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub at: Duration,
    pub text: String,
}

impl Frame {
    /// The frame for a terminal: LF → CRLF (logs store LF line ends).
    pub fn terminal_bytes(&self) -> String {
        self.text.replace('\n', "\r\n")
    }
}

/// One output line as plain text (controls removed), for search and commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: Duration,
    pub frame: usize,
    pub text: String,
}

/// A search hit: `start..end` are byte offsets in `Timeline::lines()[line].text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub at: Duration,
}

/// A stretch with no output of at least the asked length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: Duration,
    pub to: Duration,
}

#[derive(Debug, Clone)]
pub struct Timeline {
    pub format: LogFormat,
    pub pacing: Pacing,
    /// Wall time of the first output (recorded logs), or of the upload (plain logs).
    pub started: Option<DateTime<Utc>>,
    frames: Vec<Frame>,
    lines: Vec<Line>,
    commands: Vec<usize>,
    pub malformed: Vec<Malformed>,
    /// Events read, malformed ones included.
    pub events: usize,
}

/// How long one plain-text line takes at most, and the longest a plain replay lasts at 1x.
const PLAIN_STEP: Duration = Duration::from_millis(40);
const PLAIN_TOTAL: Duration = Duration::from_secs(120);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamEvent {
    event_version: Option<String>,
    event_time: Option<String>,
    session_data: Vec<String>,
}

/// Builds a timeline from pages of events as they arrive (large logs need not sit in memory as
/// raw events first).
#[derive(Debug, Default)]
pub struct TimelineBuilder {
    format: Option<LogFormat>,
    first_time: Option<DateTime<Utc>>,
    last_at: Duration,
    frames: Vec<Frame>,
    malformed: Vec<Malformed>,
    events: usize,
}

fn looks_like_stream_event(message: &str) -> bool {
    let m = message.trim_start();
    m.starts_with('{') && (m.contains("\"sessionData\"") || m.contains("\"eventVersion\""))
}

impl TimelineBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, events: &[LogEvent]) {
        for event in events {
            let index = self.events;
            self.events += 1;
            let format = *self
                .format
                .get_or_insert(if looks_like_stream_event(&event.message) {
                    LogFormat::Stream
                } else {
                    LogFormat::Plain
                });
            match format {
                LogFormat::Plain => {
                    if self.first_time.is_none() {
                        self.first_time = DateTime::from_timestamp_millis(event.timestamp);
                    }
                    let mut text = event.message.clone();
                    text.push('\n');
                    self.frames.push(Frame {
                        at: Duration::ZERO,
                        text,
                    });
                }
                LogFormat::Stream => match parse_stream_event(event) {
                    Ok((time, lines)) => {
                        let first = *self.first_time.get_or_insert(time);
                        let at = (time - first).to_std().unwrap_or(Duration::ZERO);
                        // Never backwards: out-of-order events play at the latest time so far.
                        let at = at.max(self.last_at);
                        self.last_at = at;
                        let mut text = lines.join("\n");
                        text.push('\n');
                        self.frames.push(Frame { at, text });
                    }
                    Err(reason) => self.malformed.push(Malformed {
                        index,
                        timestamp: event.timestamp,
                        reason,
                    }),
                },
            }
        }
    }

    pub fn events(&self) -> usize {
        self.events
    }

    pub fn finish(mut self) -> Timeline {
        let format = self.format.unwrap_or(LogFormat::Plain);
        let pacing = match format {
            LogFormat::Stream => Pacing::Recorded,
            LogFormat::Plain => {
                let n = u32::try_from(self.frames.len().max(1)).unwrap_or(u32::MAX);
                let per_line = PLAIN_STEP.min(PLAIN_TOTAL / n);
                for (i, frame) in self.frames.iter_mut().enumerate() {
                    frame.at = per_line * u32::try_from(i).unwrap_or(u32::MAX);
                }
                Pacing::Even { per_line }
            }
        };
        let mut lines = Vec::new();
        for (i, frame) in self.frames.iter().enumerate() {
            let body = frame.text.strip_suffix('\n').unwrap_or(&frame.text);
            for line in strip_controls(body).split('\n') {
                lines.push(Line {
                    at: frame.at,
                    frame: i,
                    text: line.to_string(),
                });
            }
        }
        let commands = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| command_after_prompt(&l.text).is_some())
            .map(|(i, _)| i)
            .collect();
        Timeline {
            format,
            pacing,
            started: self.first_time,
            frames: self.frames,
            lines,
            commands,
            malformed: self.malformed,
            events: self.events,
        }
    }
}

fn parse_stream_event(event: &LogEvent) -> Result<(DateTime<Utc>, Vec<String>), String> {
    let parsed: StreamEvent = serde_json::from_str(&event.message)
        .map_err(|e| format!("not a session log event ({e})"))?;
    if parsed.event_version.is_none() {
        return Err("not a session log event (no eventVersion)".into());
    }
    let time = match parsed.event_time.as_deref() {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("eventTime '{t}' is not an RFC 3339 time ({e})"))?,
        None => DateTime::from_timestamp_millis(event.timestamp)
            .ok_or_else(|| format!("timestamp {} is out of range", event.timestamp))?,
    };
    Ok((time, parsed.session_data))
}

/// The command of a line that starts with a shell prompt (`user@host:~$ ls` → `ls`): a first
/// word ending in `$`, `#` or `>` (or such a word then a space), then the command.
pub fn command_after_prompt(line: &str) -> Option<&str> {
    for marker in ["$ ", "# ", "> "] {
        if let Some(pos) = line.find(marker) {
            let prompt = &line[..pos];
            // Prompts are short and, apart from a trailing path, have no spaces.
            if prompt.len() <= 120 && !prompt.trim_start().contains(' ') {
                let command = line[pos + marker.len()..].trim();
                if !command.is_empty() {
                    return Some(command);
                }
            }
        }
    }
    None
}

impl Timeline {
    pub fn from_events(events: &[LogEvent]) -> Timeline {
        let mut b = TimelineBuilder::new();
        b.push(events);
        b.finish()
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn duration(&self) -> Duration {
        self.frames.last().map_or(Duration::ZERO, |f| f.at)
    }

    /// How many frames are shown by time `t` (seek: replay frames `..frames_until(t)`).
    pub fn frames_until(&self, t: Duration) -> usize {
        self.frames.partition_point(|f| f.at <= t)
    }

    /// Stretches of at least `min` without output.
    pub fn gaps(&self, min: Duration) -> Vec<Gap> {
        self.frames
            .windows(2)
            .filter(|w| w[1].at.saturating_sub(w[0].at) >= min)
            .map(|w| Gap {
                from: w[0].at,
                to: w[1].at,
            })
            .collect()
    }

    /// Lines that follow a prompt, as indices into [`Timeline::lines`].
    pub fn commands(&self) -> &[usize] {
        &self.commands
    }

    /// The first command line strictly after `t`.
    pub fn next_command(&self, t: Duration) -> Option<&Line> {
        self.commands
            .iter()
            .map(|&i| &self.lines[i])
            .find(|l| l.at > t)
    }

    /// Every occurrence of `needle` in the plain text; case-insensitive unless `needle` has
    /// upper-case letters (smart case).
    pub fn search(&self, needle: &str) -> Vec<Match> {
        if needle.is_empty() {
            return Vec::new();
        }
        let fold = !needle.chars().any(char::is_uppercase);
        let needle = if fold {
            needle.to_lowercase()
        } else {
            needle.to_string()
        };
        let mut hits = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            let hay = if fold {
                std::borrow::Cow::Owned(lower_same_len(&line.text))
            } else {
                std::borrow::Cow::Borrowed(line.text.as_str())
            };
            let mut from = 0;
            while let Some(pos) = hay[from..].find(&needle) {
                let start = from + pos;
                hits.push(Match {
                    line: i,
                    start,
                    end: start + needle.len(),
                    at: line.at,
                });
                from = start + needle.len().max(1);
            }
        }
        hits
    }

    /// The output as plain text, controls removed.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&line.text);
            out.push('\n');
        }
        out
    }

    /// The screen at time `t` on a `cols`×`rows` terminal, at least 2x2: vt100 0.16 panics when a
    /// line wraps in one row or a wide character lands in one column (found by tests/fuzz.rs).
    pub fn screen_at(&self, t: Duration, cols: u16, rows: u16) -> vt100::Parser {
        let mut parser = vt100::Parser::new(rows.max(2), cols.max(2), 0);
        for frame in &self.frames[..self.frames_until(t)] {
            parser.process(frame.terminal_bytes().as_bytes());
        }
        parser
    }
}

/// Lower-cases ASCII only, so byte offsets stay those of the original line.
fn lower_same_len(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stream(time: &str, lines: &[&str]) -> LogEvent {
        let message = serde_json::json!({
            "eventVersion": "1.0", "eventTime": time, "awsRegion": "us-east-1",
            "target": {"id": "i-0abc"}, "userIdentity": {"arn": "arn:aws:iam::1:user/ana"},
            "runAsUser": "ssm-user", "sessionId": "ana-1", "sessionData": lines,
        })
        .to_string();
        LogEvent {
            timestamp: 0,
            message,
        }
    }

    #[test]
    fn stream_events_keep_their_times_and_gaps() {
        let t = Timeline::from_events(&[
            stream("2025-01-02T03:04:05.000Z", &["$ echo one", "one"]),
            LogEvent {
                timestamp: 1,
                message: "{\"eventVersion\":\"1.0\",\"sessionData\":".into(),
            },
            stream("2025-01-02T03:04:07.500Z", &["$ echo two", "two"]),
        ]);
        assert_eq!(t.format, LogFormat::Stream);
        assert_eq!(t.pacing, Pacing::Recorded);
        assert_eq!(t.frames().len(), 2);
        assert_eq!(t.frames()[1].at, Duration::from_millis(2500));
        assert_eq!(t.malformed.len(), 1);
        assert_eq!(t.malformed[0].index, 1);
        assert!(t.malformed[0].reason.contains("not a session log event"));
        assert_eq!(
            t.gaps(Duration::from_secs(1)),
            [Gap {
                from: Duration::ZERO,
                to: Duration::from_millis(2500)
            }]
        );
        assert_eq!(t.plain_text(), "$ echo one\none\n$ echo two\ntwo\n");
        let next = t.next_command(Duration::ZERO).unwrap();
        assert_eq!(next.text, "$ echo two");
        assert_eq!(t.commands().len(), 2);
    }

    #[test]
    fn bad_event_time_is_malformed_not_fatal() {
        let t = Timeline::from_events(&[
            stream("yesterday", &["x"]),
            stream("2025-01-02T03:04:05Z", &["y"]),
        ]);
        assert_eq!(t.frames().len(), 1);
        assert!(
            t.malformed[0].reason.contains("RFC 3339"),
            "{:?}",
            t.malformed
        );
    }

    #[test]
    fn plain_logs_get_an_even_labelled_pace() {
        let events: Vec<LogEvent> = ["ssm-user@web-1:~$ ls", "a  b", "ssm-user@web-1:~$ exit"]
            .iter()
            .map(|m| LogEvent {
                timestamp: 1_700_000_000_000,
                message: m.to_string(),
            })
            .collect();
        let t = Timeline::from_events(&events);
        assert_eq!(t.format, LogFormat::Plain);
        assert_eq!(
            t.pacing,
            Pacing::Even {
                per_line: PLAIN_STEP
            }
        );
        assert!(t.pacing.label().contains("even pace"));
        assert_eq!(t.frames()[2].at, PLAIN_STEP * 2);
        assert_eq!(t.commands(), [0, 2]);
        assert_eq!(
            command_after_prompt("ssm-user@web-1:~$ ls -l"),
            Some("ls -l")
        );
        assert_eq!(command_after_prompt("total 0 $ x"), None);
        assert_eq!(t.started.unwrap().timestamp(), 1_700_000_000);
        // Thousands of lines still replay in bounded time.
        let many: Vec<LogEvent> = (0..10_000)
            .map(|i| LogEvent {
                timestamp: 0,
                message: format!("line {i}"),
            })
            .collect();
        assert!(Timeline::from_events(&many).duration() <= PLAIN_TOTAL);
    }

    #[test]
    fn search_finds_positions_with_smart_case() {
        let t = Timeline::from_events(&[
            stream(
                "2025-01-02T03:04:05Z",
                &["\x1b[31mError\x1b[0m: disk", "no error"],
            ),
            stream("2025-01-02T03:04:09Z", &["ERROR again"]),
        ]);
        let hits = t.search("error");
        assert_eq!(hits.len(), 3);
        assert_eq!((hits[0].line, hits[0].start, hits[0].end), (0, 0, 5));
        assert_eq!((hits[1].line, hits[1].start), (1, 3));
        assert_eq!(hits[2].at, Duration::from_secs(4));
        assert_eq!(t.search("ERROR").len(), 1);
    }

    #[test]
    fn screen_at_replays_frames_up_to_a_time() {
        let t = Timeline::from_events(&[
            stream("2025-01-02T03:04:05Z", &["first"]),
            stream("2025-01-02T03:04:08Z", &["second"]),
        ]);
        let early = t.screen_at(Duration::from_secs(1), 40, 5);
        assert!(early.screen().contents().contains("first"));
        assert!(!early.screen().contents().contains("second"));
        let late = t.screen_at(t.duration(), 40, 5);
        assert_eq!(late.screen().contents().trim_end(), "first\nsecond");
        assert_eq!(t.frames_until(Duration::from_secs(3)), 2);
    }
}
