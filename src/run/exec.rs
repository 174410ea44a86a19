//! The executor: sends a [`Plan`], watches it, cancels on request, and collects every host's
//! output. The only part of `run` that touches the network.
//!
//! Watching: one ListCommandInvocations sweep (Details on, 50 per page) per command per round,
//! the interval growing from `PollOptions::initial` to `PollOptions::max` and doubling (up to
//! `throttle_max`) when AWS throttles after the SDK's own retries. Plugin output in that answer is
//! capped at 2,500 characters; hosts that hit the cap are read with GetCommandInvocation (24,000 /
//! 8,000), and hosts that hit those caps are completed from CloudWatch Logs when the plan asked for
//! CloudWatch output. Where ListCommandInvocations is not implemented (moto), each host is read
//! with GetCommandInvocation and the command with ListCommands, and a note says so.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::{CloudWatchOutputConfig, Target as SsmTarget};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::plan::{Document, Plan, PlannedSend, SkippedHost, TagFilter, Targeting};
use crate::aws::{AwsError, CallStats, Clients};

/// AWS's caps on GetCommandInvocation's content and on the plugin Output of
/// ListCommandInvocations.
pub const STDOUT_CAP: usize = 24_000;
pub const STDERR_CAP: usize = 8_000;
pub const PLUGIN_OUTPUT_CAP: usize = 2_500;
/// How the agent joins stdout and stderr in a plugin's Output.
const ERROR_MARKER: &str = "\n----------ERROR-------\n";

/// A host's state with AWS's names; the StatusDetails that matter get their own variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostStatus {
    /// The SendCommand that would reach it failed (or has not been made).
    #[default]
    NotSent,
    Pending,
    Delayed,
    InProgress,
    Success,
    Failed,
    TimedOut,
    Cancelling,
    Cancelled,
    Undeliverable,
    DeliveryTimedOut,
    ExecutionTimedOut,
    /// fleetdeck could not read its state (errors kept failing); see the status details.
    Unknown,
}

impl HostStatus {
    pub fn from_aws(status: &str, details: &str) -> HostStatus {
        match details {
            "Undeliverable" => return HostStatus::Undeliverable,
            "DeliveryTimedOut" | "Delivery Timed Out" => return HostStatus::DeliveryTimedOut,
            "ExecutionTimedOut" | "Execution Timed Out" => return HostStatus::ExecutionTimedOut,
            _ => {}
        }
        match status {
            "Pending" => HostStatus::Pending,
            "Delayed" => HostStatus::Delayed,
            "InProgress" => HostStatus::InProgress,
            "Success" => HostStatus::Success,
            "Failed" => HostStatus::Failed,
            "TimedOut" => HostStatus::TimedOut,
            "Cancelling" => HostStatus::Cancelling,
            "Cancelled" => HostStatus::Cancelled,
            _ => HostStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::NotSent => "NotSent",
            HostStatus::Pending => "Pending",
            HostStatus::Delayed => "Delayed",
            HostStatus::InProgress => "InProgress",
            HostStatus::Success => "Success",
            HostStatus::Failed => "Failed",
            HostStatus::TimedOut => "TimedOut",
            HostStatus::Cancelling => "Cancelling",
            HostStatus::Cancelled => "Cancelled",
            HostStatus::Undeliverable => "Undeliverable",
            HostStatus::DeliveryTimedOut => "DeliveryTimedOut",
            HostStatus::ExecutionTimedOut => "ExecutionTimedOut",
            HostStatus::Unknown => "Unknown",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            HostStatus::Pending
                | HostStatus::Delayed
                | HostStatus::InProgress
                | HostStatus::Cancelling
        )
    }

    /// Failed in a way a re-run may fix (Cancelled is a decision, not a failure).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            HostStatus::Failed
                | HostStatus::TimedOut
                | HostStatus::Undeliverable
                | HostStatus::DeliveryTimedOut
                | HostStatus::ExecutionTimedOut
                | HostStatus::NotSent
                | HostStatus::Unknown
        )
    }
}

