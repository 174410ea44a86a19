//! The console end to end: the real binary (`fleetdeck demo`) in a real terminal (a detached tmux
//! session of fixed size), driven with keys, checked by polling what the pane shows.
//! tmux is required: CI installs it (.ci/setup).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Env, Sim, run};

const SEED: &str = "7";
const INSTANCES: &str = "60";
const LIMIT: Duration = Duration::from_secs(30);

/// One private tmux server (its own socket, no user config) holding one session.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env, width: u16, height: u16) -> Tmux {
        // One tmux server per test: tests run in parallel and may share a size.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("fleetdeck-test-{}-{n}-{width}", std::process::id());
        let tmux = |args: &[&str]| {
            let mut cmd = Command::new("tmux");
            cmd.args(["-f", "/dev/null", "-L", &socket]).args(args);
            cmd
        };
        let mut new = tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env PS1='test$ ' bash --norc --noprofile",
        ]);
        // The session's shell gets the test's isolated HOME and no AWS settings of the caller's.
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") || key.starts_with("FLEETDECK_") || key == "NO_COLOR" {
                new.env_remove(key);
            }
        }
        let home = env.path();
        new.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("AWS_CONFIG_FILE", home.join(".aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TERM", "xterm-256color");
        match new.status() {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("tmux new-session failed ({s})"),
            Err(e) => panic!(
                "cannot run tmux ({e}): the end-to-end console tests need it; install it (apt-get install tmux, or .ci/setup)"
            ),
        }
        Tmux { socket }
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-f", "/dev/null", "-L", &self.socket]);
        cmd
    }

    /// Keys by tmux name (`Enter`, `Escape`, `q`).
    fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Text typed as is.
    fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn capture(&self, escapes: bool) -> String {
        let mut cmd = self.tmux();
        cmd.args(["capture-pane", "-p", "-t", "t"]);
        if escapes {
            cmd.arg("-e");
        }
        let out = cmd.output().expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the pane until `ok` holds; on timeout fails with the pane's contents.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let pane = self.capture(false);
            if ok(&pane) {
                return pane;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the pane shows:\n{pane}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        common::tmux::kill_server(&self.socket);
    }
}

