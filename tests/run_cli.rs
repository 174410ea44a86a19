//! `fleetdeck run` as a user runs it: the real binary against `fleetdeck sim`, in a pipe and in a
//! real terminal (PTY) for the typed confirmation.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Env, Sim, run, wait_for};
use fleetdeck::sim::{FleetSpec, PingStatus, SimInstance, generate_fleet};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// `GET /_sim/stats` over a plain socket: SendCommand calls so far.
fn send_commands(sim: &Sim) -> u64 {
    let addr = sim.endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /_sim/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let body = text.split("\r\n\r\n").nth(1).expect("body");
    let stats: serde_json::Value = serde_json::from_str(body).expect("stats json");
    stats["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter(|o| o["service"] == "ssm" && o["operation"] == "SendCommand")
        .map(|o| o["calls"].as_u64().unwrap_or(0))
        .sum()
}

/// The oracle: the fleet `fleetdeck sim --instances N` serves (seed 1).
fn fleet(instances: usize) -> Vec<SimInstance> {
    generate_fleet(&FleetSpec {
        instances,
        seed: 1,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        start: chrono::Utc::now(),
    })
}

fn reachable(i: &SimInstance) -> bool {
    i.ssm
        .as_ref()
        .is_some_and(|s| s.ping_status == PingStatus::Online)
}

fn run_args<'a>(sim: &'a Sim, rest: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--endpoint-url",
        sim.endpoint.as_str(),
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ];
    a.extend_from_slice(rest);
    a
}

#[test]
fn over_the_threshold_without_yes_a_script_is_refused_and_nothing_is_sent() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "200"]);
    let out = run(env.cmd().args(run_args(
        &sim,
        &["--target", "tag:Role=web", "--", "uptime"],
    )));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("pass --yes"), "{}", out.stderr);
    // The plan was shown, exact count included.
    let expected = fleet(200)
        .iter()
        .filter(|i| i.tag("Role") == Some("web") && reachable(i))
        .count();
    assert!(
        out.stdout.contains(&format!("Targets ({expected}):")),
        "{}",
        out.stdout
    );
    assert_eq!(send_commands(&sim), 0);
}

#[test]
fn json_run_reaches_the_web_hosts_and_writes_the_audit_log() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "80"]);
    let state = env.path().join("state");
    let out = run(env.cmd().env("XDG_STATE_HOME", &state).args(run_args(
        &sim,
        &[
            "--target",
            "tag:Role=web",
            "--yes",
            "--output",
            "json",
            "--max-concurrency",
            "50%",
            "--",
            "hostname",
        ],
    )));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    let oracle = fleet(80);
    let web: Vec<&SimInstance> = oracle
        .iter()
        .filter(|i| i.tag("Role") == Some("web"))
        .collect();
    let want: BTreeSet<String> = web
        .iter()
        .filter(|i| reachable(i))
        .map(|i| i.id.clone())
        .collect();
    let got: BTreeSet<String> = v["report"]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["instance_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, want);
    let skipped: BTreeSet<String> = v["plan"]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|h| h["instance_id"].as_str().expect("id").to_string())
        .collect();
    let offline: BTreeSet<String> = web
        .iter()
        .filter(|i| !reachable(i))
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(skipped, offline);
    for h in v["report"]["hosts"].as_array().expect("hosts") {
        assert_eq!(h["status"], "Success", "{h}");
        assert_eq!(h["exit_code"], 0);
    }
    assert_eq!(
        v["groups"].as_array().expect("groups").len(),
        want.len(),
        "every host prints its own name"
    );

    let log = state.join("fleetdeck/audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("audit log");
    assert_eq!(text.lines().count(), 1);
    let rec: serde_json::Value = serde_json::from_str(text.trim()).expect("audit JSON");
    assert_eq!(rec["what"], "hostname");
    assert_eq!(rec["confirmation"], "--yes");
    assert_eq!(rec["target_count"].as_u64(), Some(want.len() as u64));
    // The simulator answers sts:GetCallerIdentity with the ARN it gives this key's sessions.
    assert_eq!(rec["who"], "arn:aws:iam::123456789012:user/testing");
    assert_eq!(rec["identity_source"], "sts");
    assert!(!text.contains("AWS_SECRET") && !text.contains("\"testing\"key"));
    let ids: Vec<&str> = v["report"]["sends"]
        .as_array()
        .expect("sends")
        .iter()
        .filter_map(|s| s["command_id"].as_str())
        .collect();
    let logged: Vec<&str> = rec["command_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(ids, logged);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_failing_host_makes_the_exit_status_non_zero() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "80"]);
    let oracle = fleet(80);
    let ids: Vec<&str> = oracle
        .iter()
        .filter(|i| reachable(i) && !i.platform.is_windows() && i.tag("Env") != Some("prod"))
        .take(3)
        .map(|i| i.id.as_str())
        .collect();
    let script = format!("test \"$INSTANCE_ID\" != {} || exit 4; echo fine", ids[1]);
    let mut args = vec!["--max-errors", "5", "--instance-id"];
    args.extend(ids.iter().copied());
    args.extend(["--", script.as_str()]);
    let out = run(env.cmd().args(run_args(&sim, &args)));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("2 hosts: fine (exit 0, Success)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 host: no output (exit 4, Failed)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 of 3 host(s) did not succeed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("--instance-id {}", ids[1])),
        "{}",
        out.stderr
    );
}

/// The binary in a real terminal: returns (exit code, everything it wrote).
fn in_terminal(env: &Env, args: &[&str], typed: &str) -> (u32, String) {
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 50,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(common::BIN);
    cmd.args(args);
    cmd.env_clear();
    let home = env.path();
    for (k, v) in [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", home.display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        ),
        ("XDG_STATE_HOME", home.join("state").display().to_string()),
        (
            "AWS_CONFIG_FILE",
            home.join(".aws/config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join(".aws/credentials").display().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("TERM", "xterm".into()),
    ] {
        cmd.env(k, v);
    }
    let mut child = pair.slave.spawn_command(cmd).expect("spawn in pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut writer = pair.master.take_writer().expect("writer");
    let screen = Arc::new(Mutex::new(String::new()));
    let sink = screen.clone();
    let reader_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("screen")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    wait_for("the confirmation prompt", Duration::from_secs(30), || {
        screen.lock().expect("screen").contains("Type the number")
    });
    writer
        .write_all(format!("{typed}\r").as_bytes())
        .expect("type");
    let mut status = None;
    wait_for("fleetdeck to exit", Duration::from_secs(60), || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    let code = status.expect("exited").exit_code();
    // Everything the child wrote is read once the PTY reports its end (the child's side closed),
    // whatever the exit status: wait for the reader, not for some text.
    wait_for("the terminal output", Duration::from_secs(30), || {
        reader_thread.is_finished()
    });
    let text = screen.lock().expect("screen").clone();
    (code, text)
}

#[test]
fn wrong_typed_count_sends_nothing_and_the_right_one_runs() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "80"]);
    let args = run_args(&sim, &["--target", "tag:Role=web", "--", "hostname"]);
    let (code, screen) = in_terminal(&env, &args, "yes");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("nothing was sent"), "{screen}");
    assert_eq!(send_commands(&sim), 0);

    let count = fleet(80)
        .iter()
        .filter(|i| i.tag("Role") == Some("web") && reachable(i))
        .count();
    let (code, screen) = in_terminal(&env, &args, &count.to_string());
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(&format!("{count}/{count} done")),
        "{screen}"
    );
    assert!(send_commands(&sim) > 0);
}