impl std::fmt::Display for HostStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a host's final output text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputSource {
    /// ListCommandInvocations' plugin Output (complete: under its 2,500-character cap).
    InvocationList,
    /// GetCommandInvocation (complete unless `truncated`).
    GetCommandInvocation,
    /// CloudWatch Logs: the full output, past AWS's API caps.
    CloudWatch,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostResult {
    pub instance_id: String,
    pub name: Option<String>,
    pub profile: String,
    pub region: String,
    pub document: Option<Document>,
    pub command_id: Option<String>,
    pub status: HostStatus,
    pub status_details: String,
    /// The script's exit code; `None` when it never ran.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub output_source: Option<OutputSource>,
    /// Output is cut at AWS's caps and could not be completed (no CloudWatch output).
    pub truncated: bool,
    #[serde(skip)]
    pub(crate) plugin_capped: bool,
}

impl HostResult {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.instance_id)
    }
}

/// One SendCommand as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentCommand {
    pub profile: String,
    pub region: String,
    pub document: Document,
    pub command_id: Option<String>,
    /// Why the send failed, in one sentence.
    pub error: Option<String>,
    pub instance_ids: Vec<String>,
    /// Tag targets, when AWS resolved the hosts.
    pub targets: Vec<TagFilter>,
}

/// Per-status counts for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub pending: usize,
    pub in_progress: usize,
    pub success: usize,
    pub failed: usize,
    pub cancelled: usize,
}

impl Counts {
    pub fn of(results: &[HostResult]) -> Counts {
        let mut c = Counts {
            total: results.len(),
            ..Counts::default()
        };
        for r in results {
            match r.status {
                HostStatus::Pending | HostStatus::Delayed => c.pending += 1,
                HostStatus::InProgress | HostStatus::Cancelling => c.in_progress += 1,
                HostStatus::Success => c.success += 1,
                HostStatus::Cancelled => c.cancelled += 1,
                _ => c.failed += 1,
            }
        }
        c
    }

    pub fn done(&self) -> usize {
        self.success + self.failed + self.cancelled
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostUpdate {
    pub instance_id: String,
    pub name: Option<String>,
    pub region: String,
    pub status: HostStatus,
    pub status_details: String,
}

/// What the executor reports while it runs (plain data for any front end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunEvent {
    Sent(SentCommand),
    Host(HostUpdate),
    Progress(Counts),
    /// Something a person should know (degraded polling, throttling, cancel failures).
    Note(String),
}

/// Requests to a running run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    CancelAll,
    CancelHost(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    pub initial: Duration,
    pub max: Duration,
    pub throttle_max: Duration,
    /// Consecutive failed polls of one command before its hosts are given up as Unknown.
    pub max_errors_in_a_row: u32,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(5),
            throttle_max: Duration::from_secs(30),
            max_errors_in_a_row: 5,
        }
    }
}

/// The whole run, after it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub sends: Vec<SentCommand>,
    /// One per planned host (plus any host AWS added through tag targets), in plan order.
    pub hosts: Vec<HostResult>,
    pub skipped: Vec<SkippedHost>,
    pub notes: Vec<String>,
    /// AWS requests made by this run (retries included).
    pub api_calls: u64,
    pub polls: u64,
    pub throttled_polls: u64,
}

impl RunReport {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.hosts)
    }

    /// Ids of the hosts that failed (for [`super::rerun_failed`]).
    pub fn failed_ids(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.status.is_failure())
            .map(|h| h.instance_id.clone())
            .collect()
    }

    pub fn all_succeeded(&self) -> bool {
        self.hosts.iter().all(|h| h.status == HostStatus::Success)
    }

    pub fn command_ids(&self) -> Vec<String> {
        self.sends
            .iter()
            .filter_map(|s| s.command_id.clone())
            .collect()
    }
}

struct Active {
    command_id: String,
    clients: Clients,
    /// Where the command went, for hosts AWS adds that no plan listed.
    profile: String,
    region: String,
    document: Document,
    hosts: Vec<usize>,
    degraded: bool,
    done: bool,
    errors_in_a_row: u32,
}

fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn char_len_at_least(text: &str, n: usize) -> bool {
    text.char_indices().nth(n.saturating_sub(1)).is_some()
}

fn split_plugin_output(output: &str) -> (String, String) {
    match output.split_once(ERROR_MARKER) {
        Some((out, err)) => (out.to_string(), err.to_string()),
        None => (output.to_string(), String::new()),
    }
}

