//! Keys as data: `keymap.toml` compiled in, patched binding by binding from config.toml's
//! `[keymap]`, parsed once into typed [`Action`]s. Help, footer hints and chords read it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use crate::config::{self, KeyBindingSpec, KeymapSpec};

pub const DEFAULT_KEYMAP: &str = include_str!("keymap.toml");

/// Where a key is pressed. Each mode's bindings are tried first, then `Global`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Fleet,
    Filter,
    Palette,
    Help,
    /// A shell tab: keys go to the remote shell except the escape chord.
    Shell,
    /// Scroll mode over a shell tab's scrollback.
    Scroll,
    /// The Sessions tab (session history).
    Sessions,
    /// A replay tab.
    Replay,
    /// A run tab.
    Run,
    /// The confirm overlay of a run (typing the count).
    Confirm,
    /// The confirm overlay of a session termination (typing its short id).
    Terminate,
    /// The Runs tab (run history).
    Runs,
    /// The Tunnels tab.
    Tunnels,
    /// The open-tunnel form (typing ports and a host).
    TunnelForm,
    Global,
}

impl Mode {
    /// The order `?` and docs/keys.md list the modes in: every mode once (a test checks).
    pub const HELP_ORDER: [Mode; 15] = [
        Mode::Fleet,
        Mode::Global,
        Mode::Filter,
        Mode::Palette,
        Mode::Help,
        Mode::Shell,
        Mode::Scroll,
        Mode::Sessions,
        Mode::Replay,
        Mode::Terminate,
        Mode::Runs,
        Mode::Run,
        Mode::Confirm,
        Mode::Tunnels,
        Mode::TunnelForm,
    ];

    pub const ALL: [Mode; 15] = [
        Mode::Fleet,
        Mode::Filter,
        Mode::Palette,
        Mode::Help,
        Mode::Shell,
        Mode::Scroll,
        Mode::Sessions,
        Mode::Replay,
        Mode::Run,
        Mode::Confirm,
        Mode::Terminate,
        Mode::Runs,
        Mode::Tunnels,
        Mode::TunnelForm,
        Mode::Global,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Fleet => "fleet",
            Mode::Filter => "filter",
            Mode::Palette => "palette",
            Mode::Help => "help",
            Mode::Shell => "shell",
            Mode::Scroll => "scroll",
            Mode::Sessions => "sessions",
            Mode::Replay => "replay",
            Mode::Run => "run",
            Mode::Confirm => "confirm",
            Mode::Terminate => "terminate",
            Mode::Runs => "runs",
            Mode::Tunnels => "tunnels",
            Mode::TunnelForm => "tunnel_form",
            Mode::Global => "global",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Mode::Fleet => "Fleet",
            Mode::Filter => "Filter (after /)",
            Mode::Palette => "Command palette (after :)",
            Mode::Help => "Help",
            Mode::Shell => "Shell tab (every other key goes to the shell)",
            Mode::Scroll => "Scroll mode (shell tab)",
            Mode::Sessions => "Sessions (session history)",
            Mode::Replay => "Replay tab",
            Mode::Run => "Run tab (a bulk Run Command)",
            Mode::Confirm => "Run confirmation (after :run)",
            Mode::Terminate => "Terminate confirmation (after x in Sessions)",
            Mode::Runs => "Runs (run history)",
            Mode::Tunnels => "Tunnels tab",
            Mode::TunnelForm => "Open-tunnel form (after t or :tunnel)",
            Mode::Global => "Everywhere but shell tabs",
        }
    }

    fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Modes where unbound printable keys are typed into an input.
    pub fn is_text_input(self) -> bool {
        matches!(
            self,
            Mode::Filter | Mode::Palette | Mode::Confirm | Mode::Terminate | Mode::TunnelForm
        )
    }
}

