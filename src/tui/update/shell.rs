//! Shell tabs: opening one on the selected host, the session's reports, keys, scroll mode,
//! closing. The session runs in a task (`tasks::spawn_shell`); nothing here waits on it.

use super::session_target::NoTarget;
use crate::channel::{SessionHandle, SessionState, Size};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::tabs::{Tab, TabKind, TabStatus};
use crate::tui::state::{Level, ShellTab};
use crate::tui::tasks::{ShellLink, spawn_shell};
use crate::tui::views::layout;

impl App {
    /// Enter on a host: a blocked host gets the diagnosis' sentence (and the detail pane);
    /// any other host gets a new tab whose task starts the session.
    pub(super) fn open_shell(&mut self) {
        let (instance, host) = match self.session_target("shell") {
            Ok(target) => target,
            // The detail pane shows the whole diagnosis.
            Err(NoTarget::Blocked) => {
                if !self.state.fleet.detail {
                    self.state.fleet.detail = true;
                    self.relayout();
                }
                return;
            }
            Err(NoTarget::NothingSelected) => return,
        };
        let clients = self.clients_of(&instance.profile, &instance.region);
        if clients.is_none() && self.services.tx.is_some() {
            self.state.flash(
                Level::Error,
                format!(
                    "{host}: no clients for profile {} in {}: refresh and try again",
                    instance.profile, instance.region
                ),
            );
            return;
        }
        let id = self.open_shell_tab(host, instance.instance_id.clone());
        let (rows, cols) = self.state.shells[&id].screen.size();
        let cancel = tokio_util::sync::CancellationToken::new();
        self.services.sessions.insert(
            id,
            ShellLink {
                handle: None,
                cancel: cancel.clone(),
                held_input: Vec::new(),
                pty: None,
            },
        );
        if let (Some(tx), Some(clients)) = (self.services.tx.clone(), clients) {
            let size = Size {
                cols: u32::from(cols),
                rows: u32::from(rows),
            };
            spawn_shell(tx, clients, instance.instance_id, size, id, cancel);
        }
    }

    /// A shell tab sized to the layout, focused; no session yet. Returns its id.
    pub fn open_shell_tab(&mut self, host: String, instance_id: String) -> u64 {
        self.services.next_shell += 1;
        let id = self.services.next_shell;
        let (rows, cols) = self.shell_size();
        self.state
            .shells
            .insert(id, ShellTab::new(id, host.clone(), instance_id, rows, cols));
        self.state.tabs.open(Tab {
            kind: TabKind::Shell(id),
            title: host,
            status: TabStatus::Idle,
        });
        id
    }

    /// (rows, cols) of a shell tab's terminal at the current terminal size.
    pub(super) fn shell_size(&self) -> (u16, u16) {
        let (w, h) = self.state.size;
        let area = layout::shell_areas(ratatui::layout::Rect::new(0, 0, w, h)).terminal;
        (area.height.max(1), area.width.max(1))
    }

    /// Every shell tab follows the layout: its screen and its remote PTY, together.
    pub(super) fn resize_shells(&mut self) {
        let (rows, cols) = self.shell_size();
        for (id, shell) in &mut self.state.shells {
            let resized = shell.screen.resize(rows, cols);
            if resized
                && let Some(pty) = self.services.sessions.get(id).and_then(|l| l.pty.as_ref())
            {
                pty.resize(rows, cols);
            }
            if resized
                && let Some(handle) = self
                    .services
                    .sessions
                    .get(id)
                    .and_then(|l| l.handle.as_ref())
            {
                handle.resize(Size {
                    cols: u32::from(cols),
                    rows: u32::from(rows),
                });
            }
        }
    }

