//! The simulated agent's shell: a real local shell in a PTY, inside the instance's sandbox
//! directory with the instance's environment. Blocking PTY reads and writes run on their own
//! threads; the async side sees channels.

use std::io::{Read, Write};
use std::path::Path;

use bytes::Bytes;
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::mpsc;

use crate::sim::fleet::SimInstance;

pub(crate) struct Shell {
    /// PTY output; closed when the shell (and everything holding the PTY) has gone.
    pub output: mpsc::Receiver<Bytes>,
    input: std::sync::mpsc::Sender<Vec<u8>>,
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
}

fn pick_shell() -> &'static str {
    ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/sh")
}

impl Shell {
    pub(crate) fn spawn(root: &Path, inst: &SimInstance) -> anyhow::Result<Shell> {
        let sandbox = crate::sim::sandbox::prepare(root, inst)?;
        let pair = native_pty_system().openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let shell = pick_shell();
        let mut cmd = CommandBuilder::new(shell);
        if shell.ends_with("bash") {
            cmd.args(["--noprofile", "--norc"]);
        }
        cmd.cwd(&sandbox.home);
        cmd.env_clear();
        for (key, value) in &sandbox.env {
            cmd.env(key, value);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("USER", "ssm-user");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("PS1", format!("ssm-user@{}:\\w$ ", inst.name));
        let child = pair.slave.spawn_command(cmd)?;
        drop(pair.slave);

        let mut reader = pair.master.try_clone_reader()?;
        let (out_tx, output) = mpsc::channel::<Bytes>(32);
        std::thread::Builder::new()
            .name("sim-pty-read".into())
            .spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if out_tx
                                .blocking_send(Bytes::copy_from_slice(&buf[..n]))
                                .is_err()
                            {
                                break;
                            }
                        }
                    }
                }
            })?;
        let mut writer = pair.master.take_writer()?;
        let (input, in_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("sim-pty-write".into())
            .spawn(move || {
                while let Ok(bytes) = in_rx.recv() {
                    if writer
                        .write_all(&bytes)
                        .and_then(|()| writer.flush())
                        .is_err()
                    {
                        break;
                    }
                }
            })?;
        Ok(Shell {
            output,
            input,
            master: pair.master,
            child,
        })
    }

    pub(crate) fn write(&self, bytes: &[u8]) {
        let _ = self.input.send(bytes.to_vec());
    }

    pub(crate) fn resize(&self, cols: u16, rows: u16) {
        if let Err(error) = self.master.resize(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        }) {
            tracing::debug!(%error, "sim agent: resize failed");
        }
    }

    /// Ends the shell (if still running) and reaps it off the runtime.
    pub(crate) async fn finish(self) {
        let mut child = self.child;
        let _ = child.kill();
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    }
}
