//! An independent data-channel client against the simulator's agent: npm's `ssm-session` (not
//! written here) opens the StreamUrl that StartSession returned, types a command and must see the
//! shell's answer. If it can, the simulator speaks the protocol, not just fleetdeck's dialect of it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use fleetdeck::aws::clients::{CallStats, ClientOptions, Clients, Target};
use fleetdeck::sim::{Health, SimOptions, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_ssm_session_runs_a_command_through_the_simulated_agent() {
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    assert!(
        peers.join("node_modules/ssm-session").is_dir(),
        "the npm peer is not installed: run .ci/setup (npm install in tests/peers)"
    );
    let sim = Simulator::start(SimOptions {
        instances: 20,
        regions: vec!["eu-west-1".into()],
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let mut options = ClientOptions::new(Some(sim.endpoint_url()));
    options.static_credentials = Some(("peer".into(), "secret".into()));
    let clients = Clients::new(
        Target {
            profile: None,
            region: "eu-west-1".into(),
        },
        &options,
        Arc::new(CallStats::default()),
    )
    .await;
    let online = sim
        .fleet()
        .iter()
        .find(|i| i.health == Health::Online && !i.platform.is_windows())
        .expect("an online Linux host");
    let started = clients
        .ssm
        .start_session()
        .target(&online.id)
        .send()
        .await
        .expect("StartSession");

    let peer = tokio::task::spawn_blocking({
        let url = started.stream_url().unwrap_or_default().to_owned();
        let token = started.token_value().unwrap_or_default().to_owned();
        move || {
            Command::new("node")
                .arg(peers.join("ssm_session_client.js"))
                .env("STREAM_URL", url)
                .env("TOKEN", token)
                .env("COMMAND", "echo peer-$((6*7)) on $(hostname)")
                .output()
                .expect("run node")
        }
    })
    .await
    .expect("peer task");
    let stdout = String::from_utf8_lossy(&peer.stdout);
    assert!(
        peer.status.success(),
        "peer failed: {}\n{stdout}",
        String::from_utf8_lossy(&peer.stderr)
    );
    assert!(
        stdout.contains(&format!("peer-42 on {}", online.name)),
        "{stdout}"
    );
}
