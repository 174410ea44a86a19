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
    SetTheme(String),
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
    ("theme NAME", "switch theme"),
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
            "theme" => match arg {
                Some(t) => Ok(Action::SetTheme(t.to_owned())),
                None => Err("'theme' needs a theme name, e.g. theme light".into()),
            },
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
