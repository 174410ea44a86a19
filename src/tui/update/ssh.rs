//! `g s` on a host: an ssh tab. The user's ssh runs in a PTY with `fleetdeck proxy` as its
//! ProxyCommand (`tui::ssh`); the tab is a shell tab whose bytes come from that PTY.

use crate::channel::SessionState;
use crate::tui::app::App;
use crate::tui::ssh::{spawn_pty, ssh_command};
use crate::tui::state::Level;
use crate::tui::tasks::ShellLink;

impl App {
    pub(super) fn open_ssh(&mut self) {
        let Ok((instance, host)) = self.session_target("ssh") else {
            return;
        };
        let profile = self
            .clients_of(&instance.profile, &instance.region)
            .and_then(|c| c.target.profile);
        let cmd = ssh_command(
            &self.services.ssh,
            &instance.instance_id,
            profile.as_deref(),
            &instance.region,
        );
        let id = self.open_shell_tab(format!("ssh {host}"), instance.instance_id.clone());
        let (rows, cols) = self.shell_size();
        let mut link = ShellLink {
            handle: None,
            cancel: tokio_util::sync::CancellationToken::new(),
            held_input: Vec::new(),
            pty: None,
        };
        if let Some(tx) = self.services.tx.clone() {
            match spawn_pty(tx, &cmd, rows, cols, id) {
                Ok(pty) => {
                    link.pty = Some(pty);
                    if let Some(shell) = self.state.shells.get_mut(&id) {
                        shell.state = SessionState::Live;
                    }
                }
                Err(e) => {
                    let reason = format!("cannot run {}: {e}", cmd.program);
                    if let Some(shell) = self.state.shells.get_mut(&id) {
                        shell.state = SessionState::Closed {
                            reason: reason.clone(),
                        };
                    }
                    self.state.flash(Level::Error, reason);
                    return;
                }
            }
        }
        self.services.sessions.insert(id, link);
    }
}
