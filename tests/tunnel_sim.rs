//! Tunnels through the real SDK and WebSocket against the in-process simulator: a byte server the
//! test starts on loopback, reached through the simulated agent's port sessions.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fleetdeck::aws::clients::Clients;
use fleetdeck::sim::{Health, Simulator};
use fleetdeck::tunnel::{Tunnel, TunnelSpec, TunnelState};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const REGION: &str = "us-east-1";
const MB: usize = 1024 * 1024;

async fn sim(faults: &str) -> Simulator {
    common::inproc::simulator(20, REGION, faults).await
}

async fn clients(sim: &Simulator) -> Clients {
    common::inproc::clients(sim, REGION).await
}

fn online(sim: &Simulator) -> String {
    sim.fleet()
        .iter()
        .find(|i| i.health == Health::Online && i.region == REGION)
        .expect("an online instance")
        .id
        .clone()
}

/// Deterministic bytes for request `seed`.
fn content(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A tiny HTTP server: `GET /<seed>/<len>` answers `len` deterministic bytes; `POST` echoes the
/// body's SHA-256 in hex.
async fn byte_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if tcp.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let line = String::from_utf8_lossy(&head).to_string();
                let path = line.split_whitespace().nth(1).unwrap_or("/0/0").to_string();
                let mut parts = path.trim_start_matches('/').split('/');
                let seed: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                let len: usize = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                let body = content(seed, len);
                let header = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                let _ = tcp.write_all(header.as_bytes()).await;
                let _ = tcp.write_all(&body).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

/// GET through `addr`; returns the body's SHA-256.
async fn get(addr: SocketAddr, seed: u32, len: usize) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .expect("connect to the tunnel");
    let req = format!("GET /{seed}/{len} HTTP/1.1\r\nHost: x\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("send request");
    let mut all = Vec::new();
    tcp.read_to_end(&mut all).await.expect("read response");
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response header")
        + 4;
    assert_eq!(all.len() - split, len, "body length for seed {seed}");
    Sha256::digest(&all[split..]).to_vec()
}

/// Waits for a state `want` accepts (`Reconnecting` matches whatever its attempt and reason).
async fn wait_state(states: &mut mpsc::UnboundedReceiver<TunnelState>, want: TunnelState) {
    let deadline = Duration::from_secs(30);
    let same = |s: &TunnelState| match (s, &want) {
        (TunnelState::Reconnecting { .. }, TunnelState::Reconnecting { .. }) => true,
        (s, want) => s == want,
    };
    tokio::time::timeout(deadline, async {
        while let Some(s) = states.recv().await {
            if same(&s) {
                return;
            }
            if let TunnelState::Failed { why } = &s {
                panic!("tunnel failed: {why}");
            }
        }
        panic!("state stream ended before {want:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {want:?} within {deadline:?}"));
}

fn reconnecting() -> TunnelState {
    TunnelState::Reconnecting {
        attempt: 0,
        why: String::new(),
    }
}

async fn many(addr: SocketAddr, n: u32, len: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for seed in 0..n {
        tasks.push(tokio::spawn(
            async move { (seed, get(addr, seed, len).await) },
        ));
    }
    for t in tasks {
        let (seed, digest) = tokio::time::timeout(Duration::from_secs(240), t)
            .await
            .expect("transfers finish in time")
            .expect("transfer task");
        assert_eq!(
            digest,
            Sha256::digest(content(seed, len)).to_vec(),
            "seed {seed}"
        );
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_connections_of_5_mb_through_a_tunnel_to_the_instance() {
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let server = byte_server().await;
    let (tunnel, mut states) = Tunnel::start(clients, TunnelSpec::new(online(&sim), server.port()))
        .await
        .expect("tunnel starts");
    assert!(tunnel.local_addr().ip().is_loopback());
    wait_state(&mut states, TunnelState::Listening).await;
    let size = std::env::var("TUNNEL_TEST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize)
        * MB;
    let direct = many(server, 16, size).await;
    let through = many(tunnel.local_addr(), 16, size).await;
    let mb = 16.0 * size as f64 / MB as f64;
    eprintln!(
        "16 × 5 MB: direct {:.1} MB/s, tunnel {:.1} MB/s",
        mb / direct.as_secs_f64(),
        mb / through.as_secs_f64()
    );
    let stats = tunnel.stats();
    assert_eq!(stats.connections_total, 16);
    assert_eq!(
        stats.bytes_in,
        16 * (size as u64 + 37 + (size.to_string().len() as u64))
    );
    tunnel.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_host_tunnel_and_a_closed_port_closes_cleanly() {
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let server = byte_server().await;
    let mut spec = TunnelSpec::new(online(&sim), server.port());
    spec.remote_host = Some("localhost".into());
    let (tunnel, mut states) = Tunnel::start(clients.clone(), spec).await.expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    many(tunnel.local_addr(), 4, MB).await;

    // A closed port: the agent's dial fails; the client sees a clean EOF and the tunnel stays.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let (dead, mut dead_states) =
        Tunnel::start(clients, TunnelSpec::new(online(&sim), closed_port))
            .await
            .expect("tunnel");
    wait_state(&mut dead_states, TunnelState::Listening).await;
    let mut tcp = TcpStream::connect(dead.local_addr())
        .await
        .expect("connect");
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut buf))
        .await
        .expect("closed in time")
        .expect("clean close, not a reset");
    assert_eq!(n, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while dead.stats().connect_errors == 0 {
        assert!(Instant::now() < deadline, "ConnectToPortError counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The other tunnel (same process, same simulator) keeps working.
    many(tunnel.local_addr(), 2, 1000).await;
    assert_eq!(dead.stats().restarts, 0);
    dead.close();
    tunnel.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_recovers_from_websocket_drops() {
    let sim = sim("ws-drop=2s").await;
    let clients = clients(&sim).await;
    let server = byte_server().await;
    let (tunnel, mut states) = Tunnel::start(clients, TunnelSpec::new(online(&sim), server.port()))
        .await
        .expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    // Transfers long enough to span drops.
    many(tunnel.local_addr(), 4, 4 * MB).await;
    wait_state(&mut states, reconnecting()).await;
    wait_state(&mut states, TunnelState::Listening).await;
    many(tunnel.local_addr(), 4, 100_000).await;
    assert!(
        tunnel
            .stats()
            .last_error
            .is_some_and(|e| e.contains("data channel dropped")),
        "a healed drop stays visible: {:?}",
        tunnel.stats().last_error
    );
    tunnel.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_live_while_a_connection_is_open() {
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let server = byte_server().await;
    let (tunnel, mut states) = Tunnel::start(clients, TunnelSpec::new(online(&sim), server.port()))
        .await
        .expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    // Ask for more than the socket buffers hold and read nothing: the connection stays open
    // with part of the body through.
    let len = 16 * MB;
    let mut tcp = TcpStream::connect(tunnel.local_addr())
        .await
        .expect("connect");
    tcp.write_all(format!("GET /7/{len} HTTP/1.1\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = tunnel.stats();
        if s.connections_open == 1 && s.bytes_in > 0 && s.bytes_out > 0 {
            assert!(s.bytes_in < len as u64, "the body is not all through yet");
            break;
        }
        assert!(Instant::now() < deadline, "no live counts: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut all = Vec::new();
    tcp.read_to_end(&mut all).await.expect("body");
    drop(tcp);
    let deadline = Instant::now() + Duration::from_secs(30);
    while tunnel.stats().connections_open != 0 {
        assert!(Instant::now() < deadline, "connection counted as closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = tunnel.stats();
    assert_eq!(s.bytes_in, all.len() as u64);
    // The session's keepalive ping went out when the socket opened (then every 5 minutes).
    assert!(
        sim.stats().calls("ssmmessages", "WebSocketPing") >= 1,
        "a WebSocket ping reached the agent"
    );
    assert_eq!(s.connections_total, 1);
    assert!(s.session_id.is_some());
    tunnel.close();
    wait_state(&mut states, TunnelState::Closed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_database_through_a_host_by_its_name() {
    use fleetdeck::sim::demo_db::{DEMO_DB_HOST, DemoDb, GREETING};
    use tokio::io::AsyncBufReadExt;
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let db = DemoDb::serve(TcpListener::bind("127.0.0.1:0").await.expect("bind")).expect("db");
    let mut spec = TunnelSpec::new(online(&sim), db.addr.port());
    spec.remote_host = Some(DEMO_DB_HOST.into());
    let (tunnel, mut states) = Tunnel::start(clients, spec).await.expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    let tcp = TcpStream::connect(tunnel.local_addr())
        .await
        .expect("connect");
    let (read, mut write) = tcp.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("a reply in time")
            .expect("read")
            .expect("a line")
    };
    assert_eq!(next().await, GREETING);
    write.write_all(b"GET greeting\n").await.expect("write");
    assert_eq!(next().await, "hello through the tunnel");
    tunnel.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_agent_gets_basic_mode_one_connection_at_a_time() {
    use fleetdeck::sim::demo_db::{DEMO_DB_HOST, DemoDb, GREETING};
    use tokio::io::AsyncBufReadExt;
    let sim = common::inproc::simulator(200, REGION, "").await;
    // An agent from before multiplexing (≤ 3.0.196.0), Online.
    let old = sim
        .fleet()
        .iter()
        .find(|i| {
            i.region == REGION
                && i.health == Health::OutdatedAgent
                && i.ssm
                    .as_ref()
                    .is_some_and(|s| s.agent_version.starts_with("2."))
        })
        .expect("an instance with a 2.x agent in a 200-host fleet")
        .id
        .clone();
    let clients = clients(&sim).await;
    let db = DemoDb::serve(TcpListener::bind("127.0.0.1:0").await.expect("bind")).expect("db");
    let mut spec = TunnelSpec::new(old, db.addr.port());
    spec.remote_host = Some(DEMO_DB_HOST.into());
    let (tunnel, mut states) = Tunnel::start(clients, spec).await.expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    // Basic mode: the agent dials on the first data, so the client speaks first.
    for (ask, want) in [("SET k basic", "OK"), ("GET k", "basic")] {
        let tcp = TcpStream::connect(tunnel.local_addr())
            .await
            .expect("connect");
        let (read, mut write) = tcp.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        write
            .write_all(format!("{ask}\n").as_bytes())
            .await
            .expect("write");
        let mut next = async || {
            tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .expect("a reply in time")
                .expect("read")
                .expect("a line")
        };
        assert_eq!(
            next().await,
            GREETING,
            "a new target connection per local one"
        );
        assert_eq!(next().await, want);
        drop(write);
        drop(lines);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tunnel.stats().connections_open != 0 {
            assert!(Instant::now() < deadline, "the connection ends");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let s = tunnel.stats();
    assert_eq!(s.connections_total, 2);
    assert!(s.bytes_in > 2 * GREETING.len() as u64);
    tunnel.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_timeout_ends_the_session_and_the_tunnel_starts_a_new_one() {
    let sim = sim("idle-timeout=1s").await;
    let clients = clients(&sim).await;
    let server = byte_server().await;
    let (tunnel, mut states) = Tunnel::start(clients, TunnelSpec::new(online(&sim), server.port()))
        .await
        .expect("tunnel");
    wait_state(&mut states, TunnelState::Listening).await;
    let first = tunnel.stats().session_id.expect("a session");
    // Quiet: the service ends the session; the tunnel says why and comes back by itself.
    let why = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match states.recv().await {
                Some(TunnelState::Reconnecting { why, .. }) => return why,
                Some(TunnelState::Failed { why }) => panic!("tunnel failed: {why}"),
                Some(_) => {}
                None => panic!("state stream ended"),
            }
        }
    })
    .await
    .expect("the idle session ends");
    assert!(why.contains("idle session timeout"), "{why}");
    wait_state(&mut states, TunnelState::Listening).await;
    let s = tunnel.stats();
    assert_eq!(s.restarts, 1);
    assert_ne!(
        s.session_id.as_deref(),
        Some(first.as_str()),
        "a new session"
    );
    many(tunnel.local_addr(), 2, 1000).await;
    tunnel.close();
}
