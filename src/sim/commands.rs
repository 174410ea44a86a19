//! Run Command: SendCommand, ListCommands, ListCommandInvocations, GetCommandInvocation and
//! CancelCommand over a command store, with scripts really executed per instance.
//!
//! Execution: one dispatcher task per command starts invocations in target order, never more
//! than MaxConcurrency at once, and stops starting new ones once the error count exceeds
//! MaxErrors (the rest become `Cancelled`). Linux scripts (`AWS-RunShellScript`) run with `sh -c`
//! in the instance's sandbox (see `sandbox.rs`), killed at `executionTimeout` (→ `TimedOut` /
//! `ExecutionTimedOut`, ResponseCode -1).
//!
//! Choices where AWS gives the simulator room (documented in docs/simulator.md terms):
//! - Explicit InstanceIds that SSM does not manage (unmanaged, stopped) are refused with
//!   `InvalidInstanceId`, as AWS refuses them. Tag targets only ever match managed nodes.
//! - A `ConnectionLost` agent never picks the command up: the invocation stays `Pending` until the
//!   delivery timeout, then ends `TimedOut` / `DeliveryTimedOut`. The simulator compresses that
//!   wait to at most [`DELIVERY_WAIT_CAP`] so tests and demos do not wait TimeoutSeconds.
//! - An `Inactive` agent ends `Failed` / `Undeliverable` at once (not counted against MaxErrors).
//! - Windows instances never run PowerShell here. `AWS-RunPowerShellScript` is simulated for
//!   `hostname`, `echo X` / `Write-Output X`, `$env:COMPUTERNAME` and `sleep` (skipped) lines; any
//!   other line fails the invocation with a message saying the simulator does not run PowerShell.
//!   `AWS-RunShellScript` on Windows (or PowerShell on Linux) fails as an unsupported platform.
//! - CloudWatch output streams are `<CommandId>/<InstanceId>/<plugin>/stdout|stderr` where the
//!   plugin is `aws-runShellScript` (log stream names cannot contain ':'); events are chunks of
//!   the stream whose concatenation in order is the full, uncapped output.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::api::{ApiError, JsonInput, glob_match};
use super::fleet::{PingStatus, SimInstance};
use super::pagination;
use super::sandbox;
use super::state::SimState;

pub(crate) const OPERATIONS: [&str; 5] = [
    "SendCommand",
    "ListCommands",
    "ListCommandInvocations",
    "GetCommandInvocation",
    "CancelCommand",
];

const STDOUT_CAP: usize = 24_000;
const STDERR_CAP: usize = 8_000;
const PLUGIN_OUTPUT_CAP: usize = 2_500;
/// What a script may print before the simulator stops keeping more (memory guard).
const KEEP_CAP: usize = 8 * 1024 * 1024;
/// The longest a ConnectionLost delivery is left pending before it times out (see module docs).
pub(crate) const DELIVERY_WAIT_CAP: Duration = Duration::from_secs(3);
const ERROR_MARKER: &str = "\n----------ERROR-------\n";

