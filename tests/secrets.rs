//! The grep test: session tokens, StreamUrls and the user's credentials reach none of what
//! fleetdeck leaves behind. The real binary runs against an in-process simulator with
//! `FLEETDECK_LOG=trace` (everything `debug` logs and more): a bulk `run`, a `tunnel` carrying a
//! connection, `connect` running a command in a terminal, and the console opening a shell tab.
//! Then every secret the simulator issued (it records each TokenValue and StreamUrl) and the
//! credentials in the environment are looked for in stdout, stderr, the terminal screens
//! (tmux capture-pane with scrollback), the audit log, the cache and every other file written
//! under the test's HOME. tmux is required (.ci/setup installs it).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Env, Guard};
use fleetdeck::sim::{Health, SimOptions, Simulator};

const REGION: &str = "us-east-1";
const LIMIT: Duration = Duration::from_secs(60);

/// What was written where, for the report when a secret is found.
struct Haystack {
    name: String,
    text: String,
}

/// The credentials fleetdeck is given, unique to this run so a hit cannot be a coincidence.
struct Credentials {
    key_id: String,
    secret: String,
    session_token: String,
}

impl Credentials {
    fn new() -> Credentials {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Credentials {
            key_id: "AKIDSECRETSTEST".into(),
            secret: format!("secretkey{tag}"),
            session_token: format!("sessiontoken{tag}"),
        }
    }
}

fn fleetdeck(env: &Env, creds: &Credentials, endpoint: &str) -> Command {
    let mut cmd = env.bare();
    cmd.env("AWS_ACCESS_KEY_ID", &creds.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
        .env("AWS_SESSION_TOKEN", &creds.session_token)
        .env("XDG_STATE_HOME", env.path().join("state"))
        .env("FLEETDECK_LOG", "trace")
        .args(["--endpoint-url", endpoint, "--region", REGION]);
    cmd
}

/// The command line typed into a terminal (the credentials are in the shell's environment, not
/// on the screen), stderr to `log`.
fn shell_line(endpoint: &str, args: &str, log: &Path) -> String {
    format!(
        "{BIN} --endpoint-url {endpoint} --region {REGION} {args} 2>{}",
        log.display()
    )
}

/// A private tmux server running one shell; its pane is the screen to grep.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// The server (and so its shell) gets fleetdeck's environment from `like`.
    fn start(name: &str, like: &Command) -> Tmux {
        let socket = format!("fleetdeck-secrets-{}-{name}", std::process::id());
        let tmux = Tmux { socket };
        let mut cmd = tmux.cmd();
        for (key, value) in like.get_envs() {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let status = cmd
            .args(["new-session", "-d", "-s", "t", "-x", "120", "-y", "35"])
            .arg("env PS1='test$ ' bash --norc --noprofile")
            .status()
            .expect("tmux is needed for this test (apt-get install tmux, or .ci/setup)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-f", "/dev/null", "-L", &self.socket]);
        cmd
    }

    fn send(&self, keys: &[&str], literal: bool) {
        let mut cmd = self.cmd();
        cmd.args(["send-keys", "-t", "t"]);
        if literal {
            cmd.arg("-l");
        }
        assert!(cmd.args(keys).status().expect("send-keys").success());
    }

    fn line(&self, text: &str) {
        self.send(&[text], true);
        self.send(&["Enter"], false);
    }

    /// The pane with its whole scrollback.
    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-S", "-", "-t", "t"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        common::tmux::kill_server(&self.socket);
    }
}