fn find_clients<'a>(clients: &'a [Clients], send: &PlannedSend) -> Option<&'a Clients> {
    clients
        .iter()
        .find(|c| c.target.profile_label() == send.profile && c.target.region == send.region)
}

fn total_attempts(clients: &[Clients]) -> u64 {
    let mut seen: Vec<*const CallStats> = Vec::new();
    let mut sum = 0;
    for c in clients {
        let p = Arc::as_ptr(&c.stats);
        if !seen.contains(&p) {
            seen.push(p);
            sum += c.stats.attempts();
        }
    }
    sum
}

fn emit(events: &mpsc::UnboundedSender<RunEvent>, e: RunEvent) {
    // A front end that stopped listening does not stop the run.
    let _ = events.send(e);
}

fn exit_code_for(status: HostStatus, code: i64) -> Option<i64> {
    match status {
        HostStatus::Success | HostStatus::Failed => Some(code),
        HostStatus::ExecutionTimedOut | HostStatus::TimedOut | HostStatus::Cancelled
            if code >= 0 =>
        {
            Some(code)
        }
        _ => None,
    }
}

async fn send_one(plan: &Plan, send: &PlannedSend, clients: &Clients) -> Result<String, AwsError> {
    let o = &plan.options;
    let mut req = clients
        .ssm
        .send_command()
        .document_name(send.document.name())
        .parameters("commands", o.commands.clone());
    if let Some(t) = o.execution_timeout {
        req = req.parameters("executionTimeout", vec![t.to_string()]);
    }
    match &send.targeting {
        Targeting::InstanceIds => {
            req = req.set_instance_ids(Some(
                send.hosts.iter().map(|h| h.instance_id.clone()).collect(),
            ));
        }
        Targeting::Tags(filters) => {
            for f in filters {
                let target = SsmTarget::builder()
                    .key(format!("tag:{}", f.key))
                    .set_values(Some(f.values.clone()))
                    .build();
                req = req.targets(target);
            }
        }
    }
    if let Some(r) = o.max_concurrency {
        req = req.max_concurrency(r.to_string());
    }
    if let Some(r) = o.max_errors {
        req = req.max_errors(r.to_string());
    }
    if let Some(t) = o.delivery_timeout {
        req = req.timeout_seconds(i32::try_from(t).unwrap_or(i32::MAX));
    }
    if let Some(c) = &o.comment {
        req = req.comment(first_chars(c, 100));
    }
    if let Some(cw) = &o.cloudwatch {
        req = req.cloud_watch_output_config(
            CloudWatchOutputConfig::builder()
                .cloud_watch_output_enabled(true)
                .cloud_watch_log_group_name(cw.group_for(send.document))
                .build(),
        );
    }
    let out = req.send().await.map_err(|e| {
        AwsError::from_sdk(
            e,
            &clients.target,
            "ssm:SendCommand",
            clients.endpoint_for("ssm"),
        )
    })?;
    out.command()
        .and_then(|c| c.command_id())
        .map(str::to_string)
        .ok_or_else(|| AwsError::Service {
            target: clients.target.to_string(),
            operation: "ssm:SendCommand",
            code: "NoCommandId".into(),
            message: "the answer had no CommandId".into(),
        })
}

