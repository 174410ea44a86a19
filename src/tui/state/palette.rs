//! The `:` command palette: its input, completion, and the commands it runs.

use crate::tui::action::{Action, SortColumn, column_names};

/// (command, arguments, what it does), in the order the palette suggests them.
pub const PALETTE_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "region",
        "REGION… | all",
        "Show these regions (read now if needed); all: back to the start",
    ),
    (
        "profile",
        "PROFILE… | all",
        "Show these profiles; all: back to the start",
    ),
    ("theme", "NAME", "Switch the colour theme"),
    ("sort", "COLUMN | reverse", "Sort the fleet by a column"),
    (
        "run",
        "[--max-concurrency N|N%] [--max-errors N|N%] [--timeout SECS] [--cloudwatch] -- COMMAND",
        "Run a shell command on the marked hosts (else the filtered ones), after a confirmation",
    ),
    (
        "runs",
        "",
        "Run history: past Run Commands in every profile and region; Enter opens one",
    ),
    ("refresh", "", "Refresh the inventory now"),
    (
        "sessions",
        "",
        "Session history: who opened sessions where; Enter replays one",
    ),
    (
        "tunnel",
        "[REMOTE-PORT] [REMOTE-HOST]",
        "Open a tunnel through the selected host (the form, filled in)",
    ),
    (
        "tunnels",
        "",
        "Every tunnel: state, ports, connections, bytes; close and restart",
    ),
    (
        "ssh",
        "",
        "ssh to the selected host in a tab (your ssh through fleetdeck proxy)",
    ),
    ("help", "", "Show the keys"),
    ("quit", "", "Quit fleetdeck"),
];

/// What completion can offer besides command names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaletteContext {
    pub regions: Vec<String>,
    pub profiles: Vec<String>,
    pub themes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaletteState {
    pub input: String,
    pub suggestions: Vec<String>,
    pub selected: Option<usize>,
}

impl PaletteState {
    pub fn new(ctx: &PaletteContext) -> PaletteState {
        let mut p = PaletteState::default();
        p.refresh(ctx);
        p
    }

    pub fn set_input(&mut self, input: String, ctx: &PaletteContext) {
        self.input = input;
        self.refresh(ctx);
    }

    fn refresh(&mut self, ctx: &PaletteContext) {
        self.suggestions = suggest(&self.input, ctx);
        self.selected = None;
    }

    pub fn select_next(&mut self) {
        if self.suggestions.is_empty() {
            return;
        }
        self.selected = Some(match self.selected {
            Some(i) => (i + 1) % self.suggestions.len(),
            None => 0,
        });
    }

    pub fn select_prev(&mut self) {
        if self.suggestions.is_empty() {
            return;
        }
        let n = self.suggestions.len();
        self.selected = Some(match self.selected {
            Some(i) => (i + n - 1) % n,
            None => n - 1,
        });
    }

    /// Replaces the word being typed with the chosen (or first) suggestion.
    pub fn complete(&mut self, ctx: &PaletteContext) {
        let Some(choice) = self
            .selected
            .or((!self.suggestions.is_empty()).then_some(0))
            .and_then(|i| self.suggestions.get(i))
            .cloned()
        else {
            return;
        };
        let keep = match self.input.rfind(' ') {
            Some(space) => &self.input[..=space],
            None => "",
        };
        let input = format!("{keep}{choice} ");
        self.set_input(input, ctx);
    }
}

fn suggest(input: &str, ctx: &PaletteContext) -> Vec<String> {
    let input = input.trim_start();
    let Some((command, args)) = input.split_once(' ') else {
        return PALETTE_COMMANDS
            .iter()
            .map(|(c, _, _)| *c)
            .filter(|c| c.starts_with(input))
            .map(str::to_owned)
            .collect();
    };
    let (done, partial) = match args.rfind(' ') {
        Some(space) => (&args[..space], &args[space + 1..]),
        None => ("", args),
    };
    let done: Vec<&str> = done.split_whitespace().collect();
    let options: Vec<String> = match command {
        "region" => with_all(&ctx.regions),
        "profile" => with_all(&ctx.profiles),
        "theme" if done.is_empty() => ctx.themes.clone(),
        "sort" if done.is_empty() => SortColumn::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .chain(["reverse".to_owned()])
            .collect(),
        _ => Vec::new(),
    };
    options
        .into_iter()
        .filter(|o| o.starts_with(partial) && !done.contains(&o.as_str()))
        .collect()
}

fn with_all(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.push("all".into());
    v
}

