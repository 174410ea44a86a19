//! AWS in a box on 127.0.0.1: EC2, SSM and CloudWatch Logs over their real wire protocols.
//!
//! [`Simulator::start`] binds a loopback port and serves all three services and all of its regions
//! on one endpoint URL; point the SDK's or the aws CLI's `endpoint_url` at
//! [`Simulator::endpoint_url`]. The fleet it serves is [`generate_fleet`] of its options, so tests
//! can compare answers against that oracle.
//!
//! Map: `http` (server, routing, auth, errors) → `ec2` / `ssm` / `logs` (one service each) over
//! `state` (fleet + stores); `fleet` (seeded generation), `faults` (`--faults`), `stats`,
//! `pagination` (tokens), `auth` (SigV4 structure), `xml` and `api` (shared helpers).

#![deny(clippy::unwrap_used)]

mod agent;
mod api;
mod auth;
mod commands;
pub mod demo_db;
mod ec2;
mod faults;
mod fleet;
mod gateway;
mod http;
mod logs;
mod pagination;
mod sandbox;
mod sessions;
mod ssm;
mod state;
mod stats;
mod sts;
mod xml;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{FaultSpec, FaultSpecError};
pub use fleet::{
    ACCOUNT_ID, Ec2Record, Ec2State, FleetSpec, Health, IamInstanceProfile, LATEST_AGENT_VERSION,
    PingStatus, Platform, SimInstance, SsmRecord, generate_fleet,
};
pub use stats::{OperationStats, Stats};

use state::SimState;

/// The regions a simulator serves unless told otherwise.
pub const DEFAULT_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Must be a loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    pub instances: usize,
    pub seed: u64,
    pub regions: Vec<String>,
    pub faults: FaultSpec,
    /// The instant fleet timestamps are relative to; `None` = when the simulator starts. Fix it
    /// for byte-identical answers across runs (snapshots).
    pub start_time: Option<DateTime<Utc>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            instances: 60,
            seed: 1,
            regions: DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect(),
            faults: FaultSpec::default(),
            start_time: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "the simulator listens on loopback only; {0} is not a loopback address (use 127.0.0.1 or [::1])"
    )]
    NotLoopback(SocketAddr),
    #[error("the simulator needs at least one region")]
    NoRegions,
    #[error("'{0}' is not a region name like us-east-1")]
    BadRegion(String),
    #[error("the simulator cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

/// A running simulator. Dropping it stops the server too; [`Simulator::shutdown`] also waits.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    cancel: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Generates the fleet, binds the listener and starts serving in a background task.
    pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
        if !opts.listen.ip().is_loopback() {
            return Err(SimError::NotLoopback(opts.listen));
        }
        if opts.regions.is_empty() {
            return Err(SimError::NoRegions);
        }
        if let Some(bad) = opts.regions.iter().find(|r| !is_region_name(r)) {
            return Err(SimError::BadRegion(bad.clone()));
        }
        let mut regions: Vec<String> = Vec::new();
        for r in &opts.regions {
            if !regions.contains(r) {
                regions.push(r.clone());
            }
        }
        // Whole seconds: SSM sends timestamps as float seconds, and clients parse those with
        // rounding error below a second; whole seconds compare exactly against the oracle.
        let start = opts.start_time.unwrap_or_else(|| {
            let now = Utc::now();
            DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
        });
        let fleet = generate_fleet(&FleetSpec {
            instances: opts.instances,
            seed: opts.seed,
            regions: regions.clone(),
            start,
        });
        let listener = TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: opts.listen,
            source,
        })?;
        let state = Arc::new(SimState::new(
            fleet,
            regions,
            opts.faults.clone(),
            opts.seed,
            start,
        ));
        state.set_addr(addr);
        let cancel = CancellationToken::new();
        let server = tokio::spawn(http::serve(listener, state.clone(), cancel.clone()));
        tracing::info!(%addr, instances = opts.instances, faults = %opts.faults, "simulator listening");
        Ok(Simulator {
            addr,
            state,
            cancel,
            server: Some(server),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the one endpoint for every service and region.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every (TokenValue, StreamUrl) StartSession and ResumeSession have handed out: the secrets
    /// tests/secrets.rs greps fleetdeck's logs, screen and files for.
    pub fn issued_session_secrets(&self) -> Vec<(String, String)> {
        self.state.live.issued()
    }

    /// The fleet being served, in the order the APIs list it.
    pub fn fleet(&self) -> &[SimInstance] {
        &self.state.fleet
    }

    pub fn regions(&self) -> &[String] {
        &self.state.regions
    }

    /// Session preferences' `cloudWatchStreamingEnabled`: when on, agents write JSON streaming
    /// events about once a second during a session; when off (the default), the transcript is
    /// uploaded as plain text at its end (ssm-protocol.md §9).
    pub fn set_session_log_streaming(&self, on: bool) {
        self.state.set_session_logs_streamed(on);
    }

    /// The instant the fleet's timestamps are relative to.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.state.started
    }

    /// Makes the agent on `instance_id` go ConnectionLost now (see `POST
    /// /_sim/agents/<id>/connection-lost`): its open sessions break without `channel_closed`.
    /// Returns how many sessions were open, or `None` when SSM does not know the instance.
    pub fn lose_agent(&self, instance_id: &str) -> Option<usize> {
        sessions::lose_agent(&self.state, instance_id)
    }

    /// API calls and injected throttles so far.
    pub fn stats(&self) -> Stats {
        self.state.lock().stats.snapshot()
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Serves until Ctrl-C (or SIGTERM on Unix), then shuts down.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        wait_for_signal().await?;
        self.shutdown().await;
        Ok(())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        assert!(is_region_name("us-east-1"));
        assert!(is_region_name("us-gov-west-1"));
        assert!(!is_region_name("us-east"));
        assert!(!is_region_name("US-EAST-1"));
        assert!(!is_region_name(""));
    }

    #[tokio::test]
    async fn refuses_non_loopback_and_bad_regions() {
        let opts = SimOptions {
            listen: "0.0.0.0:0".parse().expect("literal address"),
            ..SimOptions::default()
        };
        let err = Simulator::start(opts).await.expect_err("must refuse");
        assert!(matches!(err, SimError::NotLoopback(_)));
        assert!(err.to_string().contains("loopback"));

        let opts = SimOptions {
            regions: vec!["mars".into()],
            ..SimOptions::default()
        };
        assert!(matches!(
            Simulator::start(opts).await,
            Err(SimError::BadRegion(_))
        ));
    }

    #[tokio::test]
    async fn serves_on_a_loopback_port_and_stops() {
        let sim = Simulator::start(SimOptions::default())
            .await
            .expect("starts");
        assert!(sim.endpoint_url().starts_with("http://127.0.0.1:"));
        assert_eq!(sim.fleet().len(), 60);
        let addr = sim.local_addr();
        sim.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn each_simulator_has_its_own_sandbox_root_removed_when_it_stops() {
        let first = Simulator::start(SimOptions::default())
            .await
            .expect("starts");
        let second = Simulator::start(SimOptions::default())
            .await
            .expect("starts");
        let root = first.state.sandbox_root.clone();
        assert_ne!(root, second.state.sandbox_root);

        let sandbox = sandbox::prepare(&root, &first.fleet()[0]).expect("sandbox");
        assert!(sandbox.home.is_dir());
        first.shutdown().await;
        assert!(!root.exists(), "{} outlived its simulator", root.display());
        second.shutdown().await;
    }
}