/// Sends the plan and watches it to the end. Events go to `events` as they happen; `control`
/// cancels the whole run or one host. Never fails as a whole: send and poll failures end up in
/// the hosts' statuses and in `notes`.
pub async fn execute(
    plan: &Plan,
    clients: &[Clients],
    options: &PollOptions,
    events: &mpsc::UnboundedSender<RunEvent>,
    control: mpsc::UnboundedReceiver<Control>,
) -> RunReport {
    let started_at = Utc::now();
    let attempts_before = total_attempts(clients);
    let mut notes: Vec<String> = Vec::new();
    let mut note = |events: &mpsc::UnboundedSender<RunEvent>, text: String| {
        emit(events, RunEvent::Note(text.clone()));
        notes.push(text);
    };
    let mut hosts: Vec<HostResult> = Vec::new();
    let mut sends: Vec<SentCommand> = Vec::new();
    let mut active: Vec<Active> = Vec::new();

    for send in &plan.sends {
        let first = hosts.len();
        for h in &send.hosts {
            hosts.push(HostResult {
                instance_id: h.instance_id.clone(),
                name: h.name.clone(),
                profile: h.profile.clone(),
                region: h.region.clone(),
                document: Some(send.document),
                ..HostResult::default()
            });
        }
        let indices: Vec<usize> = (first..hosts.len()).collect();
        let mut sent = SentCommand {
            profile: send.profile.clone(),
            region: send.region.clone(),
            document: send.document,
            command_id: None,
            error: None,
            instance_ids: send.hosts.iter().map(|h| h.instance_id.clone()).collect(),
            targets: match &send.targeting {
                Targeting::Tags(t) => t.clone(),
                Targeting::InstanceIds => Vec::new(),
            },
        };
        let result = match find_clients(clients, send) {
            Some(c) => send_one(plan, send, c).await.map(|id| (id, c.clone())),
            None => Err(AwsError::Service {
                target: format!("{}/{}", send.profile, send.region),
                operation: "ssm:SendCommand",
                code: "NoClients".into(),
                message: "no AWS clients were built for this profile and region".into(),
            }),
        };
        match result {
            Ok((command_id, c)) => {
                for &k in &indices {
                    hosts[k].command_id = Some(command_id.clone());
                    hosts[k].status = HostStatus::Pending;
                }
                sent.command_id = Some(command_id.clone());
                active.push(Active {
                    command_id,
                    clients: c,
                    profile: send.profile.clone(),
                    region: send.region.clone(),
                    document: send.document,
                    hosts: indices,
                    degraded: false,
                    done: false,
                    errors_in_a_row: 0,
                });
            }
            Err(e) => {
                for &k in &indices {
                    hosts[k].status_details = e.to_string();
                }
                note(
                    events,
                    format!("not sent to {} host(s): {e}", send.hosts.len()),
                );
                sent.error = Some(e.to_string());
            }
        }
        emit(events, RunEvent::Sent(sent.clone()));
        sends.push(sent);
    }
    let run = Watch {
        plan,
        clients,
        options,
        events,
        started_at,
        attempts_before,
    };
    run.watch(control, notes, hosts, sends, active).await
}

/// Watches a command sent earlier (by `fleetdeck run`, the console, or anyone) as if this
/// process had sent it: the same polling, cancel, output completion and report. `plan` is the
/// command as [`super::history::plan_for`] rebuilt it (its one send names the profile, region and
/// document; its hosts may be empty when only AWS knows them — they are added as they appear).
pub async fn attach(
    plan: &Plan,
    command_id: &str,
    clients: &[Clients],
    options: &PollOptions,
    events: &mpsc::UnboundedSender<RunEvent>,
    control: mpsc::UnboundedReceiver<Control>,
) -> RunReport {
    let run = Watch {
        plan,
        clients,
        options,
        events,
        started_at: Utc::now(),
        attempts_before: total_attempts(clients),
    };
    let mut hosts = Vec::new();
    let mut sends = Vec::new();
    let mut active = Vec::new();
    let mut notes = Vec::new();
    for send in &plan.sends {
        let first = hosts.len();
        for h in &send.hosts {
            hosts.push(HostResult {
                instance_id: h.instance_id.clone(),
                name: h.name.clone(),
                profile: h.profile.clone(),
                region: h.region.clone(),
                document: Some(send.document),
                command_id: Some(command_id.to_owned()),
                status: HostStatus::Pending,
                ..HostResult::default()
            });
        }
        let sent = SentCommand {
            profile: send.profile.clone(),
            region: send.region.clone(),
            document: send.document,
            command_id: Some(command_id.to_owned()),
            error: None,
            instance_ids: send.hosts.iter().map(|h| h.instance_id.clone()).collect(),
            targets: match &send.targeting {
                Targeting::Tags(t) => t.clone(),
                Targeting::InstanceIds => Vec::new(),
            },
        };
        match find_clients(clients, send) {
            Some(c) => active.push(Active {
                command_id: command_id.to_owned(),
                clients: c.clone(),
                profile: send.profile.clone(),
                region: send.region.clone(),
                document: send.document,
                hosts: (first..hosts.len()).collect(),
                degraded: false,
                done: false,
                errors_in_a_row: 0,
            }),
            None => {
                let text = format!(
                    "cannot watch command {command_id}: no AWS clients for {}/{}",
                    send.profile, send.region
                );
                emit(events, RunEvent::Note(text.clone()));
                notes.push(text);
            }
        }
        emit(events, RunEvent::Sent(sent.clone()));
        sends.push(sent);
    }
    // No waiting before the first look: the command may have finished long ago.
    let options = PollOptions {
        initial: Duration::ZERO,
        ..*options
    };
    let run = Watch {
        options: &options,
        ..run
    };
    run.watch(control, notes, hosts, sends, active).await
}

