//! `fleetdeck list`: the joined inventory as a table, JSON or CSV.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::aws::{self, CallStats, ClientOptions};
use crate::config::Config;
use crate::output::{self, Format, TableOptions};
use crate::search::{FleetIndex, Query};

use super::{Cli, CliResult, Failure, ListArgs, problems, targets};

pub async fn run(cli: &Cli, args: &ListArgs) -> CliResult {
    let query = Query::parse(&args.query.join(" ")).map_err(|e| Failure::Usage(e.to_string()))?;
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let stats = Arc::new(CallStats::default());
    let clients = aws::clients::build_all(&targets, &options, stats.clone()).await;
    let inventory = aws::inventory::fetch(&clients).await;
    tracing::info!(
        attempts = stats.attempts(),
        retries = stats.retries(),
        "inventory read"
    );

    if stats.retries() > 0 {
        eprintln!(
            "note: {} of {} requests were retried (throttling or transient errors)",
            stats.retries(),
            stats.attempts()
        );
    }
    // Nothing at all could be read: that is a failure, not an empty fleet.
    problems::report(&inventory.problems, inventory.instances.is_empty())?;

    let mut index = FleetIndex::new(&inventory.instances);
    let selected: Vec<_> = index
        .search(&inventory.instances, &query)
        .into_iter()
        .map(|hit| inventory.instances[hit.index].clone())
        .collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.output {
        Format::Json => output::write_json(&mut out, &selected),
        Format::Csv => output::write_csv(&mut out, &selected),
        Format::Table => output::write_table(
            &mut out,
            &selected,
            &TableOptions {
                color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                show_profile: targets
                    .iter()
                    .map(|t| t.profile_label())
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
                    > 1,
                tag_columns: &config.list.tag_columns,
                now: chrono::Utc::now(),
            },
        ),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
}
