//! The Sessions tab and replay tabs: reading the history, its table and filter, opening a
//! replay, and the replay's controls. Reading runs in tasks (`tasks::spawn_sessions`,
//! `tasks::spawn_replay`); playback advances on the frame tick, never in a sleeping task.

use std::time::Instant;

use ratatui::layout::Rect;

use super::input::edited;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::tabs::{Tab, TabKind, TabStatus};
use crate::tui::state::{Level, ReplayTab};
use crate::tui::tasks::{export_cast, spawn_replay, spawn_sessions};
use crate::tui::views::layout;

/// The key of the Sessions read in `Services::replays` (replay tabs count from 1).
const SESSIONS_TASK: u64 = 0;

impl App {
    pub fn on_sessions_tab(&self) -> bool {
        self.state.tabs.active_kind() == &TabKind::Sessions
    }

    /// `:sessions`: focus the Sessions tab (opening it first) and read the history if not yet.
    pub(super) fn open_sessions(&mut self) {
        if !self.state.tabs.focus(&TabKind::Sessions) {
            self.state.tabs.open(Tab {
                kind: TabKind::Sessions,
                title: "sessions".into(),
                status: TabStatus::Idle,
            });
        }
        self.relayout_sessions();
        if !self.state.sessions.loaded && self.state.sessions.loading.is_none() {
            self.load_sessions();
        }
    }

    /// Reads the history again (a newer read supersedes one in flight).
    pub(super) fn load_sessions(&mut self) {
        let s = &mut self.state.sessions;
        s.generation += 1;
        s.loading = Some(s.generation);
        let generation = s.generation;
        if let Some(old) = self.services.replays.remove(&SESSIONS_TASK) {
            old.cancel();
        }
        let Some(tx) = self.services.tx.clone() else {
            return;
        };
        let cancel = tokio_util::sync::CancellationToken::new();
        self.services.replays.insert(SESSIONS_TASK, cancel.clone());
        spawn_sessions(
            tx,
            self.services.clients.clone(),
            self.state.fleet.instances().to_vec(),
            generation,
            cancel,
        );
    }

    pub(super) fn sessions_loaded(
        &mut self,
        generation: u64,
        sessions: Vec<crate::replay::SessionSummary>,
        problems: Vec<String>,
    ) {
        let now = self.state.now;
        let s = &mut self.state.sessions;
        if generation != s.generation {
            return;
        }
        self.services.replays.remove(&SESSIONS_TASK);
        s.loading = None;
        s.set_now(now);
        let n = sessions.len();
        s.replace(sessions);
        let quiet = std::mem::take(&mut s.quiet);
        let text = match problems.first() {
            Some(p) => Some((Level::Warn, p.clone())),
            // A read after a termination keeps the message that says how it went.
            None if quiet => None,
            None => Some((
                Level::Info,
                format!("{n} session{}", if n == 1 { "" } else { "s" }),
            )),
        };
        s.problems = problems;
        if let Some((level, text)) = text {
            self.state.flash(level, text);
        }
    }

    pub(super) fn sessions_action(&mut self, action: Action) {
        let now = self.state.now;
        let s = &mut self.state.sessions;
        let page = isize::try_from(s.cursor.viewport).unwrap_or(1).max(1);
        match action {
            Action::MoveDown => s.move_by(1),
            Action::MoveUp => s.move_by(-1),
            Action::PageDown => s.move_by(page),
            Action::PageUp => s.move_by(-page),
            Action::HalfPageDown => s.move_by(page / 2),
            Action::HalfPageUp => s.move_by(-page / 2),
            Action::MoveTop => s.move_to(0),
            Action::MoveBottom => s.move_to(usize::MAX),
            Action::StartFilter => s.editing = true,
            Action::SessionsCycleState => s.cycle_state(now),
            Action::SessionsCycleWindow => s.cycle_window(now),
            Action::ClearFilter => s.set_input(String::new()),
            Action::InputAccept => s.editing = false,
            Action::InputCancel => {
                s.editing = false;
                s.set_input(String::new());
            }
            other => {
                if let Some(input) = edited(&s.input, &other) {
                    s.set_input(input);
                }
            }
        }
    }

