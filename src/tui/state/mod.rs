//! Everything the console shows, apart from how it is shown. Views borrow this; only
//! `tui::update` changes it, one `Action` at a time.

pub mod cursor;
pub mod fleet;
pub mod keyframes;
pub mod palette;
pub mod recent;
pub mod replay;
pub mod run;
pub mod runs;
pub mod sessions;
pub mod shell;
pub mod tabs;
pub mod tunnels;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::keymap::{Key, Mode};

pub use fleet::{FleetState, Sort};
pub use palette::{PaletteContext, PaletteState};
pub use recent::{HostKey, Recent, RecentSessions};
pub use replay::ReplayTab;
pub use run::{RunConfirm, RunTab};
pub use runs::RunsState;
pub use sessions::{SessionsState, TerminateConfirm};
pub use shell::ShellTab;
pub use tabs::{Tab, TabKind, TabStatus, TabsState};
pub use tunnels::{TunnelForm, TunnelsState};

/// Layers above the tabs; the top one gets keys first and Esc closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Palette(PaletteState),
    /// The plan of a bulk run, before anything is sent.
    RunConfirm(Box<RunConfirm>),
    /// A session about to be terminated, before anything is sent.
    TerminateConfirm(Box<TerminateConfirm>),
    /// The open-tunnel form for one host.
    TunnelForm(Box<TunnelForm>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The message line: the latest thing the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// The inventory's freshness and trouble, for the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshState {
    /// Generation of the refresh in flight, if any.
    pub in_flight: Option<u64>,
    /// When the shown inventory was read from AWS.
    pub fetched_at: Option<DateTime<Utc>>,
    /// The rows come from the disk cache and no refresh has finished yet.
    pub from_cache: bool,
    /// Problems of the last refresh (one sentence each).
    pub problems: Vec<String>,
    /// Some slice of the last refresh was throttled, or requests were retried.
    pub throttled: bool,
    /// SDK retries counted since the console started.
    pub retries: u64,
    /// Frame of the spinner animation.
    pub spinner: usize,
}

/// Which profiles and regions are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub profiles: Vec<String>,
    pub regions: Vec<String>,
    /// The endpoint, when it is not AWS's own (a simulator, a proxy).
    pub endpoint: Option<String>,
    /// A word for the header, such as "demo".
    pub label: Option<String>,
}

pub struct AppState {
    pub fleet: FleetState,
    pub tabs: TabsState,
    /// Shell tabs by id (`TabKind::Shell(id)`).
    pub shells: BTreeMap<u64, ShellTab>,
    /// The Sessions tab's history (`TabKind::Sessions`).
    pub sessions: SessionsState,
    /// Replay tabs by id (`TabKind::Replay(id)`).
    pub replays: BTreeMap<u64, ReplayTab>,
    /// Recent sessions of the hosts the detail pane showed.
    pub recent: RecentSessions,
    /// Run tabs by id (`TabKind::Run(id)`).
    pub runs: BTreeMap<u64, RunTab>,
    /// The Runs tab's history (`TabKind::Runs`).
    pub run_history: RunsState,
    /// Every tunnel the console runs (`TabKind::Tunnels` lists them).
    pub tunnels: TunnelsState,
    pub overlays: Vec<Overlay>,
    pub message: Option<Message>,
    pub refresh: RefreshState,
    pub scope: Scope,
    /// Tag keys shown as table columns.
    pub tag_columns: Vec<String>,
    /// Wall-clock time as views show it ("lost 12m ago"): set by the frame tick, fixed in tests.
    pub now: DateTime<Utc>,
    /// Terminal size at the last resize.
    pub size: (u16, u16),
    /// Keys of a chord typed so far (`g` waiting for `t`).
    pub pending: Vec<Key>,
    pub palette_context: PaletteContext,
    pub theme_name: String,
    /// Said once after the first inventory read (the demo's database), with its count.
    pub notice: Option<String>,
    pub quit: bool,
    /// When `q` last asked before quitting (sessions or tunnels were open).
    pub quit_asked: Option<std::time::Instant>,
}