/// A key as bindings name it: a code and the Ctrl/Alt modifiers (Shift is in the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Normalises a terminal event: Shift is dropped for characters ('G' is already upper case).
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match ev.code {
            // Legacy terminals send Ctrl-\ ] ^ _ as 0x1c-0x1f, which crossterm reads as
            // Ctrl-4..7: name them as typed.
            KeyCode::Char(c @ '4'..='7') if mods.contains(KeyModifiers::CONTROL) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(['\\', ']', '^', '_'][(c as u8 - b'4') as usize])
            }
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// A printable character typed without Ctrl or Alt.
    pub fn as_text(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c)
                if !self
                    .mods
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// `j`, `G`, `<Enter>`, `<C-d>`, `<C-PageDown>`, `<A-x>`, `<S-Tab>`, `<Space>`, `<F5>`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let bad =
            || format!("'{text}' is not a key (write a character, or <Enter>, <C-d>, <PageDown>…)");
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key {
                code: KeyCode::Char(c),
                mods: KeyModifiers::NONE,
            });
        }
        let inner = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or_else(bad)?;
        let mut mods = KeyModifiers::NONE;
        let mut rest = inner;
        while let Some((prefix, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break; // "<C-->": the key is '-'
            }
            match prefix {
                "C" => mods |= KeyModifiers::CONTROL,
                "A" | "M" => mods |= KeyModifiers::ALT,
                "S" => mods |= KeyModifiers::SHIFT,
                _ => break,
            }
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest {
                "Enter" | "CR" => KeyCode::Enter,
                "Esc" => KeyCode::Esc,
                "Tab" if mods.contains(KeyModifiers::SHIFT) => {
                    mods.remove(KeyModifiers::SHIFT);
                    KeyCode::BackTab
                }
                "Tab" => KeyCode::Tab,
                "BackTab" => KeyCode::BackTab,
                "Backspace" | "BS" => KeyCode::Backspace,
                "Delete" | "Del" => KeyCode::Delete,
                "Insert" => KeyCode::Insert,
                "Up" => KeyCode::Up,
                "Down" => KeyCode::Down,
                "Left" => KeyCode::Left,
                "Right" => KeyCode::Right,
                "PageUp" => KeyCode::PageUp,
                "PageDown" => KeyCode::PageDown,
                "Home" => KeyCode::Home,
                "End" => KeyCode::End,
                "Space" => KeyCode::Char(' '),
                "lt" => KeyCode::Char('<'),
                "gt" => KeyCode::Char('>'),
                f if f.starts_with('F') => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=12).contains(&n) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        if let KeyCode::Char(_) = code {
            mods.remove(KeyModifiers::SHIFT);
        }
        Ok(Key { code, mods })
    }
}

impl fmt::Display for Key {
    /// As help shows it: `j`, `Ctrl-d`, `Enter`, `Ctrl-PageDown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys of a binding as help shows them: `g g`, `Ctrl-d`.
pub fn keys_label(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<Key>,
    /// The command as written (`tab.goto 3`), for help and docs.
    pub run: String,
    pub action: Action,
    pub desc: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {message}")]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    modes: BTreeMap<Mode, Vec<Binding>>,
}

/// What a key does given the keys pressed before it.
#[derive(Debug, Clone)]
pub enum Resolved {
    Fire(Action),
    /// The keys so far start a chord: wait for the next one.
    Pending,
    Unbound,
}

impl Keymap {
    /// The built-in keymap. It is tested to parse, so failure here is a build defect.
    pub fn builtin() -> Keymap {
        let (keymap, errors) = Keymap::parse(DEFAULT_KEYMAP, "keymap.toml", true);
        debug_assert!(errors.is_empty(), "{errors:?}");
        keymap
    }

    /// Parses a whole keymap file. Bad bindings are reported and skipped; a file that is not
    /// TOML gives an empty keymap and one error.
    pub fn parse(text: &str, file: &str, require_desc: bool) -> (Keymap, Vec<KeymapError>) {
        match config::parse_keymap(text, Path::new(file)) {
            Ok(spec) => {
                let mut keymap = Keymap::default();
                let errors = keymap.apply(&spec, file, require_desc);
                (keymap, errors)
            }
            Err(e) => {
                let (line, message) = match &e {
                    config::ConfigError::Syntax { line, message, .. } => (*line, message.clone()),
                    config::ConfigError::Read { .. } => (0, e.to_string()),
                };
                (
                    Keymap::default(),
                    vec![KeymapError {
                        file: file.to_owned(),
                        line,
                        message,
                    }],
                )
            }
        }
    }