/// A host of the seeded fleet that a query picks out alone, found through `list` (the same
/// query language) against a simulator with the same seed — so the test follows the fleet
/// generator rather than hard-coding its output.
fn unique_host(env: &Env) -> (String, String, String) {
    let sim = Sim::start(env, &["--instances", INSTANCES, "--seed", SEED]);
    let list = |query: &str| -> Vec<serde_json::Value> {
        let r = run(env.cmd().args([
            "--endpoint-url",
            &sim.endpoint,
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "list",
            "--output",
            "json",
            query,
        ]));
        assert_eq!(r.code, 0, "list failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("list --output json")
    };
    let all = list("");
    assert_eq!(all.len(), 60, "the seeded fleet");
    let name_of = |v: &serde_json::Value| v["name"].as_str().unwrap_or_default().to_owned();
    for host in &all {
        let name = name_of(host);
        if !name.is_empty() && host["ping_status"] == "ConnectionLost" && list(&name).len() == 1 {
            let other = all
                .iter()
                .map(name_of)
                .find(|n| !n.is_empty() && *n != name)
                .expect("another host");
            return (
                name,
                host["instance_id"].as_str().unwrap_or_default().to_owned(),
                other,
            );
        }
    }
    panic!("no ConnectionLost host of the seeded fleet is found alone by its name");
}

/// Online hosts of the seeded fleet, each found alone by its name: (name, instance id).
fn online_hosts(env: &Env, sim: &Sim) -> Vec<(String, String)> {
    let list = |query: &str| -> Vec<serde_json::Value> {
        let r = run(env.cmd().args([
            "--endpoint-url",
            &sim.endpoint,
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "list",
            "--output",
            "json",
            query,
        ]));
        assert_eq!(r.code, 0, "list failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("list --output json")
    };
    let mut out = Vec::new();
    for host in list("") {
        let name = host["name"].as_str().unwrap_or_default().to_owned();
        if !name.is_empty()
            && host["ping_status"] == "Online"
            && host["state"] == "running"
            && list(&name).len() == 1
        {
            out.push((
                name,
                host["instance_id"].as_str().unwrap_or_default().to_owned(),
            ));
            if out.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(out.len(), 2, "two Online hosts in the seeded fleet");
    out
}

impl Tmux {
    /// Waits for a line of the pane that is exactly `text` (a command's output).
    fn wait_line(&self, what: &str, text: &str) -> String {
        self.wait(what, |p| p.lines().any(|l| l.trim() == text))
    }

    /// Selects `host` in the fleet with the filter and presses Enter on it.
    fn open_shell_on(&self, host: &str) {
        self.keys(&["/"]);
        self.keys(&["C-u"]);
        self.type_text(host);
        self.wait("the table to narrow to the host", |p| p.contains("1 of 60"));
        self.keys(&["Enter"]);
        self.wait("the filter input to close", |p| !p.contains('▏'));
        self.keys(&["Enter"]);
    }
}

#[test]
fn demo_shell_tabs_run_commands_switch_and_close() {
    let env = Env::new();
    let hosts = {
        let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
        online_hosts(&env, &sim)
    };
    let (one, two) = (&hosts[0].0, &hosts[1].0);
    let tmux = Tmux::start(&env, 120, 35);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!("{BIN} demo --instances {INSTANCES} --seed {SEED}"));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60")
    });

    // Enter on an Online host: a tab, the remote prompt, a command's output.
    tmux.open_shell_on(one);
    let opened = Instant::now();
    tmux.wait("the first shell's prompt and live title", |p| {
        p.contains(&format!("ssm-user@{one}:")) && p.contains(&format!("2 {one} · live"))
    });
    eprintln!("Enter to prompt in the tab: {:?}", opened.elapsed());
    tmux.type_text("echo $((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_line("42 from the first shell", "42");
    tmux.type_text("hostname");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the first host's name", one);

    // The escape chord back to the fleet; a second shell on another host.
    tmux.keys(&["C-]", "1"]);
    tmux.wait("the fleet again", |p| p.contains("of 60 ·"));
    tmux.open_shell_on(two);
    tmux.wait("the second shell's prompt", |p| {
        p.contains(&format!("ssm-user@{two}:")) && p.contains(&format!("3 {two} · live"))
    });
    tmux.type_text("hostname");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the second host's name", two);

    // Switching tabs shows each session's own screen.
    tmux.keys(&["C-]", "2"]);
    let pane = tmux.wait("the first tab again", |p| {
        p.contains(&format!("ssm-user@{one}:")) && p.lines().any(|l| l.trim() == "42")
    });
    assert!(
        !pane.contains(&format!("ssm-user@{two}:")),
        "tab 2 shows only its own session:\n{pane}"
    );
    // Ctrl-C reaches the remote shell, which survives it.
    tmux.type_text("sleep 100");
    tmux.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["C-c"]);
    tmux.type_text("echo after-$((1+1))");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the shell to survive Ctrl-C", "after-2");
    tmux.keys(&["C-]", "3"]);
    tmux.wait("the second tab again", |p| {
        p.contains(&format!("ssm-user@{two}:")) && !p.contains(&format!("ssm-user@{one}:"))
    });

    // `exit` closes each session; its tab stays and says so.
    tmux.type_text("exit");
    tmux.keys(&["Enter"]);
    tmux.wait("the second tab to show its session closed", |p| {
        p.contains(&format!("3 {two} · closed"))
    });
    tmux.keys(&["C-]", "2"]);
    tmux.type_text("exit");
    tmux.keys(&["Enter"]);
    tmux.wait("the first tab to show its session closed", |p| {
        p.contains(&format!("2 {one} · closed"))
    });
    tmux.keys(&["C-]", "x"]);
    tmux.wait("the closed tab to go", |p| {
        !p.contains(&format!("{one} · closed"))
    });

    // Back to the fleet; `q` quits and the terminal is usable again.
    tmux.keys(&["C-]", "1"]);
    tmux.wait("the fleet again", |p| p.contains("of 60 ·"));
    tmux.keys(&["q"]);
    tmux.wait("the console to close", |p| {
        !p.contains("fleetdeck [demo]") && p.matches("test$").count() >= 2
    });
    tmux.type_text("echo restored-ok");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the shell to run a command", "restored-ok");
}

#[test]
fn connect_runs_a_shell_in_the_terminal() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
    let (name, id) = online_hosts(&env, &sim).remove(0);
    let tmux = Tmux::start(&env, 100, 30);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {BIN} --endpoint-url {} --region us-east-1 --region eu-west-1 connect {id}",
        sim.endpoint
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the remote prompt", |p| {
        p.contains(&format!("ssm-user@{name}:"))
    });
    tmux.type_text("echo $((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_line("42", "42");
    tmux.type_text("exit");
    tmux.keys(&["Enter"]);
    tmux.wait("the local prompt after the session", |p| {
        p.matches("test$").count() >= 2
    });
    tmux.type_text("echo restored-ok");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the shell to run a command", "restored-ok");
}

