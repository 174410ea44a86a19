//! The console's owner: state, keymap, theme and task handles, and the one `select!` loop over
//! terminal input, the `Action` channel and the frame tick (drawing only when something changed).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEvent};
use futures_util::StreamExt;
use ratatui::Frame;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::MissedTickBehavior;

use super::action::Action;
use super::keymap::{Key, Keymap, Mode, Resolved, is_press};
use super::state::AppState;
use super::tasks::{InventoryWorker, ShellLink};
use super::terminal::Term;
use super::theme::Theme;
use super::views;
use crate::aws::{Clients, Target};
use crate::cache::CacheKey;

/// ~60 frames a second at most.
pub const FRAME: Duration = Duration::from_millis(16);
/// Spinner frames advance this often.
const SPINNER_EVERY: Duration = Duration::from_millis(100);

/// What the console needs besides its state to carry out actions.
pub struct Services {
    pub worker: Option<InventoryWorker>,
    /// Clients of the targets shown now.
    pub clients: Vec<Clients>,
    /// The targets the console started with (`:region all` goes back to them).
    pub start_targets: Vec<Target>,
    /// The targets shown now.
    pub targets: Vec<Target>,
    pub endpoint: Option<String>,
    /// Where `:theme NAME` looks for `NAME.toml` before the built-ins.
    pub theme_dir: Option<PathBuf>,
    pub theme_overrides: toml::Table,
    pub no_color: bool,
    /// Where shell tasks report; `None` (tests) opens tabs without sessions.
    pub tx: Option<UnboundedSender<Action>>,
    /// Shell sessions by tab id.
    pub sessions: HashMap<u64, ShellLink>,
    pub next_shell: u64,
    /// Replay tabs' log readers (and the Sessions read, under id 0) by tab id.
    pub replays: HashMap<u64, tokio_util::sync::CancellationToken>,
    pub next_replay: u64,
    /// Where `e` writes `.cast` files; `None` means the current directory.
    pub export_dir: Option<PathBuf>,
    /// Bulk runs: the guard's policy and each run's cancel channel.
    pub runs: super::tasks::RunLinks,
    /// Tunnels by id; they run whatever tab is shown.
    pub tunnels: super::tunnel_tasks::TunnelLinks,
    /// How ssh tabs run ssh.
    pub ssh: super::ssh::SshSettings,
}

impl Services {
    /// No AWS, no tasks: for tests and views.
    pub fn offline() -> Services {
        Services {
            worker: None,
            clients: Vec::new(),
            start_targets: Vec::new(),
            targets: Vec::new(),
            endpoint: None,
            theme_dir: None,
            theme_overrides: toml::Table::new(),
            no_color: false,
            tx: None,
            sessions: HashMap::new(),
            next_shell: 0,
            replays: HashMap::new(),
            next_replay: 0,
            export_dir: None,
            runs: Default::default(),
            tunnels: Default::default(),
            ssh: Default::default(),
        }
    }

    pub fn cache_key(&self) -> CacheKey {
        let profiles: Vec<String> = self.targets.iter().map(Target::profile_label).collect();
        let regions: Vec<String> = self.targets.iter().map(|t| t.region.clone()).collect();
        CacheKey::new(self.endpoint.clone(), &profiles, &regions)
    }
}

pub struct App {
    pub state: AppState,
    pub keymap: Keymap,
    pub theme: Theme,
    pub services: Services,
    dirty: bool,
    last_spin: std::time::Instant,
    last_second: i64,
}

impl App {
    pub fn new(state: AppState, keymap: Keymap, theme: Theme, services: Services) -> App {
        App {
            state,
            keymap,
            theme,
            services,
            dirty: true,
            last_spin: std::time::Instant::now(),
            last_second: 0,
        }
    }

    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    pub fn draw(&self, frame: &mut Frame) {
        views::draw(frame, &self.state, &self.theme, &self.keymap);
    }

    /// The one entry for terminal input, used by the loop and by tests alike.
    pub fn dispatch(&mut self, event: Event) {
        for action in self.handle_event(event) {
            self.update(action);
        }
    }

