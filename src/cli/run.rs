//! `fleetdeck run`: plan, guard, send, watch, group. The CLI is one client of `crate::run`.
//!
//! Exit status: 0 when every target host succeeded; 1 when any host did not (failed, timed out,
//! cancelled, undeliverable, not sent), when the typed confirmation was wrong (nothing sent), or
//! when no host can take the command; 2 for usage errors, including a run that needs confirmation
//! without `--yes` when stdin is not a terminal (nothing sent).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args, ValueEnum};
use tokio::sync::mpsc;

use crate::aws::{self, CallStats, ClientOptions};
use crate::config::Config;
use crate::run::{
    self as bulk, Control, Counts, GuardPolicy, HostStatus, Plan, PollOptions, RunEvent,
    RunOptions, RunReport, SentCommand, TagFilter, TargetSpec,
};

use super::{Cli, CliResult, Failure, problems, targets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOutput {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("targets").required(true).args(["target", "instance_id", "query"])))]
pub struct RunArgs {
    /// Hosts by tag, tag:Key=Value (repeat: all must hold; several values: tag:Key=a,b)
    #[arg(long, value_name = "tag:K=V")]
    pub target: Vec<String>,
    /// Hosts by instance id (repeatable; lists over 50 are sent in batches of 50)
    #[arg(long = "instance-id", value_name = "ID", num_args = 1..)]
    pub instance_id: Vec<String>,
    /// Hosts by a search query, as `fleetdeck list QUERY` selects them
    #[arg(long, value_name = "QUERY")]
    pub query: Option<String>,
    /// At most this many hosts (N) or this share of them (N%) run at once (AWS default 50)
    #[arg(long, value_name = "N|N%")]
    pub max_concurrency: Option<String>,
    /// Stop sending once more than this many hosts (N) or this share (N%) failed (AWS default 0)
    #[arg(long, value_name = "N|N%")]
    pub max_errors: Option<String>,
    /// Seconds the command may run on each host before it is stopped (executionTimeout)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=i64::from(bulk::flags::MAX_TIMEOUT_SECONDS)))]
    pub timeout: Option<u32>,
    /// Send without asking for the typed host count (for scripts)
    #[arg(long)]
    pub yes: bool,
    /// Also send the full output to CloudWatch Logs, used when output exceeds AWS's API caps
    #[arg(long)]
    pub cloudwatch_output: bool,
    /// CloudWatch Logs group for --cloudwatch-output (default /aws/ssm/<document>)
    #[arg(long, value_name = "GROUP", requires = "cloudwatch_output")]
    pub cloudwatch_log_group: Option<String>,
    /// Comment stored with the command (≤ 100 characters)
    #[arg(long)]
    pub comment: Option<String>,
    /// Output format
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// The command to run on every host, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn spec_of(args: &RunArgs) -> Result<TargetSpec, Failure> {
    if !args.target.is_empty() {
        let tags = args
            .target
            .iter()
            .map(|t| TagFilter::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::Usage)?;
        return Ok(TargetSpec::Tags(tags));
    }
    if !args.instance_id.is_empty() {
        return Ok(TargetSpec::InstanceIds(args.instance_id.clone()));
    }
    Ok(TargetSpec::Query(args.query.clone().unwrap_or_default()))
}

fn options_of(args: &RunArgs) -> Result<RunOptions, Failure> {
    // The same checks and sentences as the console's `:run` options (`run::flags`).
    bulk::RunFlags {
        max_concurrency: args.max_concurrency.clone(),
        max_errors: args.max_errors.clone(),
        timeout: args.timeout.map(|t| t.to_string()),
        cloudwatch: args.cloudwatch_output,
        cloudwatch_log_group: args.cloudwatch_log_group.clone(),
        comment: args.comment.clone(),
    }
    .options(vec![args.command.join(" ")])
    .map_err(Failure::Usage)
}

fn host_label(name: Option<&str>, id: &str) -> String {
    match name {
        Some(n) if n != id => format!("{n} ({id})"),
        _ => id.to_string(),
    }
}