    /// Applies overrides: a binding replaces any binding of the same keys in its mode (or
    /// adds one); `run = "noop"` unbinds. Bad entries are reported with their line and skipped.
    pub fn apply(&mut self, spec: &KeymapSpec, file: &str, require_desc: bool) -> Vec<KeymapError> {
        let mut errors = Vec::new();
        for (mode_name, bindings) in spec {
            let err = |line: usize, message: String| KeymapError {
                file: file.to_owned(),
                line,
                message,
            };
            let Some(mode) = Mode::parse(mode_name) else {
                let line = bindings.first().map_or(0, |b| b.line);
                errors.push(err(
                    line,
                    format!(
                        "unknown keymap mode '{mode_name}' (modes: {})",
                        Mode::ALL.map(Mode::as_str).join(", ")
                    ),
                ));
                continue;
            };
            for spec in bindings {
                match self.binding(mode, spec, require_desc) {
                    Ok(binding) => {
                        let list = self.modes.entry(mode).or_default();
                        match list.iter_mut().find(|b| b.keys == binding.keys) {
                            Some(existing) => *existing = binding,
                            None => list.push(binding),
                        }
                    }
                    Err(message) => errors.push(err(spec.line, message)),
                }
            }
        }
        errors
    }

    fn binding(
        &self,
        mode: Mode,
        spec: &KeyBindingSpec,
        require_desc: bool,
    ) -> Result<Binding, String> {
        let keys = spec
            .on
            .keys()
            .into_iter()
            .map(Key::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("`on` needs at least one key".into());
        }
        let action = Action::from_command(&spec.run)?;
        let desc = match &spec.desc {
            Some(d) if !d.trim().is_empty() => d.clone(),
            _ if require_desc => return Err(format!("the binding of '{}' needs a desc", spec.run)),
            // An override without a description borrows the default's for the same command.
            _ => self
                .modes
                .values()
                .flatten()
                .find(|b| b.run == spec.run)
                .map_or_else(|| spec.run.clone(), |b| b.desc.clone()),
        };
        let _ = mode;
        Ok(Binding {
            keys,
            run: spec.run.trim().to_owned(),
            action,
            desc,
        })
    }

    /// Bindings of one mode, in file order, unbound (`noop`) ones left out.
    pub fn bindings(&self, mode: Mode) -> impl Iterator<Item = &Binding> {
        self.modes
            .get(&mode)
            .into_iter()
            .flatten()
            .filter(|b| !matches!(b.action, Action::Noop))
    }

    /// The first key bound to `run` in `mode`, for hints such as "press / to filter".
    pub fn key_for(&self, mode: Mode, run: &str) -> Option<String> {
        self.bindings(mode)
            .chain(self.bindings(Mode::Global))
            .find(|b| b.run == run)
            .map(|b| keys_label(&b.keys))
    }

    /// Looks `pending` + `key` up in `mode`, then in `Global`.
    pub fn resolve(&self, mode: Mode, pending: &[Key], key: Key) -> Resolved {
        self.resolve_in(&[mode, Mode::Global], pending, key)
    }

    /// Looks `pending` + `key` up in these modes, the first one winning.
    pub fn resolve_in(&self, layers: &[Mode], pending: &[Key], key: Key) -> Resolved {
        let mut seq = pending.to_vec();
        seq.push(key);
        let all = || layers.iter().filter_map(|m| self.modes.get(m)).flatten();
        if let Some(exact) = all().find(|b| b.keys == seq) {
            return Resolved::Fire(exact.action.clone());
        }
        if all().any(|b| b.keys.len() > seq.len() && b.keys.starts_with(&seq)) {
            return Resolved::Pending;
        }
        Resolved::Unbound
    }

    /// Bindings that continue the chord `pending`, for the which-key hint.
    pub fn continuations(&self, mode: Mode, pending: &[Key]) -> Vec<&Binding> {
        [mode, Mode::Global]
            .iter()
            .flat_map(|m| self.bindings(*m))
            .filter(|b| b.keys.len() > pending.len() && b.keys.starts_with(pending))
            .collect()
    }
}

/// A terminal key event that counts (presses and repeats; releases are ignored).
pub fn is_press(ev: &KeyEvent) -> bool {
    matches!(ev.kind, KeyEventKind::Press | KeyEventKind::Repeat)
}

#[cfg(test)]
mod tests {