    /// Terminal event → actions, through the keymap of the current mode.
    pub fn handle_event(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Key(key) if is_press(&key) => self.key_actions(key),
            Event::Resize(w, h) => vec![Action::Resize(w, h)],
            Event::Paste(text) if self.state.mode().is_text_input() => {
                vec![Action::InsertText(text)]
            }
            Event::Paste(text) if self.state.mode() == Mode::Shell => {
                let bracketed = self
                    .state
                    .active_shell()
                    .is_some_and(|s| s.screen.bracketed_paste());
                vec![Action::ShellKeys(crate::terminal::encode_paste(
                    &text, bracketed,
                ))]
            }
            _ => Vec::new(),
        }
    }

    fn key_actions(&mut self, event: KeyEvent) -> Vec<Action> {
        let key = Key::from_event(&event);
        let mode = self.state.mode();
        if matches!(mode, Mode::Shell | Mode::Scroll) {
            return self.shell_key_actions(mode, key, &event);
        }
        if mode.is_text_input() {
            // The input's own keys, then typing, then the global keys (Ctrl-C).
            if let Resolved::Fire(a) = self.keymap.resolve_in(&[mode], &[], key) {
                return vec![a];
            }
            if let Some(c) = key.as_text() {
                return vec![Action::InsertChar(c)];
            }
            return match self.keymap.resolve_in(&[Mode::Global], &[], key) {
                Resolved::Fire(a) => vec![a],
                _ => Vec::new(),
            };
        }
        let pending = std::mem::take(&mut self.state.pending);
        let had_pending = !pending.is_empty();
        self.dirty |= had_pending;
        match self.keymap.resolve(mode, &pending, key) {
            Resolved::Fire(a) => vec![a],
            Resolved::Pending => {
                self.state.pending = pending;
                self.state.pending.push(key);
                self.dirty = true;
                Vec::new()
            }
            // A chord that went nowhere: the key counts on its own.
            Resolved::Unbound if had_pending => match self.keymap.resolve(mode, &[], key) {
                Resolved::Fire(a) => vec![a],
                Resolved::Pending => {
                    self.state.pending = vec![key];
                    Vec::new()
                }
                Resolved::Unbound => Vec::new(),
            },
            Resolved::Unbound => Vec::new(),
        }
    }

    /// Keys in a shell tab: the escape chord and its continuations (and the scroll mode's keys)
    /// go to the app, every other key to the shell, encoded as an xterm would.
    fn shell_key_actions(&mut self, mode: Mode, key: Key, event: &KeyEvent) -> Vec<Action> {
        let pending = std::mem::take(&mut self.state.pending);
        let layers: &[Mode] = if mode == Mode::Scroll {
            &[Mode::Scroll, Mode::Shell]
        } else {
            &[Mode::Shell]
        };
        if !pending.is_empty() {
            self.dirty = true;
        }
        match self.keymap.resolve_in(layers, &pending, key) {
            Resolved::Fire(a) => vec![a],
            Resolved::Pending => {
                self.state.pending = pending;
                self.state.pending.push(key);
                self.dirty = true;
                Vec::new()
            }
            Resolved::Unbound if !pending.is_empty() => {
                let mut keys = pending;
                keys.push(key);
                self.state.flash(
                    super::state::Level::Warn,
                    format!("{} does nothing here", super::keymap::keys_label(&keys)),
                );
                Vec::new()
            }
            Resolved::Unbound if mode == Mode::Scroll => Vec::new(),
            Resolved::Unbound => {
                let modes = self
                    .state
                    .active_shell()
                    .map(|s| s.screen.key_modes())
                    .unwrap_or_default();
                crate::terminal::encode_key(event, modes)
                    .map(|b| vec![Action::ShellKeys(b)])
                    .unwrap_or_default()
            }
        }
    }

    /// Called on every frame tick: keeps the clock, spinner and retry count current.
    pub fn on_frame(&mut self) {
        let now = Utc::now();
        if now.timestamp() != self.last_second {
            self.last_second = now.timestamp();
            self.state.now = now;
            self.dirty = true;
        }
        // The spinner turns while the inventory is read or any tab is busy (a run, a replay).
        let busy = self.state.refresh.in_flight.is_some()
            || self
                .state
                .tabs
                .tabs()
                .iter()
                .any(|t| t.status == super::state::TabStatus::Busy);
        if busy && self.last_spin.elapsed() >= SPINNER_EVERY {
            self.last_spin = std::time::Instant::now();
            self.state.refresh.spinner = self.state.refresh.spinner.wrapping_add(1);
            self.dirty = true;
        }
        if self.tick_replays() {
            self.dirty = true;
        }
        if self.tick_runs() {
            self.dirty = true;
        }
        if self.tick_tunnels() {
            self.dirty = true;
        }
        if let Some(worker) = &self.services.worker {
            let retries = worker.stats().retries();
            if retries != self.state.refresh.retries {
                self.state.refresh.retries = retries;
                self.dirty = true;
            }
        }
    }

    /// Whether to draw now; clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The loop: input, task reports and the frame tick. Returns when the user quits.
    pub async fn run(
        &mut self,
        terminal: &mut Term,
        mut rx: UnboundedReceiver<Action>,
    ) -> anyhow::Result<()> {
        let mut events = EventStream::new();
        let mut frame = tokio::time::interval(FRAME);
        frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
        if let Ok(size) = terminal.size() {
            self.update(Action::Resize(size.width, size.height));
        }
        loop {
            tokio::select! {
                // The tick first: a flood of input or reports cannot starve drawing.
                biased;
                _ = frame.tick() => {
                    self.on_frame();
                    if self.take_dirty() {
                        terminal.draw(|f| self.draw(f))?;
                    }
                }
                event = events.next() => match event {
                    Some(Ok(event)) => self.dispatch(event),
                    Some(Err(e)) => return Err(anyhow::anyhow!("cannot read the terminal: {e}")),
                    None => return Ok(()),
                },
                Some(action) = rx.recv() => self.update(action),
            }
            if self.state.quit {
                return Ok(());
            }
        }
    }
}