/// What watching a run needs besides its hosts and commands.
struct Watch<'a> {
    plan: &'a Plan,
    clients: &'a [Clients],
    options: &'a PollOptions,
    events: &'a mpsc::UnboundedSender<RunEvent>,
    started_at: DateTime<Utc>,
    attempts_before: u64,
}

impl Watch<'_> {
    /// Polls until every command is done, cancels on request, completes capped output, and
    /// reports.
    async fn watch(
        self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut notes: Vec<String>,
        mut hosts: Vec<HostResult>,
        sends: Vec<SentCommand>,
        mut active: Vec<Active>,
    ) -> RunReport {
        let Watch {
            plan,
            clients,
            options,
            events,
            started_at,
            attempts_before,
        } = self;
        let mut note = |events: &mpsc::UnboundedSender<RunEvent>, text: String| {
            emit(events, RunEvent::Note(text.clone()));
            notes.push(text);
        };
        emit(events, RunEvent::Progress(Counts::of(&hosts)));

        let mut delay = options.initial;
        let mut polls = 0u64;
        let mut throttled_polls = 0u64;
        let mut control_open = true;
        let cloudwatch = plan.options.cloudwatch.is_some();
        while active.iter().any(|a| !a.done) {
            tokio::select! {
                ctl = control.recv(), if control_open => {
                    match ctl {
                        None => control_open = false,
                        Some(ctl) => {
                            if let Err(text) = cancel(&active, &hosts, &ctl).await {
                                note(events, text);
                            }
                            delay = options.initial;
                        }
                    }
                    continue;
                }
                _ = tokio::time::sleep(delay) => {}
            }
            let mut throttled = false;
            for a in active.iter_mut().filter(|a| !a.done) {
                polls += 1;
                let result = if a.degraded {
                    poll_per_host(a, &mut hosts, events).await
                } else {
                    poll_list(a, &mut hosts, events).await
                };
                match result {
                    Ok(()) => a.errors_in_a_row = 0,
                    Err(e) if e.is_throttled() => {
                        throttled = true;
                        throttled_polls += 1;
                    }
                    Err(e) if !a.degraded && unimplemented(&e) => {
                        a.degraded = true;
                        note(
                            events,
                            format!(
                                "ListCommandInvocations is not available at {} ({e}); reading each host with GetCommandInvocation instead",
                                a.clients.endpoint_for("ssm")
                            ),
                        );
                    }
                    Err(e) => {
                        a.errors_in_a_row += 1;
                        if a.errors_in_a_row >= options.max_errors_in_a_row {
                            for &k in &a.hosts {
                                if !hosts[k].status.is_terminal() {
                                    hosts[k].status = HostStatus::Unknown;
                                    hosts[k].status_details = e.to_string();
                                }
                            }
                            a.done = true;
                            note(
                                events,
                                format!("gave up watching command {}: {e}", a.command_id),
                            );
                        }
                    }
                }
                if a.hosts.iter().all(|&k| hosts[k].status.is_terminal()) {
                    a.done = true;
                }
            }
            emit(events, RunEvent::Progress(Counts::of(&hosts)));
            delay = if throttled {
                (delay * 2).min(options.throttle_max)
            } else {
                (delay.mul_f32(1.5)).min(options.max)
            };
        }
        if throttled_polls > 0 {
            note(
                events,
                format!("{throttled_polls} poll(s) were throttled by AWS; polling slowed down"),
            );
        }

        // Output past the plugin cap: GetCommandInvocation, then CloudWatch past its caps.
        let mut from_cloudwatch = 0usize;
        let mut still_truncated = 0usize;
        for a in &active {
            for &k in &a.hosts {
                if hosts[k].plugin_capped
                    && !a.degraded
                    && let Ok(got) =
                        get_invocation(&a.clients, &a.command_id, &hosts[k].instance_id).await
                {
                    hosts[k].stdout = got.stdout;
                    hosts[k].stderr = got.stderr;
                    hosts[k].output_source = Some(OutputSource::GetCommandInvocation);
                }
                let h = &hosts[k];
                let capped = h.output_source == Some(OutputSource::GetCommandInvocation)
                    && (char_len_at_least(&h.stdout, STDOUT_CAP)
                        || char_len_at_least(&h.stderr, STDERR_CAP));
                if !capped {
                    continue;
                }
                let document = h.document.unwrap_or(Document::Shell);
                let completed = match &plan.options.cloudwatch {
                    Some(cw) if cloudwatch => {
                        let group = cw.group_for(document);
                        let stream = |suffix: &str| {
                            format!(
                                "{}/{}/{}/{suffix}",
                                a.command_id,
                                h.instance_id,
                                document.plugin().replace(':', "-")
                            )
                        };
                        // Only the capped stream(s): the others are already complete.
                        let mut full = (None, None);
                        let mut complete = true;
                        if char_len_at_least(&h.stdout, STDOUT_CAP) {
                            match read_stream(&a.clients, &group, &stream("stdout")).await {
                                Ok(text) if char_len_at_least(&text, STDOUT_CAP) => {
                                    full.0 = Some(text)
                                }
                                _ => complete = false,
                            }
                        }
                        if char_len_at_least(&h.stderr, STDERR_CAP) {
                            match read_stream(&a.clients, &group, &stream("stderr")).await {
                                Ok(text) if char_len_at_least(&text, STDERR_CAP) => {
                                    full.1 = Some(text)
                                }
                                _ => complete = false,
                            }
                        }
                        complete.then_some(full)
                    }
                    _ => None,
                };
                let h = &mut hosts[k];
                match completed {
                    Some((out, err)) => {
                        if let Some(out) = out {
                            h.stdout = out;
                        }
                        if let Some(err) = err {
                            h.stderr = err;
                        }
                        h.output_source = Some(OutputSource::CloudWatch);
                        from_cloudwatch += 1;
                    }
                    None => {
                        h.truncated = true;
                        still_truncated += 1;
                    }
                }
            }
        }
        if from_cloudwatch > 0 {
            note(
                events,
                format!(
                    "output of {from_cloudwatch} host(s) was over AWS's API caps ({STDOUT_CAP} characters of stdout, {STDERR_CAP} of stderr) and was completed from CloudWatch Logs"
                ),
            );
        }
        if still_truncated > 0 {
            note(
                events,
                format!(
                    "output of {still_truncated} host(s) is truncated at AWS's caps ({STDOUT_CAP} characters of stdout, {STDERR_CAP} of stderr); run with CloudWatch output to get all of it"
                ),
            );
        }
        RunReport {
            run_id: uuid::Uuid::new_v4().to_string(),
            started_at,
            finished_at: Utc::now(),
            sends,
            hosts,
            skipped: plan.skipped.clone(),
            notes,
            api_calls: total_attempts(clients).saturating_sub(attempts_before),
            polls,
            throttled_polls,
        }
    }
}

