//! The fault-injection cases that need the real binary and a simulator process: an agent going
//! ConnectionLost under an open shell, the simulator killed and restarted under an open tunnel,
//! and the inventory under 30% throttling. Each case says what the user sees and checks that
//! nothing is lost; each waits with a deadline (its time bound), never a fixed sleep.
//! docs/faults.md lists every fault case of the suite, these and the ones beside the code they
//! exercise.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use common::tmux::Tmux;
use common::{Env, Guard, Sim, free_port, run, wait_for};

const REGION: &str = "us-east-1";

/// `list -o json` against `endpoint`, one region.
fn list(env: &Env, endpoint: &str) -> (Vec<Value>, String) {
    let r = run(env.cmd().args([
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "list",
        "-o",
        "json",
    ]));
    assert_eq!(r.code, 0, "list failed: {}", r.stderr);
    let rows = serde_json::from_str(&r.stdout).expect("list -o json is a JSON array");
    (rows, r.stderr)
}

/// An Online Linux instance of the fleet, as `list` shows it.
fn online_linux(env: &Env, endpoint: &str) -> String {
    let (rows, _) = list(env, endpoint);
    rows.iter()
        .find(|r| {
            r["ping_status"] == "Online"
                && !r["platform"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Windows")
                && r["instance_id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("i-"))
        })
        .and_then(|r| r["instance_id"].as_str())
        .expect("an Online Linux instance in the fleet")
        .to_owned()
}

/// One request to the simulator's own endpoints; the status code and body.
fn sim_request(endpoint: &str, method: &str, path: &str) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).expect("connect to the simulator");
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("read the reply");
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Agent lost mid-session. The user sees, in the terminal `fleetdeck connect` restored: "i-… has
/// been ConnectionLost since HH:MM:SS UTC: its SSM agent stopped answering, so session … ended
/// and cannot be resumed. Run `fleetdeck doctor i-…` …", exit status 1; `list` then shows the
/// instance ConnectionLost and a new `connect` is refused with TargetNotConnected, explained
/// ("… is not connected: ConnectionLost since …", `fleetdeck doctor i-…`). Nothing
/// typed before the loss is lost: its output is on screen. Bound: 30 s per step.
#[test]
fn agent_lost_mid_session_ends_connect_with_a_sentence_and_list_shows_it() {
    const LIMIT: Duration = Duration::from_secs(30);
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "40", "--seed", "7"]);
    let id = online_linux(&env, &sim.endpoint);

    let term = Tmux::start(&env, 160, 40);
    term.wait("the test shell's prompt", LIMIT, |p| p.contains("test$"));
    term.line(&format!(
        "{} --endpoint-url {} --region {REGION} connect {id}; echo \"EXIT=$?\"; \
         stty -a | grep -o -- '-*icanon' | sed 's/^/MODE=/'",
        common::BIN,
        sim.endpoint
    ));
    term.wait("the remote prompt", LIMIT, |p| p.contains("ssm-user@"));
    term.line("echo before-the-loss-$((6*7))");
    term.wait("output typed before the loss", LIMIT, |p| {
        p.contains("before-the-loss-42")
    });

    let (status, body) = sim_request(
        &sim.endpoint,
        "POST",
        &format!("/_sim/agents/{id}/connection-lost"),
    );
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).expect("JSON reply");
    assert_eq!(reply["sessions_dropped"], 1, "{body}");

    // Lines that start with the markers: the typed command line holds them too.
    let marked = |p: &str, marker: &str| p.lines().any(|l| l.starts_with(marker));
    let pane = term.wait("connect to end and the shell to report", LIMIT, |p| {
        marked(p, "EXIT=") && marked(p, "MODE=")
    });
    let flat = pane.replace('\n', " ");
    assert!(marked(&pane, "EXIT=1"), "{pane}");
    assert!(
        flat.contains(&format!("{id} has been ConnectionLost since"))
            && flat.contains("its SSM agent stopped answering")
            && flat.contains(&format!("fleetdeck doctor {id}")),
        "{pane}"
    );
    assert!(marked(&pane, "MODE=icanon"), "terminal left raw: {pane}");
    assert!(flat.contains("before-the-loss-42"), "{pane}");

    let (rows, _) = list(&env, &sim.endpoint);
    let row = rows
        .iter()
        .find(|r| r["instance_id"] == id.as_str())
        .expect("the instance is still listed");
    assert_eq!(row["ping_status"], "ConnectionLost", "{row}");

    let again = run(env.cmd().args([
        "--endpoint-url",
        &sim.endpoint,
        "--region",
        REGION,
        "connect",
        &id,
    ]));
    assert_eq!(again.code, 1, "{}", again.stderr);
    // Refused, and said why with what fleetdeck knows of the agent, not SSM's bare code.
    assert!(
        again
            .stderr
            .contains("is not connected: ConnectionLost since"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains(&format!("`fleetdeck doctor {id}`")),
        "{}",
        again.stderr
    );
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

/// A loopback server the tunnel forwards to: reads `SEED LEN\n`, answers `LEN` bytes of
/// [`content`], then closes.
fn byte_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut line = String::new();
                let mut reader = BufReader::new(tcp.try_clone().expect("clone"));
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut parts = line.split_whitespace().map(|p| p.parse::<u64>().ok());
                if let (Some(Some(seed)), Some(Some(len))) = (parts.next(), parts.next()) {
                    let mut tcp = tcp;
                    let _ = tcp.write_all(&content(seed as u32, len as usize));
                }
            });
        }
    });
    port
}

