//! The Sessions tab: session history (DescribeSessions, Active and History) as a table, with a
//! `/` filter, a state filter and a time window. A task reads it (`tui::tasks::spawn_sessions`);
//! this only holds what it reported.

use super::cursor::Cursor;
use chrono::{DateTime, Utc};

use crate::replay::{SessionState, SessionSummary};

/// Which sessions the tab lists by state (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    All,
    Active,
    History,
}

impl StateFilter {
    pub fn next(self) -> Self {
        match self {
            StateFilter::All => StateFilter::Active,
            StateFilter::Active => StateFilter::History,
            StateFilter::History => StateFilter::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StateFilter::All => "all",
            StateFilter::Active => "active",
            StateFilter::History => "history",
        }
    }

    fn keeps(self, s: &SessionSummary) -> bool {
        match self {
            StateFilter::All => true,
            StateFilter::Active => s.state == SessionState::Active,
            StateFilter::History => s.state == SessionState::History,
        }
    }
}

/// How far back the tab lists (`w` cycles): sessions that were open at some time in the last
/// hour, day or week (active ones always are), or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    Hour,
    Day,
    Week,
    #[default]
    All,
}

impl Window {
    pub fn next(self) -> Self {
        match self {
            Window::Hour => Window::Day,
            Window::Day => Window::Week,
            Window::Week => Window::All,
            Window::All => Window::Hour,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "last 1h",
            Window::Day => "last 24h",
            Window::Week => "last 7d",
            Window::All => "any time",
        }
    }

    fn span(self) -> Option<chrono::Duration> {
        match self {
            Window::Hour => Some(chrono::Duration::hours(1)),
            Window::Day => Some(chrono::Duration::days(1)),
            Window::Week => Some(chrono::Duration::days(7)),
            Window::All => None,
        }
    }

    /// Whether the session was open at some time in the window ending at `now`.
    fn keeps(self, s: &SessionSummary, now: DateTime<Utc>) -> bool {
        let Some(span) = self.span() else {
            return true;
        };
        match (s.end, s.start) {
            (Some(end), _) => end >= now - span,
            (None, _) if s.state == SessionState::Active => true,
            (None, Some(start)) => start >= now - span,
            (None, None) => false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionsState {
    sessions: Vec<SessionSummary>,
    /// Indices into `sessions` that the filter keeps, newest first.
    rows: Vec<usize>,
    pub input: String,
    pub editing: bool,
    /// Selection and scroll over `rows`.
    pub cursor: Cursor,
    /// Generation of the read in flight, if any.
    pub loading: Option<u64>,
    pub generation: u64,
    /// One sentence per target that could not be read.
    pub problems: Vec<String>,
    pub loaded: bool,
    pub state_filter: StateFilter,
    pub window: Window,
    /// The next read's report flashes only problems (it follows a termination, whose message
    /// stays).
    pub quiet: bool,
    /// The clock the window was last applied with.
    now: DateTime<Utc>,
}

impl SessionsState {
    pub fn sessions(&self) -> &[SessionSummary] {
        &self.sessions
    }

    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    pub fn row(&self, position: usize) -> Option<&SessionSummary> {
        self.rows.get(position).map(|&i| &self.sessions[i])
    }

    pub fn selected_session(&self) -> Option<&SessionSummary> {
        self.row(self.cursor.selected)
    }

    /// New rows: the same session stays selected when it is still listed.
    pub fn replace(&mut self, sessions: Vec<SessionSummary>) {
        let keep = self.selected_session().map(|s| s.session_id.clone());
        self.sessions = sessions;
        self.loaded = true;
        self.refilter();
        if let Some(id) = keep
            && let Some(p) = self
                .rows
                .iter()
                .position(|&i| self.sessions[i].session_id == id)
        {
            self.cursor.selected = p;
        }
        self.cursor.clamp(self.rows.len());
    }

    pub fn set_input(&mut self, input: String) {
        self.input = input;
        self.refilter();
        self.cursor.reset();
    }

    /// Sets one session's status in place (e.g. `Terminating` until the history is read again).
    pub fn set_status(&mut self, session_id: &str, status: &str) {
        if let Some(s) = self
            .sessions
            .iter_mut()
            .find(|s| s.session_id == session_id)
        {
            s.status = status.to_owned();
        }
    }

    /// `s`: the next state filter; `now` places the time window.
    pub fn cycle_state(&mut self, now: DateTime<Utc>) {
        self.state_filter = self.state_filter.next();
        self.now = now;
        self.refilter_keeping_selection();
    }

    /// `w`: the next time window, ending at `now`.
    pub fn cycle_window(&mut self, now: DateTime<Utc>) {
        self.window = self.window.next();
        self.now = now;
        self.refilter_keeping_selection();
    }

    /// Every session of one instance, whatever the state and time (from the detail pane).
    pub fn show_instance(&mut self, instance_id: &str) {
        self.state_filter = StateFilter::All;
        self.window = Window::All;
        self.set_input(instance_id.to_owned());
    }

    /// The clock moved on (a new read): the window ends now.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    fn refilter_keeping_selection(&mut self) {
        let keep = self.selected_session().map(|s| s.session_id.clone());
        self.refilter();
        self.cursor.selected = keep
            .and_then(|id| {
                self.rows
                    .iter()
                    .position(|&i| self.sessions[i].session_id == id)
            })
            .unwrap_or(0);
        self.cursor.clamp(self.rows.len());
    }

    fn refilter(&mut self) {
        let needle = self.input.trim().to_lowercase();
        let (state, window, now) = (self.state_filter, self.window, self.now);
        self.rows = (0..self.sessions.len())
            .filter(|&i| {
                let s = &self.sessions[i];
                state.keeps(s) && window.keeps(s, now) && (needle.is_empty() || matches(s, &needle))
            })
            .collect();
    }

    pub fn move_by(&mut self, delta: isize) {
        self.cursor.move_by(self.rows.len(), delta);
    }

    pub fn move_to(&mut self, position: usize) {
        self.cursor.move_to(self.rows.len(), position);
    }

    pub fn set_viewport(&mut self, rows: usize) {
        self.cursor.set_viewport(self.rows.len(), rows);
    }
}

/// Words of the filter all appear somewhere in the row (who, host, target, status, id, region).
fn matches(s: &SessionSummary, needle: &str) -> bool {
    let hay = format!(
        "{} {} {} {} {} {} {}",
        s.who(),
        s.host_name.as_deref().unwrap_or(""),
        s.target,
        s.status,
        s.session_id,
        s.region,
        s.profile
    )
    .to_lowercase();
    needle.split_whitespace().all(|w| hay.contains(w))
}

/// The confirm overlay of `x` on an active session: nothing is sent before the session's short
/// id is typed and Enter pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateConfirm {
    pub session: SessionSummary,
    pub typed: String,
}

impl TerminateConfirm {
    pub fn new(session: SessionSummary) -> Self {
        TerminateConfirm {
            session,
            typed: String::new(),
        }
    }

    /// The last six characters of the session id: what must be typed.
    pub fn short_id(&self) -> &str {
        let id = &self.session.session_id;
        let start = id.char_indices().rev().nth(5).map_or(0, |(i, _)| i);
        &id[start..]
    }

    pub fn accepted(&self) -> bool {
        self.typed.trim().eq_ignore_ascii_case(self.short_id())
    }
}