/// An endpoint that does not implement the operation (moto answers 500 with an HTML page).
fn unimplemented(e: &AwsError) -> bool {
    match e {
        AwsError::Malformed { .. } => true,
        AwsError::Service { code, .. } => matches!(
            code.as_str(),
            "UnknownOperationException"
                | "InternalFailure"
                | "NotImplemented"
                | "InternalServerError"
        ),
        _ => false,
    }
}

fn update_host(
    hosts: &mut [HostResult],
    k: usize,
    status: HostStatus,
    details: &str,
    events: &mpsc::UnboundedSender<RunEvent>,
) {
    let h = &mut hosts[k];
    if h.status != status || h.status_details != details {
        h.status = status;
        h.status_details = details.to_string();
        emit(
            events,
            RunEvent::Host(HostUpdate {
                instance_id: h.instance_id.clone(),
                name: h.name.clone(),
                region: h.region.clone(),
                status,
                status_details: details.to_string(),
            }),
        );
    }
}

async fn poll_list(
    a: &mut Active,
    hosts: &mut Vec<HostResult>,
    events: &mpsc::UnboundedSender<RunEvent>,
) -> Result<(), AwsError> {
    let mut token: Option<String> = None;
    loop {
        let out = a
            .clients
            .ssm
            .list_command_invocations()
            .command_id(&a.command_id)
            .details(true)
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &a.clients.target,
                    "ssm:ListCommandInvocations",
                    a.clients.endpoint_for("ssm"),
                )
            })?;
        for inv in out.command_invocations() {
            let Some(id) = inv.instance_id() else {
                continue;
            };
            let k = match a
                .hosts
                .iter()
                .copied()
                .find(|&k| hosts[k].instance_id == id)
            {
                Some(k) => k,
                None => {
                    // A tag target matched a host the inventory did not show (or an
                    // attached command whose hosts only AWS knows).
                    hosts.push(HostResult {
                        instance_id: id.to_string(),
                        name: inv
                            .instance_name()
                            .filter(|n| !n.is_empty())
                            .map(String::from),
                        profile: a.profile.clone(),
                        region: a.region.clone(),
                        document: Some(a.document),
                        command_id: Some(a.command_id.clone()),
                        status: HostStatus::Pending,
                        ..HostResult::default()
                    });
                    a.hosts.push(hosts.len() - 1);
                    hosts.len() - 1
                }
            };
            let status = HostStatus::from_aws(
                inv.status().map(|s| s.as_str()).unwrap_or("Pending"),
                inv.status_details().unwrap_or_default(),
            );
            if status.is_terminal()
                && let Some(plugin) = inv.command_plugins().first()
            {
                let output = plugin.output().unwrap_or_default();
                let (stdout, stderr) = split_plugin_output(output);
                let h = &mut hosts[k];
                h.stdout = stdout;
                h.stderr = stderr;
                h.exit_code = exit_code_for(status, i64::from(plugin.response_code()));
                h.output_source = Some(OutputSource::InvocationList);
                h.plugin_capped = char_len_at_least(output, PLUGIN_OUTPUT_CAP);
            }
            update_host(
                hosts,
                k,
                status,
                inv.status_details().unwrap_or_default(),
                events,
            );
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(()),
        }
    }
}