    #[test]
    fn help_lists_every_mode_once() {
        for mode in Mode::ALL {
            let n = Mode::HELP_ORDER.iter().filter(|m| **m == mode).count();
            assert_eq!(n, 1, "{mode:?} in the help order {n} times");
        }
    }

    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).expect("valid key")
    }

    #[test]
    fn builtin_keymap_parses_with_descriptions() {
        let (keymap, errors) = Keymap::parse(DEFAULT_KEYMAP, "keymap.toml", true);
        assert!(errors.is_empty(), "{errors:?}");
        for mode in Mode::ALL {
            assert!(keymap.bindings(mode).count() > 0, "{mode:?} has bindings");
        }
    }

    #[test]
    fn key_names() {
        assert_eq!(key("<C-d>").mods, KeyModifiers::CONTROL);
        assert_eq!(key("<C-d>").code, KeyCode::Char('d'));
        assert_eq!(key("<S-Tab>").code, KeyCode::BackTab);
        assert_eq!(key("<C-PageDown>").code, KeyCode::PageDown);
        assert_eq!(key("<Space>").code, KeyCode::Char(' '));
        assert_eq!(key("<C-->").code, KeyCode::Char('-'));
        assert_eq!(key("G").to_string(), "G");
        assert_eq!(key("<C-d>").to_string(), "Ctrl-d");
        assert!(Key::parse("<Hyper-x>").is_err());
        assert!(Key::parse("ab").is_err());
        assert!(Key::parse("<F13>").is_err());
    }

    #[test]
    fn chords_wait_then_fire() {
        let km = Keymap::builtin();
        assert!(matches!(
            km.resolve(Mode::Fleet, &[], key("g")),
            Resolved::Pending
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[key("g")], key("t")),
            Resolved::Fire(Action::NextTab)
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[key("g")], key("g")),
            Resolved::Fire(Action::MoveTop)
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[key("g")], key("z")),
            Resolved::Unbound
        ));
        // The mode's binding wins over the global one.
        assert!(matches!(
            km.resolve(Mode::Help, &[], key("q")),
            Resolved::Fire(Action::CloseOverlay)
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[], key("q")),
            Resolved::Fire(Action::Quit)
        ));
    }

    #[test]
    fn overrides_replace_add_and_unbind_with_lines() {
        let text = "\
[keymap]
fleet = [
  { on = \"j\", run = \"move.bottom\" },
  { on = \"x\", run = \"sort.next\", desc = \"Sort!\" },
  { on = \"s\", run = \"noop\" },
  { on = \"<Hyper-q>\", run = \"quit\" },
  { on = \"y\", run = \"fly.away\" },
]
";
        let config =
            crate::config::Config::parse(text, Path::new("config.toml")).expect("valid TOML");
        let mut km = Keymap::builtin();
        let errors = km.apply(&config.keymap, "config.toml", false);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 6);
        assert!(
            errors[0]
                .to_string()
                .starts_with("config.toml:6: '<Hyper-q>' is not a key")
        );
        assert_eq!(errors[1].line, 7);
        assert!(errors[1].message.contains("unknown command 'fly.away'"));

        assert!(matches!(
            km.resolve(Mode::Fleet, &[], key("j")),
            Resolved::Fire(Action::MoveBottom)
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[], key("x")),
            Resolved::Fire(Action::CycleSort)
        ));
        assert!(matches!(
            km.resolve(Mode::Fleet, &[], key("s")),
            Resolved::Fire(Action::Noop)
        ));
        // Borrowed description, and the unbound key is gone from help.
        let j = km
            .bindings(Mode::Fleet)
            .find(|b| b.keys == [key("j")])
            .expect("j bound");
        assert_eq!(j.desc, "Last host");
        assert!(km.bindings(Mode::Fleet).all(|b| b.keys != [key("s")]));
    }

    #[test]
    fn unknown_mode_and_missing_desc_are_errors() {
        let (_, errors) = Keymap::parse(
            "flet = [ { on = \"j\", run = \"quit\", desc = \"q\" } ]\nfleet = [\n { on = \"j\", run = \"quit\" } ]\n",
            "k.toml",
            true,
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("unknown keymap mode 'flet'") && e.line == 1)
        );
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("needs a desc") && e.line == 3)
        );
        let (_, errors) = Keymap::parse("fleet = [ {", "k.toml", true);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].to_string().starts_with("k.toml:1:"),
            "{}",
            errors[0]
        );
    }
}