#[test]
fn demo_console_find_a_host_help_theme_and_quit() {
    let env = Env::new();
    let (host, id, other) = unique_host(&env);
    let tmux = Tmux::start(&env, 120, 35);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!("{BIN} demo --instances {INSTANCES} --seed {SEED}"));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60") && p.contains(&other)
    });

    // A typed query narrows the table to the host.
    tmux.keys(&["/"]);
    tmux.type_text(&host);
    let pane = tmux.wait("the table to narrow to one host", |p| {
        p.contains("1 of 60") && p.contains(&id)
    });
    assert!(
        !pane.contains(&other),
        "other hosts are filtered out:\n{pane}"
    );
    assert!(
        pane.contains(&format!("/ {host}")),
        "the query stays visible:\n{pane}"
    );

    // Enter keeps the filter; the detail pane says why the host cannot take a session.
    tmux.keys(&["Enter"]);
    tmux.wait("the filter input to close", |p| !p.contains('▏'));
    tmux.keys(&["Enter"]);
    tmux.wait("the diagnosis", |p| {
        p.contains("a session would not work") && p.contains("ConnectionLost since")
    });

    // `?` shows the help generated from the keymap; Esc closes it.
    tmux.keys(&["?"]);
    tmux.wait("the help overlay", |p| {
        p.contains("Keys · Esc closes") && p.contains("Filter hosts")
    });
    tmux.keys(&["Escape"]);
    tmux.wait("the help to close", |p| !p.contains("Keys · Esc closes"));

    // `:theme light` switches the colours live.
    let dark_bg = "48;2;26;27;38";
    let light_bg = "48;2;225;226;231";
    assert!(tmux.capture(true).contains(dark_bg), "dark theme first");
    tmux.keys(&[":"]);
    tmux.wait("the palette", |p| p.contains("Command · Tab completes"));
    tmux.type_text("theme light");
    tmux.keys(&["Enter"]);
    tmux.wait("the theme message", |p| p.contains("theme light"));
    let deadline = Instant::now() + LIMIT;
    while !tmux.capture(true).contains(light_bg) {
        assert!(
            Instant::now() < deadline,
            "light background never appeared:\n{}",
            tmux.capture(true)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // `q` quits and the terminal is usable again.
    tmux.keys(&["q"]);
    tmux.wait("the console to close", |p| {
        !p.contains("fleetdeck [demo]") && p.matches("test$").count() >= 2
    });
    tmux.type_text("echo restored-ok");
    tmux.keys(&["Enter"]);
    tmux.wait("the shell to run a command", |p| {
        p.lines().any(|l| l.trim() == "restored-ok")
    });
}

#[test]
fn tiny_terminal_shows_a_message_then_resizes() {
    let env = Env::new();
    let tmux = Tmux::start(&env, 40, 10);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!("{BIN} demo --instances 20"));
    tmux.keys(&["Enter"]);
    tmux.wait("the tiny-terminal message", |p| {
        p.contains("needs at least")
    });
    let status = tmux
        .tmux()
        .args(["resize-window", "-t", "t", "-x", "120", "-y", "30"])
        .status()
        .expect("tmux resize-window");
    assert!(status.success());
    tmux.wait("the full layout after the resize", |p| {
        p.contains("fleetdeck [demo]") && p.contains("20 of 20")
    });
    tmux.keys(&["q"]);
    tmux.wait("the prompt after the console", |p| {
        p.matches("test$").count() >= 2
    });
    tmux.type_text("echo restored-ok");
    tmux.keys(&["Enter"]);
    tmux.wait("the shell to run a command", |p| {
        p.lines().any(|l| l.trim() == "restored-ok")
    });
}

