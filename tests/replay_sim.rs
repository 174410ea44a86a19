//! Session history and replay, end to end: sessions opened and closed here through the real data
//! channel against the in-process simulator, then listed and replayed by the real binary; the
//! log reader against moto.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Env, Moto, run};
use fleetdeck::aws::clients::{CallStats, ClientOptions, Clients, Target};
use fleetdeck::channel::{SessionEvent, SessionHandle, SessionState, ShellSession, Size};
use fleetdeck::replay::{self, LogError, LogFormat, LogSource, Pacing};
use fleetdeck::sim::{Health, SimOptions, Simulator};
use tokio::sync::mpsc;

const REGION: &str = "us-east-1";
const GROUP: &str = "/fleetdeck/sessions";

async fn sim() -> Simulator {
    Simulator::start(SimOptions {
        instances: 20,
        regions: vec![REGION.into()],
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts")
}

async fn clients(endpoint: String, key: &str) -> Clients {
    let mut options = ClientOptions::new(Some(endpoint));
    options.static_credentials = Some((key.into(), "secret".into()));
    Clients::new(
        Target {
            profile: None,
            region: REGION.into(),
        },
        &options,
        Arc::new(CallStats::default()),
    )
    .await
}

struct Term {
    handle: SessionHandle,
    events: mpsc::Receiver<SessionEvent>,
    screen: Vec<u8>,
    closed: bool,
}

impl Term {
    async fn start(clients: &Clients, target: &str) -> Term {
        let (handle, events) = ShellSession::start(clients, target, Size { cols: 80, rows: 24 })
            .await
            .expect("session starts");
        Term {
            handle,
            events,
            screen: Vec::new(),
            closed: false,
        }
    }

    fn has(&self, needle: &str) -> bool {
        self.screen
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    fn type_line(&self, line: &str) {
        self.handle.send_input(Bytes::from(format!("{line}\n")));
    }

    async fn wait(&mut self, what: &str, done: impl Fn(&Term) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(SessionEvent::Output(b))) => self.screen.extend_from_slice(&b),
                Ok(Some(SessionEvent::State(SessionState::Closed { .. }))) | Ok(None) => {
                    self.closed = true;
                    assert!(done(self), "session ended before {what}");
                }
                Ok(Some(_)) => {}
                Err(_) => panic!(
                    "timed out waiting for {what}; screen: {:?}",
                    String::from_utf8_lossy(&self.screen)
                ),
            }
        }
    }

    async fn exit(&mut self) {
        self.type_line("exit");
        self.wait("the session to close", |t| t.closed).await;
    }
}

fn online(sim: &Simulator) -> String {
    sim.fleet()
        .iter()
        .find(|i| i.health == Health::Online && i.region == REGION)
        .expect("an online instance")
        .id
        .clone()
}

fn fleetdeck(env: &Env, endpoint: &str, args: &[&str]) -> common::Run {
    let mut cmd = env.bare();
    cmd.env("AWS_ACCESS_KEY_ID", "ana")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .args(["--endpoint-url", endpoint, "--region", REGION])
        .args(args);
    run(&mut cmd)
}

