//! The detail pane's recent sessions of a host (read lazily, once per host, one read at a time)
//! and the fleet keys that use them: `L` lists the host's sessions in the Sessions tab, `R`
//! replays its newest logged session.

use crate::aws::Clients;
use crate::replay::{SessionState, SessionSummary};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::tabs::TabKind;
use crate::tui::state::{HostKey, Level, Recent};
use crate::tui::tasks::spawn_recent_sessions;

impl App {
    /// The clients of one (profile, region) shown now.
    pub(super) fn clients_of(&self, profile: &str, region: &str) -> Option<Clients> {
        self.services
            .clients
            .iter()
            .find(|c| c.target.region == region && c.target.profile_label() == profile)
            .cloned()
    }

    /// Before every action: what makes a host's recent sessions out of date. A shell on it
    /// started or ended (its history changed), or `r` (read everything again).
    pub(super) fn outdate_recent_sessions(&mut self, action: &Action) {
        let tab = match action {
            Action::Refresh => {
                self.state.recent.clear();
                return;
            }
            Action::ShellStarted { tab, .. } => *tab,
            Action::ShellStateChanged {
                tab,
                state: crate::channel::SessionState::Closed { .. },
            } => *tab,
            _ => return,
        };
        if let Some(shell) = self.state.shells.get(&tab) {
            let id = shell.instance_id.clone();
            self.state.recent.forget(&id);
        }
    }

    /// After every action: when the detail pane shows a host whose sessions were never read,
    /// read them (unless a read is in flight; its report brings us back here).
    pub(super) fn want_recent_sessions(&mut self) {
        if !self.state.fleet.detail || self.state.tabs.active_kind() != &TabKind::Fleet {
            return;
        }
        if let Some(key) = self.state.fleet.selected_instance().map(HostKey::of) {
            self.load_recent(key);
        }
    }

    /// Starts reading `key`'s sessions if nothing is known or in flight.
    fn load_recent(&mut self, key: HostKey) {
        if !self.state.recent.start(key.clone()) {
            return;
        }
        // Without a task channel (tests) the read stays "in flight" until reported by hand.
        let Some(tx) = self.services.tx.clone() else {
            return;
        };
        let instance: Vec<_> = self
            .state
            .fleet
            .instances()
            .iter()
            .find(|i| HostKey::of(i) == key)
            .cloned()
            .into_iter()
            .collect();
        match self.clients_of(&key.profile, &key.region) {
            Some(clients) => spawn_recent_sessions(tx, clients, key, instance),
            None => {
                let why = format!(
                    "no clients for profile {} in {}: refresh and try again",
                    key.profile, key.region
                );
                self.state.recent.loaded(key, Err(why));
            }
        }
    }

    pub(super) fn recent_loaded(
        &mut self,
        key: HostKey,
        result: Result<Vec<SessionSummary>, String>,
    ) {
        self.state.recent.loaded(key.clone(), result);
        match self.state.recent.pending_replay.clone() {
            Some(pending) if pending == key => {
                self.state.recent.pending_replay = None;
                self.replay_newest(&key);
            }
            // `R` was pressed on a host while another host's read was in flight: its turn now.
            Some(pending) => self.load_recent(pending),
            None => {}
        }
    }

    pub(super) fn host_action(&mut self, action: Action) {
        let Some(i) = self.state.fleet.selected_instance() else {
            self.state.flash(Level::Warn, "no host selected");
            return;
        };
        let key = HostKey::of(i);
        match action {
            Action::HostSessions => {
                self.open_sessions();
                self.state.sessions.show_instance(&key.instance_id);
            }
            Action::HostReplayNewest => match self.state.recent.get(&key) {
                Some(Recent::Loaded { .. } | Recent::Failed(_)) => self.replay_newest(&key),
                _ => {
                    self.state.recent.pending_replay = Some(key.clone());
                    self.load_recent(key);
                    self.state.flash(
                        Level::Info,
                        "reading the host's sessions; the newest logged one replays when read",
                    );
                }
            },
            _ => {}
        }
    }

    /// A replay tab for the newest session of `key` that has a CloudWatch log, or why not.
    fn replay_newest(&mut self, key: &HostKey) {
        let host = key.instance_id.clone();
        let (sessions, total) = match self.state.recent.get(key) {
            Some(Recent::Loaded { sessions, total }) => (sessions.clone(), *total),
            Some(Recent::Failed(e)) => {
                let text = format!("cannot read the sessions of {host}: {e}");
                self.state.flash(Level::Error, text);
                return;
            }
            _ => return,
        };
        match sessions
            .iter()
            .find(|s| s.log.as_ref().is_some_and(|l| l.cloudwatch.is_some()))
        {
            Some(s) => self.open_replay_of(s.clone()),
            None => {
                let why = match sessions.first() {
                    None => format!("{host} has no sessions in the history"),
                    Some(s) if s.state == SessionState::Active && sessions.len() == 1 => {
                        format!(
                            "{host}'s only session is still active; its log appears when it ends"
                        )
                    }
                    Some(_) => format!(
                        "none of {host}'s {} most recent sessions (of {total}) has a CloudWatch log",
                        sessions.len()
                    ),
                };
                self.state.flash(Level::Warn, why);
            }
        }
    }
}
