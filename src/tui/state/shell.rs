//! A shell tab's state: the host, the session's state and the emulated screen the view draws.
//! The session itself runs in a task (`tui::tasks::spawn_shell`); its handle is in `Services`.

use std::time::{Duration, Instant};

use crate::channel::SessionState;
use crate::terminal::TermScreen;

#[derive(Debug)]
pub struct ShellTab {
    pub id: u64,
    /// The host's Name, else its instance id.
    pub host: String,
    pub instance_id: String,
    pub state: SessionState,
    pub screen: TermScreen,
    /// Scroll mode: keys move through the scrollback instead of going to the shell.
    pub scrolling: bool,
    pub opened_at: Instant,
    /// Time from opening the tab to the first byte of output (the prompt, usually).
    pub first_output: Option<Duration>,
}

impl ShellTab {
    pub fn new(id: u64, host: String, instance_id: String, rows: u16, cols: u16) -> ShellTab {
        ShellTab {
            id,
            host,
            instance_id,
            state: SessionState::Connecting,
            screen: TermScreen::new(rows, cols),
            scrolling: false,
            opened_at: Instant::now(),
            first_output: None,
        }
    }

    /// The state as the tab title shows it.
    pub fn state_label(&self) -> String {
        match &self.state {
            SessionState::Connecting => "connecting".into(),
            SessionState::Live => "live".into(),
            SessionState::Reconnecting => "reconnecting".into(),
            SessionState::Closed { reason } => format!("closed: {}", short_reason(reason)),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, SessionState::Closed { .. })
    }
}

/// A tab title has room for a few words: the channel's sentences (worded as the plugin prints
/// them, with the session id) are cut to what they say. The tab's body keeps the whole sentence.
fn short_reason(reason: &str) -> &str {
    if reason.starts_with("Exiting session with sessionId") {
        return "exited";
    }
    reason
        .strip_prefix("SessionId: ")
        .and_then(|rest| rest.split_once(" : "))
        .map_or(reason, |(_, said)| said.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_say_why_a_session_closed_in_a_few_words() {
        let closed = |reason: &str| {
            let mut tab = ShellTab::new(1, "web-1".into(), "i-0abc".into(), 10, 40);
            tab.state = SessionState::Closed {
                reason: reason.into(),
            };
            tab.state_label()
        };
        assert_eq!(
            closed("Exiting session with sessionId: ana-0a1b2c3d4e5f60718."),
            "closed: exited"
        );
        assert_eq!(
            closed("SessionId: ana-0a1b2c3d4e5f60718 : Session terminated"),
            "closed: Session terminated"
        );
        assert_eq!(closed("ssh exited"), "closed: ssh exited");
    }
}