impl AppState {
    pub fn new(fleet: FleetState, now: DateTime<Utc>) -> AppState {
        AppState {
            fleet,
            tabs: TabsState::default(),
            shells: BTreeMap::new(),
            sessions: SessionsState::default(),
            replays: BTreeMap::new(),
            recent: RecentSessions::default(),
            runs: BTreeMap::new(),
            run_history: RunsState::default(),
            tunnels: TunnelsState::default(),
            overlays: Vec::new(),
            message: None,
            refresh: RefreshState::default(),
            scope: Scope::default(),
            tag_columns: Vec::new(),
            now,
            size: (80, 24),
            pending: Vec::new(),
            palette_context: PaletteContext::default(),
            theme_name: String::new(),
            notice: None,
            quit: false,
            quit_asked: None,
        }
    }

    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        self.message = Some(Message {
            level,
            text: text.into(),
        });
    }

    /// Which keymap mode keys go to: the top overlay's, else the focused input's, else the tab's.
    pub fn mode(&self) -> Mode {
        match self.overlays.last() {
            Some(Overlay::Help { .. }) => Mode::Help,
            Some(Overlay::Palette(_)) => Mode::Palette,
            Some(Overlay::RunConfirm(_)) => Mode::Confirm,
            Some(Overlay::TerminateConfirm(_)) => Mode::Terminate,
            Some(Overlay::TunnelForm(_)) => Mode::TunnelForm,
            None => match self.active_shell() {
                Some(shell) if shell.scrolling => Mode::Scroll,
                Some(_) => Mode::Shell,
                None if self.tabs.active_kind() == &TabKind::Sessions => {
                    if self.sessions.editing {
                        Mode::Filter
                    } else {
                        Mode::Sessions
                    }
                }
                None if self.active_replay().is_some() => match self.active_replay() {
                    Some(r) if r.searching => Mode::Filter,
                    _ => Mode::Replay,
                },
                None if self.active_run().is_some() => Mode::Run,
                None if self.tabs.active_kind() == &TabKind::Runs => {
                    if self.run_history.editing {
                        Mode::Filter
                    } else {
                        Mode::Runs
                    }
                }
                None if self.tabs.active_kind() == &TabKind::Tunnels => Mode::Tunnels,
                None if self.fleet.editing => Mode::Filter,
                None => Mode::Fleet,
            },
        }
    }

    /// The focused shell tab, if the active tab is one.
    pub fn active_shell(&self) -> Option<&ShellTab> {
        self.tabs.active_shell().and_then(|id| self.shells.get(&id))
    }

    pub fn active_shell_mut(&mut self) -> Option<&mut ShellTab> {
        self.tabs
            .active_shell()
            .and_then(|id| self.shells.get_mut(&id))
    }

    /// The focused replay tab, if the active tab is one.
    pub fn active_replay(&self) -> Option<&ReplayTab> {
        self.tabs
            .active_replay()
            .and_then(|id| self.replays.get(&id))
    }

    pub fn active_replay_mut(&mut self) -> Option<&mut ReplayTab> {
        self.tabs
            .active_replay()
            .and_then(|id| self.replays.get_mut(&id))
    }

    /// The focused run tab, if the active tab is one.
    pub fn active_run(&self) -> Option<&RunTab> {
        self.tabs.active_run().and_then(|id| self.runs.get(&id))
    }

    pub fn active_run_mut(&mut self) -> Option<&mut RunTab> {
        self.tabs.active_run().and_then(|id| self.runs.get_mut(&id))
    }

    pub fn top_overlay(&self) -> Option<&Overlay> {
        self.overlays.last()
    }

    pub fn tunnel_form_mut(&mut self) -> Option<&mut TunnelForm> {
        match self.overlays.last_mut() {
            Some(Overlay::TunnelForm(f)) => Some(f),
            _ => None,
        }
    }

    pub fn palette_mut(&mut self) -> Option<&mut PaletteState> {
        match self.overlays.last_mut() {
            Some(Overlay::Palette(p)) => Some(p),
            _ => None,
        }
    }
}
