//! Every change of the console's state is one of these. User intents are imperative (`Quit`,
//! `MoveDown`); reports from background tasks are past tense (`InventoryFetched`).
//! Key bindings and palette commands are parsed into actions once, at the config boundary.

use crate::aws::{Clients, Inventory};
use crate::cache::{CacheKey, CachedInventory};
use crate::channel::{SessionHandle, SessionState};

/// A column the fleet table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Name,
    Id,
    Region,
    State,
    Ping,
    LastPing,
    Agent,
    Platform,
    PrivateIp,
}

impl SortColumn {
    pub const ALL: [SortColumn; 9] = [
        Self::Name,
        Self::Id,
        Self::Region,
        Self::State,
        Self::Ping,
        Self::LastPing,
        Self::Agent,
        Self::Platform,
        Self::PrivateIp,
    ];

    /// The name used by `:sort NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Id => "id",
            Self::Region => "region",
            Self::State => "state",
            Self::Ping => "ping",
            Self::LastPing => "last-ping",
            Self::Agent => "agent",
            Self::Platform => "platform",
            Self::PrivateIp => "ip",
        }
    }

    pub fn parse(name: &str) -> Option<SortColumn> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    // ---- user intents ----
    Quit,
    Refresh,
    ShowHelp,
    OpenPalette,
    /// Closes the top overlay (help, palette).
    CloseOverlay,
    /// Movement goes to whatever has focus: the fleet table, or the help text.
    MoveDown,
    MoveUp,
    PageDown,
    PageUp,
    HalfPageDown,
    HalfPageUp,
    MoveTop,
    MoveBottom,
    /// Focus the filter input (`/`).
    StartFilter,
    ClearFilter,
    /// Text input (filter or palette, whichever has focus).
    InsertChar(char),
    InsertText(String),
    Backspace,
    DeleteWord,
    ClearInput,
    /// Enter in an input: keep the filter / run the palette command.
    InputAccept,
    /// Esc in an input: clear the filter / close the palette.
    InputCancel,
    PaletteComplete,
    PaletteNext,
    PalettePrev,
    CycleSort,
    ReverseSort,
    SortBy(SortColumn),
    ToggleDetail,
    NextTab,
    PrevTab,
    /// 1-based, as the number keys show it.
    GotoTab(usize),
    CloseTab,
    /// Opens a shell tab on the selected host (or says why a session would not work).
    OpenShell,
    /// Bytes for the focused shell tab: its keys (encoded) or a paste.
    ShellKeys(Vec<u8>),
    /// Scroll mode over the focused shell tab's scrollback.
    StartScroll,
    StopScroll,
    /// Opens (or focuses) the Sessions tab and reads the session history.
    OpenSessions,
    /// Enter on a session: a replay tab for its log.
    OpenReplay,
    /// Replay tab: pause or resume (from the start once finished).
    ReplayPause,
    ReplayFaster,
    ReplaySlower,
    /// Seek by `SEEK_STEP`, forward or back.
    ReplaySeek {
        forward: bool,
    },
    ReplayNextCommand,
    /// Focus the replay's search input (`/`).
    ReplaySearch,
    ReplayMatch {
        forward: bool,
    },
    /// Writes the replay as asciicast v2 in the current directory.
    ReplayExport,
    /// Sessions tab: the next state filter (active+history, active, history).
    SessionsCycleState,
    /// Sessions tab: the next time window (1h, 24h, 7d, any time).
    SessionsCycleWindow,
    /// Sessions tab: asks to terminate the selected active session (a confirm overlay first).
    SessionsTerminate,
    /// Fleet: the Sessions tab filtered to the selected host.
    HostSessions,
    /// Fleet: replays the selected host's newest logged session.
    HostReplayNewest,
    SetTheme(String),
    /// Marks or unmarks the selected host for a bulk run (space).
    ToggleMark,
    /// Marks every filtered host, or unmarks them when all are marked.
    MarkAllFiltered,
    /// `:run COMMAND`: plans a run on the marked hosts (else the filtered ones) and shows the
    /// confirm overlay. Nothing is sent before that overlay is accepted.
    RunCommand(String),
    /// Run tab: cancel the whole run (CancelCommand).
    RunCancel,
    /// Run tab: plan a re-run on the failed hosts only (through the confirm overlay).
    RunRerunFailed,
    /// Run tab: show or hide the selected group's or host's output.
    RunToggleOutput,
    /// Run tab: cancel only the selected host (CancelCommand with its instance id).
    RunCancelHost,
    /// Run tab: scroll the output pane a line (or half a pane) down or up.
    RunOutputScroll {
        down: bool,
        page: bool,
    },
    /// Opens (or focuses) the Runs tab and reads the run history (ListCommands).
    OpenRuns,
    /// Enter on a past run: a run tab watching that command (its hosts and grouped output).
    OpenPastRun,
    /// Opens (or focuses) the Tunnels tab.
    OpenTunnels,
    /// The open-tunnel form for the selected host, optionally filled in (`:tunnel 5432 db`).
    OpenTunnelForm {
        remote_port: Option<u16>,
        remote_host: Option<String>,
    },
    /// Form: focus the next (or previous) field.
    FormField {
        forward: bool,
    },
    /// Form: preset N (1-based, as `PRESETS` lists them) as the remote port.
    TunnelPreset(usize),
    TunnelPresetCycle {
        forward: bool,
    },
    /// Tunnels tab: close the selected tunnel (it goes from the list).
    CloseTunnel,
    /// Tunnels tab: a new session for the selected tunnel (a failed one starts again).
    RestartTunnel,
    /// An ssh tab on the selected host (the user's ssh through `fleetdeck proxy`).
    OpenSsh,
    /// `None`: back to the regions the console started with.
    SetRegions(Option<Vec<String>>),
    SetProfiles(Option<Vec<String>>),
    Resize(u16, u16),
    /// An explicitly unbound key.
    Noop,

    // ---- task reports ----
    CacheLoaded {
        key: CacheKey,
        cached: Box<CachedInventory>,
    },
    /// The cache read for `key` is over (found or not): the inventory refresh starts now, so
    /// that it does not compete with the cached fleet's first paint.
    CacheRead {
        key: CacheKey,
    },
    InventoryFetched {
        generation: u64,
        key: CacheKey,
        clients: Vec<Clients>,
        inventory: Box<Inventory>,
    },
    CacheWriteFailed(String),
    /// A shell tab's session started: its handle takes keys and sizes.
    ShellStarted {
        tab: u64,
        handle: SessionHandle,
    },
    ShellOutput {
        tab: u64,
        bytes: bytes::Bytes,
    },
    ShellStateChanged {
        tab: u64,
        state: SessionState,
    },
    /// The session could not start (StartSession refused, the WebSocket failed).
    ShellFailed {
        tab: u64,
        error: String,
    },
    SessionsLoaded {
        generation: u64,
        sessions: Vec<crate::replay::SessionSummary>,
        /// One sentence per target that could not be read.
        problems: Vec<String>,
    },
    /// Events of a replay's log read so far.
    ReplayProgress {
        tab: u64,
        events: usize,
    },
    ReplayLoaded {
        tab: u64,
        result: Result<std::sync::Arc<crate::replay::Timeline>, String>,
    },
    /// Keyframes over a loaded replay's whole log, built off the loop for a screen of `size`.
    ReplayKeyframes {
        tab: u64,
        size: (u16, u16),
        keyframes: Box<crate::tui::state::keyframes::Keyframes>,
    },
    ReplayExported {
        tab: u64,
        result: Result<String, String>,
    },
    /// An instance's recent sessions, for the detail pane.
    RecentSessionsLoaded {
        key: crate::tui::state::recent::HostKey,
        result: Result<Vec<crate::replay::SessionSummary>, String>,
    },
    /// TerminateSession answered; `Ok(true)` once the history shows the session ended.
    SessionTerminated {
        session_id: String,
        target: String,
        result: Result<bool, String>,
    },
    /// Progress of run tab `run`, as `run::execute` reports it.
    RunReported {
        run: u64,
        event: crate::run::RunEvent,
    },
    RunFinished {
        run: u64,
        report: Box<crate::run::RunReport>,
    },
    /// The run history, newest first.
    RunsLoaded {
        generation: u64,
        commands: Vec<crate::run::CommandSummary>,
        /// One sentence per target that could not be read.
        problems: Vec<String>,
    },
    /// Tunnel `id` is listening (its handle gives live counters).
    TunnelStarted {
        id: u64,
        tunnel: crate::tunnel::Tunnel,
    },
    /// Tunnel `id` could not bind its local port.
    TunnelStartFailed {
        id: u64,
        error: String,
    },
    TunnelStateChanged {
        id: u64,
        state: crate::tunnel::TunnelState,
    },
}