/// Session history and replay: a shell on a host, a command, exit; the session is listed in
/// Sessions (`:sessions`), Enter replays its log (the command's output appears), `e` exports
/// it as `.cast` in the current directory, `q` quits.
#[test]
fn demo_session_is_listed_replayed_and_exported() {
    let env = Env::new();
    let hosts = {
        let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
        online_hosts(&env, &sim)
    };
    let one = &hosts[0].0;
    let tmux = Tmux::start(&env, 120, 35);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "cd {} && {BIN} demo --instances {INSTANCES} --seed {SEED}",
        env.path().display()
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60")
    });
    tmux.open_shell_on(one);
    tmux.wait("the shell's prompt", |p| {
        p.contains(&format!("ssm-user@{one}:"))
    });
    tmux.type_text("echo replay-marker-$((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the marker", "replay-marker-42");
    tmux.type_text("exit");
    tmux.keys(&["Enter"]);
    tmux.wait("the session to close", |p| p.contains("session closed"));

    // The palette from the shell tab (the escape chord), then :sessions.
    tmux.keys(&["C-]", ":"]);
    tmux.type_text("sessions");
    tmux.keys(&["Enter"]);
    let started = Instant::now();
    tmux.wait("the session in the history, with a log", |p| {
        p.lines()
            .any(|l| l.contains(one.as_str()) && l.trim_end().ends_with("yes"))
    });
    eprintln!(":sessions to the listed session: {:?}", started.elapsed());
    tmux.keys(&["Enter"]);
    let started = Instant::now();
    tmux.wait("the replay to show the command's output", |p| {
        p.contains(&format!("replay {one}")) && p.lines().any(|l| l.trim() == "replay-marker-42")
    });
    eprintln!("Enter to the replayed output: {:?}", started.elapsed());
    // The demo streams session logs as JSON events: the replay keeps the recorded pace.
    tmux.wait("the recorded pacing label", |p| p.contains("recorded pace"));

    tmux.keys(&["e"]);
    let pane = tmux.wait("the export message", |p| p.contains("exported to"));
    let cast = std::fs::read_dir(env.path())
        .expect("read the directory")
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "cast"))
        .unwrap_or_else(|| panic!("no .cast written; the pane shows:\n{pane}"));
    let text = std::fs::read_to_string(cast.path()).expect("read the cast");
    assert!(text.contains("\"version\":2"), "{text}");
    assert!(text.contains("replay-marker-42"), "{text}");

    tmux.keys(&["q"]);
    tmux.wait("the console to quit", |p| {
        p.lines().last().is_some_and(|l| l.starts_with("test$")) || p.trim_end().ends_with("test$")
    });
}

