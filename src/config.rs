//! `config.toml`: default profiles, regions and endpoint. Errors name the file and line.

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
    pub run: RunConfig,
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
        toml::from_str(text).map_err(|e| {
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
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
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
    fn unknown_key_is_an_error_with_its_line() {
        let err = Config::parse("\n\nregoins = []\n", Path::new("c.toml")).expect_err("typo");
        let msg = err.to_string();
        assert!(msg.starts_with("c.toml:3:1"), "{msg}");
        assert!(msg.contains("regoins"), "{msg}");
    }
}