/// Every file under `dir`, recursively, as text.
fn files_under(dir: &Path, out: &mut Vec<Haystack>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push(Haystack {
                name: path.display().to_string(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
}

/// The secret parts of a StreamUrl: the whole URL and its `cell-number`.
fn url_secrets(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Some((_, query)) = url.split_once('?') {
        out.extend(
            query
                .split('&')
                .filter_map(|kv| kv.strip_prefix("cell-number="))
                .map(str::to_string),
        );
    }
    out
}

/// (secret, haystack) pairs where a secret shows.
fn leaks<'a>(secrets: &'a [String], haystacks: &'a [Haystack]) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    for secret in secrets {
        for h in haystacks {
            if h.text.contains(secret.as_str()) {
                found.push((secret.as_str(), h.name.as_str()));
            }
        }
    }
    found
}

#[test]
fn the_grep_finds_a_planted_secret() {
    let hay = [Haystack {
        name: "log".into(),
        text: "x ws://h/v1/data-channel/s?role=publish_subscribe&cell-number=ABC y".into(),
    }];
    let secrets =
        url_secrets("ws://other/v1/data-channel/s?role=publish_subscribe&cell-number=ABC");
    assert_eq!(leaks(&secrets, &hay), [("ABC", "log")]);
}

#[test]
fn tokens_stream_urls_and_credentials_reach_no_log_screen_or_file() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sim = runtime
        .block_on(Simulator::start(SimOptions {
            instances: 20,
            regions: vec![REGION.into()],
            ..SimOptions::default()
        }))
        .expect("simulator");
    let endpoint = sim.endpoint_url();
    let host = sim
        .fleet()
        .iter()
        .find(|i| i.health == Health::Online && !i.platform.is_windows())
        .expect("an online Linux host")
        .clone();
    let env = Env::new();
    let creds = Credentials::new();
    let mut haystacks = Vec::new();

    // A bulk run (audit log written).
    let out = fleetdeck(&env, &creds, &endpoint)
        .args([
            "run",
            "--yes",
            "--instance-id",
            &host.id,
            "--",
            "echo",
            "ran",
        ])
        .output()
        .expect("fleetdeck run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "run failed: {stderr}");
    assert!(stderr.contains("TRACE"), "trace logging is on: {stderr}");
    haystacks.push(Haystack {
        name: "run stdout".into(),
        text: String::from_utf8_lossy(&out.stdout).into_owned(),
    });
    haystacks.push(Haystack {
        name: "run stderr".into(),
        text: stderr,
    });

    // A tunnel carrying one echoed exchange.
    let echo = TcpListener::bind("127.0.0.1:0").expect("bind");
    let echo_port = echo.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in echo.incoming().flatten() {
            let mut buf = [0u8; 64];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    let tunnel_log = env.path().join("tunnel.log");
    let mut child = fleetdeck(&env, &creds, &endpoint)
        .args(["tunnel", &host.id, "--remote-port", &echo_port.to_string()])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&tunnel_log).expect("log file"))
        .spawn()
        .expect("fleetdeck tunnel");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the listening line");
    let tunnel = Guard(child);
    // Without --bind, a tunnel listens on loopback only.
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no loopback address in {first:?}"))
        .to_string();
    let mut conn = TcpStream::connect(&addr).expect("connect through the tunnel");
    conn.set_read_timeout(Some(LIMIT)).expect("timeout");
    conn.write_all(b"through").expect("write");
    let mut back = [0u8; 7];
    conn.read_exact(&mut back).expect("echo through the tunnel");
    assert_eq!(&back, b"through");
    drop(conn);
    drop(tunnel);
    haystacks.push(Haystack {
        name: "tunnel stdout".into(),
        text: first,
    });

    // `connect` running a command in a terminal.
    let connect_log = env.path().join("connect.log");
    let term = Tmux::start("connect", &fleetdeck(&env, &creds, &endpoint));
    term.wait("the local prompt", |s| s.contains("test$"));
    term.line(&shell_line(
        &endpoint,
        &format!("connect {}", host.id),
        &connect_log,
    ));
    term.wait("the instance's prompt", |s| s.contains("ssm-user@"));
    term.line("echo $((6*7))");
    term.wait("the command's output", |s| {
        s.lines().any(|l| l.trim() == "42")
    });
    term.line("exit");
    term.wait("the session to end", |s| {
        s.lines().filter(|l| l.contains("test$")).count() >= 2
    });
    haystacks.push(Haystack {
        name: "connect screen".into(),
        text: term.screen(),
    });
    drop(term);

    // The console opening a shell tab on the host.
    let console_log = env.path().join("console.log");
    let term = Tmux::start("console", &fleetdeck(&env, &creds, &endpoint));
    term.wait("the local prompt", |s| s.contains("test$"));
    term.line(&shell_line(&endpoint, "", &console_log));
    term.wait("the fleet", |s| s.contains(&host.name));
    term.send(&["/"], false);
    term.send(&[&host.id], true);
    term.wait("the table to narrow to the host", |s| s.contains("1 of 20"));
    term.send(&["Enter"], false);
    term.wait("the filter to close", |s| !s.contains('▏'));
    term.send(&["Enter"], false);
    term.wait("the shell tab's prompt", |s| s.contains("ssm-user@"));
    term.line("echo $((6*7))-answered");
    term.wait("the command's output", |s| s.contains("42-answered"));
    haystacks.push(Haystack {
        name: "console screen".into(),
        text: term.screen(),
    });
    drop(term);

    // Every log, the audit log, the cache, and anything else written under HOME.
    files_under(env.path(), &mut haystacks);
    assert!(
        haystacks.iter().any(|h| h.name.ends_with("audit.jsonl")),
        "the run wrote its audit line"
    );
    assert!(
        haystacks.iter().any(|h| h.name.contains("inventory-")),
        "the console wrote its inventory cache"
    );

    let issued = sim.issued_session_secrets();
    assert!(
        issued.len() >= 3,
        "the tunnel, connect and the console each started a session: {}",
        issued.len()
    );
    let mut secrets = vec![creds.secret.clone(), creds.session_token.clone()];
    for (token, url) in &issued {
        secrets.push(token.clone());
        secrets.extend(url_secrets(url));
    }
    let found = leaks(&secrets, &haystacks);
    assert!(
        found.is_empty(),
        "secrets found (secret prefix, where): {:?}",
        found
            .iter()
            .map(|(s, w)| (s.chars().take(12).collect::<String>(), *w))
            .collect::<Vec<_>>()
    );
    drop(sim);
}
