//! Shared by the integration tests: the real binary in an isolated environment, the simulator
//! and moto as child processes on loopback, each found through its real entry point.
#![allow(dead_code)]

pub mod inproc;
pub mod tmux;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// A scratch HOME with empty AWS config files, so no test reads the developer's own profiles.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".aws")).expect("aws dir");
        std::fs::write(dir.path().join(".aws/config"), "").expect("aws config");
        std::fs::write(dir.path().join(".aws/credentials"), "").expect("aws credentials");
        Env { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// The binary with no AWS environment of the caller's, no credentials.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") || key.starts_with("FLEETDECK_") || key == "NO_COLOR" {
                cmd.env_remove(key);
            }
        }
        let home = self.dir.path();
        cmd.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("AWS_CONFIG_FILE", home.join(".aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        cmd
    }

    /// The binary with test credentials, as a user with `aws configure` done would run it.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        cmd
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run fleetdeck");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A child process killed when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `fleetdeck sim` as a user runs it: the endpoint is the first line it prints.
pub struct Sim {
    pub endpoint: String,
    _child: Guard,
}

impl Sim {
    pub fn start(env: &Env, args: &[&str]) -> Sim {
        let mut child = env
            .bare()
            .arg("sim")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fleetdeck sim");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the endpoint line");
        let endpoint = first.trim().to_owned();
        assert!(
            endpoint.starts_with("http://127.0.0.1:"),
            "first line of `fleetdeck sim` should be its endpoint, got {endpoint:?}"
        );
        Sim {
            endpoint,
            _child: Guard(child),
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Polls `condition` until it holds or `limit` passes; the message says what never happened.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// moto's server on a free loopback port. Missing moto fails the test: CI installs it.
pub struct Moto {
    pub endpoint: String,
    _child: Guard,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}): install it with pip install 'moto[server]'")
            });
        let guard = Guard(child);
        let addr = format!("127.0.0.1:{port}");
        wait_for("moto_server to listen", Duration::from_secs(30), || {
            std::net::TcpStream::connect(&addr).is_ok()
        });
        Moto {
            endpoint: format!("http://{addr}"),
            _child: guard,
        }
    }
}