/// Polls `sessions --state history --output json` until the session is there.
fn history_entry(env: &Env, endpoint: &str, session_id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = fleetdeck(
            env,
            endpoint,
            &["sessions", "--state", "history", "--output", "json"],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("JSON rows");
        if let Some(row) = rows
            .into_iter()
            .find(|r| r["session_id"] == session_id && r["has_log"] == true)
        {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "session {session_id} never reached history with a log"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// asciicast v2 read from the format's definition: a header object with version 2 and a size,
/// then `[time, code, data]` arrays with non-decreasing times. Returns the output data.
fn read_cast(text: &str) -> (serde_json::Value, Vec<(f64, String)>) {
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("a header line")).expect("header is JSON");
    assert_eq!(header["version"], 2);
    assert!(header["width"].as_u64().unwrap_or(0) > 0);
    assert!(header["height"].as_u64().unwrap_or(0) > 0);
    let mut out = Vec::new();
    let mut last = 0.0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let event: (f64, String, String) = serde_json::from_str(line).expect("[time, code, data]");
        assert!(event.0 >= last, "times go backwards at {line}");
        last = event.0;
        if event.1 == "o" {
            out.push((event.0, event.2));
        }
    }
    (header, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn plain_logged_session_is_listed_replayed_and_exported() {
    let sim = sim().await;
    let endpoint = sim.endpoint_url();
    let clients = clients(endpoint.clone(), "ana").await;
    let target = online(&sim);
    let name = sim
        .fleet()
        .iter()
        .find(|i| i.id == target)
        .map(|i| i.name.clone())
        .unwrap_or_default();
    let before = chrono::Utc::now();
    let mut term = Term::start(&clients, &target).await;
    term.wait("the prompt", |t| t.has("$ ")).await;
    term.type_line("echo plain-MARK-$((6*7))");
    term.wait("the marker", |t| t.has("plain-MARK-42\r\n"))
        .await;
    term.exit().await;
    let session_id = term.handle.session_id().to_string();

    let env = Env::new();
    let row = history_entry(&env, &endpoint, &session_id);
    assert_eq!(row["target"], target.as_str());
    assert_eq!(row["host_name"], name.as_str());
    assert!(
        row["owner"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":user/ana"),
        "{row}"
    );
    assert_eq!(row["status"], "Terminated");
    assert_eq!(row["state"], "history");
    let start: chrono::DateTime<chrono::Utc> = row["start"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .expect("start");
    let end: chrono::DateTime<chrono::Utc> = row["end"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .expect("end");
    assert!(
        start >= before - chrono::Duration::seconds(1) && end >= start && end <= chrono::Utc::now(),
        "{row}"
    );
    assert_eq!(row["log"]["cloudwatch"]["group"], GROUP);

    // Table and CSV carry the same session.
    let table = fleetdeck(&env, &endpoint, &["sessions", "--target", &target]);
    assert!(
        table.stdout.contains(&session_id) && table.stdout.contains("WHO"),
        "{}",
        table.stdout
    );
    let csv = fleetdeck(&env, &endpoint, &["sessions", "--output", "csv"]);
    assert!(
        csv.stdout.starts_with("session_id,owner,target"),
        "{}",
        csv.stdout
    );
    assert!(csv.stdout.contains(&session_id));

    let text_path = env.path().join("out.txt");
    let cast_path = env.path().join("out.cast");
    let r = fleetdeck(
        &env,
        &endpoint,
        &[
            "replay",
            &session_id,
            "--text",
            text_path.to_str().unwrap_or_default(),
            "--cast",
            cast_path.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&text_path).expect("text export");
    assert!(text.contains("\nplain-MARK-42\n"), "{text}");
    assert!(!text.contains('\x1b'), "control sequences left in {text:?}");
    let cast = std::fs::read_to_string(&cast_path).expect("cast export");
    let (header, out) = read_cast(&cast);
    assert!(
        header["title"]
            .as_str()
            .unwrap_or_default()
            .contains(&session_id)
    );
    assert!(out.iter().any(|(_, d)| d.contains("plain-MARK-42\r\n")));
    asciinema_cat_shows(&cast_path, "plain-MARK-42");

    // Playing to the terminal prints the same output.
    let r = fleetdeck(&env, &endpoint, &["replay", &session_id, "--speed", "16"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("plain-MARK-42\r\n"));
    assert!(
        r.stderr.contains("even pace"),
        "plain logs are labelled: {}",
        r.stderr
    );
}

/// asciinema itself accepts the file and prints the output (CI installs asciinema).
fn asciinema_cat_shows(path: &std::path::Path, needle: &str) {
    let out = std::process::Command::new("asciinema")
        .arg("cat")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run asciinema ({e}): pip install asciinema"));
    assert!(
        out.status.success(),
        "asciinema cat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(needle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn streamed_log_keeps_the_pause_between_commands() {
    let sim = sim().await;
    sim.set_session_log_streaming(true);
    let endpoint = sim.endpoint_url();
    let clients = clients(endpoint.clone(), "ana").await;
    let target = online(&sim);
    let mut term = Term::start(&clients, &target).await;
    term.wait("the prompt", |t| t.has("$ ")).await;
    term.type_line("echo first-$((1+1))");
    term.wait("the first marker", |t| t.has("first-2\r\n"))
        .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    term.type_line("echo second-$((2+2))");
    term.wait("the second marker", |t| t.has("second-4\r\n"))
        .await;
    term.exit().await;
    let session_id = term.handle.session_id().to_string();
    let env = Env::new();
    history_entry(&env, &endpoint, &session_id);

    let source = LogSource {
        group: GROUP.into(),
        stream: session_id.clone(),
    };
    let timeline = replay::read_timeline(&clients, source, |_| {})
        .await
        .expect("log reads");
    assert_eq!(timeline.format, LogFormat::Stream);
    assert_eq!(timeline.pacing, Pacing::Recorded);
    assert!(timeline.malformed.is_empty(), "{:?}", timeline.malformed);
    let at = |needle: &str| {
        timeline
            .lines()
            .iter()
            .find(|l| l.text == needle)
            .unwrap_or_else(|| panic!("no line {needle} in {}", timeline.plain_text()))
            .at
    };
    let gap = at("second-4") - at("first-2");
    assert!(gap >= Duration::from_secs(1), "gap {gap:?}");
    assert!(!timeline.gaps(Duration::from_secs(1)).is_empty());
    // The typed commands are found after their prompts.
    let next = timeline
        .next_command(at("first-2"))
        .expect("a next command");
    assert!(next.text.ends_with("echo second-$((2+2))"), "{}", next.text);
    // The replayed screen shows what the live session showed.
    let screen = timeline.screen_at(timeline.duration(), 80, 24);
    let contents = screen.screen().contents();
    assert!(contents.contains("first-2\nssm-user@"), "{contents}");
    assert!(contents.contains("second-4"));

    let cast_path = env.path().join("s.cast");
    let r = fleetdeck(
        &env,
        &endpoint,
        &[
            "replay",
            &session_id,
            "--cast",
            cast_path.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, out) = read_cast(&std::fs::read_to_string(&cast_path).expect("cast"));
    let time_of = |needle: &str| {
        out.iter()
            .find(|(_, d)| d.contains(needle))
            .map(|(t, _)| *t)
            .expect("in cast")
    };
    assert!(time_of("second-4\r\n") - time_of("first-2\r\n") >= 1.0);
    asciinema_cat_shows(&cast_path, "second-4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn missing_session_and_missing_group_say_so() {
    let sim = sim().await;
    let endpoint = sim.endpoint_url();
    let env = Env::new();
    let r = fleetdeck(&env, &endpoint, &["replay", "ana-0000000000000dead"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no session ana-0000000000000dead in"),
        "{}",
        r.stderr
    );
    let r = fleetdeck(
        &env,
        &endpoint,
        &["replay", "ana-0000000000000dead", "--log-group", "/nope"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("group /nope"), "{}", r.stderr);
    let r = fleetdeck(&env, &endpoint, &["replay", "x", "--speed", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = fleetdeck(&env, &endpoint, &["sessions", "--state", "active"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("No sessions."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_logs_read_back_through_the_reader() {
    let moto = Moto::start();
    let clients = clients(moto.endpoint.clone(), "testing").await;
    let logs = &clients.logs;
    logs.create_log_group()
        .log_group_name("/ssm/sessions")
        .send()
        .await
        .expect("group");
    for s in ["ana-1", "empty-1"] {
        logs.create_log_stream()
            .log_group_name("/ssm/sessions")
            .log_stream_name(s)
            .send()
            .await
            .expect("stream");
    }
    let now = chrono::Utc::now();
    let event = |offset_ms: i64, message: String| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(now.timestamp_millis() + offset_ms)
            .message(message)
            .build()
            .expect("event")
    };
    let json = |offset_ms: i64, lines: &[&str]| {
        let t = now + chrono::Duration::milliseconds(offset_ms);
        serde_json::json!({"eventVersion": "1.0", "eventTime": t.to_rfc3339(), "awsRegion": REGION,
            "target": {"id": "i-0abc"}, "userIdentity": {"arn": "arn:aws:iam::123456789012:user/ana"},
            "runAsUser": "ssm-user", "sessionId": "ana-1", "sessionData": lines}).to_string()
    };
    // More events than one page holds in moto's default, so paging is exercised.
    let mut batch = vec![
        event(0, json(0, &["$ echo hi", "hi"])),
        event(10, "{\"eventVersion\": \"1.0\", broken".into()),
    ];
    for i in 0..1200 {
        batch.push(event(3000 + i, json(3000 + i, &[&format!("line {i}")])));
    }
    logs.put_log_events()
        .log_group_name("/ssm/sessions")
        .log_stream_name("ana-1")
        .set_log_events(Some(batch))
        .send()
        .await
        .expect("put");

    let source = |stream: &str, group: &str| LogSource {
        group: group.into(),
        stream: stream.into(),
    };
    let mut pages = 0;
    let t = replay::read_timeline(&clients, source("ana-1", "/ssm/sessions"), |_| pages += 1)
        .await
        .expect("reads");
    assert_eq!(t.events, 1202);
    assert_eq!(t.frames().len(), 1201);
    assert_eq!(t.malformed.len(), 1);
    assert_eq!(t.malformed[0].index, 1);
    assert!(t.lines().iter().any(|l| l.text == "line 1199"));
    assert!(t.gaps(Duration::from_secs(2)).len() == 1);
    assert!(pages >= 1);

    let e = replay::read_timeline(&clients, source("empty-1", "/ssm/sessions"), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, LogError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("is empty"));
    let e = replay::read_timeline(&clients, source("nope", "/ssm/sessions"), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, LogError::StreamNotFound { .. }), "{e:?}");
    let e = replay::read_timeline(&clients, source("ana-1", "/missing"), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, LogError::GroupNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("log group /missing does not exist"));
}

/// The console's own path: ben has a shell open; ana, in the console's Sessions tab, presses `x`
/// on it, types its short id and Enter. TerminateSession goes out, ben's WebSocket closes, and
/// the history the console reads again shows the session Terminated.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn console_terminates_someone_elses_session() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use fleetdeck::tui::action::Action;
    use fleetdeck::tui::app::{App, Services};
    use fleetdeck::tui::keymap::Keymap;
    use fleetdeck::tui::state::{AppState, FleetState};
    use fleetdeck::tui::theme::Theme;

    let sim = sim().await;
    let endpoint = sim.endpoint_url();
    let target = online(&sim);
    let mut ben = Term::start(&clients(endpoint.clone(), "ben").await, &target).await;
    ben.wait("ben's prompt", |t| t.has("$ ")).await;
    let session_id = ben.handle.session_id().to_string();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut services = Services::offline();
    services.tx = Some(tx);
    services.clients = vec![clients(endpoint.clone(), "ana").await];
    let (theme, _) = Theme::load("dark", None, &toml::Table::new(), false);
    let state = AppState::new(FleetState::new(Vec::new()), chrono::Utc::now());
    let mut app = App::new(state, Keymap::builtin(), theme, services);
    let press = |app: &mut App, c: KeyCode| {
        app.dispatch(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    };
    // Applies task reports until `done`, for at most 20 s.
    async fn pump(
        app: &mut App,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
        what: &str,
        done: impl Fn(&App) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(app) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(action)) => app.update(action),
                _ => panic!(
                    "timed out waiting for {what}; message: {:?}",
                    app.state.message
                ),
            }
        }
    }
    app.dispatch(Event::Resize(120, 40));
    press(&mut app, KeyCode::Char('H'));
    pump(&mut app, &mut rx, "the history", |a| {
        a.state.sessions.loading.is_none() && a.state.sessions.loaded
    })
    .await;
    let row = (0..app.state.sessions.rows().len())
        .find(|&i| app.state.sessions.row(i).map(|s| s.session_id.as_str()) == Some(&session_id))
        .expect("ben's session is listed");
    let listed = app.state.sessions.row(row).expect("row").clone();
    assert_eq!(listed.status, "Connected");
    assert_eq!(listed.who(), "ben");
    for _ in 0..row {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Char('x'));
    let short: String = session_id[session_id.len() - 6..].to_owned();
    // A wrong id sends nothing: ben's session goes on.
    for c in "zzzzzz".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let message = app.state.message.clone().expect("a message").text;
    assert!(message.contains("nothing was sent"), "{message}");
    ben.type_line("echo still-$((40+2))");
    ben.wait("ben's shell to answer", |t| t.has("still-42"))
        .await;
    for c in short.chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert!(app.state.overlays.is_empty(), "the overlay closed");
    pump(&mut app, &mut rx, "TerminateSession's answer", |a| {
        a.state
            .message
            .as_ref()
            .is_some_and(|m| m.text.ends_with("terminated") || m.text.contains("cannot"))
    })
    .await;
    let message = app.state.message.clone().expect("a message").text;
    assert_eq!(message, format!("{session_id} terminated"));
    ben.wait("ben's session to close", |t| t.closed).await;
    pump(&mut app, &mut rx, "the history read again", |a| {
        a.state.sessions.loading.is_none()
    })
    .await;
    let after = app
        .state
        .sessions
        .sessions()
        .iter()
        .find(|s| s.session_id == session_id)
        .expect("still listed");
    assert_eq!(after.status, "Terminated");
    assert_eq!(after.state, replay::SessionState::History);
}

/// The figure, measured as a user meets it: `cargo test --test replay_sim fifty_megabytes
/// -- --ignored --nocapture`. A 50 MB JSON streaming session log is put into the simulator's
/// CloudWatch Logs; then it is loaded the way a replay tab loads it (GetLogEvents page after page,
/// at most 1 MB each, over loopback HTTP), played to its end through the console's replay screen,
/// sought back, searched and exported as `.cast`. Prints the figures (docs/performance.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn fifty_megabytes_of_log_through_the_simulator() {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    use fleetdeck::tui::state::ReplayTab;

    // `MEASURE_FAULTS=latency=50ms` gives every call a network's round trip.
    let faults = std::env::var("MEASURE_FAULTS").unwrap_or_default();
    let sim = Simulator::start(SimOptions {
        instances: 5,
        regions: vec![REGION.into()],
        faults: faults.parse().expect("MEASURE_FAULTS is a --faults spec"),
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let clients = clients(sim.endpoint_url(), "ana").await;
    let (group, stream) = ("/measure/sessions", "ana-0f1f7y0m8b");
    clients
        .logs
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("group");
    clients
        .logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("stream");
    // A shell session as the streaming format logs it: a prompt and a command every 40 events,
    // coloured listings and long lines of output between, an event every 10 ms of the session.
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut bytes = 0usize;
    let mut events = Vec::new();
    let mut i = 0u64;
    while bytes < 50_000_000 {
        let at = start + chrono::Duration::milliseconds(i as i64 * 10);
        let lines: Vec<String> = if i.is_multiple_of(40) {
            vec![format!(
                "ssm-user@web-1:~$ grep -c needle-{i} /var/log/app.log"
            )]
        } else {
            (0..3)
                .map(|k| {
                    format!(
                        "\x1b[0;3{}m{i:08}-{k}\x1b[0m  {}",
                        k + 1,
                        "lorem ipsum dolor sit amet ".repeat(3)
                    )
                })
                .collect()
        };
        let message = serde_json::json!({
            "eventVersion": "1.0", "eventTime": at.to_rfc3339(), "awsRegion": REGION,
            "target": {"id": "i-0abc"}, "userIdentity": {"arn": "arn:aws:iam::1:user/ana"},
            "runAsUser": "ssm-user", "sessionId": stream, "sessionData": lines,
        })
        .to_string();
        bytes += message.len();
        events.push((at.timestamp_millis(), message));
        i += 1;
    }
    // PutLogEvents batches: at most 1 MB (26 bytes of overhead per event) and 10,000 events.
    let mut batch: Vec<InputLogEvent> = Vec::new();
    let mut batch_bytes = 0;
    let flush = |batch: Vec<InputLogEvent>| {
        let logs = clients.logs.clone();
        async move {
            logs.put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(batch))
                .send()
                .await
                .expect("PutLogEvents");
        }
    };
    for (timestamp, message) in &events {
        if batch_bytes + message.len() + 26 > 1_048_576 || batch.len() == 10_000 {
            flush(std::mem::take(&mut batch)).await;
            batch_bytes = 0;
        }
        batch_bytes += message.len() + 26;
        batch.push(
            InputLogEvent::builder()
                .timestamp(*timestamp)
                .message(message)
                .build()
                .expect("event"),
        );
    }
    flush(batch).await;
    drop(events);

    let source = LogSource {
        group: group.into(),
        stream: stream.into(),
    };
    let started = Instant::now();
    let mut pages = 0;
    let timeline = replay::read_timeline(&clients, source.clone(), |_| pages += 1)
        .await
        .expect("the log reads");
    let load = started.elapsed();
    assert_eq!(timeline.events, i as usize);
    assert!(timeline.malformed.is_empty());
    // Where loading spends its time: the pages alone (simulator + HTTP + SDK), then the
    // timeline built from pages already read.
    let started = Instant::now();
    let mut reader = replay::LogReader::new(&clients, source.clone());
    let mut read = Vec::new();
    while let Some(page) = reader.next_page().await.expect("a page") {
        read.push(page);
    }
    let fetch = started.elapsed();
    let started = Instant::now();
    let mut builder = replay::TimelineBuilder::new();
    for page in &read {
        builder.push(page);
    }
    drop(builder.finish());
    let build = started.elapsed();
    drop(read);

    let mut tab = ReplayTab::new(1, stream.into(), "web-1".into(), "ana".into(), 38, 160);
    let timeline_len = timeline.duration();
    let started = Instant::now();
    tab.loaded(timeline.clone());
    tab.seek(timeline_len);
    let play = started.elapsed();
    let screen = tab.screen.text();
    assert!(screen.contains(&format!("{:08}-2", i - 1)), "{screen}");

    let started = Instant::now();
    tab.seek(timeline_len / 2);
    let back_half = started.elapsed();
    let fed_back = tab.last_fed;
    let started = Instant::now();
    tab.seek(timeline_len / 2 - Duration::from_secs(5));
    let back_step = started.elapsed();

    // What the replay tab's task does right after loading, off the event loop: keyframes over
    // the whole log; then a first jump from the start to near the end is cheap too.
    let started = Instant::now();
    let keyframes = fleetdeck::tui::state::keyframes::Keyframes::build(
        &timeline,
        (38, 160),
        fleetdeck::tui::state::keyframes::FIRST_EVERY,
        || false,
    )
    .expect("built");
    let build_keyframes = started.elapsed();
    let mut fresh = ReplayTab::new(2, stream.into(), "web-1".into(), "ana".into(), 38, 160);
    fresh.loaded(timeline.clone());
    assert!(fresh.adopt_keyframes((38, 160), keyframes));
    let started = Instant::now();
    fresh.seek(timeline_len - Duration::from_secs(1));
    let first_jump = started.elapsed();
    let jump_fed = fresh.last_fed;

    let started = Instant::now();
    let hits = timeline.search("needle-4000");
    let search = started.elapsed();
    assert!(!hits.is_empty());

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.cast");
    let started = Instant::now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("cast file"));
    replay::write_cast(&mut out, &timeline, &replay::CastOptions::default()).expect("cast");
    drop(out);
    let export = started.elapsed();

    eprintln!(
        "faults: '{faults}'\n{:.1} MB in {} events ({} frames, {} of session), {} GetLogEvents pages\n\
         load (all pages + timeline): {load:.2?} (pages alone {fetch:.2?}, timeline alone {build:.2?})\n\
         play to the end through the replay screen: {play:.2?} ({} keyframes)\n\
         seek back to the middle: {back_half:.2?} ({} bytes re-fed); a 5 s step back: {back_step:.2?}\n\
         keyframes built after loading (off the loop): {build_keyframes:.2?}; then a first jump from the start to the end: {first_jump:.2?} ({jump_fed} bytes fed)\n\
         search: {search:.2?} ({} hits)\n\
         export .cast: {export:.2?} ({:.1} MB)",
        bytes as f64 / 1e6,
        i,
        timeline.frames().len(),
        format_duration(timeline_len),
        pages,
        tab.keyframes(),
        fed_back,
        hits.len(),
        std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6,
    );
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}