/// Commands a key binding's `run` may name, with a one-line description for errors.
pub const COMMANDS: &[(&str, &str)] = &[
    ("quit", "quit fleetdeck"),
    ("refresh", "refresh the inventory"),
    ("help", "show the keys"),
    ("palette", "open the command palette"),
    ("close", "close the top overlay"),
    ("move.down", "next row"),
    ("move.up", "previous row"),
    ("move.page_down", "one page down"),
    ("move.page_up", "one page up"),
    ("move.half_down", "half a page down"),
    ("move.half_up", "half a page up"),
    ("move.top", "first row"),
    ("move.bottom", "last row"),
    ("fleet.filter", "focus the filter"),
    ("fleet.clear_filter", "clear the filter"),
    ("fleet.detail", "toggle the detail pane"),
    ("sort.next", "sort by the next column"),
    ("sort.reverse", "reverse the sort"),
    ("sort.by COLUMN", "sort by a column"),
    ("input.accept", "accept the input"),
    ("input.cancel", "cancel the input"),
    ("input.backspace", "delete a character"),
    ("input.delete_word", "delete a word"),
    ("input.clear", "clear the input"),
    ("palette.complete", "complete the palette input"),
    ("palette.next", "next suggestion"),
    ("palette.prev", "previous suggestion"),
    ("tab.next", "next tab"),
    ("tab.prev", "previous tab"),
    ("tab.goto N", "go to tab N"),
    ("tab.close", "close the tab"),
    ("tab.open_shell", "open a shell on the selected host"),
    ("shell.scroll", "scroll mode over the shell's scrollback"),
    ("shell.scroll_exit", "leave scroll mode"),
    ("sessions.open", "open the Sessions tab (session history)"),
    ("sessions.replay", "replay the selected session's log"),
    ("replay.pause", "pause or resume the replay"),
    ("replay.faster", "replay faster (up to 16x)"),
    ("replay.slower", "replay slower (down to 0.5x)"),
    ("replay.forward", "seek 5 s forward"),
    ("replay.back", "seek 5 s back"),
    ("replay.next_command", "seek to the next command typed"),
    ("replay.search", "search the log"),
    ("replay.next_match", "seek to the next search match"),
    ("replay.prev_match", "seek to the previous search match"),
    ("replay.export", "export the replay as a .cast file"),
    ("sessions.state", "list active, history, or both"),
    (
        "sessions.window",
        "list the last hour, day, week, or any time",
    ),
    (
        "sessions.terminate",
        "terminate the selected active session (confirm first)",
    ),
    (
        "host.sessions",
        "the Sessions tab filtered to the selected host",
    ),
    (
        "host.replay_newest",
        "replay the selected host's newest logged session",
    ),
    ("theme NAME", "switch theme"),
    ("fleet.mark", "mark or unmark the host for a run"),
    ("fleet.mark_all", "mark (or unmark) every filtered host"),
    ("run.cancel", "cancel the run"),
    ("run.rerun_failed", "re-run the failed hosts only"),
    ("run.output", "show or hide the output of the selection"),
    ("run.cancel_host", "cancel the selected host only"),
    ("run.output_down", "scroll the output pane down a line"),
    ("run.output_up", "scroll the output pane up a line"),
    (
        "run.output_page_down",
        "scroll the output pane down half a pane",
    ),
    (
        "run.output_page_up",
        "scroll the output pane up half a pane",
    ),
    ("runs.open", "open the Runs tab (run history)"),
    ("runs.open_run", "open the selected past run in a run tab"),
    ("tunnels.open", "open the Tunnels tab"),
    ("tunnel.new", "open a tunnel to the selected host (a form)"),
    ("tunnel.close", "close the selected tunnel"),
    ("tunnel.restart", "restart the selected tunnel"),
    (
        "tunnel.preset N",
        "tunnel form: preset N as the remote port",
    ),
    ("tunnel.preset_next", "tunnel form: the next preset"),
    ("tunnel.preset_prev", "tunnel form: the previous preset"),
    ("form.next", "form: the next field"),
    ("form.prev", "form: the previous field"),
    ("ssh.open", "ssh to the selected host in a tab"),
    ("noop", "do nothing (unbinds a default key)"),
];