pub(crate) fn is_command_operation(op: &str) -> bool {
    OPERATIONS.contains(&op)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rate {
    Count(u64),
    Percent(u64),
}

impl Rate {
    fn parse(text: &str, member: &str, min: u64) -> Result<Rate, ApiError> {
        let bad = || {
            ApiError::validation(
                &format!("'{text}'"),
                member,
                "Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$",
            )
        };
        let r = match text.strip_suffix('%') {
            Some(p) => {
                let n: u64 = p.parse().map_err(|_| bad())?;
                if !(1..=100).contains(&n) {
                    return Err(bad());
                }
                Rate::Percent(n)
            }
            None => {
                let n: u64 = text.parse().map_err(|_| bad())?;
                if n < min {
                    return Err(bad());
                }
                Rate::Count(n)
            }
        };
        Ok(r)
    }

    /// The absolute number for `targets` targets (percentages round up, as AWS does).
    fn of(&self, targets: usize) -> usize {
        match self {
            Rate::Count(n) => usize::try_from(*n).unwrap_or(usize::MAX),
            Rate::Percent(p) => (targets * usize::try_from(*p).unwrap_or(100)).div_ceil(100),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub instance_id: String,
    pub instance_name: String,
    pub status: &'static str,
    pub status_details: &'static str,
    pub response_code: i64,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub stdout: String,
    pub stderr: String,
    cancel: CancellationToken,
}

impl Invocation {
    fn is_terminal(&self) -> bool {
        matches!(self.status, "Success" | "Failed" | "TimedOut" | "Cancelled")
    }

    /// Counts against MaxErrors and in ErrorCount: Failed (not Undeliverable) and timeouts.
    fn is_error(&self) -> bool {
        (self.status == "Failed" && self.status_details != "Undeliverable")
            || self.status == "TimedOut"
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CommandRecord {
    pub region: String,
    pub command_id: String,
    pub document_name: String,
    pub commands: Vec<String>,
    pub execution_timeout: u64,
    pub comment: String,
    pub requested: DateTime<Utc>,
    pub timeout_seconds: u64,
    pub instance_ids: Vec<String>,
    pub targets: Value,
    pub max_concurrency: String,
    pub max_errors: String,
    pub cloudwatch: Option<String>,
    pub status: &'static str,
    pub status_details: &'static str,
    pub invocations: Vec<Invocation>,
    cancel: CancellationToken,
}

impl CommandRecord {
    fn plugin_name(&self) -> &'static str {
        if self.document_name == "AWS-RunPowerShellScript" {
            "aws:runPowerShellScript"
        } else {
            "aws:runShellScript"
        }
    }

    fn counts(&self) -> (usize, usize, usize) {
        let completed = self.invocations.iter().filter(|i| i.is_terminal()).count();
        let errors = self
            .invocations
            .iter()
            .filter(|i| i.is_error() && i.status_details != "DeliveryTimedOut")
            .count();
        let delivery = self
            .invocations
            .iter()
            .filter(|i| i.status_details == "DeliveryTimedOut")
            .count();
        (completed, errors, delivery)
    }

    fn to_json(&self) -> Value {
        let (completed, errors, delivery) = self.counts();
        let mut params = json!({ "commands": self.commands });
        params["executionTimeout"] = json!([self.execution_timeout.to_string()]);
        let mut v = json!({
            "CommandId": self.command_id,
            "DocumentName": self.document_name,
            "DocumentVersion": "$DEFAULT",
            "Comment": self.comment,
            "ExpiresAfter": epoch_seconds(self.requested + chrono::Duration::seconds(i64::try_from(self.timeout_seconds).unwrap_or(3600) + i64::try_from(self.execution_timeout).unwrap_or(3600))),
            "Parameters": params,
            "InstanceIds": self.instance_ids,
            "Targets": self.targets,
            "RequestedDateTime": epoch_seconds(self.requested),
            "Status": self.status,
            "StatusDetails": self.status_details,
            "MaxConcurrency": self.max_concurrency,
            "MaxErrors": self.max_errors,
            "TargetCount": self.invocations.len(),
            "CompletedCount": completed,
            "ErrorCount": errors,
            "DeliveryTimedOutCount": delivery,
            "TimeoutSeconds": self.timeout_seconds,
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
            "ServiceRole": "",
        });
        v["CloudWatchOutputConfig"] = match &self.cloudwatch {
            Some(group) => {
                json!({"CloudWatchLogGroupName": group, "CloudWatchOutputEnabled": true})
            }
            None => json!({"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false}),
        };
        v
    }
}

/// The Run Command half of the simulator's mutable state.
#[derive(Debug, Default)]
pub(crate) struct CommandStore {
    pub commands: Vec<CommandRecord>,
}

impl CommandStore {
    fn find(&self, region: &str, id: &str) -> Option<&CommandRecord> {
        self.commands
            .iter()
            .find(|c| c.region == region && c.command_id == id)
    }

    fn find_mut(&mut self, region: &str, id: &str) -> Option<&mut CommandRecord> {
        self.commands
            .iter_mut()
            .find(|c| c.region == region && c.command_id == id)
    }
}

fn epoch_seconds(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn validation_null(member: &str) -> ApiError {
    ApiError::validation("null", member, "Member must not be null")
}

pub(crate) fn handle(
    state: &Arc<SimState>,
    region: &str,
    operation: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    match operation {
        "SendCommand" => send_command(state, region, input),
        "ListCommands" => list_commands(state, region, input),
        "ListCommandInvocations" => list_invocations(state, region, input),
        "GetCommandInvocation" => get_invocation(state, region, input),
        "CancelCommand" => cancel_command(state, region, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("AmazonSSM.{other} is not an operation the simulator answers"),
        )),
    }
}

/// Which fleet instances a `Targets` list selects: managed nodes in the region matching every
/// target (keys AND, values OR).
fn resolve_targets<'a>(
    fleet: &'a [SimInstance],
    region: &str,
    targets: &[JsonInput],
) -> Result<Vec<&'a SimInstance>, ApiError> {
    let mut parsed: Vec<(String, Vec<String>)> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let at = |m: &str| format!("targets.{}.member.{m}", i + 1);
        let key = t.str("Key")?.ok_or_else(|| validation_null(&at("key")))?;
        let values: Vec<String> = t
            .strings("Values")?
            .ok_or_else(|| validation_null(&at("values")))?
            .into_iter()
            .map(String::from)
            .collect();
        if values.len() > 50 {
            return Err(ApiError::validation(
                "'[...]'",
                &at("values"),
                "Member must have length less than or equal to 50",
            ));
        }
        let ok_key = key == "InstanceIds"
            || key == "tag-key"
            || key == "resource-groups:Name"
            || (key.starts_with("tag:") && key.len() > 4);
        if !ok_key {
            return Err(ApiError::client(
                "InvalidTarget",
                format!("Target key '{key}' is not valid: use InstanceIds, tag:<key> or tag-key."),
            ));
        }
        parsed.push((key.to_string(), values));
    }
    Ok(fleet
        .iter()
        .filter(|inst| inst.region == region && inst.ssm.is_some())
        .filter(|inst| {
            parsed.iter().all(|(key, values)| match key.as_str() {
                "InstanceIds" => values.iter().any(|v| v == &inst.id),
                "tag-key" => inst
                    .tags
                    .iter()
                    .any(|(k, _)| values.iter().any(|p| glob_match(p, k))),
                // The simulator has no resource groups.
                "resource-groups:Name" => false,
                tag => inst
                    .tag(&tag[4..])
                    .is_some_and(|have| values.iter().any(|p| glob_match(p, have))),
            })
        })
        .collect())
}

fn send_command(state: &Arc<SimState>, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let document = input
        .str("DocumentName")?
        .ok_or_else(|| validation_null("documentName"))?;
    if !matches!(document, "AWS-RunShellScript" | "AWS-RunPowerShellScript") {
        return Err(ApiError::client(
            "InvalidDocument",
            format!(
                "Document {document} does not exist in your account (the simulator knows AWS-RunShellScript and AWS-RunPowerShellScript)."
            ),
        ));
    }
    let (commands, execution_timeout) = parse_parameters(input)?;
    let instance_ids: Vec<String> = input
        .strings("InstanceIds")?
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect();
    let targets = input.objects("Targets")?.unwrap_or_default();
    if instance_ids.len() > 50 {
        return Err(ApiError::validation(
            "'[...]'",
            "instanceIds",
            "Member must have length less than or equal to 50",
        ));
    }
    if targets.len() > 5 {
        return Err(ApiError::validation(
            "'[...]'",
            "targets",
            "Member must have length less than or equal to 5",
        ));
    }
    if instance_ids.is_empty() == targets.is_empty() {
        return Err(ApiError::client(
            "ValidationException",
            "Exactly one of InstanceIds or Targets must be given.",
        ));
    }
    let timeout_seconds = match input.i64("TimeoutSeconds")? {
        None => 3600,
        Some(t) if (30..=2_592_000).contains(&t) => u64::try_from(t).unwrap_or(3600),
        Some(t) => return Err(ApiError::out_of_range("timeoutSeconds", t, 30, 2_592_000)),
    };
    let comment = input.str("Comment")?.unwrap_or_default().to_string();
    if comment.chars().count() > 100 {
        return Err(ApiError::validation(
            "'...'",
            "comment",
            "Member must have length less than or equal to 100",
        ));
    }
    let max_concurrency_text = input.str("MaxConcurrency")?.unwrap_or("50").to_string();
    let max_errors_text = input.str("MaxErrors")?.unwrap_or("0").to_string();
    let max_concurrency = Rate::parse(&max_concurrency_text, "maxConcurrency", 1)?;
    let max_errors = Rate::parse(&max_errors_text, "maxErrors", 0)?;
    let cloudwatch = cloudwatch_config(input, document)?;

    // Targets resolve now; explicit ids must all be managed nodes of this region.
    let mut seen = std::collections::HashSet::new();
    let selected: Vec<&SimInstance> = if !instance_ids.is_empty() {
        let mut out = Vec::new();
        let mut invalid = Vec::new();
        for id in &instance_ids {
            if !seen.insert(id.clone()) {
                return Err(ApiError::client(
                    "DuplicateInstanceId",
                    format!("Instance id {id} is listed more than once."),
                ));
            }
            match state
                .fleet
                .iter()
                .find(|i| &i.id == id && i.region == region && i.ssm.is_some())
            {
                Some(inst) => out.push(inst),
                None => invalid.push(id.clone()),
            }
        }
        if !invalid.is_empty() {
            return Err(ApiError::client(
                "InvalidInstanceId",
                format!(
                    "Instances [[{}]] not in a valid state for account {} in {region}: not registered with SSM, not running, or not in this region.",
                    invalid.join(", "),
                    super::fleet::ACCOUNT_ID
                ),
            ));
        }
        out
    } else {
        resolve_targets(&state.fleet, region, &targets)?
    };

    let now = Utc::now();
    let command_id = uuid::Uuid::new_v4().to_string();
    let cancel = CancellationToken::new();
    let invocations: Vec<Invocation> = selected
        .iter()
        .map(|inst| Invocation {
            instance_id: inst.id.clone(),
            instance_name: inst.name.clone(),
            status: "Pending",
            status_details: "Pending",
            response_code: -1,
            start: None,
            end: None,
            stdout: String::new(),
            stderr: String::new(),
            cancel: cancel.child_token(),
        })
        .collect();
    let targets_json: Value = input
        .array("Targets")?
        .cloned()
        .map(Value::Array)
        .unwrap_or_else(|| json!([]));
    let record = CommandRecord {
        region: region.to_string(),
        command_id: command_id.clone(),
        document_name: document.to_string(),
        commands,
        execution_timeout,
        comment,
        requested: now,
        timeout_seconds,
        instance_ids,
        targets: targets_json,
        max_concurrency: max_concurrency_text,
        max_errors: max_errors_text,
        cloudwatch,
        status: if invocations.is_empty() {
            "Success"
        } else {
            "Pending"
        },
        status_details: if invocations.is_empty() {
            "NoInstancesInTag"
        } else {
            "Pending"
        },
        invocations,
        cancel,
    };
    let reply = json!({ "Command": record.to_json() });
    let target_count = record.invocations.len();
    state.lock().commands.commands.push(record);
    if target_count > 0 {
        let limits = (
            max_concurrency.of(target_count).max(1),
            max_errors.of(target_count),
        );
        tokio::spawn(dispatch(
            state.clone(),
            region.to_string(),
            command_id,
            limits,
        ));
    }
    Ok(reply)
}

fn parse_parameters(input: &JsonInput) -> Result<(Vec<String>, u64), ApiError> {
    let Some(params) = input.object("Parameters")? else {
        return Err(ApiError::client(
            "InvalidParameters",
            "Parameters: 'commands' is required by this document.",
        ));
    };
    let commands: Vec<String> = params
        .strings("commands")?
        .ok_or_else(|| {
            ApiError::client(
                "InvalidParameters",
                "Parameters: 'commands' is required by this document.",
            )
        })?
        .into_iter()
        .map(String::from)
        .collect();
    if commands.is_empty() {
        return Err(ApiError::client(
            "InvalidParameters",
            "Parameters: 'commands' must not be empty.",
        ));
    }
    let execution_timeout = match params.strings("executionTimeout")? {
        None => 3600,
        Some(v) => {
            let text = v.first().copied().unwrap_or("3600");
            match text.parse::<u64>() {
                Ok(n) if (1..=172_800).contains(&n) => n,
                _ => {
                    return Err(ApiError::client(
                        "InvalidParameters",
                        format!(
                            "Parameters: executionTimeout '{text}' must be a number of seconds between 1 and 172800."
                        ),
                    ));
                }
            }
        }
    };
    Ok((commands, execution_timeout))
}

fn cloudwatch_config(input: &JsonInput, document: &str) -> Result<Option<String>, ApiError> {
    let Some(cw) = input.object("CloudWatchOutputConfig")? else {
        return Ok(None);
    };
    if cw.bool("CloudWatchOutputEnabled")? != Some(true) {
        return Ok(None);
    }
    let group = cw
        .str("CloudWatchLogGroupName")?
        .filter(|g| !g.is_empty())
        .map(String::from)
        .unwrap_or_else(|| format!("/aws/ssm/{document}"));
    Ok(Some(group))
}

/// Runs a command's invocations: at most `max_concurrency` at once; once more than `max_errors`
/// have failed, the ones not started become Cancelled.
async fn dispatch(
    state: Arc<SimState>,
    region: String,
    command_id: String,
    (max_concurrency, max_errors): (usize, usize),
) {
    let sandbox_root = state.sandbox_root.clone();
    let slots = Arc::new(Semaphore::new(max_concurrency));
    let mut running = tokio::task::JoinSet::new();
    let count = {
        let mut inner = state.lock();
        let Some(cmd) = inner.commands.find_mut(&region, &command_id) else {
            return;
        };
        cmd.status = "InProgress";
        cmd.status_details = "InProgress";
        cmd.invocations.len()
    };
    for index in 0..count {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let job = {
            let mut inner = state.lock();
            let Some(cmd) = inner.commands.find_mut(&region, &command_id) else {
                return;
            };
            let errors = cmd.invocations.iter().filter(|i| i.is_error()).count();
            let stop_all = cmd.cancel.is_cancelled();
            let exceeded = errors > max_errors;
            let waited = Utc::now() - cmd.requested;
            let delivery_expired =
                waited.num_seconds() >= i64::try_from(cmd.timeout_seconds).unwrap_or(i64::MAX);
            let document = cmd.document_name.clone();
            let script = cmd.commands.join("\n");
            let timeout = cmd.execution_timeout;
            let cloudwatch = cmd.cloudwatch.clone();
            let plugin = cmd.plugin_name();
            let inv = &mut cmd.invocations[index];
            if inv.is_terminal() {
                continue;
            }
            if stop_all || exceeded || inv.cancel.is_cancelled() {
                inv.status = "Cancelled";
                inv.status_details = "Cancelled";
                inv.end = Some(Utc::now());
                continue;
            }
            if delivery_expired {
                inv.status = "TimedOut";
                inv.status_details = "DeliveryTimedOut";
                inv.end = Some(Utc::now());
                continue;
            }
            Job {
                index,
                document,
                script,
                execution_timeout: Duration::from_secs(timeout),
                delivery_timeout: Duration::from_secs(cmd.timeout_seconds),
                cancel: inv.cancel.clone(),
                instance_id: inv.instance_id.clone(),
                cloudwatch,
                plugin,
            }
        };
        let state = state.clone();
        let region = region.clone();
        let command_id = command_id.clone();
        let root = sandbox_root.clone();
        running.spawn(async move {
            run_invocation(&state, &region, &command_id, job, &root).await;
            drop(permit);
        });
    }
    while running.join_next().await.is_some() {}
    let mut inner = state.lock();
    if let Some(cmd) = inner.commands.find_mut(&region, &command_id) {
        let all = |s: &str| cmd.invocations.iter().all(|i| i.status == s);
        let any = |s: &str| cmd.invocations.iter().any(|i| i.status == s);
        let (status, details) = if all("Success") {
            ("Success", "Success")
        } else if cmd.cancel.is_cancelled() {
            ("Cancelled", "Cancelled")
        } else if any("Failed") || any("Cancelled") {
            ("Failed", "Failed")
        } else if any("TimedOut") {
            ("TimedOut", "TimedOut")
        } else {
            ("Success", "Success")
        };
        cmd.status = status;
        cmd.status_details = details;
    }
}

struct Job {
    index: usize,
    document: String,
    script: String,
    execution_timeout: Duration,
    delivery_timeout: Duration,
    cancel: CancellationToken,
    instance_id: String,
    cloudwatch: Option<String>,
    plugin: &'static str,
}

struct Outcome {
    status: &'static str,
    details: &'static str,
    code: i64,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn new(status: &'static str, details: &'static str, code: i64) -> Outcome {
        Outcome {
            status,
            details,
            code,
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

async fn run_invocation(
    state: &Arc<SimState>,
    region: &str,
    command_id: &str,
    job: Job,
    root: &std::path::Path,
) {
    let Some(instance) = state.fleet.iter().find(|i| i.id == job.instance_id) else {
        return;
    };
    let ping = instance.ssm.as_ref().map(|s| s.ping_status);
    let start = Utc::now();
    let outcome = match ping {
        Some(PingStatus::Inactive) | None => {
            let mut o = Outcome::new("Failed", "Undeliverable", -1);
            o.stderr = "The command could not be delivered: the SSM agent is Inactive.".into();
            o
        }
        Some(PingStatus::ConnectionLost) => {
            // Stays Pending: the agent never fetches the message.
            let wait = job.delivery_timeout.min(DELIVERY_WAIT_CAP);
            tokio::select! {
                _ = job.cancel.cancelled() => Outcome::new("Cancelled", "Cancelled", -1),
                _ = tokio::time::sleep(wait) => Outcome::new("TimedOut", "DeliveryTimedOut", -1),
            }
        }
        Some(PingStatus::Online) => {
            set_in_progress(state, region, command_id, job.index, start);
            let windows = instance.platform.is_windows();
            match (job.document.as_str(), windows) {
                ("AWS-RunShellScript", false) => {
                    // Directory and shim creation are blocking file work: off the runtime.
                    let prepared = {
                        let (root, instance) = (root.to_path_buf(), instance.clone());
                        tokio::task::spawn_blocking(move || sandbox::prepare(&root, &instance))
                            .await
                            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
                    };
                    match prepared {
                        Ok(sb) => run_shell(&job, &sb).await,
                        Err(e) => {
                            let mut o = Outcome::new("Failed", "Failed", 1);
                            o.stderr = format!("simulator: cannot prepare the sandbox: {e}");
                            o
                        }
                    }
                }
                ("AWS-RunPowerShellScript", true) => simulate_powershell(&job.script, instance),
                (_, windows) => {
                    let mut o = Outcome::new("Failed", "Failed", 1);
                    o.stderr = format!(
                        "Step execution skipped due to unsupported platform: {} does not run on {}.",
                        job.plugin,
                        if windows { "Windows" } else { "Linux" }
                    );
                    o
                }
            }
        }
    };
    let end = Utc::now();
    if let Some(group) = &job.cloudwatch {
        let plugin_stream = job.plugin.replace(':', "-");
        let now = end.timestamp_millis();
        for (suffix, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
            if text.is_empty() {
                continue;
            }
            let events: Vec<(i64, String)> = chunks(text, 200_000)
                .into_iter()
                .map(|c| (now, c.to_string()))
                .collect();
            let stream = format!("{command_id}/{}/{plugin_stream}/{suffix}", job.instance_id);
            state
                .lock()
                .logs
                .append(region, group, &stream, &events, now);
        }
    }
    let mut inner = state.lock();
    if let Some(cmd) = inner.commands.find_mut(region, command_id) {
        let inv = &mut cmd.invocations[job.index];
        inv.status = outcome.status;
        inv.status_details = outcome.details;
        inv.response_code = outcome.code;
        inv.start.get_or_insert(start);
        inv.end = Some(end);
        inv.stdout = outcome.stdout;
        inv.stderr = outcome.stderr;
    }
}

fn set_in_progress(
    state: &SimState,
    region: &str,
    command_id: &str,
    index: usize,
    at: DateTime<Utc>,
) {
    let mut inner = state.lock();
    if let Some(cmd) = inner.commands.find_mut(region, command_id) {
        let inv = &mut cmd.invocations[index];
        inv.status = "InProgress";
        inv.status_details = "InProgress";
        inv.start = Some(at);
    }
}

/// Splits on char boundaries into pieces of at most `max` bytes.
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(max);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

async fn read_capped(mut r: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = KEEP_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

async fn run_shell(job: &Job, sb: &sandbox::InstanceSandbox) -> Outcome {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(&job.script)
        .current_dir(&sb.home)
        .envs(sb.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let mut o = Outcome::new("Failed", "Failed", 1);
            o.stderr = format!("simulator: cannot start sh: {e}");
            return o;
        }
    };
    let pid = child.id();
    let out = tokio::spawn(read_capped(child.stdout.take().expect("stdout is piped")));
    let err = tokio::spawn(read_capped(child.stderr.take().expect("stderr is piped")));
    enum End {
        Exited(Option<i32>),
        TimedOut,
        Cancelled,
    }
    let end = tokio::select! {
        status = child.wait() => End::Exited(status.ok().and_then(|s| s.code())),
        _ = tokio::time::sleep(job.execution_timeout) => End::TimedOut,
        _ = job.cancel.cancelled() => End::Cancelled,
    };
    if !matches!(end, End::Exited(_)) {
        kill_group(pid).await;
        let _ = child.kill().await;
    }
    let stdout = String::from_utf8_lossy(&out.await.unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err.await.unwrap_or_default()).into_owned();
    let mut o = match end {
        End::Exited(Some(0)) => Outcome::new("Success", "Success", 0),
        End::Exited(code) => Outcome::new("Failed", "Failed", i64::from(code.unwrap_or(-1))),
        End::TimedOut => Outcome::new("TimedOut", "ExecutionTimedOut", -1),
        End::Cancelled => Outcome::new("Cancelled", "Cancelled", -1),
    };
    o.stdout = stdout;
    o.stderr = stderr;
    if matches!(end, End::TimedOut) {
        o.stderr
            .push_str("\nfailed to run commands: exit status -1 (execution timed out)\n");
    }
    o
}

/// Kills the script's whole process group (a `sleep` child would otherwise hold the pipes open).
async fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// A plausible answer for the few PowerShell lines people use to check hosts; see module docs.
fn simulate_powershell(script: &str, instance: &SimInstance) -> Outcome {
    let mut stdout = String::new();
    for line in script
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let lower = line.to_ascii_lowercase();
        let echo = ["write-output ", "echo ", "write-host "]
            .iter()
            .find_map(|p| lower.starts_with(p).then(|| &line[p.len()..]));
        if lower.starts_with("sleep ") || lower.starts_with("start-sleep ") {
            // Accepted and skipped: the simulated host answers at once.
            continue;
        }
        if lower == "hostname" || lower == "$env:computername" {
            let name = instance
                .ssm
                .as_ref()
                .map(|s| s.computer_name.as_str())
                .unwrap_or(&instance.name);
            stdout.push_str(name);
            stdout.push_str("\r\n");
        } else if let Some(text) = echo {
            stdout.push_str(text.trim_matches(|c| c == '"' || c == '\''));
            stdout.push_str("\r\n");
        } else {
            let mut o = Outcome::new("Failed", "Failed", 1);
            o.stdout = stdout;
            o.stderr = format!(
                "The fleetdeck simulator does not run PowerShell; it only answers hostname, \
                 $env:COMPUTERNAME and echo/Write-Output lines. Unsupported line: {line}\r\n"
            );
            return o;
        }
    }
    let mut o = Outcome::new("Success", "Success", 0);
    o.stdout = stdout;
    o
}

fn limit(input: &JsonInput) -> Result<usize, ApiError> {
    let n = input.i64("MaxResults")?.unwrap_or(50);
    if !(1..=50).contains(&n) {
        return Err(ApiError::out_of_range("maxResults", n, 1, 50));
    }
    Ok(usize::try_from(n).unwrap_or(50))
}

fn start_offset(input: &JsonInput, scope: &str) -> Result<usize, ApiError> {
    match input.str("NextToken")? {
        None => Ok(0),
        Some(token) => pagination::decode(scope, token).ok_or_else(|| {
            ApiError::client("InvalidNextToken", "The specified token isn't valid.")
        }),
    }
}

type CommandCheck = Box<dyn Fn(&CommandRecord) -> bool>;

fn command_filters(input: &JsonInput) -> Result<Vec<CommandCheck>, ApiError> {
    let filters = input.objects("Filters")?.unwrap_or_default();
    if filters.len() > 5 {
        return Err(ApiError::validation(
            "'[...]'",
            "filters",
            "Member must have length less than or equal to 5",
        ));
    }
    let mut checks: Vec<CommandCheck> = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        let at = |m: &str| format!("filters.{}.member.{m}", i + 1);
        let key = f.str("key")?.ok_or_else(|| validation_null(&at("key")))?;
        let value = f
            .str("value")?
            .ok_or_else(|| validation_null(&at("value")))?
            .to_string();
        let time = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::client(
                        "InvalidFilterValue",
                        format!("The value '{v}' of filter '{key}' is not an ISO-8601 date-time."),
                    )
                })
        };
        let check: CommandCheck = match key {
            "InvokedAfter" => {
                let t = time(&value)?;
                Box::new(move |c| c.requested >= t)
            }
            "InvokedBefore" => {
                let t = time(&value)?;
                Box::new(move |c| c.requested <= t)
            }
            "Status" => Box::new(move |c| c.status == value),
            "DocumentName" => Box::new(move |c| c.document_name == value),
            "ExecutionStage" => Box::new(move |c| {
                let executing = matches!(c.status, "Pending" | "InProgress" | "Cancelling");
                (value == "Executing") == executing
            }),
            other => {
                return Err(ApiError::client(
                    "InvalidFilterKey",
                    format!("The filter key '{other}' is not valid."),
                ));
            }
        };
        checks.push(check);
    }
    Ok(checks)
}

fn unknown_command(id: &str) -> ApiError {
    ApiError::client(
        "InvalidCommandId",
        format!("Command id {id} does not exist in this region."),
    )
}

fn list_commands(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let limit = limit(input)?;
    let checks = command_filters(input)?;
    let command_id = input.str("CommandId")?;
    let instance_id = input.str("InstanceId")?;
    let inner = state.lock();
    if let Some(id) = command_id
        && inner.commands.find(region, id).is_none()
    {
        return Err(unknown_command(id));
    }
    let mut matching: Vec<&CommandRecord> = inner
        .commands
        .commands
        .iter()
        .filter(|c| c.region == region)
        .filter(|c| command_id.is_none_or(|id| c.command_id == id))
        .filter(|c| instance_id.is_none_or(|id| c.invocations.iter().any(|i| i.instance_id == id)))
        .filter(|c| checks.iter().all(|f| f(c)))
        .collect();
    matching.reverse();
    let scope = format!("ssm:ListCommands:{region}");
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&matching, start, limit, &scope);
    let mut out = json!({ "Commands": page.iter().map(|c| c.to_json()).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

fn plugin_output(inv: &Invocation) -> String {
    let mut text = inv.stdout.clone();
    if !inv.stderr.is_empty() {
        text.push_str(ERROR_MARKER);
        text.push_str(&inv.stderr);
    }
    first_chars(&text, PLUGIN_OUTPUT_CAP).to_string()
}

fn invocation_json(cmd: &CommandRecord, inv: &Invocation, details: bool) -> Value {
    let mut v = json!({
        "CommandId": cmd.command_id,
        "InstanceId": inv.instance_id,
        "InstanceName": inv.instance_name,
        "Comment": cmd.comment,
        "DocumentName": cmd.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": epoch_seconds(cmd.requested),
        "Status": inv.status,
        "StatusDetails": inv.status_details,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "ServiceRole": "",
        "CommandPlugins": [],
    });
    if let Some(group) = &cmd.cloudwatch {
        v["CloudWatchOutputConfig"] =
            json!({"CloudWatchLogGroupName": group, "CloudWatchOutputEnabled": true});
    }
    if details {
        let mut plugin = json!({
            "Name": cmd.plugin_name(),
            "Status": if inv.status == "Cancelling" { "InProgress" } else { inv.status },
            "StatusDetails": inv.status_details,
            "ResponseCode": inv.response_code,
            "Output": plugin_output(inv),
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "OutputS3Region": cmd.region,
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
        });
        if let Some(t) = inv.start {
            plugin["ResponseStartDateTime"] = epoch_seconds(t);
        }
        if let Some(t) = inv.end {
            plugin["ResponseFinishDateTime"] = epoch_seconds(t);
        }
        v["CommandPlugins"] = json!([plugin]);
    }
    v
}

fn list_invocations(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let limit = limit(input)?;
    let details = input.bool("Details")?.unwrap_or(false);
    let command_id = input.str("CommandId")?;
    let instance_id = input.str("InstanceId")?;
    let checks = command_filters(input)?;
    let inner = state.lock();
    if let Some(id) = command_id
        && inner.commands.find(region, id).is_none()
    {
        return Err(unknown_command(id));
    }
    let mut matching: Vec<(&CommandRecord, &Invocation)> = Vec::new();
    for cmd in inner.commands.commands.iter().rev() {
        if cmd.region != region
            || command_id.is_some_and(|id| cmd.command_id != id)
            || !checks.iter().all(|f| f(cmd))
        {
            continue;
        }
        for inv in &cmd.invocations {
            if instance_id.is_none_or(|id| inv.instance_id == id) {
                matching.push((cmd, inv));
            }
        }
    }
    let scope = format!(
        "ssm:ListCommandInvocations:{region}:{}",
        command_id.unwrap_or("*")
    );
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&matching, start, limit, &scope);
    let mut out = json!({
        "CommandInvocations": page.iter().map(|(c, i)| invocation_json(c, i, details)).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

fn elapsed(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let ms = (end - start).num_milliseconds().max(0);
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

fn get_invocation(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let command_id = input
        .str("CommandId")?
        .ok_or_else(|| validation_null("commandId"))?;
    let instance_id = input
        .str("InstanceId")?
        .ok_or_else(|| validation_null("instanceId"))?;
    let inner = state.lock();
    let found = inner.commands.find(region, command_id).and_then(|c| {
        c.invocations
            .iter()
            .find(|i| i.instance_id == instance_id)
            .map(|i| (c, i))
    });
    let Some((cmd, inv)) = found else {
        return Err(ApiError::client(
            "InvocationDoesNotExist",
            "An invocation of this command does not exist for this instance.",
        ));
    };
    if let Some(plugin) = input.str("PluginName")?
        && plugin != cmd.plugin_name()
    {
        return Err(ApiError::client(
            "InvalidPluginName",
            format!(
                "The plugin name {plugin} is not valid for {}.",
                cmd.document_name
            ),
        ));
    }
    let mut v = json!({
        "CommandId": cmd.command_id,
        "InstanceId": inv.instance_id,
        "Comment": cmd.comment,
        "DocumentName": cmd.document_name,
        "DocumentVersion": "$DEFAULT",
        "PluginName": cmd.plugin_name(),
        "ResponseCode": inv.response_code,
        "Status": inv.status,
        "StatusDetails": inv.status_details,
        "StandardOutputContent": first_chars(&inv.stdout, STDOUT_CAP),
        "StandardOutputUrl": "",
        "StandardErrorContent": first_chars(&inv.stderr, STDERR_CAP),
        "StandardErrorUrl": "",
        "ExecutionStartDateTime": inv.start.map(iso).unwrap_or_default(),
        "ExecutionEndDateTime": inv.end.map(iso).unwrap_or_default(),
        "ExecutionElapsedTime": match (inv.start, inv.end) {
            (Some(s), Some(e)) => elapsed(s, e),
            _ => String::new(),
        },
    });
    v["CloudWatchOutputConfig"] = match &cmd.cloudwatch {
        Some(group) => json!({"CloudWatchLogGroupName": group, "CloudWatchOutputEnabled": true}),
        None => json!({"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false}),
    };
    Ok(v)
}

fn cancel_command(state: &SimState, region: &str, input: &JsonInput) -> Result<Value, ApiError> {
    let command_id = input
        .str("CommandId")?
        .ok_or_else(|| validation_null("commandId"))?;
    let ids: Option<Vec<String>> = input
        .strings("InstanceIds")?
        .map(|v| v.into_iter().map(String::from).collect());
    let mut inner = state.lock();
    let Some(cmd) = inner.commands.find_mut(region, command_id) else {
        return Err(unknown_command(command_id));
    };
    match ids.filter(|v| !v.is_empty()) {
        None => {
            if !matches!(cmd.status, "Success" | "Failed" | "TimedOut" | "Cancelled") {
                cmd.status = "Cancelling";
                cmd.status_details = "Cancelling";
            }
            cmd.cancel.cancel();
            for inv in cmd.invocations.iter_mut() {
                if inv.status == "InProgress" {
                    inv.status = "Cancelling";
                    inv.status_details = "Cancelling";
                }
            }
        }
        Some(ids) => {
            for inv in cmd
                .invocations
                .iter_mut()
                .filter(|i| ids.contains(&i.instance_id))
            {
                inv.cancel.cancel();
                if inv.status == "InProgress" {
                    inv.status = "Cancelling";
                    inv.status_details = "Cancelling";
                }
            }
        }
    }
    // Pending invocations end now; running ones end when their process is killed.
    for inv in cmd.invocations.iter_mut() {
        if inv.cancel.is_cancelled() && inv.status == "Pending" {
            inv.status = "Cancelled";
            inv.status_details = "Cancelled";
            inv.end = Some(Utc::now());
        }
    }
    Ok(json!({}))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::faults::FaultSpec;
    use crate::sim::fleet::{FleetSpec, generate_fleet};

    fn state() -> Arc<SimState> {
        let fleet = generate_fleet(&FleetSpec {
            instances: 120,
            seed: 3,
            regions: vec!["us-east-1".into()],
            start: Utc::now(),
        });
        Arc::new(SimState::new(
            fleet,
            vec!["us-east-1".into()],
            FaultSpec::default(),
            1,
            Utc::now(),
        ))
    }

    fn call(state: &Arc<SimState>, op: &str, body: Value) -> Result<Value, ApiError> {
        let obj = body.as_object().cloned().unwrap_or_default();
        handle(state, "us-east-1", op, &JsonInput::new(&obj))
    }

    fn online_ids(state: &SimState, n: usize) -> Vec<String> {
        state
            .fleet
            .iter()
            .filter(|i| {
                i.ssm
                    .as_ref()
                    .is_some_and(|s| s.ping_status == PingStatus::Online)
                    && !i.platform.is_windows()
            })
            .take(n)
            .map(|i| i.id.clone())
            .collect()
    }

    #[tokio::test]
    async fn send_command_validates_like_aws() {
        let st = state();
        let ids = online_ids(&st, 2);
        let code = |body: Value| call(&st, "SendCommand", body).unwrap_err().code;
        let cmds = json!({"commands": ["true"]});
        assert_eq!(
            code(json!({"DocumentName": "AWS-Nope", "Parameters": cmds, "InstanceIds": ids})),
            "InvalidDocument"
        );
        assert_eq!(
            code(json!({"DocumentName": "AWS-RunShellScript", "InstanceIds": ids})),
            "InvalidParameters"
        );
        assert_eq!(
            code(json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds})),
            "ValidationException"
        );
        let many: Vec<String> = (0..51).map(|n| format!("i-{n:017x}")).collect();
        assert_eq!(
            code(
                json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "InstanceIds": many})
            ),
            "ValidationException"
        );
        let six: Vec<Value> = (0..6)
            .map(|_| json!({"Key": "tag:Role", "Values": ["web"]}))
            .collect();
        assert_eq!(
            code(json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "Targets": six})),
            "ValidationException"
        );
        assert_eq!(
            code(
                json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "InstanceIds": ids, "MaxConcurrency": "0"})
            ),
            "ValidationException"
        );
        assert_eq!(
            code(
                json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "InstanceIds": [ids[0], ids[0]]})
            ),
            "DuplicateInstanceId"
        );
        assert_eq!(
            code(
                json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "InstanceIds": ["i-00000000000000000"]})
            ),
            "InvalidInstanceId"
        );
        assert_eq!(
            code(
                json!({"DocumentName": "AWS-RunShellScript", "Parameters": cmds, "Targets": [{"Key": "Colour", "Values": ["x"]}]})
            ),
            "InvalidTarget"
        );
        assert_eq!(
            call(&st, "CancelCommand", json!({"CommandId": "nope"}))
                .unwrap_err()
                .code,
            "InvalidCommandId"
        );
        assert_eq!(
            call(&st, "ListCommandInvocations", json!({"MaxResults": 51}))
                .unwrap_err()
                .code,
            "ValidationException"
        );
    }

    #[tokio::test]
    async fn a_command_goes_pending_to_success_with_counts() {
        let st = state();
        let ids = online_ids(&st, 3);
        let out = call(
            &st,
            "SendCommand",
            json!({"DocumentName": "AWS-RunShellScript", "Parameters": {"commands": ["echo hi"]}, "InstanceIds": ids, "Comment": "c"}),
        )
        .unwrap();
        let id = out["Command"]["CommandId"].as_str().unwrap().to_string();
        assert_eq!(out["Command"]["Status"], "Pending");
        assert_eq!(out["Command"]["TargetCount"], 3);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let cmd = loop {
            let l = call(&st, "ListCommands", json!({"CommandId": id})).unwrap();
            let c = l["Commands"][0].clone();
            if c["Status"] == "Success" || std::time::Instant::now() > deadline {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(cmd["Status"], "Success");
        assert_eq!(cmd["CompletedCount"], 3);
        assert_eq!(cmd["ErrorCount"], 0);
        let inv = call(
            &st,
            "ListCommandInvocations",
            json!({"CommandId": id, "Details": true, "MaxResults": 2}),
        )
        .unwrap();
        assert_eq!(inv["CommandInvocations"].as_array().unwrap().len(), 2);
        assert!(inv["NextToken"].is_string());
        assert_eq!(
            inv["CommandInvocations"][0]["CommandPlugins"][0]["Output"],
            "hi\n"
        );
        let got = call(
            &st,
            "GetCommandInvocation",
            json!({"CommandId": id, "InstanceId": ids[0]}),
        )
        .unwrap();
        assert_eq!(got["StandardOutputContent"], "hi\n");
        assert_eq!(got["ResponseCode"], 0);
        let filtered = call(
            &st,
            "ListCommands",
            json!({"Filters": [{"key": "Status", "value": "Failed"}]}),
        )
        .unwrap();
        assert_eq!(filtered["Commands"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn rates_parse_like_aws() {
        assert_eq!(Rate::parse("10", "m", 1).unwrap().of(100), 10);
        assert_eq!(Rate::parse("10%", "m", 1).unwrap().of(15), 2);
        assert_eq!(Rate::parse("0", "m", 0).unwrap().of(15), 0);
        assert!(Rate::parse("0", "m", 1).is_err());
        assert!(Rate::parse("101%", "m", 1).is_err());
        assert!(Rate::parse("x", "m", 1).is_err());
    }

    #[test]
    fn chunks_rejoin_exactly() {
        let text = "é".repeat(1000) + "tail";
        let parts = chunks(&text, 7);
        assert!(parts.iter().all(|p| p.len() <= 7));
        assert_eq!(parts.concat(), text);
    }
}
