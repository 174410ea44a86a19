//! Shell sessions through the real SDK and a real WebSocket against the in-process simulator's
//! gateway and simulated agent (a real shell in a PTY).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use fleetdeck::aws::clients::Clients;
use fleetdeck::channel::{SessionEvent, SessionHandle, SessionState, ShellSession, Size};
use fleetdeck::sim::{Health, Simulator};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

const REGION: &str = "us-east-1";

async fn sim(faults: &str) -> Simulator {
    common::inproc::simulator(40, REGION, faults).await
}

async fn clients(sim: &Simulator) -> Clients {
    common::inproc::clients(sim, REGION).await
}

fn instance(sim: &Simulator, health: Health) -> (String, String) {
    let inst = sim
        .fleet()
        .iter()
        .find(|i| i.health == health && i.region == REGION)
        .expect("the fleet has such an instance");
    (inst.id.clone(), inst.name.clone())
}

/// The client's view of a session: everything printed so far and the state changes.
struct Term {
    handle: SessionHandle,
    events: mpsc::Receiver<SessionEvent>,
    screen: Vec<u8>,
    closed: Option<String>,
    reconnects: usize,
    first_output: Option<Instant>,
}

impl Term {
    async fn start(clients: &Clients, target: &str) -> (Term, Instant) {
        let started = Instant::now();
        let (handle, events) = ShellSession::start(clients, target, Size { cols: 80, rows: 24 })
            .await
            .expect("session starts");
        let term = Term {
            handle,
            events,
            screen: Vec::new(),
            closed: None,
            reconnects: 0,
            first_output: None,
        };
        (term, started)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Whether `needle` is in the last few KB (checked after every event, so nothing is missed
    /// and a 10 MB screen is not rescanned each time).
    fn tail_has(&self, needle: &str) -> bool {
        let from = self.screen.len().saturating_sub(needle.len() + 8192);
        self.screen[from..]
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    fn type_line(&self, line: &str) {
        self.handle.send_input(Bytes::from(format!("{line}\n")));
    }

    /// Reads events until `done` holds for the screen, or fails after `limit`.
    async fn wait(&mut self, what: &str, limit: Duration, done: impl Fn(&Term) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            let event = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match event {
                Ok(Some(SessionEvent::Output(bytes))) => {
                    self.first_output.get_or_insert_with(Instant::now);
                    self.screen.extend_from_slice(&bytes);
                }
                Ok(Some(SessionEvent::State(SessionState::Reconnecting))) => self.reconnects += 1,
                Ok(Some(SessionEvent::State(SessionState::Closed { reason }))) => {
                    self.closed = Some(reason);
                }
                Ok(Some(SessionEvent::State(_))) => {}
                Ok(None) => {
                    let tail: String = self.text().chars().rev().take(400).collect();
                    let tail: String = tail.chars().rev().collect();
                    assert!(
                        done(self),
                        "session events ended before {what} (closed: {:?}); screen ends with:\n{tail}",
                        self.closed
                    );
                    return;
                }
                Err(_) => {
                    let tail: String = self.text().chars().rev().take(400).collect();
                    let tail: String = tail.chars().rev().collect();
                    panic!("timed out waiting for {what}; screen ends with {tail:?}");
                }
            }
        }
    }

    async fn wait_text(&mut self, what: &str, needle: &str) {
        let needle = needle.to_string();
        self.wait(what, Duration::from_secs(15), move |t| t.tail_has(&needle))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_runs_commands_resizes_interrupts_and_is_logged() {
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let (id, name) = instance(&sim, Health::Online);
    let (mut term, started) = Term::start(&clients, &id).await;
    term.wait("the prompt", Duration::from_secs(15), |t| t.tail_has("$ "))
        .await;
    let to_prompt = term.first_output.map(|t| t - started);
    eprintln!("StartSession to first output byte: {to_prompt:?}");

    term.type_line("echo $((6*7))");
    term.wait_text("42", "42\r\n").await;

    term.handle.resize(Size {
        cols: 101,
        rows: 37,
    });
    term.type_line("stty size");
    term.wait_text("the new size", "37 101\r\n").await;

    term.type_line("sleep 100");
    term.wait_text("sleep to be echoed", "sleep 100\r\n").await;
    term.handle.send_input(Bytes::from_static(b"\x03"));
    term.type_line("echo after-$((1+1))");
    term.wait_text("the shell to survive Ctrl-C", "after-2\r\n")
        .await;

    term.type_line("echo $HOSTNAME/$(hostname)/$AWS_SSM_INSTANCE_ID");
    term.wait_text(
        "the instance's identity",
        &format!("{name}/{name}/{id}\r\n"),
    )
    .await;

    term.type_line("exit");
    term.wait("the channel to close", Duration::from_secs(20), |t| {
        t.closed.is_some()
    })
    .await;
    let reason = term.closed.clone().unwrap_or_default();
    let session_id = term.handle.session_id().to_string();
    assert!(reason.contains(&session_id), "{reason}");

    // DescribeSessions moves it to History, and its transcript is in CloudWatch Logs.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = clients
            .ssm
            .describe_sessions()
            .state(aws_sdk_ssm::types::SessionState::History)
            .send()
            .await
            .expect("DescribeSessions");
        if let Some(s) = out
            .sessions()
            .iter()
            .find(|s| s.session_id() == Some(session_id.as_str()))
        {
            assert_eq!(s.target(), Some(id.as_str()));
            assert_eq!(
                s.status(),
                Some(&aws_sdk_ssm::types::SessionStatus::Terminated)
            );
            assert!(s.end_date().is_some());
            assert_eq!(s.document_name(), Some("SSM-SessionManagerRunShell"));
            assert!(s.owner().unwrap_or_default().ends_with(":user/ana"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the session never reached History"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = clients
        .logs
        .get_log_events()
        .log_group_name("/fleetdeck/sessions")
        .log_stream_name(&session_id)
        .start_from_head(true)
        .send()
        .await
        .expect("the session log exists");
    let lines: Vec<&str> = log.events().iter().filter_map(|e| e.message()).collect();
    assert!(lines.iter().any(|l| l.ends_with("\r42")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.ends_with('\r')), "CRLF became LF");

    // The aws CLI (botocore) sees the same history.
    let env = common::Env::new();
    let endpoint = sim.endpoint_url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("aws")
            .args([
                "ssm",
                "describe-sessions",
                "--state",
                "History",
                "--output",
                "json",
                "--region",
                REGION,
                "--endpoint-url",
                &endpoint,
            ])
            .env("AWS_ACCESS_KEY_ID", "ana")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_CONFIG_FILE", env.path().join(".aws/config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                env.path().join(".aws/credentials"),
            )
            .output()
    })
    .await
    .expect("aws task")
    .expect("the aws CLI runs (pip install awscli, or .ci/setup)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&text).expect("aws prints JSON");
    let listed = json["Sessions"]
        .as_array()
        .expect("Sessions list")
        .iter()
        .find(|s| s["SessionId"] == session_id.as_str())
        .unwrap_or_else(|| panic!("{session_id} missing from {text}"));
    assert_eq!(listed["Status"], "Terminated");
    assert_eq!(listed["Target"], id.as_str());
}

#[tokio::test]
async fn unconnectable_targets_are_refused_like_aws() {
    let sim = sim("").await;
    let clients = clients(&sim).await;
    let (lost, _) = instance(&sim, Health::ConnectionLost);
    let err = ShellSession::start(&clients, &lost, Size { cols: 80, rows: 24 })
        .await
        .expect_err("a ConnectionLost instance takes no session");
    let text = err.to_string();
    assert!(text.contains("TargetNotConnected"), "{text}");
    assert!(
        text.contains(&format!("{lost} is not connected.")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_arrive_exactly_through_loss_dups_reorder_and_drops() {
    let sim = sim("frame-loss=0.01,frame-dup=0.01,frame-reorder=0.01,ws-drop=700ms").await;
    let clients = clients(&sim).await;
    let (id, _) = instance(&sim, Health::Online);
    let (mut term, started) = Term::start(&clients, &id).await;
    term.wait("the prompt", Duration::from_secs(15), |t| t.tail_has("$ "))
        .await;
    // 7,500,000 random bytes are 10,000,000 bytes of base64 on one line; the markers are built
    // by printf so that the echoed command line does not contain them.
    term.type_line(
        "head -c 7500000 /dev/urandom | base64 -w0 > big; sha256sum big; printf 'BEG''IN\\n'; cat big; printf '\\nEN''D\\n'",
    );
    let stream_start = Instant::now();
    term.wait("10 MB of output", Duration::from_secs(240), |t| {
        t.tail_has("\r\nEND\r\n")
    })
    .await;
    let elapsed = stream_start.elapsed();
    let text = term.text();
    let begin = text.find("BEGIN\r\n").expect("begin marker") + "BEGIN\r\n".len();
    let end = text.rfind("\r\nEND\r\n").expect("end marker");
    let body = &text[begin..end];
    assert_eq!(body.len(), 10_000_000, "byte count");
    let at = text[..begin].find("  big\r\n").expect("sha256sum line");
    let expected = &text[at.saturating_sub(64)..at];
    let got = hex::encode(Sha256::digest(body.as_bytes()));
    assert_eq!(
        got, expected,
        "SHA-256 of what arrived vs what the shell sent"
    );
    eprintln!(
        "10 MB in {elapsed:?} with {} reconnects (session started {:?} before)",
        term.reconnects,
        stream_start - started
    );
    // At least one drop happened during the transfer (how many depends on the machine's speed).
    assert!(
        term.reconnects >= 1,
        "the WebSocket was dropped {} times",
        term.reconnects
    );
    term.type_line("exit");
    term.wait("the channel to close", Duration::from_secs(30), |t| {
        t.closed.is_some()
    })
    .await;
}
