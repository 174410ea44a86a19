//! `--output table|json|csv` for instance lists: tables for people, JSON and CSV for scripts.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::format::age;
use crate::model::{HealthCounts, Instance, PingStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub struct TableOptions<'a> {
    pub color: bool,
    pub show_profile: bool,
    pub tag_columns: &'a [String],
    pub now: DateTime<Utc>,
}

pub fn write_json(out: &mut impl Write, instances: &[Instance]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, instances)?;
    writeln!(out)
}

pub fn write_csv(out: &mut impl Write, instances: &[Instance]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "instance_id",
        "name",
        "profile",
        "region",
        "state",
        "ping_status",
        "last_ping",
        "agent_version",
        "agent_is_latest",
        "platform",
        "private_ip",
        "public_ip",
        "instance_type",
        "tags",
    ])?;
    for i in instances {
        let tags = i
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        w.write_record([
            i.instance_id.as_str(),
            i.name.as_deref().unwrap_or_default(),
            &i.profile,
            &i.region,
            i.state.as_str(),
            i.ping_status.as_str(),
            &i.last_ping.map(|t| t.to_rfc3339()).unwrap_or_default(),
            i.agent_version.as_deref().unwrap_or_default(),
            &i.agent_is_latest.map(|b| b.to_string()).unwrap_or_default(),
            &i.platform,
            i.private_ip.as_deref().unwrap_or_default(),
            i.public_ip.as_deref().unwrap_or_default(),
            i.instance_type.as_deref().unwrap_or_default(),
            &tags,
        ])?;
    }
    w.flush()
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

fn ping_color(p: PingStatus) -> &'static str {
    match p {
        PingStatus::Online => GREEN,
        PingStatus::ConnectionLost => RED,
        PingStatus::Inactive => YELLOW,
        PingStatus::NotManaged | PingStatus::Unknown => DIM,
    }
}

pub fn write_table(
    out: &mut impl Write,
    instances: &[Instance],
    opts: &TableOptions,
) -> io::Result<()> {
    let mut header: Vec<String> = ["NAME", "INSTANCE ID"].map(String::from).to_vec();
    if opts.show_profile {
        header.push("PROFILE".into());
    }
    header.extend(
        [
            "REGION",
            "STATE",
            "PING",
            "LAST PING",
            "AGENT",
            "PLATFORM",
            "PRIVATE IP",
        ]
        .map(String::from),
    );
    header.extend(opts.tag_columns.iter().map(|t| t.to_uppercase()));
    let ping_column = header.iter().position(|h| h == "PING").unwrap_or(0);

    let rows: Vec<(Vec<String>, PingStatus)> = instances
        .iter()
        .map(|i| {
            let mut row = vec![i.display_name().to_owned(), i.instance_id.clone()];
            if opts.show_profile {
                row.push(i.profile.clone());
            }
            let agent = match (&i.agent_version, i.agent_outdated()) {
                (Some(v), true) => format!("{v} (outdated)"),
                (Some(v), false) => v.clone(),
                (None, _) => "-".into(),
            };
            row.extend([
                i.region.clone(),
                i.state.to_string(),
                i.ping_status.to_string(),
                i.last_ping.map_or("-".into(), |t| age(t, opts.now)),
                agent,
                i.platform.clone(),
                i.private_ip.clone().unwrap_or_else(|| "-".into()),
            ]);
            row.extend(
                opts.tag_columns
                    .iter()
                    .map(|k| i.tags.get(k).cloned().unwrap_or_else(|| "-".into())),
            );
            (row, i.ping_status)
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (row, _) in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], color_of: Option<PingStatus>| {
        let mut s = String::new();
        for (n, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let last = n + 1 == cells.len();
            let pad = if last {
                0
            } else {
                w - cell.chars().count() + 2
            };
            match color_of {
                Some(p) if opts.color && n == ping_column => {
                    s.push_str(ping_color(p));
                    s.push_str(cell);
                    s.push_str(RESET);
                }
                _ => s.push_str(cell),
            }
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s
    };
    writeln!(out, "{}", line(&header, None))?;
    for (row, ping) in &rows {
        writeln!(out, "{}", line(row, Some(*ping)))?;
    }
    writeln!(out, "{}", summary(instances))
}

/// "60 instances: 41 online, 5 connection lost, …", omitting zero counts.
pub fn summary(instances: &[Instance]) -> String {
    let c = HealthCounts::of(instances);
    let parts: Vec<String> = [
        (c.online, "online"),
        (c.connection_lost, "connection lost"),
        (c.inactive, "inactive"),
        (c.not_managed, "not managed"),
        (c.unknown, "health unknown"),
        (c.stopped, "stopped"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    let noun = if instances.len() == 1 {
        "instance"
    } else {
        "instances"
    };
    if parts.is_empty() {
        format!("{} {noun}", instances.len())
    } else {
        format!("{} {noun}: {}", instances.len(), parts.join(", "))
    }
}
