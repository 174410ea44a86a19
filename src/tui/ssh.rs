//! SSH in a tab: the user's own `ssh` (their keys, agent forwarding, config) run in a PTY, with
//! `fleetdeck proxy` as its ProxyCommand, drawn by the same terminal widget as shell tabs. The
//! command is built here as plain data (tested); the PTY runs on threads and reports through
//! the same actions as a shell session (`ShellOutput`, `ShellStateChanged`).

use std::io::{Read, Write};
use std::path::PathBuf;

use bytes::Bytes;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tokio::sync::mpsc::UnboundedSender;

use super::action::Action;
use crate::channel::SessionState;
use crate::format::shell_quote;

/// Overrides the ssh program (after config.toml's `[ssh] program`).
pub const SSH_ENV: &str = "FLEETDECK_SSH";

/// What an ssh tab needs besides the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshSettings {
    pub program: String,
    pub user: Option<String>,
    /// This fleetdeck binary, for the ProxyCommand.
    pub exe: PathBuf,
    pub endpoint: Option<String>,
    /// The demo's fixed credentials, passed to the proxy through the environment.
    pub credentials: Option<(String, String)>,
}

impl SshSettings {
    /// `FLEETDECK_SSH`, else config.toml's `[ssh] program`, else `ssh`.
    pub fn new(
        config: &crate::config::SshConfig,
        endpoint: Option<String>,
        credentials: Option<(String, String)>,
    ) -> SshSettings {
        let program = std::env::var(SSH_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .or_else(|| config.program.clone())
            .unwrap_or_else(|| "ssh".into());
        SshSettings {
            program,
            user: config.user.clone(),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("fleetdeck")),
            endpoint,
            credentials,
        }
    }
}

/// A program, its arguments and extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshCommand {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// `ssh -o ProxyCommand='fleetdeck … proxy %h --port %p' -p 22 [user@]INSTANCE_ID`.
pub fn ssh_command(
    settings: &SshSettings,
    instance_id: &str,
    profile: Option<&str>,
    region: &str,
) -> SshCommand {
    let mut proxy = vec![shell_quote(&settings.exe.to_string_lossy())];
    if let Some(url) = &settings.endpoint {
        proxy.push("--endpoint-url".into());
        proxy.push(shell_quote(url));
    }
    if let Some(p) = profile {
        proxy.push("--profile".into());
        proxy.push(shell_quote(p));
    }
    proxy.extend([
        "--region".into(),
        shell_quote(region),
        "proxy".into(),
        "%h".into(),
        "--port".into(),
        "%p".into(),
    ]);
    let dest = match &settings.user {
        Some(u) => format!("{u}@{instance_id}"),
        None => instance_id.to_owned(),
    };
    let mut env = Vec::new();
    if let Some((id, secret)) = &settings.credentials {
        env.push(("AWS_ACCESS_KEY_ID".into(), id.clone()));
        env.push(("AWS_SECRET_ACCESS_KEY".into(), secret.clone()));
    }
    SshCommand {
        program: settings.program.clone(),
        args: vec![
            "-o".into(),
            format!("ProxyCommand={}", proxy.join(" ")),
            "-p".into(),
            "22".into(),
            dest,
        ],
        env,
    }
}

enum PtyInput {
    Bytes(Vec<u8>),
    Resize(u16, u16),
    Kill,
}

/// The app's end of a PTY tab: keys, sizes, and kill.
#[derive(Debug)]
pub struct PtyLink {
    input: std::sync::mpsc::Sender<PtyInput>,
}

impl std::fmt::Debug for PtyInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PtyInput")
    }
}

impl PtyLink {
    pub fn send(&self, bytes: Vec<u8>) {
        let _ = self.input.send(PtyInput::Bytes(bytes));
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        let _ = self.input.send(PtyInput::Resize(rows, cols));
    }

