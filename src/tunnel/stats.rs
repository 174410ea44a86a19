//! A tunnel's live counters: atomics the connection tasks bump as bytes flow (not when a
//! connection ends), so a reader such as the console sees a long download progress. Text that
//! changes rarely (session id, last error) sits behind a mutex held only to copy it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelStats {
    /// Bytes from local clients to the destination, so far.
    pub bytes_out: u64,
    /// Bytes from the destination to local clients, so far.
    pub bytes_in: u64,
    pub connections_total: u64,
    pub connections_open: u64,
    /// Streams the agent could not connect (Flag ConnectToPortError).
    pub connect_errors: u64,
    /// New sessions started after the first.
    pub restarts: u64,
    pub session_id: Option<String>,
    pub last_error: Option<String>,
    /// When the tunnel started listening (uptime is measured from here).
    pub started_at: Instant,
}

#[derive(Debug)]
pub(crate) struct Counters {
    pub bytes_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub connections_total: AtomicU64,
    pub connections_open: AtomicU64,
    pub connect_errors: AtomicU64,
    pub restarts: AtomicU64,
    text: Mutex<Text>,
    started_at: Instant,
}

#[derive(Debug, Default)]
struct Text {
    session_id: Option<String>,
    last_error: Option<String>,
}

impl Counters {
    pub fn new() -> Counters {
        Counters {
            bytes_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            text: Mutex::default(),
            started_at: Instant::now(),
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_session(&self, id: &str) {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .session_id = Some(id.to_owned());
    }

    pub fn set_error(&self, error: impl Into<String>) {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_error = Some(error.into());
    }

    pub fn snapshot(&self) -> TunnelStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        TunnelStats {
            bytes_out: get(&self.bytes_out),
            bytes_in: get(&self.bytes_in),
            connections_total: get(&self.connections_total),
            connections_open: get(&self.connections_open),
            connect_errors: get(&self.connect_errors),
            restarts: get(&self.restarts),
            session_id: text.session_id.clone(),
            last_error: text.last_error.clone(),
            started_at: self.started_at,
        }
    }
}

/// Counts a connection as open until dropped, whichever way its task ends.
pub(crate) struct OpenConnection<'a>(&'a Counters);

impl<'a> OpenConnection<'a> {
    pub fn new(counters: &'a Counters) -> Self {
        Counters::add(&counters.connections_total, 1);
        Counters::add(&counters.connections_open, 1);
        OpenConnection(counters)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_live_and_open_connections_close_on_drop() {
        let c = Counters::new();
        {
            let _a = OpenConnection::new(&c);
            let _b = OpenConnection::new(&c);
            Counters::add(&c.bytes_out, 10);
            let s = c.snapshot();
            assert_eq!((s.connections_open, s.connections_total), (2, 2));
            assert_eq!(s.bytes_out, 10, "bytes show before the connection ends");
        }
        c.set_error("boom");
        let s = c.snapshot();
        assert_eq!((s.connections_open, s.connections_total), (0, 2));
        assert_eq!(s.last_error.as_deref(), Some("boom"));
    }
}