/// Terminating a session from the Sessions tab, and a host's recent sessions in its detail
/// pane: a shell on a host stays open; `H`, `s` (active only), `x` on it, the short id typed
/// from the confirm overlay, Enter: the message says it ended, the shell tab's title says
/// `closed`, the row says Terminated. Back in the fleet, `d` lists the session under "Recent
/// sessions" and `R` replays it.
#[test]
fn demo_terminate_from_sessions_then_replay_from_the_detail_pane() {
    let env = Env::new();
    let hosts = {
        let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
        online_hosts(&env, &sim)
    };
    let one = &hosts[0].0;
    let tmux = Tmux::start(&env, 120, 35);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "cd {} && {BIN} demo --instances {INSTANCES} --seed {SEED}",
        env.path().display()
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60")
    });
    tmux.open_shell_on(one);
    tmux.wait("the shell's prompt", |p| {
        p.contains(&format!("ssm-user@{one}:"))
    });
    tmux.type_text("echo terminate-marker-$((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the marker", "terminate-marker-42");

    // To the fleet (the session goes on), then the Sessions tab, active sessions only.
    tmux.keys(&["C-]", "1"]);
    tmux.wait("the fleet", |p| p.contains("1 of 60"));
    tmux.keys(&["H"]);
    tmux.wait("the active session in the history", |p| {
        p.lines()
            .any(|l| l.contains(one.as_str()) && l.contains("Connected"))
    });
    tmux.keys(&["s"]);
    tmux.wait("the state filter", |p| p.contains("state active"));
    tmux.keys(&["x"]);
    let pane = tmux.wait("the confirm overlay", |p| {
        p.contains("Terminate session?") && p.contains("to terminate it:")
    });
    let short = pane
        .lines()
        .find_map(|l| {
            let rest = &l[l.find("Type ")? + 5..];
            Some(rest[..rest.find(' ')?].to_owned())
        })
        .expect("the short id on the overlay");
    assert_eq!(short.len(), 6, "{pane}");
    // A wrong id sends nothing.
    tmux.type_text("zzz");
    tmux.keys(&["Enter"]);
    tmux.wait("the refusal", |p| p.contains("nothing was sent"));
    tmux.type_text(&short);
    tmux.keys(&["Enter"]);
    let started = Instant::now();
    tmux.wait("the termination to be confirmed", |p| {
        p.contains(&format!("{short} terminated"))
    });
    eprintln!("Enter to 'terminated': {:?}", started.elapsed());
    tmux.wait("the shell tab to say it closed", |p| {
        p.lines().nth(2).is_some_and(|tabs| tabs.contains("closed"))
    });
    tmux.keys(&["s", "s"]);
    tmux.wait("the row to say Terminated", |p| {
        p.contains("state all")
            && p.lines()
                .any(|l| l.contains(one.as_str()) && l.contains("Terminated"))
    });

    // The fleet (still filtered to the host): its detail lists the session; R replays it.
    tmux.keys(&["1", "d"]);
    tmux.wait("the recent sessions in the detail pane", |p| {
        p.contains("Recent sessions")
            && p.lines()
                .any(|l| l.contains("Terminated") && l.trim_end().ends_with("log"))
    });
    tmux.keys(&["R"]);
    tmux.wait("the replay of the terminated session", |p| {
        p.contains(&format!("replay {one}")) && p.lines().any(|l| l.trim() == "terminate-marker-42")
    });
    tmux.keys(&["q"]);
    tmux.wait("the console to quit", |p| {
        p.lines().last().is_some_and(|l| l.starts_with("test$")) || p.trim_end().ends_with("test$")
    });
}

/// The number after `label` on the pane, e.g. `Targets   12 hosts` → 12.
fn number_after(pane: &str, label: &str) -> Option<usize> {
    let rest = &pane[pane.find(label)? + label.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn demo_bulk_run_on_the_filtered_web_hosts() {
    let env = Env::new();
    // A low guard threshold, so the typed count is exercised whatever the filter finds.
    let config = env.path().join(".config/fleetdeck");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(config.join("config.toml"), "[run]\nconfirm_threshold = 1\n").expect("config");
    let tmux = Tmux::start(&env, 140, 40);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "XDG_STATE_HOME=$HOME/state {BIN} demo --instances {INSTANCES} --seed {SEED}"
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60")
    });

    // Filter to the online web hosts, keep the filter, mark them all.
    tmux.keys(&["/"]);
    tmux.type_text("tag:Role=web ping:online");
    tmux.keys(&["Enter"]);
    let pane = tmux.wait("the filter to apply", |p| {
        !p.contains('▏') && !p.contains("60 of 60") && p.contains(" of 60")
    });
    let shown = pane
        .lines()
        .find_map(|l| {
            let i = l.find(" of 60")?;
            l[..i].rsplit(' ').next()?.parse::<usize>().ok()
        })
        .expect("a row count");
    assert!(shown > 0, "some web host is online:\n{pane}");
    tmux.keys(&["a"]);
    tmux.wait("the marks", |p| p.contains(&format!("{shown} marked")));

    // `:run hostname` shows the plan first; the count is typed when the guard asks for it.
    tmux.keys(&[":"]);
    tmux.wait("the palette", |p| p.contains("Command · Tab completes"));
    tmux.type_text("run hostname");
    tmux.keys(&["Enter"]);
    let pane = tmux.wait("the confirm overlay", |p| {
        p.contains("Run Command: check before sending") && p.contains("Esc cancels")
    });
    let targets = number_after(&pane, "Targets").expect("the target count");
    assert_eq!(targets, shown, "every marked host is a target:\n{pane}");
    assert!(pane.contains("AWS-RunShellScript"), "{pane}");
    assert!(
        targets > 1 && pane.contains("Type the number of target hosts"),
        "over the threshold the count must be typed:\n{pane}"
    );
    // A wrong count sends nothing, says so, and asks again with the plan still shown.
    tmux.type_text(&(targets + 1).to_string());
    tmux.keys(&["Enter"]);
    tmux.wait("the refusal, asking again", |p| {
        p.contains("did not match")
            && p.contains("nothing was sent")
            && p.contains("Type the number of target hosts")
            && !p.contains("$ hostname")
    });
    tmux.type_text(&targets.to_string());
    tmux.keys(&["Enter"]);

    // The run tab: progress, then grouped output naming the hosts.
    tmux.wait("the run tab", |p| {
        p.contains("$ hostname") && p.contains("done ·")
    });
    let pane = tmux.wait("the run to finish", |p| {
        p.contains("finished ·") && p.contains("Output, identical outputs grouped")
    });
    assert!(
        pane.contains(&format!("{targets}/{targets} done")),
        "every host done:\n{pane}"
    );
    assert!(pane.contains("(exit 0, Success)"), "{pane}");
    assert!(
        pane.contains(&format!("{targets} ok")),
        "hostname succeeds everywhere:\n{pane}"
    );
    let audit = env.path().join("state/fleetdeck/audit.jsonl");
    let line = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(
        line.lines().count() == 1 && line.contains("hostname") && line.contains("\"typed\""),
        "the audit line: {line}"
    );

    // Enter shows the first group's output.
    tmux.keys(&["Enter"]);
    tmux.wait("the output pane", |p| {
        p.contains("Output · Enter hides") && p.contains("hosts: ")
    });

    // `q` quits and the terminal is usable again.
    tmux.keys(&["q"]);
    tmux.wait("the console to close", |p| {
        !p.contains("fleetdeck [demo]") && p.matches("test$").count() >= 2
    });
    tmux.type_text("echo restored-ok");
    tmux.keys(&["Enter"]);
    tmux.wait("the shell to run a command", |p| {
        p.lines().any(|l| l.trim() == "restored-ok")
    });
}

