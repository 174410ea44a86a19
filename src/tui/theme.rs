//! Themes as data: `themes/*.toml` name roles, not widgets. A role a theme leaves out resolves
//! through its parent. Loading never fails: a broken theme gives the built-in default plus a
//! message with file:line. `NO_COLOR` keeps only bold/underline/reverse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::config::line_and_column;

pub const DEFAULT_THEME: &str = "dark";

/// The built-in themes, compiled in.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Base,
    Muted,
    Accent,
    Title,
    Border,
    Selection,
    Match,
    Hint,
    Key,
    Ok,
    Warn,
    Error,
    Danger,
    HealthOnline,
    HealthLost,
    HealthInactive,
    HealthUnmanaged,
    HealthUnknown,
    TabActive,
    TabInactive,
}

impl Role {
    pub const ALL: [Role; 20] = [
        Role::Base,
        Role::Muted,
        Role::Accent,
        Role::Title,
        Role::Border,
        Role::Selection,
        Role::Match,
        Role::Hint,
        Role::Key,
        Role::Ok,
        Role::Warn,
        Role::Error,
        Role::Danger,
        Role::HealthOnline,
        Role::HealthLost,
        Role::HealthInactive,
        Role::HealthUnmanaged,
        Role::HealthUnknown,
        Role::TabActive,
        Role::TabInactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Title => "title",
            Role::Border => "border",
            Role::Selection => "selection",
            Role::Match => "match",
            Role::Hint => "hint",
            Role::Key => "key",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Error => "error",
            Role::Danger => "danger",
            Role::HealthOnline => "health_online",
            Role::HealthLost => "health_lost",
            Role::HealthInactive => "health_inactive",
            Role::HealthUnmanaged => "health_unmanaged",
            Role::HealthUnknown => "health_unknown",
            Role::TabActive => "tab_active",
            Role::TabInactive => "tab_inactive",
        }
    }

    fn parse(name: &str) -> Option<Role> {
        let name = name.replace(['.', '-'], "_");
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Where a role a theme leaves out takes its style from.
    pub fn parent(self) -> Option<Role> {
        match self {
            Role::Base => None,
            Role::Title | Role::Key | Role::Match => Some(Role::Accent),
            Role::Border
            | Role::Hint
            | Role::HealthInactive
            | Role::HealthUnknown
            | Role::TabInactive => Some(Role::Muted),
            Role::HealthOnline => Some(Role::Ok),
            Role::HealthLost | Role::Danger => Some(Role::Error),
            Role::HealthUnmanaged => Some(Role::Warn),
            Role::TabActive => Some(Role::Selection),
            _ => Some(Role::Base),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One role as written: `{ fg = "#c0caf5", bg = "black", modifiers = ["bold"] }`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub fg: Option<String>,
    pub bg: Option<String>,
    #[serde(default)]
    pub modifiers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, toml::Spanned<RoleSpec>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Resolved {
    fg: Option<Color>,
    bg: Option<Color>,
    modifiers: Modifier,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    styles: Vec<Style>,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        self.styles.get(role.index()).copied().unwrap_or_default()
    }

    /// Theme names `:theme` can complete: built-ins and `*.toml` in the user's theme dir.
    pub fn available(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| (*n).to_owned()).collect();
        if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    && !names.iter().any(|n| n == stem)
                {
                    names.push(stem.to_owned());
                }
            }
        }
        names
    }

    /// Loads `name` (the user's `themes/NAME.toml` first, then the built-ins), then applies
    /// single-role overrides. Never fails: problems come back as messages and the built-in
    /// default stands in for a theme that cannot be used.
    pub fn load(
        name: &str,
        user_dir: Option<&Path>,
        overrides: &toml::Table,
        no_color: bool,
    ) -> (Theme, Vec<String>) {
        let mut problems = Vec::new();
        let user_file: Option<PathBuf> = user_dir
            .map(|d| d.join(format!("{name}.toml")))
            .filter(|p| p.exists());
        let loaded = match (&user_file, BUILTIN.iter().find(|(n, _)| *n == name)) {
            (Some(path), _) => match std::fs::read_to_string(path) {
                Ok(text) => parse_theme(&text, &path.display().to_string()).map(Some),
                Err(e) => Err(format!("cannot read theme {}: {e}", path.display())),
            },
            (None, Some((_, text))) => parse_theme(text, &format!("themes/{name}.toml")).map(Some),
            (None, None) => Ok(None),
        };
        let (name, mut specs) = match loaded {
            Ok(Some(specs)) => (name.to_owned(), specs),
            Ok(None) => {
                problems.push(format!(
                    "no theme named '{name}' (themes: {}); using {DEFAULT_THEME}",
                    Theme::available(user_dir).join(", ")
                ));
                (DEFAULT_THEME.to_owned(), default_specs())
            }
            Err(e) => {
                problems.push(format!("{e}; using the {DEFAULT_THEME} theme"));
                (DEFAULT_THEME.to_owned(), default_specs())
            }
        };
        for (role_name, value) in overrides {
            let Some(role) = Role::parse(role_name) else {
                problems.push(format!(
                    "config.toml [theme.roles]: unknown role '{role_name}' ({})",
                    role_names()
                ));
                continue;
            };
            match value.clone().try_into::<RoleSpec>() {
                Ok(spec) => match check_spec(&spec) {
                    Ok(()) => {
                        specs.insert(role, spec);
                    }
                    Err(e) => problems.push(format!("config.toml [theme.roles] {role_name}: {e}")),
                },
                Err(e) => problems.push(format!(
                    "config.toml [theme.roles] {role_name}: {}",
                    e.message().trim()
                )),
            }
        }
        (Theme::from_specs(&name, &specs, no_color), problems)
    }

    fn from_specs(name: &str, specs: &BTreeMap<Role, RoleSpec>, no_color: bool) -> Theme {
        let mut resolved: Vec<Option<Resolved>> = vec![None; Role::ALL.len()];
        fn resolve(
            role: Role,
            specs: &BTreeMap<Role, RoleSpec>,
            memo: &mut Vec<Option<Resolved>>,
        ) -> Resolved {
            if let Some(r) = memo[role.index()] {
                return r;
            }
            let parent = role
                .parent()
                .map(|p| resolve(p, specs, memo))
                .unwrap_or_default();
            let own = specs.get(&role);
            let r = Resolved {
                fg: own
                    .and_then(|s| s.fg.as_deref())
                    .and_then(|c| c.parse().ok())
                    .or(parent.fg),
                bg: own
                    .and_then(|s| s.bg.as_deref())
                    .and_then(|c| c.parse().ok())
                    .or(parent.bg),
                modifiers: match own {
                    Some(s) if !s.modifiers.is_empty() => s
                        .modifiers
                        .iter()
                        .filter_map(|m| parse_modifier(m))
                        .fold(Modifier::empty(), |a, m| a | m),
                    _ if role.parent() == Some(Role::Base) || role == Role::Base => {
                        Modifier::empty()
                    }
                    _ => parent.modifiers,
                },
            };
            memo[role.index()] = Some(r);
            r
        }
        let styles = Role::ALL
            .iter()
            .map(|&role| {
                let r = resolve(role, specs, &mut resolved);
                if no_color {
                    no_color_style(role, r.modifiers)
                } else {
                    let mut style = Style::default().add_modifier(r.modifiers);
                    if let Some(fg) = r.fg {
                        style = style.fg(fg);
                    }
                    if let Some(bg) = r.bg {
                        style = style.bg(bg);
                    }
                    style
                }
            })
            .collect();
        Theme {
            name: name.to_owned(),
            styles,
        }
    }
}

