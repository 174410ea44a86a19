//! The simulator's shared state: the fixed fleet plus the mutable stores behind one mutex, which
//! handlers hold only while they read or change memory (never across an await).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::commands::CommandStore;
use super::faults::FaultSpec;
use super::fleet::SimInstance;
use super::logs::LogStore;
use super::sessions::Registry;
use super::ssm::SessionRecord;
use super::stats::StatsCounter;

#[derive(Debug)]
pub(crate) struct Inner {
    pub logs: LogStore,
    pub sessions: Vec<SessionRecord>,
    pub commands: CommandStore,
    pub stats: StatsCounter,
    /// Agents made ConnectionLost while running (`/_sim/agents/<id>/connection-lost`), and when.
    pub lost_agents: HashMap<String, DateTime<Utc>>,
    /// Draws for fault injection; seeded so a sequential test sees the same faults each run.
    pub rng: StdRng,
}

#[derive(Debug)]
pub(crate) struct SimState {
    pub fleet: Vec<SimInstance>,
    pub regions: Vec<String>,
    pub faults: FaultSpec,
    pub started: DateTime<Utc>,
    /// Sessions the gateway may still connect (tokens, agent tasks).
    pub live: Registry,
    /// Where agents run shells: `<tmp>/fleetdeck-sim-<pid>-<n>/<instance-id>/`, one root per
    /// simulator so that several in one process (the tests) never share files, removed on drop.
    pub sandbox_root: PathBuf,
    addr: OnceLock<SocketAddr>,
    /// Session preferences' `cloudWatchStreamingEnabled`: JSON events during the session instead
    /// of a plain-text upload at its end.
    stream_session_logs: AtomicBool,
    inner: Mutex<Inner>,
}

/// `<tmp>/fleetdeck-sim-<pid>-<n>`: the pid keeps concurrent processes apart, `n` the simulators
/// of one process.
fn fresh_sandbox_root() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("fleetdeck-sim-{}-{n}", std::process::id()))
}

/// The state outlives every agent task (they hold it), so by the time it drops no shell or script
/// of this simulator still needs its sandbox.
impl Drop for SimState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.sandbox_root);
    }
}

impl SimState {
    pub(crate) fn new(
        fleet: Vec<SimInstance>,
        regions: Vec<String>,
        faults: FaultSpec,
        seed: u64,
        started: DateTime<Utc>,
    ) -> Self {
        SimState {
            fleet,
            regions,
            faults,
            started,
            live: Registry::default(),
            sandbox_root: fresh_sandbox_root(),
            addr: OnceLock::new(),
            stream_session_logs: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                logs: LogStore::default(),
                sessions: Vec::new(),
                commands: CommandStore::default(),
                stats: StatsCounter::default(),
                lost_agents: HashMap::new(),
                rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
            }),
        }
    }

    /// A panic in one handler must not take the simulator down with a poisoned lock; the stores
    /// stay consistent because no handler leaves them half-updated across a panic point.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The listening address, for StreamUrls; set once the listener is bound.
    pub(crate) fn set_addr(&self, addr: SocketAddr) {
        let _ = self.addr.set(addr);
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
            .get()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub(crate) fn set_session_logs_streamed(&self, on: bool) {
        self.stream_session_logs.store(on, Ordering::Relaxed);
    }

    pub(crate) fn session_logs_streamed(&self) -> bool {
        self.stream_session_logs.load(Ordering::Relaxed)
    }

    pub(crate) fn has_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }

    /// Appends a session transcript to CloudWatch Logs the way the agent does at session end
    /// (group and stream created if missing).
    pub(crate) fn append_session_log(
        &self,
        region: &str,
        group: &str,
        stream: &str,
        events: &[(i64, String)],
    ) {
        let now = Utc::now().timestamp_millis();
        self.lock().logs.append(region, group, stream, events, now);
    }

    /// Adds or replaces (by session id) a session DescribeSessions reports.
    pub(crate) fn upsert_session(&self, session: SessionRecord) {
        let mut inner = self.lock();
        match inner
            .sessions
            .iter_mut()
            .find(|s| s.session_id == session.session_id)
        {
            Some(existing) => *existing = session,
            None => inner.sessions.push(session),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::api::JsonInput;
    use serde_json::json;

    #[test]
    fn session_logs_are_readable_through_the_api() {
        let state = SimState::new(
            Vec::new(),
            vec!["us-east-1".into()],
            FaultSpec::default(),
            1,
            Utc::now(),
        );
        let now = Utc::now().timestamp_millis();
        state.append_session_log(
            "us-east-1",
            "/ssm/sessions",
            "ana-0123",
            &[(now - 2, "$ uptime".into()), (now - 1, "up 3 days".into())],
        );
        let body = json!({"logGroupName": "/ssm/sessions", "logStreamName": "ana-0123", "startFromHead": true});
        let out = crate::sim::logs::handle(
            &mut state.lock().logs,
            "us-east-1",
            "GetLogEvents",
            &JsonInput::new(body.as_object().unwrap()),
            now,
        )
        .unwrap();
        assert_eq!(out["events"][0]["message"], "$ uptime");
        assert_eq!(out["events"][1]["message"], "up 3 days");
    }
}