/// Types the target count when the guard asks for it (production-tagged hosts always do).
fn confirm(tmux: &Tmux, pane: &str) {
    if pane.contains("Type the number of target hosts") {
        let n = number_after(pane, "Targets").expect("the target count");
        tmux.type_text(&n.to_string());
    }
}

#[test]
fn demo_per_host_cancel_runs_tab_past_run_and_audit_on_quit() {
    let env = Env::new();
    // A high guard threshold: this test is about what happens after the guard.
    let config = env.path().join(".config/fleetdeck");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(
        config.join("config.toml"),
        "[run]\nconfirm_threshold = 1000\n",
    )
    .expect("config");
    let tmux = Tmux::start(&env, 140, 40);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "XDG_STATE_HOME=$HOME/state {BIN} demo --instances {INSTANCES} --seed {SEED}"
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| {
        p.contains("fleetdeck [demo]") && p.contains("60 of 60")
    });
    tmux.keys(&["/"]);
    tmux.type_text("tag:Role=web ping:online");
    tmux.keys(&["Enter"]);
    tmux.wait("the filter to apply", |p| {
        !p.contains('▏') && !p.contains("60 of 60") && p.contains(" of 60")
    });

    // `:run` with options: one host at a time per send, so the others wait their turn.
    tmux.keys(&[":"]);
    tmux.wait("the palette", |p| p.contains("Command · Tab completes"));
    tmux.type_text("run --max-concurrency 1 --timeout 120 -- sleep 30");
    tmux.keys(&["Enter"]);
    let pane = tmux.wait("the confirm overlay with the options", |p| {
        p.contains("MaxConcurrency 1 · MaxErrors 0 (AWS default) · timeout 120 s")
            && p.contains("Esc cancels (nothing sent)")
    });
    confirm(&tmux, &pane);
    tmux.keys(&["Enter"]);
    tmux.wait("the first host running", |p| {
        p.contains("$ sleep 30") && p.contains("InProgress") && p.contains("API calls")
    });

    // `x` cancels the selected (first, running) host only; the run goes on.
    tmux.keys(&["x"]);
    tmux.wait("the one-host cancel", |p| p.contains("only (CancelCommand"));
    tmux.wait("that host cancelled while the run goes on", |p| {
        p.contains("Cancelled") && p.contains("running ·") && p.contains("1 cancelled")
    });

    // The Runs tab lists the run from ListCommands; Enter focuses the tab already open on it.
    tmux.keys(&["C"]);
    tmux.wait("the run history", |p| {
        p.contains("REQUESTED UTC") && p.contains("sleep 30") && p.contains("InProgress")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the open run tab", |p| {
        p.contains("$ sleep 30") && p.contains("running ·") && !p.contains("(past)")
    });
    tmux.keys(&["c"]);
    tmux.wait("the whole run cancelled", |p| {
        p.contains("finished ·") && !p.contains(" 0 cancelled") && !p.contains("Pending")
    });

    // Closed, then opened again from the history: a past run watched through ListCommandInvocations.
    tmux.keys(&["C-x"]);
    tmux.keys(&["C"]);
    tmux.keys(&["r"]);
    tmux.wait("the history read again", |p| {
        p.contains("sleep 30") && p.contains("Cancelled") && !p.contains("InProgress")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the past run in a tab", |p| {
        p.contains("(past)") && p.contains("finished ·") && p.contains("$ sleep 30")
    });

    // A run accepted and `q` at once: the audit line is still written before the process ends.
    tmux.keys(&[":"]);
    tmux.wait("the palette", |p| p.contains("Command · Tab completes"));
    tmux.type_text("run hostname");
    tmux.keys(&["Enter"]);
    // Its last line too: a capture taken mid-draw could miss the count prompt above it.
    let pane = tmux.wait("the confirm overlay", |p| {
        p.contains("Run Command: check before sending") && p.contains("Esc cancels (nothing sent)")
    });
    confirm(&tmux, &pane);
    tmux.keys(&["Enter", "q"]);
    let closed = tmux.wait("the console to close", |p| {
        !p.contains("fleetdeck [demo]") && p.matches("test$").count() >= 2
    });
    let audit = env.path().join("state/fleetdeck/audit.jsonl");
    let text = std::fs::read_to_string(&audit).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one audit line per run sent: {text}\nconfirm overlay:\n{pane}\nafter quitting:\n{closed}"
    );
    assert!(lines[0].contains("sleep 30"), "{text}");
    assert!(
        lines[1].contains("\"what\":\"hostname\"") && lines[1].contains("command_ids"),
        "{text}"
    );
}