struct Invocation {
    status: HostStatus,
    details: String,
    code: i64,
    stdout: String,
    stderr: String,
}

async fn get_invocation(
    clients: &Clients,
    command_id: &str,
    instance_id: &str,
) -> Result<Invocation, AwsError> {
    let out = clients
        .ssm
        .get_command_invocation()
        .command_id(command_id)
        .instance_id(instance_id)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                e,
                &clients.target,
                "ssm:GetCommandInvocation",
                clients.endpoint_for("ssm"),
            )
        })?;
    let details = out.status_details().unwrap_or_default().to_string();
    Ok(Invocation {
        status: HostStatus::from_aws(
            out.status().map(|s| s.as_str()).unwrap_or("Pending"),
            &details,
        ),
        details,
        code: i64::from(out.response_code()),
        stdout: out
            .standard_output_content()
            .unwrap_or_default()
            .to_string(),
        stderr: out.standard_error_content().unwrap_or_default().to_string(),
    })
}

/// Degraded watching: ListCommands for the command, GetCommandInvocation per unfinished host.
async fn poll_per_host(
    a: &mut Active,
    hosts: &mut [HostResult],
    events: &mpsc::UnboundedSender<RunEvent>,
) -> Result<(), AwsError> {
    let listed = a
        .clients
        .ssm
        .list_commands()
        .command_id(&a.command_id)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                e,
                &a.clients.target,
                "ssm:ListCommands",
                a.clients.endpoint_for("ssm"),
            )
        })?;
    let command_status = listed
        .commands()
        .first()
        .and_then(|c| c.status())
        .map(|s| s.as_str().to_string());
    tracing::debug!(command = %a.command_id, status = ?command_status, "ListCommands");
    for &k in &a.hosts {
        if hosts[k].status.is_terminal() {
            continue;
        }
        let id = hosts[k].instance_id.clone();
        match get_invocation(&a.clients, &a.command_id, &id).await {
            Ok(inv) => {
                if inv.status.is_terminal() {
                    let h = &mut hosts[k];
                    h.stdout = inv.stdout;
                    h.stderr = inv.stderr;
                    h.exit_code = exit_code_for(inv.status, inv.code);
                    h.output_source = Some(OutputSource::GetCommandInvocation);
                }
                update_host(hosts, k, inv.status, &inv.details, events);
            }
            // AWS answers this briefly after SendCommand: still pending.
            Err(AwsError::Service { code, .. }) if code == "InvocationDoesNotExist" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn cancel(active: &[Active], hosts: &[HostResult], ctl: &Control) -> Result<(), String> {
    let mut failures = Vec::new();
    match ctl {
        Control::CancelAll => {
            for a in active.iter().filter(|a| !a.done) {
                if let Err(e) = cancel_command(&a.clients, &a.command_id, None).await {
                    failures.push(e.to_string());
                }
            }
        }
        Control::CancelHost(id) => {
            let Some(a) = active
                .iter()
                .find(|a| a.hosts.iter().any(|&k| &hosts[k].instance_id == id))
            else {
                return Err(format!("cannot cancel {id}: it is not part of this run"));
            };
            if let Err(e) = cancel_command(&a.clients, &a.command_id, Some(id)).await {
                failures.push(e.to_string());
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("cancel failed: {}", failures.join("; ")))
    }
}

async fn cancel_command(
    clients: &Clients,
    command_id: &str,
    instance_id: Option<&str>,
) -> Result<(), AwsError> {
    let mut req = clients.ssm.cancel_command().command_id(command_id);
    if let Some(id) = instance_id {
        req = req.instance_ids(id);
    }
    req.send().await.map(|_| ()).map_err(|e| {
        AwsError::from_sdk(
            e,
            &clients.target,
            "ssm:CancelCommand",
            clients.endpoint_for("ssm"),
        )
    })
}

/// The whole text of a CloudWatch Logs stream: events concatenated in order.
async fn read_stream(clients: &Clients, group: &str, stream: &str) -> Result<String, AwsError> {
    let mut text = String::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let out = clients
            .logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &clients.target,
                    "logs:GetLogEvents",
                    clients.endpoint_for("logs"),
                )
            })?;
        for e in out.events() {
            text.push_str(e.message().unwrap_or_default());
        }
        let next = out.next_forward_token().map(str::to_string);
        if next.is_none() || next == token || out.events().is_empty() {
            break;
        }
        token = next;
    }
    Ok(text)
}

