//! Session history and replay from CloudWatch Logs, with no knowledge of any front end:
//! [`history`] lists sessions across targets, [`logs`] reads a session's log stream page by page,
//! [`timeline`] turns it into timed frames with search, idle gaps and commands, [`export`] writes
//! asciicast v2 and plain text, [`text`] removes terminal control sequences.

pub mod export;
pub mod history;
pub mod logs;
pub mod text;
pub mod timeline;

pub use export::{CastOptions, write_cast, write_text};
pub use history::{History, HistoryFilter, LogLocation, SessionState, SessionSummary};
pub use logs::{LogError, LogReader, LogSource, read_timeline};
pub use text::strip_controls;
pub use timeline::{
    Frame, Gap, Line, LogEvent, LogFormat, Malformed, Match, Pacing, Timeline, TimelineBuilder,
};