    /// The sessions table's height follows the terminal, like the fleet's.
    pub(super) fn relayout_sessions(&mut self) {
        let (w, h) = self.state.size;
        let areas = layout::areas(Rect::new(0, 0, w, h), false);
        self.state.sessions.set_viewport(areas.table_rows());
        let (rows, cols) = self.replay_size();
        for r in self.state.replays.values_mut() {
            r.resize(rows, cols);
        }
    }

    /// (rows, cols) of a replay's screen: a shell tab's, less the status and timeline lines.
    fn replay_size(&self) -> (u16, u16) {
        let (w, h) = self.state.size;
        let area = layout::shell_areas(Rect::new(0, 0, w, h)).terminal;
        (area.height.saturating_sub(2).max(1), area.width.max(1))
    }

    /// Enter on a session: a replay tab whose task reads the log; a session without a
    /// CloudWatch log says why.
    pub(super) fn open_replay(&mut self) {
        let Some(s) = self.state.sessions.selected_session().cloned() else {
            self.state.flash(Level::Warn, "no session selected");
            return;
        };
        self.open_replay_of(s);
    }

    /// A replay tab for `s` whose task reads its log; a session without a CloudWatch log says
    /// why.
    pub(super) fn open_replay_of(&mut self, s: crate::replay::SessionSummary) {
        let Some(source) = s.log.as_ref().and_then(|l| l.cloudwatch.clone()) else {
            let why = match s.log.as_ref().and_then(|l| l.s3_url.as_deref()) {
                Some(url) => format!("its log is in S3 ({url}); fleetdeck replays CloudWatch Logs"),
                None if s.state == crate::replay::SessionState::Active => {
                    "it is still active; its log appears when it ends".into()
                }
                None => "session logging to CloudWatch was not on for it".into(),
            };
            self.state.flash(
                Level::Warn,
                format!("{}: no log to replay: {why}", s.session_id),
            );
            return;
        };
        let clients = self.clients_of(&s.profile, &s.region);
        if clients.is_none() && self.services.tx.is_some() {
            self.state.flash(
                Level::Error,
                format!("no clients for profile {} in {}", s.profile, s.region),
            );
            return;
        }
        let host = s.host_name.clone().unwrap_or_else(|| s.target.clone());
        let id = self.open_replay_tab(s.session_id.clone(), host, s.who().to_owned());
        if let (Some(tx), Some(clients)) = (self.services.tx.clone(), clients) {
            let cancel = tokio_util::sync::CancellationToken::new();
            self.services.replays.insert(id, cancel.clone());
            let size = self.replay_size();
            spawn_replay(tx, clients, source, id, size, cancel);
        }
    }

    /// A replay tab sized to the layout, focused, waiting for its log. Returns its id.
    pub fn open_replay_tab(&mut self, session_id: String, host: String, who: String) -> u64 {
        self.services.next_replay += 1;
        let id = self.services.next_replay;
        let (rows, cols) = self.replay_size();
        self.state.replays.insert(
            id,
            ReplayTab::new(id, session_id, host.clone(), who, rows, cols),
        );
        self.state.tabs.open(Tab {
            kind: TabKind::Replay(id),
            title: format!("replay {host}"),
            status: TabStatus::Busy,
        });
        id
    }

    /// A replay tab closed: its reader stops.
    pub(super) fn close_replay(&mut self, id: u64) {
        self.state.replays.remove(&id);
        if let Some(cancel) = self.services.replays.remove(&id) {
            cancel.cancel();
        }
    }

    pub(super) fn replay_report(&mut self, action: Action) {
        match action {
            Action::ReplayProgress { tab, events } => {
                if let Some(r) = self.state.replays.get_mut(&tab) {
                    r.loaded_events = events;
                }
            }
            Action::ReplayKeyframes {
                tab,
                size,
                keyframes,
            } => {
                self.services.replays.remove(&tab);
                if let Some(r) = self.state.replays.get_mut(&tab) {
                    r.adopt_keyframes(size, *keyframes);
                }
            }
            Action::ReplayLoaded { tab, result } => {
                // A loaded log's task goes on building keyframes; it stops with the tab.
                if result.is_err() {
                    self.services.replays.remove(&tab);
                }
                let Some(r) = self.state.replays.get_mut(&tab) else {
                    return;
                };
                let status = match result {
                    Ok(timeline) => {
                        let skipped = timeline.malformed.len();
                        r.loaded_events = timeline.events;
                        r.loaded(timeline);
                        if skipped > 0 {
                            self.state.flash(
                                Level::Warn,
                                format!("{skipped} malformed log events were skipped"),
                            );
                        }
                        TabStatus::Idle
                    }
                    Err(e) => {
                        let text = format!("{}: cannot replay: {e}", r.session_id);
                        r.error = Some(e.clone());
                        self.state.flash(Level::Error, text);
                        TabStatus::Failed(e)
                    }
                };
                self.set_replay_status(tab, status);
            }
            Action::ReplayExported { result, .. } => match result {
                Ok(path) => self.state.flash(Level::Info, format!("exported to {path}")),
                Err(e) => self.state.flash(Level::Error, e),
            },
            _ => {}
        }
    }

