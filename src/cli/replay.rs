//! `fleetdeck replay SESSION_ID`: plays a session's log in the terminal at the recorded pace
//! (× `--speed`), or writes it as asciicast v2 (`--cast`) or plain text (`--text`).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::aws::{self, CallStats, ClientOptions, Clients};
use crate::config::Config;
use crate::replay::{self, CastOptions, HistoryFilter, LogError, LogSource, Pacing, Timeline};

use super::{Cli, CliResult, Failure, ReplayArgs, targets};

pub async fn run(cli: &Cli, args: &ReplayArgs) -> CliResult {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(Failure::Usage(format!(
            "--speed must be above 0, not {}",
            args.speed
        )));
    }
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let clients = aws::clients::build_all(&targets, &options, Arc::new(CallStats::default())).await;
    let (client, source, title) = locate(&clients, args).await?;
    let started = std::time::Instant::now();
    let timeline = replay::read_timeline(client, source.clone(), |_| {})
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    tracing::info!(events = timeline.events, elapsed = ?started.elapsed(), "session log read");
    for bad in &timeline.malformed {
        eprintln!(
            "warning: event {} of {} is malformed and was skipped: {}",
            bad.index + 1,
            source.stream,
            bad.reason
        );
    }
    if timeline.is_empty() {
        return Err(Failure::Other(format!(
            "the log stream {} in group {} has no readable events",
            source.stream, source.group
        )));
    }
    if let Some(path) = &args.cast {
        let mut file = std::io::BufWriter::new(create(path)?);
        let cast = CastOptions {
            cols: args.cols,
            rows: args.rows,
            title: Some(title.clone()),
        };
        replay::write_cast(&mut file, &timeline, &cast).map_err(|e| write_failed(path, e))?;
        eprintln!(
            "wrote {} ({} events, {:.1} s)",
            path.display(),
            timeline.frames().len(),
            timeline.duration().as_secs_f64()
        );
    }
    if let Some(path) = &args.text {
        let mut file = std::io::BufWriter::new(create(path)?);
        replay::write_text(&mut file, &timeline).map_err(|e| write_failed(path, e))?;
        eprintln!("wrote {}", path.display());
    }
    if args.cast.is_none() && args.text.is_none() {
        play(&timeline, args.speed).await?;
    }
    Ok(())
}

fn create(path: &std::path::Path) -> Result<std::fs::File, Failure> {
    std::fs::File::create(path)
        .map_err(|e| Failure::Other(format!("cannot create {}: {e}", path.display())))
}

fn write_failed(path: &std::path::Path, e: std::io::Error) -> Failure {
    Failure::Other(format!("cannot write {}: {e}", path.display()))
}

/// The target whose history has the session, and its log; or `--log-group` for a session that
/// has left DescribeSessions' history.
async fn locate<'a>(
    clients: &'a [Clients],
    args: &ReplayArgs,
) -> Result<(&'a Clients, LogSource, String), Failure> {
    let filter = HistoryFilter {
        session_id: Some(args.session_id.clone()),
        ..HistoryFilter::default()
    };
    let history = replay::history::fetch(clients, &filter).await;
    if let Some(s) = history.sessions.first() {
        let client = clients
            .iter()
            .find(|c| c.target.profile_label() == s.profile && c.target.region == s.region)
            .ok_or_else(|| Failure::Other("internal: the session's target has no client".into()))?;
        let title = format!("{} on {} by {}", s.session_id, s.target, s.who());
        let source = match (
            &args.log_group,
            s.log.as_ref().and_then(|l| l.cloudwatch.clone()),
        ) {
            (Some(group), _) => LogSource {
                group: group.clone(),
                stream: s.session_id.clone(),
            },
            (None, Some(source)) => source,
            (None, None) => {
                let where_ = match s.log.as_ref().and_then(|l| l.s3_url.as_deref()) {
                    Some(url) => format!(" (its log is in S3: {url}; fleetdeck reads CloudWatch Logs only)"),
                    None if s.state == replay::SessionState::Active => {
                        " yet: it is still active, and logs uploaded at the end appear when it ends".into()
                    }
                    None => ": session logging to CloudWatch was not on for it (pass --log-group if you know where it went)".into(),
                };
                return Err(Failure::Other(format!(
                    "session {} has no CloudWatch log{where_}",
                    s.session_id
                )));
            }
        };
        return Ok((client, source, title));
    }
    let where_: Vec<String> = clients.iter().map(|c| c.target.to_string()).collect();
    if let Some(group) = &args.log_group {
        // Not in history (it keeps 30 days): try the stream directly, target by target.
        for c in clients {
            let source = LogSource {
                group: group.clone(),
                stream: args.session_id.clone(),
            };
            match replay::LogReader::new(c, source.clone()).next_page().await {
                Err(LogError::StreamNotFound { .. } | LogError::GroupNotFound { .. }) => continue,
                _ => return Ok((c, source, args.session_id.clone())),
            }
        }
        return Err(Failure::Other(format!(
            "no session {} in {} and no log stream of that name in group {group}",
            args.session_id,
            where_.join(", ")
        )));
    }
    for p in &history.problems {
        eprintln!("warning: {}", p.error);
    }
    Err(Failure::Other(format!(
        "no session {} in {}: check the id, the profile and region (--profile, --region), or pass --log-group if its history has expired",
        args.session_id,
        where_.join(", ")
    )))
}

/// Writes the frames to stdout at their times divided by `speed`.
async fn play(timeline: &Timeline, speed: f64) -> CliResult {
    if let Pacing::Even { .. } = timeline.pacing {
        eprintln!("note: {}", timeline.pacing.label());
    }
    let start = tokio::time::Instant::now();
    let mut out = std::io::stdout().lock();
    for frame in timeline.frames() {
        let due = start + Duration::from_secs_f64(frame.at.as_secs_f64() / speed);
        if due > tokio::time::Instant::now() {
            out.flush()?;
            tokio::time::sleep_until(due).await;
        }
        match out.write_all(frame.terminal_bytes().as_bytes()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