    pub(super) fn shell_action(&mut self, action: Action) {
        match action {
            Action::ShellKeys(bytes) => {
                let Some(shell) = self.state.active_shell() else {
                    return;
                };
                if shell.is_closed() {
                    let key = self
                        .keymap
                        .key_for(crate::tui::keymap::Mode::Shell, "tab.close");
                    self.state.flash(
                        Level::Warn,
                        format!(
                            "the session has closed; {} closes the tab",
                            key.unwrap_or_else(|| "tab.close".into())
                        ),
                    );
                    return;
                }
                let id = shell.id;
                if let Some(link) = self.services.sessions.get_mut(&id) {
                    link.send(bytes);
                }
            }
            Action::StartScroll => {
                if let Some(shell) = self.state.active_shell_mut() {
                    shell.scrolling = true;
                }
            }
            Action::StopScroll => {
                if let Some(shell) = self.state.active_shell_mut() {
                    shell.scrolling = false;
                    shell.screen.scroll_to_live();
                }
            }
            Action::ShellStarted { tab, handle } => self.shell_started(tab, handle),
            Action::ShellOutput { tab, bytes } => {
                if let Some(shell) = self.state.shells.get_mut(&tab) {
                    if shell.first_output.is_none() {
                        shell.first_output = Some(shell.opened_at.elapsed());
                        tracing::info!(
                            host = %shell.host,
                            ms = shell.opened_at.elapsed().as_millis() as u64,
                            "first output of the shell tab"
                        );
                    }
                    if let Err(reset) = shell.screen.process(&bytes) {
                        let host = shell.host.clone();
                        self.state.flash(Level::Warn, format!("{host}: {reset}"));
                    }
                }
            }
            Action::ShellStateChanged { tab, state } => self.shell_state(tab, state),
            Action::ShellFailed { tab, error } => {
                self.shell_state(tab, SessionState::Closed { reason: error });
            }
            _ => {}
        }
    }

    fn shell_started(&mut self, tab: u64, handle: SessionHandle) {
        let Some(link) = self.services.sessions.get_mut(&tab) else {
            // The tab was closed while the session started.
            handle.terminate();
            return;
        };
        // The layout may have changed since StartSession was asked for.
        if let Some(shell) = self.state.shells.get(&tab) {
            let (rows, cols) = shell.screen.size();
            handle.resize(Size {
                cols: u32::from(cols),
                rows: u32::from(rows),
            });
        }
        link.started(handle);
    }

    fn shell_state(&mut self, tab: u64, state: SessionState) {
        let Some(shell) = self.state.shells.get_mut(&tab) else {
            return;
        };
        if let SessionState::Closed { reason } = &state {
            let text = format!("{}: session closed: {reason}", shell.host);
            if let Some(mut link) = self.services.sessions.remove(&tab) {
                link.cancel.cancel();
                link.handle = None;
            }
            shell.state = state;
            self.state.flash(Level::Info, text);
            return;
        }
        shell.state = state;
    }

    /// Closes the active tab; a shell tab's session is terminated.
    pub(super) fn close_tab(&mut self) {
        match self.state.tabs.close_active() {
            Ok(tab) => {
                if let TabKind::Shell(id) = tab.kind {
                    if let Some(mut link) = self.services.sessions.remove(&id) {
                        link.terminate();
                    }
                    self.state.shells.remove(&id);
                }
                if let TabKind::Replay(id) = tab.kind {
                    self.close_replay(id);
                }
                if tab.kind == TabKind::Tunnels && !self.state.tunnels.rows.is_empty() {
                    self.state
                        .flash(Level::Info, "the tunnels keep running; T shows them again");
                }

                if let TabKind::Run(id) = tab.kind {
                    self.state.runs.remove(&id);
                    if self.services.runs.controls.remove(&id).is_some() {
                        self.state.flash(
                            Level::Warn,
                            "tab closed; the run goes on in AWS (its command ids are in the audit log)",
                        );
                    }
                }
            }
            Err(e) => self.state.flash(Level::Warn, e.to_string()),
        }
    }

    /// Terminates every open session (on quit); returns how many there were.
    pub fn end_sessions(&mut self) -> usize {
        let n = self.services.sessions.len();
        for (_, mut link) in self.services.sessions.drain() {
            link.terminate();
        }
        n
    }

    /// Scroll mode: movement keys move through the scrollback.
    pub(super) fn scroll(&mut self, action: &Action) {
        let (rows, _) = self.shell_size();
        let page = isize::try_from(rows).unwrap_or(1).max(1);
        let Some(shell) = self.state.active_shell_mut() else {
            return;
        };
        match action {
            Action::MoveUp => shell.screen.scroll_by(1),
            Action::MoveDown => shell.screen.scroll_by(-1),
            Action::PageUp | Action::HalfPageUp => shell.screen.scroll_by(page),
            Action::PageDown | Action::HalfPageDown => shell.screen.scroll_by(-page),
            Action::MoveTop => shell.screen.scroll_by(isize::MAX),
            Action::MoveBottom => shell.screen.scroll_to_live(),
            _ => {}
        }
    }
}
