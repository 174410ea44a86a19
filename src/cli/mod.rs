//! The command line: clap definitions, dispatch, and the exit-status contract
//! (0 success, 2 usage error, 1 anything else, with one sentence on stderr saying what to do).

mod connect;
mod console;
mod doctor;
mod list;
mod not_connected;
mod problems;
mod replay;
mod run;
mod sessions;
mod sim;

mod targets;
mod tunnel;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "fleetdeck",
    version,
    about = "A keyboard-driven console for server fleets managed by AWS Systems Manager",
    propagate_version = true
)]
pub struct Cli {
    /// AWS profile to read (repeat for several; default: the SDK's own resolution or config.toml)
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Vec<String>,
    /// Region to read (repeat for several; default: the profile's region or config.toml)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Vec<String>,
    /// Send every AWS request to this endpoint (a simulator, a proxy)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/fleetdeck/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the simulated fleet in-process and show it, no AWS account needed
    Demo(DemoArgs),
    /// Run the AWS simulator alone; the first line of output is its endpoint URL
    Sim(SimArgs),
    /// List the fleet: EC2 joined with SSM agent health
    List(ListArgs),
    /// A shell session on one instance in the current terminal.
    Connect(ConnectArgs),
    /// Run a command on many hosts with SSM Run Command: plan, confirm, live progress, grouped output
    Run(run::RunArgs),
    /// Say why an instance can or cannot take a session, step by step (exit 0 if it can)
    Doctor(DoctorArgs),
    /// Session Manager sessions: who, on which host, when, whether they were logged
    Sessions(SessionsArgs),
    /// Play a past session from its CloudWatch log, or export it (--cast, --text)
    Replay(ReplayArgs),
    /// Forward a local port through an instance (to it, or to a host it reaches).
    Tunnel(tunnel::TunnelArgs),
    /// Bridge stdin/stdout to a port on an instance: ssh's ProxyCommand.
    Proxy(tunnel::ProxyArgs),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// An instance id, a Name, or a query matching exactly one instance
    #[arg(value_name = "TARGET", required = true)]
    pub target: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Only active or only past sessions (default: both)
    #[arg(long, value_enum)]
    pub state: Option<crate::replay::SessionState>,
    /// Only sessions on this instance id
    #[arg(long, value_name = "ID")]
    pub target: Option<String>,
    /// Only sessions of this owner: an ARN, or part of one (a user name)
    #[arg(long, value_name = "WHO")]
    pub owner: Option<String>,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[arg(value_name = "SESSION_ID")]
    pub session_id: String,
    /// Playback speed (2 = twice as fast)
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub speed: f64,
    /// Write an asciicast v2 file (asciinema play FILE) instead of playing
    #[arg(long, value_name = "FILE")]
    pub cast: Option<PathBuf>,
    /// Write the output as plain text, control sequences removed, instead of playing
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// Log group to read when the session's history does not name one
    #[arg(long, value_name = "GROUP")]
    pub log_group: Option<String>,
    /// Terminal width written to the .cast header
    #[arg(long, default_value_t = 80, hide = true)]
    pub cols: u16,
    /// Terminal height written to the .cast header
    #[arg(long, default_value_t = 24, hide = true)]
    pub rows: u16,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of simulated instances
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub instances: u32,
    /// Seed of the simulated fleet (same seed, same fleet)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Faults to inject, as for `sim` (e.g. "ws-drop=20s" to watch tunnels heal)
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Session logs: `stream` (the demo's default) writes JSON events with timestamps during the
    /// session, so replays keep their real pauses; `plain` uploads a transcript at the end
    #[arg(long, value_enum, default_value_t = SessionLogs::Stream)]
    pub session_logs: SessionLogs,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on (loopback only; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Number of simulated instances
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub instances: u32,
    /// Seed of the simulated fleet (same seed, same fleet)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Faults to inject, e.g. "throttle=0.3,latency=20ms"
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Session logs: `plain` uploads the transcript at the end, `stream` writes JSON events
    /// about once a second during the session (cloudWatchStreamingEnabled)
    #[arg(long, value_enum, default_value_t = SessionLogs::Plain)]
    pub session_logs: SessionLogs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionLogs {
    Plain,
    Stream,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Filter: words match names, ids, IPs and tag values fuzzily; also tag:K=V, ping:lost,
    /// platform:win, region:eu, state:stopped, id:i-0ab, profile:P, agent:outdated
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// A failure with its exit status: usage errors (2) are the caller's to fix in the command line.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// An instance id, a Name, or a query matching exactly one instance.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// `native` speaks the data channel itself; `plugin` runs AWS's session-manager-plugin.
    #[arg(long, value_enum, default_value_t = Engine::Native)]
    pub engine: Engine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Native,
    Plugin,
}

#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Other(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Other(e.to_string())
    }
}

pub type CliResult = Result<(), Failure>;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(Failure::Other(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(f),
    }
}

fn fail(failure: Failure) -> ExitCode {
    match failure {
        Failure::Usage(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Failure::Other(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Dependencies whose TRACE events carry credentials: the SDK's deserialized StartSession output
/// (TokenValue, StreamUrl), SigV4's request being signed, and tungstenite's handshake (StreamUrl,
/// `x-amz-security-token`) and frames (the OpenDataChannel token). Their TRACE level is dropped
/// whatever `FLEETDECK_LOG` asks for (docs/security.md).
const CREDENTIAL_TRACERS: [&str; 4] = [
    "aws_smithy_runtime",
    "aws_sigv4",
    "tungstenite",
    "tokio_tungstenite",
];

/// Logs go to stderr only when asked for (`FLEETDECK_LOG=debug`), so scripts get clean output.
fn init_tracing() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let Ok(filter) = std::env::var("FLEETDECK_LOG") else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let no_credentials = filter_fn(|meta| {
        *meta.level() != tracing::Level::TRACE
            || !CREDENTIAL_TRACERS
                .iter()
                .any(|t| meta.target().starts_with(t))
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter.and(no_credentials));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

async fn run(cli: Cli) -> CliResult {
    match &cli.command {
        None => console::run(&cli).await,
        Some(Command::Demo(args)) => sim::demo(&cli, args).await,
        Some(Command::Sim(args)) => sim::serve(&cli, args).await,
        Some(Command::List(args)) => list::run(&cli, args).await,
        Some(Command::Connect(args)) => connect::run(&cli, args).await,
        Some(Command::Run(args)) => run::run(&cli, args).await,
        Some(Command::Doctor(args)) => doctor::run(&cli, args).await,
        Some(Command::Sessions(args)) => sessions::run(&cli, args).await,
        Some(Command::Replay(args)) => replay::run(&cli, args).await,
        Some(Command::Tunnel(args)) => tunnel::run(&cli, args).await,
        Some(Command::Proxy(args)) => tunnel::proxy(&cli, args).await,
    }
}
