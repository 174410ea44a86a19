//! `fleetdeck sim` (the simulator alone) and `fleetdeck demo` (the simulator and fleetdeck against it).

use std::io::Write;
use std::sync::Arc;

use crate::aws::{self, CallStats, ClientOptions, Target};
use crate::output::{self, TableOptions};
use crate::sim::demo_db::{DEMO_DB_HOST, DemoDb};
use crate::sim::{FaultSpec, SimOptions, Simulator};

use super::{Cli, CliResult, DemoArgs, Failure, SimArgs, targets};

/// Credentials the demo's own clients sign with: the simulator checks the signature's shape, not
/// a secret, and the demo must never pick up (or send) the user's real AWS credentials.
pub const DEMO_CREDENTIALS: (&str, &str) = ("AKIDFLEETDECKDEMO", "fleetdeck-demo-secret");

fn sim_regions(cli: &Cli) -> Result<Vec<String>, Failure> {
    for region in &cli.region {
        targets::check_region_name(region)?;
    }
    Ok(if cli.region.is_empty() {
        SimOptions::default().regions
    } else {
        cli.region.clone()
    })
}

pub async fn serve(cli: &Cli, args: &SimArgs) -> CliResult {
    let faults = match &args.faults {
        Some(spec) => spec
            .parse::<FaultSpec>()
            .map_err(|e| Failure::Usage(format!("bad --faults: {e}")))?,
        None => FaultSpec::default(),
    };
    let options = SimOptions {
        listen: args.listen,
        instances: args.instances as usize,
        seed: args.seed,
        regions: sim_regions(cli)?,
        faults,
        start_time: None,
    };
    let sim = Simulator::start(options)
        .await
        .map_err(|e| Failure::Other(format!("cannot start the simulator: {e}")))?;
    sim.set_session_log_streaming(args.session_logs == super::SessionLogs::Stream);
    let url = sim.endpoint_url();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    eprintln!(
        "fleetdeck simulator: {} instances (seed {}) in {}. Try:\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --endpoint-url {url} --region {} ec2 describe-instances\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x fleetdeck --endpoint-url {url} --region {} list\nCtrl-C stops it.",
        args.instances,
        args.seed,
        sim_regions(cli)?.join(", "),
        sim_regions(cli)?[0],
        sim_regions(cli)?[0],
    );
    sim.run_until_signal().await?;
    Ok(())
}

pub async fn demo(cli: &Cli, args: &DemoArgs) -> CliResult {
    let regions = sim_regions(cli)?;
    let faults = match &args.faults {
        Some(spec) => spec
            .parse::<FaultSpec>()
            .map_err(|e| Failure::Usage(format!("bad --faults: {e}")))?,
        None => FaultSpec::default(),
    };
    let sim = Simulator::start(SimOptions {
        instances: args.instances as usize,
        seed: args.seed,
        regions: regions.clone(),
        faults,
        ..SimOptions::default()
    })
    .await
    .map_err(|e| Failure::Other(format!("cannot start the simulator: {e}")))?;
    sim.set_session_log_streaming(args.session_logs == super::SessionLogs::Stream);
    let url = sim.endpoint_url();
    // A database behind the fleet, for "forward the database port through a host".
    let db = DemoDb::start()
        .await
        .map_err(|e| Failure::Other(format!("cannot start the demo database: {e}")))?;
    let db_hint = format!(
        "demo database at {DEMO_DB_HOST}:{port}: select an Online host, press t, type {port}, Tab, {DEMO_DB_HOST}, Enter",
        port = db.addr.port()
    );
    let mut options = ClientOptions::new(Some(url.clone()));
    options.static_credentials = Some((DEMO_CREDENTIALS.0.into(), DEMO_CREDENTIALS.1.into()));
    let targets: Vec<Target> = regions
        .iter()
        .map(|region| Target {
            profile: None,
            region: region.clone(),
        })
        .collect();
    let stats = Arc::new(CallStats::default());
    let clients = aws::clients::build_all(&targets, &options, stats.clone()).await;
    // In a terminal the demo is the console; piped, it prints the fleet and keeps serving.
    if std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::io::IsTerminal::is_terminal(&std::io::stdin())
    {
        let config = crate::config::Config::load(cli.config.as_deref())?;
        return crate::tui::run(crate::tui::Launch {
            clients,
            options,
            stats,
            config,
            // The simulator's port changes every run: a disk cache would only pile up.
            cache: None,
            label: Some("demo".into()),
            notice: Some(db_hint),
        })
        .await
        .map_err(|e| Failure::Other(format!("{e:#}")));
    }
    let inventory = aws::inventory::fetch(&clients).await;
    for problem in &inventory.problems {
        eprintln!("warning: {}", problem.error);
    }
    let mut out = std::io::stdout().lock();
    output::write_table(
        &mut out,
        &inventory.instances,
        &TableOptions {
            color: std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none(),
            show_profile: false,
            tag_columns: &["Env".to_owned(), "Role".to_owned()],
            now: chrono::Utc::now(),
        },
    )?;
    writeln!(
        out,
        "\nThe simulated fleet is served at {url} until Ctrl-C. Try:\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x fleetdeck --endpoint-url {url} --region {} list ping:lost\nThe demo database (a line-based stand-in) answers on {DEMO_DB_HOST}:{} through any Online host:\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x fleetdeck --endpoint-url {url} --region {} tunnel HOST --remote-host {DEMO_DB_HOST} --remote-port {}",
        regions[0],
        db.addr.port(),
        regions[0],
        db.addr.port()
    )?;
    out.flush()?;
    drop(out);
    sim.run_until_signal().await?;
    Ok(())
}