    fn set_replay_status(&mut self, id: u64, status: TabStatus) {
        if let Some(tab) = self.state.tabs.find_mut(&TabKind::Replay(id)) {
            tab.status = status;
        }
    }

    /// Keys of the focused replay tab.
    pub(super) fn replay_action(&mut self, action: Action) {
        let Some(r) = self.state.active_replay_mut() else {
            return;
        };
        if r.timeline.is_none() && !matches!(action, Action::ReplayExport) {
            return;
        }
        match action {
            Action::ReplayPause => {
                r.toggle();
                r.ticked = None;
            }
            Action::ReplayFaster => r.faster(),
            Action::ReplaySlower => r.slower(),
            Action::ReplaySeek { forward } => r.seek_by(forward),
            Action::ReplayNextCommand => {
                if !r.next_command() {
                    self.state.flash(Level::Info, "no command after this point");
                }
            }
            Action::ReplaySearch => r.searching = true,
            Action::ReplayMatch { forward } => {
                if !r.goto_match(forward) {
                    let text = if r.query.is_empty() {
                        "no search: / searches the log".to_owned()
                    } else {
                        format!("no match for '{}'", r.query)
                    };
                    self.state.flash(Level::Info, text);
                }
            }
            Action::ReplayExport => self.export_replay(),
            // The search input.
            Action::InputAccept => {
                r.searching = false;
                let n = r.matches.len();
                let q = r.query.clone();
                if n > 0 {
                    r.goto_match(true);
                }
                self.state
                    .flash(Level::Info, format!("{n} matches for '{q}'"));
            }
            Action::InputCancel => {
                r.searching = false;
                r.set_query(String::new());
            }
            other => {
                if let Some(input) = edited(&r.query, &other) {
                    r.set_query(input);
                }
            }
        }
    }

    /// `e`: the replay as `SESSION_ID.cast` in the current directory, written off the loop.
    fn export_replay(&mut self) {
        let Some(r) = self.state.active_replay() else {
            return;
        };
        let Some(timeline) = r.timeline.clone() else {
            self.state.flash(Level::Warn, "the log is still loading");
            return;
        };
        let dir = match &self.services.export_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| ".".into()),
        };
        let path = dir.join(format!("{}.cast", r.session_id));
        let (rows, cols) = r.screen.size();
        let options = crate::replay::CastOptions {
            cols,
            rows,
            title: Some(format!("{} on {} by {}", r.session_id, r.host, r.who)),
        };
        let tab = r.id;
        match self.services.tx.clone() {
            Some(tx) => {
                tokio::task::spawn_blocking(move || {
                    let result = export_cast(&timeline, &path, &options);
                    let _ = tx.send(Action::ReplayExported { tab, result });
                });
                self.state.flash(Level::Info, "exporting …");
            }
            None => {
                let result = export_cast(&timeline, &path, &options);
                self.replay_report(Action::ReplayExported { tab, result });
            }
        }
    }

    /// On the frame tick: playing replays move on by the wall time since the last tick.
    /// Returns whether any moved.
    pub fn tick_replays(&mut self) -> bool {
        let now = Instant::now();
        let mut moved = false;
        for r in self.state.replays.values_mut() {
            if !r.playing || r.timeline.is_none() {
                r.ticked = None;
                continue;
            }
            let elapsed = r.ticked.map_or(std::time::Duration::ZERO, |t| now - t);
            r.ticked = Some(now);
            moved |= r.advance(elapsed);
        }
        moved
    }
}