/// Without colour, the roles that carry meaning keep a visible attribute.
fn no_color_style(role: Role, modifiers: Modifier) -> Style {
    let extra = match role {
        Role::Selection | Role::TabActive => Modifier::REVERSED,
        Role::Match => Modifier::UNDERLINED | Modifier::BOLD,
        Role::Error | Role::HealthLost | Role::Danger | Role::Title => Modifier::BOLD,
        Role::Muted | Role::Hint | Role::HealthInactive | Role::HealthUnknown => Modifier::DIM,
        _ => Modifier::empty(),
    };
    Style::default().add_modifier(modifiers | extra)
}

fn default_specs() -> BTreeMap<Role, RoleSpec> {
    parse_theme(BUILTIN[0].1, "themes/dark.toml").unwrap_or_default()
}

fn role_names() -> String {
    format!("roles: {}", Role::ALL.map(Role::as_str).join(", "))
}

fn parse_modifier(name: &str) -> Option<Modifier> {
    Some(match name.to_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

fn check_spec(spec: &RoleSpec) -> Result<(), String> {
    for colour in [&spec.fg, &spec.bg].into_iter().flatten() {
        if colour.parse::<Color>().is_err() {
            return Err(format!(
                "'{colour}' is not a colour (use a name like red or lightblue, \"#rrggbb\", or 0-255)"
            ));
        }
    }
    for m in &spec.modifiers {
        if parse_modifier(m).is_none() {
            return Err(format!(
                "'{m}' is not a modifier (use bold, dim, italic, underlined, reversed)"
            ));
        }
    }
    Ok(())
}

/// Parses a theme file; the error names the file and line.
pub fn parse_theme(text: &str, file: &str) -> Result<BTreeMap<Role, RoleSpec>, String> {
    let parsed: ThemeFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_and_column(text, s.start).0);
        format!("{file}:{line}: {}", e.message().trim())
    })?;
    let mut specs = BTreeMap::new();
    for (name, spanned) in parsed.roles {
        let line = line_and_column(text, spanned.span().start).0;
        let role = Role::parse(&name)
            .ok_or_else(|| format!("{file}:{line}: unknown role '{name}' ({})", role_names()))?;
        let spec = spanned.into_inner();
        check_spec(&spec).map_err(|e| format!("{file}:{line}: {name}: {e}"))?;
        specs.insert(role, spec);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, text) in BUILTIN {
            let specs = parse_theme(text, name).expect("built-in theme parses");
            assert!(specs.contains_key(&Role::Base), "{name} sets base");
            let (theme, problems) = Theme::load(name, None, &toml::Table::new(), false);
            assert!(problems.is_empty(), "{problems:?}");
            assert_eq!(theme.name, name);
        }
    }

    #[test]
    fn missing_roles_resolve_through_parents() {
        let specs = parse_theme(
            "[roles]\nbase = { fg = \"white\", bg = \"black\" }\nerror = { fg = \"red\", modifiers = [\"bold\"] }\n",
            "t.toml",
        )
        .expect("valid");
        let theme = Theme::from_specs("t", &specs, false);
        // health_lost -> error: red and bold, background from base.
        let lost = theme.style(Role::HealthLost);
        assert_eq!(lost.fg, Some(Color::Red));
        assert_eq!(lost.bg, Some(Color::Black));
        assert!(lost.add_modifier.contains(Modifier::BOLD));
        // hint -> muted -> base.
        assert_eq!(theme.style(Role::Hint).fg, Some(Color::White));
    }

    #[test]
    fn broken_theme_falls_back_with_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("mine.toml"),
            "[roles]\nbase = { fg = \"white\" }\nerror = { fg = \"reddish\" }\n",
        )
        .expect("write");
        let (theme, problems) = Theme::load("mine", Some(dir.path()), &toml::Table::new(), false);
        assert_eq!(theme.name, DEFAULT_THEME);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("mine.toml:3:"), "{}", problems[0]);
        assert!(
            problems[0].contains("'reddish' is not a colour"),
            "{}",
            problems[0]
        );

        std::fs::write(dir.path().join("syntax.toml"), "[roles\n").expect("write");
        let (theme, problems) = Theme::load("syntax", Some(dir.path()), &toml::Table::new(), false);
        assert_eq!(theme.name, DEFAULT_THEME);
        assert!(problems[0].contains("syntax.toml:1:"), "{}", problems[0]);

        let (theme, problems) = Theme::load("nope", Some(dir.path()), &toml::Table::new(), false);
        assert_eq!(theme.name, DEFAULT_THEME);
        assert!(
            problems[0].contains("no theme named 'nope'"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("mine"),
            "user themes are listed: {}",
            problems[0]
        );
    }

    #[test]
    fn config_overrides_single_roles() {
        let overrides: toml::Table =
            toml::from_str("health_lost = { fg = \"magenta\" }\nbogus = { fg = \"red\" }\n")
                .expect("toml");
        let (theme, problems) = Theme::load("dark", None, &overrides, false);
        assert_eq!(theme.style(Role::HealthLost).fg, Some(Color::Magenta));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("unknown role 'bogus'"));
    }

    #[test]
    fn no_color_keeps_only_attributes() {
        let (theme, _) = Theme::load("dark", None, &toml::Table::new(), true);
        for role in Role::ALL {
            let s = theme.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{role:?}");
        }
        assert!(
            theme
                .style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(
            theme
                .style(Role::Match)
                .add_modifier
                .contains(Modifier::UNDERLINED)
        );
    }
}