/// A loopback TCP echo server on a free port; it serves until the test process ends.
fn echo_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut read = tcp.try_clone().expect("clone");
                let mut write = tcp;
                let _ = std::io::copy(&mut read, &mut write);
            });
        }
    });
    port
}

/// The local port of the tunnel row that shows `state`, as the Tunnels tab prints it.
fn local_port(pane: &str, state: &str) -> Option<u16> {
    let line = pane.lines().find(|l| l.trim_start().starts_with(state))?;
    let at = line.find("127.0.0.1:")? + "127.0.0.1:".len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[test]
fn demo_tunnel_opened_from_the_console_carries_bytes_and_closes() {
    use std::io::{BufRead, Write};
    let env = Env::new();
    let hosts = {
        let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
        online_hosts(&env, &sim)
    };
    let host = &hosts[0].0;
    let echo = echo_server();
    let tmux = Tmux::start(&env, 160, 40);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!("{BIN} demo --instances {INSTANCES} --seed {SEED}"));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet and its database", |p| {
        p.contains("60 of 60") && p.contains("demo database at db.demo.internal:")
    });

    // Select the host, `t`, the echo server's port (on the instance itself), Enter.
    tmux.keys(&["/"]);
    tmux.type_text(host);
    tmux.wait("the table to narrow to the host", |p| p.contains("1 of 60"));
    tmux.keys(&["Enter"]);
    tmux.wait("the filter input to close", |p| !p.contains('▏'));
    tmux.keys(&["t"]);
    tmux.wait("the form", |p| {
        p.contains("Open a tunnel") && p.contains("remote port")
    });
    tmux.type_text(&echo.to_string());
    tmux.keys(&["Enter"]);
    let pane = tmux.wait("the tunnel listening in the Tunnels tab", |p| {
        p.contains("2 tunnels 1") && local_port(p, "listening").is_some()
    });
    assert!(pane.contains(&format!("→ localhost:{echo}")), "{pane}");
    let port = local_port(&pane, "listening").expect("a local port");

    // Bytes through the tunnel, from this test, while the console shows them.
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the tunnel");
    tcp.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut reader = std::io::BufReader::new(tcp.try_clone().expect("clone"));
    let mut writer = tcp;
    writer
        .write_all(b"hello through the console\n")
        .expect("write");
    let mut line = String::new();
    reader.read_line(&mut line).expect("echo");
    assert_eq!(line, "hello through the console\n");
    tmux.wait("one open connection and its bytes", |p| {
        p.lines().any(|l| {
            l.trim_start().starts_with("listening") && l.contains("1/1") && l.contains("26 B")
        })
    });
    drop(reader);
    drop(writer);
    tmux.wait("the connection to be counted closed", |p| {
        p.lines()
            .any(|l| l.trim_start().starts_with("listening") && l.contains("0/1"))
    });

    // Other tabs meanwhile: the tunnel keeps running; T comes back to it.
    tmux.keys(&["1"]);
    tmux.wait("the fleet", |p| p.contains("of 60 ·"));
    tmux.keys(&["T"]);
    tmux.wait("the Tunnels tab again", |p| {
        local_port(p, "listening") == Some(port)
    });

    // `d` closes it: gone from the list, and the port no longer accepts.
    tmux.keys(&["d"]);
    tmux.wait("the tunnel to go", |p| p.contains("no tunnels"));
    let deadline = Instant::now() + LIMIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "port {port} still accepts");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.keys(&["q"]);
    tmux.wait("the console to close", |p| p.matches("test$").count() >= 2);
}

