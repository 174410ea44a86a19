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
        let socket = format!("fleetdeck-test-{}-{}", std::process::id(), width);
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
        let _ = self.tmux().arg("kill-server").status();
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
