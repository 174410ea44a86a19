//! A private tmux server (own socket, no user config) holding one shell of fixed size, for tests
//! that need a real terminal: keys in, `capture-pane` polled until the expected text appears.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Env;

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A bash with prompt `test$ `, the test's HOME, and test credentials (as after `aws
    /// configure`), none of the caller's AWS settings.
    pub fn start(env: &Env, width: u16, height: u16) -> Tmux {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("fleetdeck-test-{}-{n}", std::process::id());
        let mut new = Command::new("tmux");
        new.args(["-f", "/dev/null", "-L", &socket])
            .args(["new-session", "-d", "-s", "t", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg("env PS1='test$ ' bash --norc --noprofile");
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
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("TERM", "xterm-256color");
        match new.status() {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("tmux new-session failed ({s})"),
            Err(e) => {
                panic!("cannot run tmux ({e}): install it (apt-get install tmux, or .ci/setup)")
            }
        }
        Tmux { socket }
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-f", "/dev/null", "-L", &self.socket]);
        cmd
    }

    /// Keys by tmux name (`Enter`, `Escape`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Text typed as is.
    pub fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "t", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// A line typed and Enter pressed.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    pub fn capture(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the pane until `ok` holds; past `limit` fails with the pane's contents.
    pub fn wait(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let pane = self.capture();
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
        kill_server(&self.socket);
    }
}

/// Ends the tmux server on `socket` (`-L`) and removes its socket file, which tmux leaves behind
/// in its temporary directory: a test run would otherwise leave hundreds.
pub fn kill_server(socket: &str) {
    let tmux = || {
        let mut cmd = Command::new("tmux");
        cmd.args(["-f", "/dev/null", "-L", socket]);
        cmd
    };
    let path = tmux()
        .args(["display-message", "-p", "#{socket_path}"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let _ = tmux().arg("kill-server").status();
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}
