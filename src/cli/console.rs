//! `fleetdeck` with no command: the console against the configured profiles and regions.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::aws::{self, CallStats, ClientOptions};
use crate::cache::Cache;
use crate::config::Config;
use crate::tui::{self, Launch};

use super::{Cli, CliResult, Failure, targets};

pub async fn run(cli: &Cli) -> CliResult {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::Other(
            "the console needs an interactive terminal: run fleetdeck in one, or use `fleetdeck list` in scripts".into(),
        ));
    }
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let stats = Arc::new(CallStats::default());
    let clients = aws::clients::build_all(&targets, &options, stats.clone()).await;
    tui::run(Launch {
        clients,
        options,
        stats,
        config,
        cache: Cache::default_location(),
        label: None,
        notice: None,
    })
    .await
    .map_err(|e| Failure::Other(format!("{e:#}")))
}