/// Convenience for callers without a front end: runs with no events and no control.
pub async fn execute_quietly(plan: &Plan, clients: &[Clients], options: &PollOptions) -> RunReport {
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    execute(plan, clients, options, &tx, ctl_rx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_take_the_specific_details() {
        assert_eq!(
            HostStatus::from_aws("Failed", "Undeliverable"),
            HostStatus::Undeliverable
        );
        assert_eq!(
            HostStatus::from_aws("TimedOut", "DeliveryTimedOut"),
            HostStatus::DeliveryTimedOut
        );
        assert_eq!(
            HostStatus::from_aws("TimedOut", "ExecutionTimedOut"),
            HostStatus::ExecutionTimedOut
        );
        assert_eq!(
            HostStatus::from_aws("InProgress", "InProgress"),
            HostStatus::InProgress
        );
        assert!(!HostStatus::Cancelling.is_terminal());
        assert!(HostStatus::Cancelled.is_terminal());
        assert!(!HostStatus::Cancelled.is_failure());
    }

    #[test]
    fn plugin_output_splits_at_the_error_marker() {
        let (o, e) = split_plugin_output("hi\n\n----------ERROR-------\noops\n");
        assert_eq!(o, "hi\n");
        assert_eq!(e, "oops\n");
        assert!(char_len_at_least(&"é".repeat(2500), 2500));
        assert!(!char_len_at_least(&"é".repeat(2499), 2500));
    }
}
