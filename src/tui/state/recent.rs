//! The detail pane's recent sessions: read once per host when the pane first shows it (a task,
//! `tasks::spawn_recent_sessions`), kept for the console's life. A termination through the
//! console forgets that host's entry, so the pane reads it again.

use std::collections::HashMap;

use crate::model::Instance;
use crate::replay::SessionSummary;

/// How many sessions the pane lists.
pub const RECENT: usize = 5;

/// One host in one (profile, region).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    pub profile: String,
    pub region: String,
    pub instance_id: String,
}

impl HostKey {
    pub fn of(i: &Instance) -> HostKey {
        HostKey {
            profile: i.profile.clone(),
            region: i.region.clone(),
            instance_id: i.instance_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recent {
    Loading,
    /// Newest first, at most [`RECENT`]; `total` is how many the history holds.
    Loaded {
        sessions: Vec<SessionSummary>,
        total: usize,
    },
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct RecentSessions {
    hosts: HashMap<HostKey, Recent>,
    /// One read at a time: holding `j` with the pane open reads the host the selection rests
    /// on, not every host it passed.
    in_flight: Option<HostKey>,
    /// `R` was pressed before this host's sessions were read: replay once they are.
    pub pending_replay: Option<HostKey>,
}

impl RecentSessions {
    pub fn get(&self, key: &HostKey) -> Option<&Recent> {
        self.hosts.get(key)
    }

    /// Marks `key` as loading; false when it is known, or another read is in flight.
    pub fn start(&mut self, key: HostKey) -> bool {
        if self.hosts.contains_key(&key) || self.in_flight.is_some() {
            return false;
        }
        self.hosts.insert(key.clone(), Recent::Loading);
        self.in_flight = Some(key);
        true
    }

    /// A read finished: keeps the newest [`RECENT`] (the history comes newest first).
    pub fn loaded(&mut self, key: HostKey, result: Result<Vec<SessionSummary>, String>) {
        if self.in_flight.as_ref() == Some(&key) {
            self.in_flight = None;
        }
        let entry = match result {
            Ok(mut sessions) => {
                let total = sessions.len();
                sessions.truncate(RECENT);
                Recent::Loaded { sessions, total }
            }
            Err(e) => Recent::Failed(e),
        };
        self.hosts.insert(key, entry);
    }

    /// Forgets every entry of an instance (in any profile or region); a read in flight still
    /// reports, and its answer is kept.
    pub fn forget(&mut self, instance_id: &str) {
        self.hosts
            .retain(|k, v| k.instance_id != instance_id || *v == Recent::Loading);
    }

    /// Forgets every entry but a read in flight.
    pub fn clear(&mut self) {
        self.hosts.retain(|_, v| *v == Recent::Loading);
    }
}
