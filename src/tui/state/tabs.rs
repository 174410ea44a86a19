//! The tab bar: Fleet first and always there, then one tab per session, tunnel, replay or run
//! that later parts of fleetdeck open.

/// What a tab shows. Later issues add `Tunnel`, `Replay` and `Run`, each owning a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabKind {
    Fleet,
    /// A shell session; its state is `AppState::shells[id]`.
    Shell(u64),
    /// Session history; its state is `AppState::sessions`.
    Sessions,
    /// A session's log played back; its state is `AppState::replays[id]`.
    Replay(u64),
    /// A bulk run; its state is `AppState::runs[id]`.
    Run(u64),
    /// Run history; its state is `AppState::run_history`.
    Runs,
    /// Every tunnel; its state is `AppState::tunnels`.
    Tunnels,
}

/// A tab's status, shown beside its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabStatus {
    Idle,
    Busy,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    pub kind: TabKind,
    pub title: String,
    pub status: TabStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabsState {
    tabs: Vec<Tab>,
    active: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TabError {
    #[error("there is no tab {0}")]
    NoSuchTab(usize),
    #[error("the Fleet tab stays open: press q to quit")]
    FleetStays,
}

impl Default for TabsState {
    fn default() -> Self {
        TabsState {
            tabs: vec![Tab {
                kind: TabKind::Fleet,
                title: "Fleet".into(),
                status: TabStatus::Idle,
            }],
            active: 0,
        }
    }
}

impl TabsState {
    pub fn tabs(&self) -> &[Tab] {
        &self.tabs
    }

    pub fn active(&self) -> usize {
        self.active
    }

    pub fn active_tab(&self) -> &Tab {
        &self.tabs[self.active]
    }

    /// The shell tab's id, if the active tab is one.
    pub fn active_shell(&self) -> Option<u64> {
        match self.tabs[self.active].kind {
            TabKind::Shell(id) => Some(id),
            _ => None,
        }
    }

    /// The id of the focused replay tab, if the active tab is one.
    pub fn active_replay(&self) -> Option<u64> {
        match self.tabs[self.active].kind {
            TabKind::Replay(id) => Some(id),
            _ => None,
        }
    }

    /// The first tab of `kind`.
    pub fn find_mut(&mut self, kind: &TabKind) -> Option<&mut Tab> {
        self.tabs.iter_mut().find(|t| &t.kind == kind)
    }

    pub fn active_kind(&self) -> &TabKind {
        &self.tabs[self.active].kind
    }

    /// Focuses the first tab of `kind`; false if there is none.
    pub fn focus(&mut self, kind: &TabKind) -> bool {
        match self.tabs.iter().position(|t| &t.kind == kind) {
            Some(i) => {
                self.active = i;
                true
            }
            None => false,
        }
    }

    /// The run tab's id, if the active tab is one.
    pub fn active_run(&self) -> Option<u64> {
        match self.tabs[self.active].kind {
            TabKind::Run(id) => Some(id),
            _ => None,
        }
    }

    pub fn fleet_mut(&mut self) -> &mut Tab {
        &mut self.tabs[0]
    }

    /// Opens a tab after the others and focuses it; returns its index.
    pub fn open(&mut self, tab: Tab) -> usize {
        self.tabs.push(tab);
        self.active = self.tabs.len() - 1;
        self.active
    }

    pub fn set_status(&mut self, index: usize, status: TabStatus) {
        if let Some(tab) = self.tabs.get_mut(index) {
            tab.status = status;
        }
    }

    pub fn next(&mut self) {
        self.active = (self.active + 1) % self.tabs.len();
    }

    pub fn prev(&mut self) {
        self.active = (self.active + self.tabs.len() - 1) % self.tabs.len();
    }

    /// 1-based, as the number keys and the tab bar show it.
    pub fn goto(&mut self, number: usize) -> Result<(), TabError> {
        if number == 0 || number > self.tabs.len() {
            return Err(TabError::NoSuchTab(number));
        }
        self.active = number - 1;
        Ok(())
    }

    /// Closes the active tab and focuses its left neighbour.
    pub fn close_active(&mut self) -> Result<Tab, TabError> {
        if self.tabs[self.active].kind == TabKind::Fleet {
            return Err(TabError::FleetStays);
        }
        let tab = self.tabs.remove(self.active);
        self.active = self.active.saturating_sub(1);
        Ok(tab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(title: &str) -> Tab {
        Tab {
            kind: TabKind::Fleet,
            title: title.into(),
            status: TabStatus::Idle,
        }
    }

    #[test]
    fn switch_wraps_and_fleet_stays() {
        let mut t = TabsState::default();
        assert_eq!(t.close_active(), Err(TabError::FleetStays));
        t.next();
        assert_eq!(t.active(), 0, "one tab: next stays");
        // A second tab of another kind would be closable; simulate with a non-Fleet-first order.
        t.tabs.push(tab("other"));
        t.tabs[1].kind = TabKind::Fleet;
        t.next();
        assert_eq!(t.active(), 1);
        t.next();
        assert_eq!(t.active(), 0);
        t.prev();
        assert_eq!(t.active(), 1);
        assert_eq!(t.goto(3), Err(TabError::NoSuchTab(3)));
        assert_eq!(t.goto(1), Ok(()));
        assert_eq!(t.active(), 0);
        assert_eq!(t.open(tab("x")), 2);
    }
}