/// The plan as a person reads it before confirming.
pub fn plan_text(plan: &Plan) -> String {
    let mut t = String::new();
    let regions: std::collections::BTreeSet<(&str, &str)> = plan
        .sends
        .iter()
        .map(|s| (s.profile.as_str(), s.region.as_str()))
        .collect();
    let docs: Vec<&str> = plan.documents().iter().map(|d| d.name()).collect();
    t.push_str(&format!(
        "Plan: {} on {} host{} in {} profile/region{}, {} SendCommand request{}\n",
        if docs.is_empty() {
            "nothing".to_string()
        } else {
            docs.join(" + ")
        },
        plan.target_count,
        if plan.target_count == 1 { "" } else { "s" },
        regions.len(),
        if regions.len() == 1 { "" } else { "s" },
        plan.sends.len(),
        if plan.sends.len() == 1 { "" } else { "s" },
    ));
    t.push_str(&format!("Command: {}\n", plan.script()));
    let o = &plan.options;
    t.push_str(&format!(
        "MaxConcurrency {} · MaxErrors {} · timeout {}{}\n",
        o.max_concurrency
            .map_or("50 (AWS default)".into(), |r| r.to_string()),
        o.max_errors
            .map_or("0 (AWS default)".into(), |r| r.to_string()),
        o.execution_timeout
            .map_or("3600 s (AWS default)".into(), |s| format!("{s} s")),
        o.cloudwatch
            .as_ref()
            .map_or(String::new(), |_| " · CloudWatch output on".into()),
    ));
    t.push_str(&format!("Targets ({}):\n", plan.target_count));
    for s in &plan.sends {
        let how = match &s.targeting {
            bulk::Targeting::Tags(tags) => tags
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            bulk::Targeting::InstanceIds => format!("{} instance ids", s.hosts.len()),
        };
        t.push_str(&format!(
            "  {}/{} {} [{how}]\n",
            s.profile, s.region, s.document
        ));
        for h in &s.hosts {
            t.push_str(&format!(
                "    {}\n",
                host_label(h.name.as_deref(), &h.instance_id)
            ));
        }
    }
    if !plan.skipped.is_empty() {
        t.push_str(&format!("Skipped, not sent ({}):\n", plan.skipped.len()));
        for s in &plan.skipped {
            let at = match (&s.profile, &s.region) {
                (Some(p), Some(r)) => format!(" {p}/{r}"),
                _ => String::new(),
            };
            t.push_str(&format!(
                "    {}{at}: {}\n",
                host_label(s.name.as_deref(), &s.instance_id),
                s.reason
            ));
        }
    }
    t
}

/// Live progress: in place on a terminal, one line per change otherwise.
struct Progress {
    tty: bool,
    drawn: usize,
    last_draw: Option<Instant>,
    hosts: BTreeMap<String, (String, HostStatus)>,
    counts: Counts,
}

impl Progress {
    fn new(tty: bool) -> Progress {
        Progress {
            tty,
            drawn: 0,
            last_draw: None,
            hosts: BTreeMap::new(),
            counts: Counts::default(),
        }
    }