    pub fn kill(&self) {
        let _ = self.input.send(PtyInput::Kill);
    }
}

/// Runs `cmd` in a PTY of `rows`×`cols` for shell tab `tab`: its output as `ShellOutput`, then
/// `ShellStateChanged(Closed)` with the exit status when it ends.
pub fn spawn_pty(
    tx: UnboundedSender<Action>,
    cmd: &SshCommand,
    rows: u16,
    cols: u16,
    tab: u64,
) -> anyhow::Result<PtyLink> {
    let pair = native_pty_system().openpty(PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    })?;
    let mut builder = CommandBuilder::new(&cmd.program);
    builder.args(&cmd.args);
    for (k, v) in &cmd.env {
        builder.env(k, v);
    }
    builder.env("TERM", "xterm-256color");
    if let Ok(dir) = std::env::current_dir() {
        builder.cwd(dir);
    }
    let mut child = pair.slave.spawn_command(builder)?;
    drop(pair.slave);
    let mut killer = child.clone_killer();
    let mut reader = pair.master.try_clone_reader()?;
    let mut writer = pair.master.take_writer()?;
    let master = pair.master;

    let out = tx.clone();
    std::thread::Builder::new()
        .name("ssh-pty-read".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let bytes = Bytes::copy_from_slice(&buf[..n]);
                        if out.send(Action::ShellOutput { tab, bytes }).is_err() {
                            break;
                        }
                    }
                }
            }
        })?;
    std::thread::Builder::new()
        .name("ssh-pty-wait".into())
        .spawn(move || {
            let reason = match child.wait() {
                Ok(status) if status.success() => "ssh exited".to_owned(),
                Ok(status) => format!("ssh exited with status {}", status.exit_code()),
                Err(e) => format!("ssh could not be waited for: {e}"),
            };
            let _ = tx.send(Action::ShellStateChanged {
                tab,
                state: SessionState::Closed { reason },
            });
        })?;
    let (input, rx) = std::sync::mpsc::channel::<PtyInput>();
    std::thread::Builder::new()
        .name("ssh-pty-write".into())
        .spawn(move || {
            while let Ok(msg) = rx.recv() {
                match msg {
                    PtyInput::Bytes(b) => {
                        if writer.write_all(&b).and_then(|()| writer.flush()).is_err() {
                            break;
                        }
                    }
                    PtyInput::Resize(rows, cols) => {
                        let _ = master.resize(PtySize {
                            rows,
                            cols,
                            pixel_width: 0,
                            pixel_height: 0,
                        });
                    }
                    PtyInput::Kill => {
                        let _ = killer.kill();
                        break;
                    }
                }
            }
        })?;
    Ok(PtyLink { input })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_command_carries_endpoint_region_profile_and_user() {
        let s = SshSettings {
            program: "ssh".into(),
            user: Some("ec2-user".into()),
            exe: PathBuf::from("/opt/my tools/fleetdeck"),
            endpoint: Some("http://127.0.0.1:4566".into()),
            credentials: Some(("AKID".into(), "s".into())),
        };
        let c = ssh_command(&s, "i-0abc", Some("prod"), "eu-west-1");
        assert_eq!(c.program, "ssh");
        assert_eq!(
            c.args,
            [
                "-o",
                "ProxyCommand='/opt/my tools/fleetdeck' --endpoint-url http://127.0.0.1:4566 --profile prod --region eu-west-1 proxy %h --port %p",
                "-p",
                "22",
                "ec2-user@i-0abc",
            ]
        );
        assert_eq!(c.env[0], ("AWS_ACCESS_KEY_ID".into(), "AKID".into()));
        let plain = SshSettings {
            user: None,
            endpoint: None,
            credentials: None,
            ..s
        };
        let c = ssh_command(&plain, "i-0abc", None, "us-east-1");
        assert_eq!(c.args.last().map(String::as_str), Some("i-0abc"));
        assert!(c.env.is_empty());
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
