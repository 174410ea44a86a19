//! `config.toml`: default profiles, regions and endpoint, the console's tag columns, theme and key
//! overrides. Errors name the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// AWS profiles to read when `--profile` is not given.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Regions to read when `--region` is not given.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Endpoint for every AWS client (a simulator, a VPC endpoint proxy).
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub list: ListConfig,
    #[serde(default)]
    pub tui: TuiConfig,
    #[serde(default)]
    pub theme: ThemeConfig,
    /// Key bindings that replace or add to the defaults, binding by binding, per mode.
    #[serde(default)]
    pub keymap: KeymapSpec,
    /// The file this was read from (`None`: defaults, no file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub ssh: SshConfig,
}

/// `[ssh]`: the console's ssh tabs (ssh through `fleetdeck proxy`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// The remote user (`ssh USER@INSTANCE`); default: ssh's own (your ~/.ssh/config, $USER).
    pub user: Option<String>,
    /// The ssh program (default `ssh`; the `FLEETDECK_SSH` environment variable wins).
    pub program: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TuiConfig {
    /// Tag keys shown as extra columns of the fleet table (default: `list.tag_columns`).
    #[serde(default)]
    pub tag_columns: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    /// A built-in theme (dark, light, high-contrast) or `themes/NAME.toml` beside config.toml.
    pub name: Option<String>,
    /// Single roles overridden on top of the theme, e.g. `health_lost = { fg = "magenta" }`.
    #[serde(default)]
    pub roles: toml::Table,
}

/// Mode name (`global`, `fleet`, `filter`, `palette`, `help`) to its bindings.
pub type KeymapSpec = BTreeMap<String, Vec<KeyBindingSpec>>;

/// One key binding as written: `{ on = "j", run = "fleet.down", desc = "Next host" }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyBindingSpec {
    /// A key (`"j"`, `"<C-d>"`, `"<Enter>"`) or a chord (`["g", "t"]`).
    pub on: KeySeqSpec,
    /// The command: `fleet.down`, `tab.goto 3`, `noop` to unbind.
    pub run: String,
    pub desc: Option<String>,
    /// 1-based line in the file it came from (filled in after parsing, for error messages).
    #[serde(skip)]
    pub line: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeySeqSpec {
    One(String),
    Chord(Vec<String>),
}

impl KeySeqSpec {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeySeqSpec::One(k) => vec![k.as_str()],
            KeySeqSpec::Chord(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// The same shape as [`KeymapSpec`] while parsing, with spans to turn into lines.
type SpannedKeymap = BTreeMap<String, Vec<toml::Spanned<KeyBindingSpec>>>;

#[derive(Deserialize)]
struct KeymapOnly {
    #[serde(default)]
    keymap: SpannedKeymap,
}

fn with_lines(text: &str, spanned: SpannedKeymap) -> KeymapSpec {
    spanned
        .into_iter()
        .map(|(mode, bindings)| {
            let bindings = bindings
                .into_iter()
                .map(|b| {
                    let line = line_and_column(text, b.span().start).0;
                    let mut b = b.into_inner();
                    b.line = line;
                    b
                })
                .collect();
            (mode, bindings)
        })
        .collect()
}

/// Parses a keymap file whose top level is `mode = [ { on, run, desc }, … ]` (the built-in
/// `keymap.toml`); errors name `path` and the line.
pub fn parse_keymap(text: &str, path: &Path) -> Result<KeymapSpec, ConfigError> {
    let spanned: SpannedKeymap = toml::from_str(text).map_err(|e| syntax_error(text, path, &e))?;
    Ok(with_lines(text, spanned))
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Bulk runs on more hosts than this need the count typed (default 10).
    pub confirm_threshold: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// Tag keys shown as extra columns in `list` tables.
    #[serde(default)]
    pub tag_columns: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: {message} (fix the config file or pass --config with another one)"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// Where the config lives when `--config` is not given: `$XDG_CONFIG_HOME/fleetdeck/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("fleetdeck").join("config.toml"))
}

impl Config {
    /// An explicit path must exist; the default path may be absent (then defaults apply).
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(path) => Self::load_file(path),
            None => match default_path() {
                Some(path) if path.exists() => Self::load_file(&path),
                _ => Ok(Config::default()),
            },
        }
    }

    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| syntax_error(text, path, &e))?;
        // Second pass over the same text for the keymap's line numbers (the typed pass above
        // already validated it).
        let spanned: KeymapOnly = toml::from_str(text).map_err(|e| syntax_error(text, path, &e))?;
        config.keymap = with_lines(text, spanned.keymap);
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// Tag columns for the console: its own list, else the `list` command's.
    pub fn tui_tag_columns(&self) -> &[String] {
        if self.tui.tag_columns.is_empty() {
            &self.list.tag_columns
        } else {
            &self.tui.tag_columns
        }
    }
}

fn syntax_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e
        .span()
        .map(|span| line_and_column(text, span.start))
        .unwrap_or((1, 1));
    ConfigError::Syntax {
        path: path.to_owned(),
        line,
        column,
        message: e.message().trim().to_owned(),
    }
}

/// 1-based line and column of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_and_regions() {
        let c = Config::parse(
            "profiles = [\"a\", \"b\"]\nregions = [\"us-east-1\"]\n[list]\ntag_columns = [\"Env\"]\n",
            Path::new("c.toml"),
        )
        .expect("valid config");
        assert_eq!(c.profiles, ["a", "b"]);
        assert_eq!(c.regions, ["us-east-1"]);
        assert_eq!(c.list.tag_columns, ["Env"]);
    }

    #[test]
    fn ssh_section_and_its_unknown_keys() {
        let c = Config::parse("[ssh]\nuser = \"ec2-user\"\n", Path::new("c.toml"))
            .expect("valid config");
        assert_eq!(c.ssh.user.as_deref(), Some("ec2-user"));
        assert_eq!(c.ssh.program, None);
        let err = Config::parse("[ssh]\nusr = \"x\"\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("c.toml:2"), "{err}");
    }

    #[test]
    fn syntax_error_names_line() {
        let err = Config::parse(
            "profiles = [\"a\"]\nregions = [us-east-1]\n",
            Path::new("c.toml"),
        )
        .expect_err("bare word is not a string");
        let msg = err.to_string();
        assert!(msg.starts_with("c.toml:2:"), "{msg}");
    }

    #[test]
    fn keymap_overrides_keep_their_lines() {
        let c = Config::parse(
            "[keymap]\nfleet = [\n  { on = \"x\", run = \"quit\" },\n  { on = [\"g\", \"x\"], run = \"help\", desc = \"d\" },\n]\n",
            Path::new("c.toml"),
        )
        .expect("valid keymap");
        let fleet = &c.keymap["fleet"];
        assert_eq!(fleet[0].line, 3);
        assert_eq!(fleet[1].line, 4);
        assert_eq!(fleet[1].on.keys(), ["g", "x"]);
    }

    #[test]
    fn keymap_unknown_field_names_line() {
        let err = Config::parse(
            "[keymap]\nfleet = [\n  { on = \"x\", runn = \"quit\" },\n]\n",
            Path::new("c.toml"),
        )
        .expect_err("typo");
        assert!(err.to_string().starts_with("c.toml:3:"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let err = Config::parse("\n\nregoins = []\n", Path::new("c.toml")).expect_err("typo");
        let msg = err.to_string();
        assert!(msg.starts_with("c.toml:3:1"), "{msg}");
        assert!(msg.contains("regoins"), "{msg}");
    }
}