/// Turns a palette line into an action, or a sentence saying what is wrong.
pub fn parse_command(line: &str) -> Result<Action, String> {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else {
        return Err("type a command: region, profile, theme, sort, refresh, help or quit".into());
    };
    let args: Vec<String> = words.map(str::to_owned).collect();
    let no_args = |a: Action| {
        if args.is_empty() {
            Ok(a)
        } else {
            Err(format!(":{command} takes no arguments"))
        }
    };
    let scope = |what: &str| -> Result<Option<Vec<String>>, String> {
        match args.as_slice() {
            [] => Err(format!(":{what} needs one or more names, or all")),
            [all] if all == "all" => Ok(None),
            names => Ok(Some(names.to_vec())),
        }
    };
    match command {
        "region" | "regions" => {
            let regions = scope("region")?;
            if let Some(bad) = regions.iter().flatten().find(|r| !plausible_region(r)) {
                return Err(format!(
                    "'{bad}' is not a region name: use a name like us-east-1"
                ));
            }
            Ok(Action::SetRegions(regions))
        }
        "profile" | "profiles" => Ok(Action::SetProfiles(scope("profile")?)),
        "theme" => match args.as_slice() {
            [name] => Ok(Action::SetTheme(name.clone())),
            _ => Err(":theme needs one theme name, e.g. :theme light".into()),
        },
        "sort" => match args.as_slice() {
            [r] if r == "reverse" => Ok(Action::ReverseSort),
            [c] => SortColumn::parse(c)
                .map(Action::SortBy)
                .ok_or_else(|| format!("cannot sort by '{c}': use {}, or reverse", column_names())),
            _ => Err(format!(
                ":sort needs a column: {}, or reverse",
                column_names()
            )),
        },
        "run" => {
            let script = line.trim_start()[command.len()..].trim();
            if script.is_empty() {
                Err(":run needs a command, e.g. :run uptime".into())
            } else {
                Ok(Action::RunCommand(script.to_owned()))
            }
        }
        "refresh" | "r" => no_args(Action::Refresh),
        "sessions" | "history" => no_args(Action::OpenSessions),
        "runs" => no_args(Action::OpenRuns),
        "tunnels" => no_args(Action::OpenTunnels),
        "ssh" => no_args(Action::OpenSsh),
        "tunnel" => {
            let remote_port = match args.first() {
                None => None,
                Some(p) => match p.parse::<u16>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => {
                        return Err(format!(
                            "'{p}' is not a port: :tunnel [REMOTE-PORT] [REMOTE-HOST], e.g. :tunnel 5432 db.internal"
                        ));
                    }
                },
            };
            if args.len() > 2 {
                return Err(
                    ":tunnel takes a port and a host at most, e.g. :tunnel 5432 db.internal".into(),
                );
            }
            Ok(Action::OpenTunnelForm {
                remote_port,
                remote_host: args.get(1).cloned(),
            })
        }
        "help" | "h" => no_args(Action::ShowHelp),
        "quit" | "q" | "exit" => no_args(Action::Quit),
        other => Err(format!(
            "unknown command ':{other}': try {}",
            PALETTE_COMMANDS
                .iter()
                .map(|(c, _, _)| format!(":{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn plausible_region(r: &str) -> bool {
    r.split('-').count() >= 3
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PaletteContext {
        PaletteContext {
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            profiles: vec!["default".into()],
            themes: vec!["dark".into(), "light".into(), "high-contrast".into()],
        }
    }

    #[test]
    fn completes_commands_then_arguments() {
        let c = ctx();
        let mut p = PaletteState::new(&c);
        assert_eq!(p.suggestions.len(), PALETTE_COMMANDS.len());
        p.set_input("th".into(), &c);
        assert_eq!(p.suggestions, ["theme"]);
        p.complete(&c);
        assert_eq!(p.input, "theme ");
        assert_eq!(p.suggestions, ["dark", "light", "high-contrast"]);
        p.set_input("theme l".into(), &c);
        p.complete(&c);
        assert_eq!(p.input, "theme light ");
        assert!(matches!(parse_command(&p.input), Ok(Action::SetTheme(t)) if t == "light"));

        p.set_input("region eu-west-1 ".into(), &c);
        assert_eq!(
            p.suggestions,
            ["us-east-1", "all"],
            "chosen regions are not offered again"
        );
        p.select_prev();
        p.complete(&c);
        assert_eq!(p.input, "region eu-west-1 all ");
    }

    #[test]
    fn parses_commands_or_says_why_not() {
        assert!(matches!(parse_command("quit"), Ok(Action::Quit)));
        assert!(matches!(parse_command("refresh"), Ok(Action::Refresh)));
        assert!(matches!(
            parse_command("sort ping"),
            Ok(Action::SortBy(SortColumn::Ping))
        ));
        assert!(matches!(
            parse_command("sort reverse"),
            Ok(Action::ReverseSort)
        ));
        assert!(matches!(
            parse_command("region all"),
            Ok(Action::SetRegions(None))
        ));
        assert!(matches!(
            parse_command("region eu-west-1 us-east-1"),
            Ok(Action::SetRegions(Some(r))) if r.len() == 2
        ));
        assert!(
            parse_command("region Europe")
                .unwrap_err()
                .contains("not a region")
        );
        assert!(
            parse_command("sort colour")
                .unwrap_err()
                .contains("cannot sort by 'colour'")
        );
        assert!(
            parse_command("fly")
                .unwrap_err()
                .contains("unknown command ':fly'")
        );
        assert!(parse_command("quit now").is_err());
        assert!(matches!(
            parse_command("tunnel 5432 db.internal"),
            Ok(Action::OpenTunnelForm { remote_port: Some(5432), remote_host: Some(h) }) if h == "db.internal"
        ));
        assert!(matches!(
            parse_command("tunnel"),
            Ok(Action::OpenTunnelForm {
                remote_port: None,
                remote_host: None
            })
        ));
        assert!(
            parse_command("tunnel db")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(matches!(parse_command("tunnels"), Ok(Action::OpenTunnels)));
    }
}