#[test]
fn demo_ssh_tab_runs_ssh_through_the_proxy() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let hosts = {
        let sim = Sim::start(&env, &["--instances", INSTANCES, "--seed", SEED]);
        online_hosts(&env, &sim)
    };
    let (host, id) = &hosts[0];
    // A stand-in for ssh: prints its arguments one per line, asks for a line, echoes it.
    let script = env.write(
        "fake-ssh",
        "#!/bin/sh\nfor a in \"$@\"; do printf 'arg[%s]\\n' \"$a\"; done\nprintf 'say something: '\nread line\nprintf 'got: %s\\n' \"$line\"\nsleep 1\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = env.write(
        ".config/fleetdeck/config.toml",
        "[ssh]\nuser = \"ec2-user\"\n",
    );
    let tmux = Tmux::start(&env, 160, 40);
    tmux.wait("the shell prompt", |p| p.contains("test$"));
    tmux.type_text(&format!(
        "FLEETDECK_SSH={} {BIN} --config {} demo --instances {INSTANCES} --seed {SEED}",
        script.display(),
        config.display()
    ));
    tmux.keys(&["Enter"]);
    tmux.wait("the demo fleet", |p| p.contains("60 of 60"));
    tmux.keys(&["/"]);
    tmux.type_text(host);
    tmux.wait("the table to narrow to the host", |p| p.contains("1 of 60"));
    tmux.keys(&["Enter"]);
    tmux.wait("the filter input to close", |p| !p.contains('▏'));
    tmux.keys(&["g", "s"]);
    let pane = tmux.wait("the stand-in's prompt in an ssh tab", |p| {
        p.contains("say something:") && p.contains(&format!("2 ssh {host}"))
    });
    assert!(pane.contains(&format!("arg[ec2-user@{id}]")), "{pane}");
    // The argument may wrap in the tab: read it with the line breaks taken out.
    let joined: String = pane.lines().map(str::trim_end).collect();
    let at = joined
        .find("arg[ProxyCommand=")
        .unwrap_or_else(|| panic!("a ProxyCommand argument:\n{pane}"));
    let proxy = &joined[at..joined[at..].find(']').map_or(joined.len(), |e| at + e + 1)];
    assert!(
        proxy.contains(&format!("{BIN} --endpoint-url http://127.0.0.1:")),
        "{proxy}"
    );
    assert!(proxy.ends_with("proxy %h --port %p]"), "{proxy}");
    tmux.type_text("over the pty");
    tmux.keys(&["Enter"]);
    tmux.wait_line("the stand-in's echo", "got: over the pty");
    tmux.wait("the tab to say ssh exited", |p| {
        p.contains(&format!("ssh {host} · closed: ssh exited"))
    });
    tmux.keys(&["C-]", "q"]);
    tmux.wait("the console to close", |p| p.matches("test$").count() >= 2);
}