/// One request through the tunnel; the bytes that came back.
fn fetch(addr: SocketAddr, seed: u32, len: usize) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).expect("the tunnel's listener accepts");
    tcp.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    writeln!(tcp, "{seed} {len}").expect("send the request");
    let mut got = Vec::new();
    let _ = tcp.read_to_end(&mut got);
    got
}

fn spawn_sim(env: &Env, port: u16) -> Guard {
    let mut child = env
        .bare()
        .args(["sim", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--instances", "40", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fleetdeck sim");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut first)
        .expect("the endpoint line");
    assert_eq!(first.trim(), format!("http://127.0.0.1:{port}"));
    Guard(child)
}

/// Lines a child writes to stderr, collected as they come.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().expect("lines").push(line);
        }
    });
    lines
}

/// The simulator killed (SIGKILL) and restarted on the same port under an open tunnel. The user
/// sees "Tunnel reconnecting…" on stderr, then "Tunnel reconnected." once the simulator is back,
/// with no action of theirs; the local port accepts connections throughout, and connections
/// after the restart carry their bytes exactly. Bound: 60 s for the tunnel to come back.
#[test]
fn tunnel_survives_the_simulator_killed_and_restarted() {
    let env = Env::new();
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut sim = spawn_sim(&env, port);
    let id = online_linux(&env, &endpoint);
    let destination = byte_server();

    let mut tunnel = env
        .cmd()
        .args([
            "--endpoint-url",
            &endpoint,
            "--region",
            REGION,
            "tunnel",
            &id,
        ])
        .args(["--remote-port", &destination.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleetdeck tunnel");
    let stderr = collect_stderr(&mut tunnel);
    let mut first = String::new();
    BufReader::new(tunnel.stdout.take().expect("piped stdout"))
        .read_line(&mut first)
        .expect("the Listening line");
    let _tunnel = Guard(tunnel);
    let local: SocketAddr = first
        .strip_prefix("Listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("first line names the local address: {first:?}"));

    const LEN: usize = 2 * 1024 * 1024 + 13;
    assert!(fetch(local, 1, LEN) == content(1, LEN), "before the kill");

    sim.0.kill().expect("kill -9 the simulator");
    let _ = sim.0.wait();
    let said = |needle: &str| {
        stderr
            .lock()
            .expect("lines")
            .iter()
            .any(|l| l.contains(needle))
    };
    wait_for(
        "'Tunnel reconnecting…' on stderr",
        Duration::from_secs(30),
        || said("Tunnel reconnecting"),
    );
    // The listener stays open while the simulator is away.
    TcpStream::connect(local).expect("the local port still accepts while the simulator is down");

    let _sim = spawn_sim(&env, port);
    wait_for(
        "'Tunnel reconnected.' on stderr",
        Duration::from_secs(60),
        || said("Tunnel reconnected."),
    );
    for seed in 2..5 {
        assert!(
            fetch(local, seed, LEN) == content(seed, LEN),
            "connection {seed} after the restart lost or changed bytes"
        );
    }
    let lines = stderr.lock().expect("lines").clone();
    assert!(
        !lines.iter().any(|l| l.starts_with("error:")),
        "the tunnel gave up: {lines:?}"
    );
}

/// 30% of requests throttled during the inventory. The user sees every instance (the same ones
/// as without faults) and one warning line saying requests were retried. Bound: `list`'s own
/// retries (the test fails if it errs). The run side of this case is
/// tests/run_sim.rs `a_throttled_run_still_completes` (30%).
#[test]
fn inventory_under_30_percent_throttling_lists_every_instance() {
    let env = Env::new();
    // ~1,000 instances in the region: 1 EC2 page and ~18 SSM pages, so throttling is all but
    // certain to hit some of them (0.7^19 < 0.1% that none is throttled).
    let calm = Sim::start(&env, &["--instances", "2000", "--seed", "11"]);
    let throttled = Sim::start(
        &env,
        &[
            "--instances",
            "2000",
            "--seed",
            "11",
            "--faults",
            "throttle=0.3",
        ],
    );
    let ids = |rows: &[Value]| -> BTreeSet<String> {
        rows.iter()
            .filter_map(|r| {
                Some(format!(
                    "{}:{}",
                    r["instance_id"].as_str()?,
                    r["ping_status"]
                ))
            })
            .collect()
    };
    let (want, _) = list(&env, &calm.endpoint);
    let (got, stderr) = list(&env, &throttled.endpoint);
    assert!(!want.is_empty());
    assert_eq!(
        ids(&got),
        ids(&want),
        "instances lost or changed under throttling"
    );
    assert!(stderr.contains("were retried"), "{stderr}");
    let (status, body) = sim_request(&throttled.endpoint, "GET", "/_sim/stats");
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&body).expect("stats JSON");
    assert!(stats["total_throttled"].as_u64().unwrap_or(0) > 0, "{body}");
}