    fn clear(&mut self, err: &mut impl Write) {
        if self.tty && self.drawn > 0 {
            let _ = write!(err, "\x1b[{}F\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn on(&mut self, event: &RunEvent, err: &mut impl Write) {
        match event {
            RunEvent::Sent(s) => self.sent(s, err),
            RunEvent::Host(u) => {
                let label = host_label(u.name.as_deref(), &u.instance_id);
                if !self.tty {
                    let _ = writeln!(err, "{label} {}: {}", u.region, u.status);
                }
                self.hosts.insert(u.instance_id.clone(), (label, u.status));
            }
            RunEvent::Progress(c) => self.counts = *c,
            RunEvent::Note(n) => {
                self.clear(err);
                let _ = writeln!(err, "note: {n}");
            }
        }
        self.draw(err, false);
    }

    fn sent(&mut self, s: &SentCommand, err: &mut impl Write) {
        self.clear(err);
        match (&s.command_id, &s.error) {
            (Some(id), _) => {
                let _ = writeln!(
                    err,
                    "sent {} to {} host(s) in {}/{}: command {id}",
                    s.document,
                    s.instance_ids.len(),
                    s.profile,
                    s.region
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(err, "not sent to {}/{}: {e}", s.profile, s.region);
            }
            _ => {}
        }
    }

    fn draw(&mut self, err: &mut impl Write, force: bool) {
        if !self.tty || self.counts.total == 0 {
            return;
        }
        if !force
            && self
                .last_draw
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.clear(err);
        let c = self.counts;
        let width = 30usize;
        let filled = (c.done() * width).checked_div(c.total).unwrap_or(0);
        let mut lines = vec![format!(
            "[{}{}] {}/{} done · {} ok · {} failed · {} cancelled · {} running · {} pending",
            "#".repeat(filled),
            "-".repeat(width - filled),
            c.done(),
            c.total,
            c.success,
            c.failed,
            c.cancelled,
            c.in_progress,
            c.pending
        )];
        let mut shown = 0;
        let mut hidden = 0;
        for (label, status) in self.hosts.values() {
            if status.is_terminal() && *status == HostStatus::Success {
                continue;
            }
            if shown < 12 {
                lines.push(format!("  {status:<17} {label}"));
                shown += 1;
            } else {
                hidden += 1;
            }
        }
        if hidden > 0 {
            lines.push(format!("  … and {hidden} more"));
        }
        for l in &lines {
            let _ = writeln!(err, "{l}");
        }
        let _ = err.flush();
        self.drawn = lines.len();
        self.last_draw = Some(Instant::now());
    }
}

fn grouped_text(report: &RunReport) -> String {
    const MAX_LINES: usize = 20;
    let mut t = String::new();
    let c = report.counts();
    t.push_str(&format!(
        "\nResults: {} ok, {} failed, {} cancelled of {} host(s) ({} API calls)\n",
        c.success, c.failed, c.cancelled, c.total, report.api_calls
    ));
    for g in bulk::group_outputs(&report.hosts) {
        t.push_str(&format!("── {}\n", g.headline()));
        t.push_str(&format!("   {}\n", g.hosts.join(", ")));
        let mut body: Vec<String> = g.stdout.lines().map(|l| format!("   │ {l}")).collect();
        body.extend(g.stderr.lines().map(|l| format!("   ! {l}")));
        let extra = body.len().saturating_sub(MAX_LINES);
        for l in body.into_iter().take(MAX_LINES) {
            t.push_str(&l);
            t.push('\n');
        }
        if extra > 0 {
            t.push_str(&format!(
                "   … {extra} more line(s); --output json has everything\n"
            ));
        }
    }
    t
}

fn confirm_on_tty(prompt: &str) -> std::io::Result<String> {
    let mut err = std::io::stderr();
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line)
}

pub async fn run(cli: &Cli, args: &RunArgs) -> CliResult {
    let spec = spec_of(args)?;
    let options = options_of(args)?;
    if let TargetSpec::Query(q) = &spec {
        crate::search::Query::parse(q).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let client_options =
        ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let stats = Arc::new(CallStats::default());
    let clients = aws::clients::build_all(&targets, &client_options, stats.clone()).await;
    let inventory = aws::inventory::fetch(&clients).await;
    problems::report(&inventory.problems, inventory.instances.is_empty())?;
    let plan = bulk::plan(&inventory.instances, &spec, &options).map_err(|e| match e {
        bulk::PlanError::BadQuery(_) | bulk::PlanError::TooManyTags(_) => {
            Failure::Usage(e.to_string())
        }
        _ => Failure::Other(e.to_string()),
    })?;
    let json = args.output == RunOutput::Json;
    let text = plan_text(&plan);
    if json {
        eprint!("{text}");
    } else {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
    if plan.target_count == 0 {
        return Err(Failure::Other(if plan.skipped.is_empty() {
            "no host matches the targets: check them with `fleetdeck list`".into()
        } else {
            format!(
                "none of the {} matching host(s) can take the command (reasons above); nothing was sent",
                plan.skipped.len()
            )
        }));
    }

    let policy = GuardPolicy {
        threshold: config.run.confirm_threshold.unwrap_or(10),
        ..GuardPolicy::default()
    };
    let confirmation = match bulk::needs_confirmation(&plan, &policy) {
        None => "not-needed",
        Some(_) if args.yes => "--yes",
        Some(c) if std::io::stdin().is_terminal() => {
            let typed = tokio::task::spawn_blocking({
                let prompt = c.prompt();
                move || confirm_on_tty(&prompt)
            })
            .await
            .map_err(|e| Failure::Other(e.to_string()))?
            .map_err(|e| Failure::Other(format!("cannot read the confirmation: {e}")))?;
            if !bulk::confirmation_accepted(&c, &typed) {
                return Err(Failure::Other(format!(
                    "the confirmation did not match (type exactly {}); nothing was sent",
                    c.expected
                )));
            }
            "typed"
        }
        Some(c) => {
            return Err(Failure::Usage(format!(
                "this run reaches {} host(s){} and needs a typed confirmation, but stdin is not a terminal: pass --yes to send it from a script",
                c.expected,
                if c.production_hosts.is_empty() {
                    String::new()
                } else {
                    format!(", {} of them production-tagged", c.production_hosts.len())
                }
            )));
        }
    };

    let who_clients = clients
        .iter()
        .find(|c| {
            plan.sends.first().is_some_and(|s| {
                c.target.profile_label() == s.profile && c.target.region == s.region
            })
        })
        .or(clients.first())
        .cloned();
    let who = match &who_clients {
        Some(c) => bulk::audit::caller_identity(c).await,
        None => ("unknown".into(), "none".into()),
    };

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ctl, ctl_rx) = mpsc::unbounded_channel();
    let task = {
        let plan = plan.clone();
        let clients = clients.clone();
        tokio::spawn(async move {
            bulk::execute(&plan, &clients, &PollOptions::default(), &tx, ctl_rx).await
        })
    };
    let tty = std::io::stderr().is_terminal();
    let mut progress = Progress::new(tty);
    let mut sent: Vec<SentCommand> = Vec::new();
    let mut audited = false;
    let started = chrono::Utc::now();
    let mut interrupts = 0;
    let mut err = std::io::stderr();
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                if let RunEvent::Sent(s) = &event {
                    sent.push(s.clone());
                }
                progress.on(&event, &mut err);
                if !audited && sent.len() == plan.sends.len() {
                    audited = true;
                    audit(&plan, &sent, started, who.clone(), confirmation);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                interrupts += 1;
                if interrupts > 1 {
                    return Err(Failure::Other("interrupted; the commands may still be running in AWS (see the audit log for their ids)".into()));
                }
                let _ = ctl.send(Control::CancelAll);
                progress.clear(&mut err);
                eprintln!("cancelling the run (CancelCommand); press Ctrl-C again to stop waiting");
            }
        }
    }
    let report = task
        .await
        .map_err(|e| Failure::Other(format!("the run stopped unexpectedly: {e}")))?;
    progress.draw(&mut err, true);
    if !audited {
        audit(&plan, &report.sends, started, who, confirmation);
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if json {
        let value = serde_json::json!({
            "plan": plan,
            "report": report,
            "groups": bulk::group_outputs(&report.hosts),
        });
        serde_json::to_writer_pretty(&mut out, &value)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write!(out, "{}", grouped_text(&report))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
    if report.all_succeeded() {
        return Ok(());
    }
    let failed = report.failed_ids();
    let c = report.counts();
    let mut sentence = format!(
        "{} of {} host(s) did not succeed ({} failed, {} cancelled)",
        c.total - c.success,
        c.total,
        c.failed,
        c.cancelled
    );
    if !failed.is_empty() && failed.len() <= 50 {
        sentence.push_str(&format!(
            "; re-run the failed ones with: fleetdeck run --instance-id {} -- {}",
            failed.join(" "),
            crate::format::shell_quote(&plan.script())
        ));
    }
    Err(Failure::Other(sentence))
}

fn audit(
    plan: &Plan,
    sends: &[SentCommand],
    when: chrono::DateTime<chrono::Utc>,
    who: (String, String),
    confirmation: &str,
) {
    let record = bulk::AuditRecord::new(plan, sends, when, who, confirmation);
    if let Err(e) = bulk::audit::write(&record) {
        eprintln!("warning: {e}");
    }
}
