//! `fleetdeck sessions`: Session Manager sessions (who, where, when, whether logged) as a table,
//! JSON or CSV.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::aws::{self, CallStats, ClientOptions};
use crate::config::Config;
use crate::output::Format;
use crate::replay::{self, HistoryFilter, SessionSummary};

use super::{Cli, CliResult, Failure, SessionsArgs, problems, targets};

pub async fn run(cli: &Cli, args: &SessionsArgs) -> CliResult {
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let clients = aws::clients::build_all(&targets, &options, Arc::new(CallStats::default())).await;
    let filter = HistoryFilter {
        states: args.state.into_iter().collect(),
        target: args.target.clone(),
        owner: args.owner.clone(),
        ..HistoryFilter::default()
    };
    let (mut history, inventory) = futures_util::join!(
        replay::history::fetch(&clients, &filter),
        aws::inventory::fetch(&clients)
    );
    history.join_host_names(&inventory.instances);
    aws::inventory::dedup_problems(&mut history.problems);
    problems::report(&history.problems, history.sessions.is_empty())?;
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    let written = match args.output {
        Format::Json => write_json(&mut out, &history.sessions, now),
        Format::Csv => write_csv(&mut out, &history.sessions, now),
        Format::Table => write_table(&mut out, &history.sessions, now),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn duration(s: &SessionSummary, now: DateTime<Utc>) -> String {
    s.duration(now)
        .map_or_else(String::new, crate::format::duration)
}

fn write_json(
    out: &mut impl Write,
    sessions: &[SessionSummary],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let rows: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["duration_seconds"] = serde_json::json!(
                s.duration(now)
                    .map(|d| d.num_milliseconds() as f64 / 1000.0)
            );
            v["has_log"] = serde_json::json!(s.has_log());
            v
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}

fn write_csv(
    out: &mut impl Write,
    sessions: &[SessionSummary],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "session_id",
        "owner",
        "target",
        "host_name",
        "profile",
        "region",
        "state",
        "status",
        "start",
        "end",
        "duration",
        "has_log",
        "log_group",
    ])?;
    for s in sessions {
        let state = match s.state {
            replay::SessionState::Active => "active",
            replay::SessionState::History => "history",
        };
        w.write_record([
            s.session_id.as_str(),
            &s.owner,
            &s.target,
            s.host_name.as_deref().unwrap_or_default(),
            &s.profile,
            &s.region,
            state,
            &s.status,
            &time(s.start),
            &time(s.end),
            &duration(s, now),
            if s.has_log() { "yes" } else { "no" },
            s.log
                .as_ref()
                .and_then(|l| l.cloudwatch.as_ref())
                .map(|c| c.group.as_str())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()
}

fn write_table(
    out: &mut impl Write,
    sessions: &[SessionSummary],
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    if sessions.is_empty() {
        return writeln!(out, "No sessions.");
    }
    let local = |t: Option<DateTime<Utc>>| {
        t.map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<[String; 8]> = sessions
        .iter()
        .map(|s| {
            let target = match &s.host_name {
                Some(h) => format!("{} ({h})", s.target),
                None => s.target.clone(),
            };
            let log = match &s.log {
                Some(l) if l.cloudwatch.is_some() => "cloudwatch",
                Some(l) if l.s3_url.is_some() => "s3",
                Some(_) => "yes",
                None => "-",
            };
            [
                s.who().to_string(),
                target,
                local(s.start),
                local(s.end),
                duration(s, now),
                s.status.clone(),
                log.to_string(),
                s.session_id.clone(),
            ]
        })
        .collect();
    let header = [
        "WHO", "TARGET", "START", "END", "DURATION", "STATUS", "LOG", "SESSION",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let head: Vec<String> = header
        .iter()
        .zip(&widths)
        .map(|(h, w)| format!("{h:<w$}"))
        .collect();
    if color {
        writeln!(out, "\x1b[1m{}\x1b[0m", head.join("  ").trim_end())?;
    } else {
        writeln!(out, "{}", head.join("  ").trim_end())?;
    }
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
