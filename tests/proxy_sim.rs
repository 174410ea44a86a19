//! `fleetdeck proxy TARGET --port P` (ssh's ProxyCommand) through the real binary against the
//! simulator as a child process: a byte stream goes stdin → instance → a loopback echo server the
//! test runs → stdout, exactly, both ways; when the destination closes, the proxy exits 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{Env, Guard, Sim, run};

const DEFAULT_LEN: usize = 1024 * 1024 + 777;

/// Deterministic, not periodic at any small length, every byte value present.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Accepts one connection, echoes exactly `len` bytes, then closes; sends what it received.
fn echo_server(len: usize) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the echo server");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut tcp, _) = listener.accept().expect("accept");
        let mut got = Vec::with_capacity(len);
        let mut buf = vec![0u8; 16 * 1024];
        while got.len() < len {
            match tcp.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tcp.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            }
        }
        let _ = tcp.shutdown(std::net::Shutdown::Both);
        let _ = tx.send(got);
    });
    (port, rx)
}

#[test]
fn proxy_carries_a_byte_stream_both_ways_exactly() {
    let len: usize = std::env::var("PROXY_TEST_LEN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_LEN);
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "20", "--seed", "5"]);
    let base = [
        "--endpoint-url",
        sim.endpoint.as_str(),
        "--region",
        "us-east-1",
    ];
    let list = run(env.cmd().args(base).args(["list", "--output", "json"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    let fleet: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).expect("json");
    let online = fleet
        .iter()
        .find(|i| i["state"] == "running" && i["ping_status"] == "Online")
        .and_then(|i| i["instance_id"].as_str())
        .expect("an online instance")
        .to_owned();

    let (port, received) = echo_server(len);
    let mut child = env
        .cmd()
        .args(base)
        .args(["proxy", &online, "--port", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleetdeck proxy");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let child = Guard(child);

    let sent = content(len);
    let to_send = sent.clone();
    let writer = thread::spawn(move || {
        for chunk in to_send.chunks(7000) {
            stdin.write_all(chunk).expect("write to the proxy's stdin");
        }
        stdin.flush().expect("flush");
        stdin
    });
    let (out_tx, out_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        let _ = out_tx.send(all);
    });

    // The destination closes after echoing everything: the session ends, stdout ends.
    let echoed = out_rx.recv_timeout(Duration::from_secs(120));
    let at_destination = received.recv_timeout(Duration::from_secs(1));
    let (echoed, at_destination) = match (echoed, at_destination) {
        (Ok(e), Ok(d)) => (e, d),
        (e, d) => panic!(
            "no end within 120 s: destination done {:?}, stdout done {:?}",
            d.map(|v| v.len()),
            e.map(|v| v.len()),
        ),
    };
    let _stdin = writer.join().expect("writer thread");
    assert_eq!(
        at_destination.len(),
        len,
        "bytes that reached the destination"
    );
    assert!(
        at_destination == sent,
        "stdin reached the destination exactly"
    );
    assert_eq!(echoed.len(), len, "bytes that came back on stdout");
    assert!(
        echoed == sent,
        "the destination's bytes reached stdout exactly"
    );

    let mut guard = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy exits after its session ends"
        );
        thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    let _ = stderr.read_to_string(&mut err);
    assert!(status.success(), "exit {status:?}: {err}");
}
