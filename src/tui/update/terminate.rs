//! `x` on an active session in the Sessions tab: a confirm overlay naming the session, its owner
//! and host; TerminateSession is sent only once the session's short id is typed and Enter
//! pressed. The row shows `Terminating` until the history, read again, shows it ended.

use crate::replay::SessionState;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::{Level, Overlay, TerminateConfirm};
use crate::tui::tasks::spawn_terminate;

impl App {
    /// `x`: the confirm overlay for the selected session, if it is active.
    pub(super) fn ask_terminate(&mut self) {
        let Some(s) = self.state.sessions.selected_session().cloned() else {
            self.state.flash(Level::Warn, "no session selected");
            return;
        };
        if s.state != SessionState::Active {
            let text = format!("{} has already ended ({})", s.session_id, s.status);
            self.state.flash(Level::Info, text);
            return;
        }
        self.state
            .overlays
            .push(Overlay::TerminateConfirm(Box::new(TerminateConfirm::new(
                s,
            ))));
    }

    /// Keys of the confirm overlay.
    pub(super) fn terminate_action(&mut self, action: Action) {
        let Some(Overlay::TerminateConfirm(c)) = self.state.overlays.last_mut() else {
            return;
        };
        match action {
            Action::InsertChar(ch) if !ch.is_control() => c.typed.push(ch),
            Action::InsertText(t) => c.typed.extend(t.chars().filter(|ch| !ch.is_control())),
            Action::Backspace => {
                c.typed.pop();
            }
            Action::DeleteWord | Action::ClearInput => c.typed.clear(),
            Action::InputCancel => {
                let id = c.session.session_id.clone();
                self.state.overlays.pop();
                self.state.flash(
                    Level::Info,
                    format!("{id} was not terminated: nothing was sent"),
                );
            }
            Action::InputAccept if !c.accepted() => {
                let text = format!(
                    "type {} (the end of the session id) to terminate it; nothing was sent",
                    c.short_id()
                );
                c.typed.clear();
                self.state.flash(Level::Error, text);
            }
            Action::InputAccept => {
                let Some(Overlay::TerminateConfirm(c)) = self.state.overlays.pop() else {
                    return;
                };
                self.terminate(c.session);
            }
            _ => {}
        }
    }

    /// Sends TerminateSession in a task; the row says `Terminating` meanwhile.
    fn terminate(&mut self, s: crate::replay::SessionSummary) {
        let clients = self.clients_of(&s.profile, &s.region);
        if clients.is_none() && self.services.tx.is_some() {
            self.state.flash(
                Level::Error,
                format!(
                    "no clients for profile {} in {}: nothing was sent",
                    s.profile, s.region
                ),
            );
            return;
        }
        self.state.sessions.set_status(&s.session_id, "Terminating");
        let host = s.host_name.clone().unwrap_or_else(|| s.target.clone());
        self.state.flash(
            Level::Info,
            format!("terminating {} on {host} (by {}) …", s.session_id, s.who()),
        );
        if let (Some(tx), Some(clients)) = (self.services.tx.clone(), clients) {
            spawn_terminate(tx, clients, s.session_id, s.target);
        }
    }

    /// TerminateSession answered: say so and read the history again (and forget the host's
    /// recent sessions, which changed).
    pub(super) fn session_terminated(
        &mut self,
        session_id: String,
        target: String,
        result: Result<bool, String>,
    ) {
        self.state.recent.forget(&target);
        let (level, text) = match result {
            Ok(true) => (Level::Info, format!("{session_id} terminated")),
            Ok(false) => (
                Level::Warn,
                format!(
                    "TerminateSession accepted {session_id}, but the history does not show it ended yet; r reads it again"
                ),
            ),
            Err(e) => (Level::Error, format!("cannot terminate {session_id}: {e}")),
        };
        self.load_sessions();
        self.state.sessions.quiet = true;
        self.state.flash(level, text);
    }
}
