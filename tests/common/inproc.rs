//! The simulator in the test's own process, and SDK clients pointed at it: for tests that drive
//! the library (sessions, tunnels, peers) rather than the binary.

use std::sync::Arc;

use fleetdeck::aws::clients::{CallStats, ClientOptions, Clients, Target};
use fleetdeck::sim::{SimOptions, Simulator};

/// A simulator with `instances` hosts in one region and the given `--faults` spec.
pub async fn simulator(instances: usize, region: &str, faults: &str) -> Simulator {
    Simulator::start(SimOptions {
        instances,
        regions: vec![region.into()],
        faults: faults.parse().expect("fault spec"),
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts")
}

/// Clients signing as the user `ana` (sessions are owned by the access key's user).
pub async fn clients(sim: &Simulator, region: &str) -> Clients {
    let mut options = ClientOptions::new(Some(sim.endpoint_url()));
    options.static_credentials = Some(("ana".into(), "secret".into()));
    Clients::new(
        Target {
            profile: None,
            region: region.into(),
        },
        &options,
        Arc::new(CallStats::default()),
    )
    .await
}