impl Action {
    /// Parses a binding's `run` string.
    pub fn from_command(run: &str) -> Result<Action, String> {
        let mut words = run.split_whitespace();
        let name = words.next().unwrap_or_default();
        let arg = words.next();
        if words.next().is_some() {
            return Err(format!("'{run}' has too many arguments"));
        }
        let no_arg = |a: Action| match arg {
            None => Ok(a),
            Some(x) => Err(format!("'{name}' takes no argument (got '{x}')")),
        };
        match name {
            "quit" => no_arg(Action::Quit),
            "refresh" => no_arg(Action::Refresh),
            "help" => no_arg(Action::ShowHelp),
            "palette" => no_arg(Action::OpenPalette),
            "close" => no_arg(Action::CloseOverlay),
            "move.down" => no_arg(Action::MoveDown),
            "move.up" => no_arg(Action::MoveUp),
            "move.page_down" => no_arg(Action::PageDown),
            "move.page_up" => no_arg(Action::PageUp),
            "move.half_down" => no_arg(Action::HalfPageDown),
            "move.half_up" => no_arg(Action::HalfPageUp),
            "move.top" => no_arg(Action::MoveTop),
            "move.bottom" => no_arg(Action::MoveBottom),
            "fleet.filter" => no_arg(Action::StartFilter),
            "fleet.clear_filter" => no_arg(Action::ClearFilter),
            "fleet.detail" => no_arg(Action::ToggleDetail),
            "sort.next" => no_arg(Action::CycleSort),
            "sort.reverse" => no_arg(Action::ReverseSort),
            "sort.by" => match arg.and_then(SortColumn::parse) {
                Some(c) => Ok(Action::SortBy(c)),
                None => Err(format!("'sort.by' needs a column: {}", column_names())),
            },
            "input.accept" => no_arg(Action::InputAccept),
            "input.cancel" => no_arg(Action::InputCancel),
            "input.backspace" => no_arg(Action::Backspace),
            "input.delete_word" => no_arg(Action::DeleteWord),
            "input.clear" => no_arg(Action::ClearInput),
            "palette.complete" => no_arg(Action::PaletteComplete),
            "palette.next" => no_arg(Action::PaletteNext),
            "palette.prev" => no_arg(Action::PalettePrev),
            "tab.next" => no_arg(Action::NextTab),
            "tab.prev" => no_arg(Action::PrevTab),
            "tab.goto" => match arg.and_then(|a| a.parse::<usize>().ok()) {
                Some(n) if (1..=99).contains(&n) => Ok(Action::GotoTab(n)),
                _ => Err("'tab.goto' needs a tab number, e.g. tab.goto 2".into()),
            },
            "tab.close" => no_arg(Action::CloseTab),
            "tab.open_shell" => no_arg(Action::OpenShell),
            "shell.scroll" => no_arg(Action::StartScroll),
            "shell.scroll_exit" => no_arg(Action::StopScroll),
            "sessions.open" => no_arg(Action::OpenSessions),
            "sessions.replay" => no_arg(Action::OpenReplay),
            "replay.pause" => no_arg(Action::ReplayPause),
            "replay.faster" => no_arg(Action::ReplayFaster),
            "replay.slower" => no_arg(Action::ReplaySlower),
            "replay.forward" => no_arg(Action::ReplaySeek { forward: true }),
            "replay.back" => no_arg(Action::ReplaySeek { forward: false }),
            "replay.next_command" => no_arg(Action::ReplayNextCommand),
            "replay.search" => no_arg(Action::ReplaySearch),
            "replay.next_match" => no_arg(Action::ReplayMatch { forward: true }),
            "replay.prev_match" => no_arg(Action::ReplayMatch { forward: false }),
            "replay.export" => no_arg(Action::ReplayExport),
            "sessions.state" => no_arg(Action::SessionsCycleState),
            "sessions.window" => no_arg(Action::SessionsCycleWindow),
            "sessions.terminate" => no_arg(Action::SessionsTerminate),
            "host.sessions" => no_arg(Action::HostSessions),
            "host.replay_newest" => no_arg(Action::HostReplayNewest),
            "theme" => match arg {
                Some(t) => Ok(Action::SetTheme(t.to_owned())),
                None => Err("'theme' needs a theme name, e.g. theme light".into()),
            },
            "fleet.mark" => no_arg(Action::ToggleMark),
            "fleet.mark_all" => no_arg(Action::MarkAllFiltered),
            "run.cancel" => no_arg(Action::RunCancel),
            "run.rerun_failed" => no_arg(Action::RunRerunFailed),
            "run.output" => no_arg(Action::RunToggleOutput),
            "run.cancel_host" => no_arg(Action::RunCancelHost),
            "run.output_down" => no_arg(Action::RunOutputScroll {
                down: true,
                page: false,
            }),
            "run.output_up" => no_arg(Action::RunOutputScroll {
                down: false,
                page: false,
            }),
            "run.output_page_down" => no_arg(Action::RunOutputScroll {
                down: true,
                page: true,
            }),
            "run.output_page_up" => no_arg(Action::RunOutputScroll {
                down: false,
                page: true,
            }),
            "runs.open" => no_arg(Action::OpenRuns),
            "runs.open_run" => no_arg(Action::OpenPastRun),
            "tunnels.open" => no_arg(Action::OpenTunnels),
            "tunnel.new" => no_arg(Action::OpenTunnelForm {
                remote_port: None,
                remote_host: None,
            }),
            "tunnel.close" => no_arg(Action::CloseTunnel),
            "tunnel.restart" => no_arg(Action::RestartTunnel),
            "tunnel.preset" => match arg.and_then(|a| a.parse::<usize>().ok()) {
                Some(n) if (1..=crate::tui::state::tunnels::PRESETS.len()).contains(&n) => {
                    Ok(Action::TunnelPreset(n))
                }
                _ => Err("'tunnel.preset' needs a preset number 1-5".into()),
            },
            "tunnel.preset_next" => no_arg(Action::TunnelPresetCycle { forward: true }),
            "tunnel.preset_prev" => no_arg(Action::TunnelPresetCycle { forward: false }),
            "form.next" => no_arg(Action::FormField { forward: true }),
            "form.prev" => no_arg(Action::FormField { forward: false }),
            "ssh.open" => no_arg(Action::OpenSsh),
            "noop" => no_arg(Action::Noop),
            "" => Err("empty command".into()),
            other => Err(format!(
                "unknown command '{other}' (commands: {})",
                COMMANDS
                    .iter()
                    .map(|(c, _)| c.split(' ').next().unwrap_or(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

pub fn column_names() -> String {
    SortColumn::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_command_parses() {
        for (command, _) in COMMANDS {
            let example = command
                .replace("COLUMN", "name")
                .replace("NAME", "light")
                .replace(" N", " 2");
            assert!(Action::from_command(&example).is_ok(), "{example}");
        }
        assert!(Action::from_command("tab.goto x").is_err());
        assert!(Action::from_command("quit now").is_err());
        assert!(
            Action::from_command("fly")
                .unwrap_err()
                .contains("unknown command 'fly'")
        );
    }
}
