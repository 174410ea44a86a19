//! The Sessions tab: session history (DescribeSessions, Active and History) as a table, with a
//! `/` filter. A task reads it (`tui::tasks::spawn_sessions`); this only holds what it reported.

use crate::replay::SessionSummary;

#[derive(Debug, Clone, Default)]
pub struct SessionsState {
    sessions: Vec<SessionSummary>,
    /// Indices into `sessions` that the filter keeps, newest first.
    rows: Vec<usize>,
    pub input: String,
    pub editing: bool,
    pub selected: usize,
    pub offset: usize,
    pub viewport: usize,
    /// Generation of the read in flight, if any.
    pub loading: Option<u64>,
    pub generation: u64,
    /// One sentence per target that could not be read.
    pub problems: Vec<String>,
    pub loaded: bool,
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
        self.row(self.selected)
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
            self.selected = p;
        }
        self.clamp();
    }

    pub fn set_input(&mut self, input: String) {
        self.input = input;
        self.refilter();
        self.selected = 0;
        self.offset = 0;
    }

    fn refilter(&mut self) {
        let needle = self.input.trim().to_lowercase();
        self.rows = (0..self.sessions.len())
            .filter(|&i| needle.is_empty() || matches(&self.sessions[i], &needle))
            .collect();
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        let to = self.selected.saturating_add_signed(delta).min(last);
        self.move_to(to);
    }

    pub fn move_to(&mut self, position: usize) {
        self.selected = position.min(self.rows.len().saturating_sub(1));
        self.clamp();
    }

    pub fn set_viewport(&mut self, rows: usize) {
        self.viewport = rows.max(1);
        self.clamp();
    }

    fn clamp(&mut self) {
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        let view = self.viewport.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + view {
            self.offset = self.selected + 1 - view;
        }
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
