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
            SessionState::Closed { reason } => format!("closed: {reason}"),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, SessionState::Closed { .. })
    }
}
