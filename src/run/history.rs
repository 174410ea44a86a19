//! Run history: the commands SSM remembers (ListCommands, every profile and region at once),
//! newest first, and the plan that watches one of them again (`exec::attach`), so a run made
//! by `fleetdeck run`, by another console or by anyone else can be inspected, cancelled or
//! re-run. Who sent a command is not in ListCommands; the local audit log says it for the runs
//! fleetdeck made here.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::plan::{
    CloudWatchOutput, Document, Plan, PlannedHost, PlannedSend, Rate, RunOptions, TagFilter,
    TargetSpec, Targeting,
};
use crate::aws::{AwsError, Clients};
use crate::model::Instance;

/// ListCommands pages read per (profile, region) at most: 50 each, so the newest 500.
pub const MAX_PAGES: usize = 10;

/// One command as ListCommands describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSummary {
    pub profile: String,
    pub region: String,
    pub command_id: String,
    pub requested: Option<DateTime<Utc>>,
    pub document: String,
    /// The `commands` parameter (the script, one entry per line).
    pub commands: Vec<String>,
    pub execution_timeout: Option<u32>,
    pub status: String,
    pub status_details: String,
    pub target_count: i32,
    pub completed: i32,
    pub errors: i32,
    pub delivery_timed_out: i32,
    pub max_concurrency: String,
    pub max_errors: String,
    pub comment: String,
    pub instance_ids: Vec<String>,
    /// `Targets` as `tag:K=V1,V2` (other target kinds as `Key=V1,V2`).
    pub targets: Vec<String>,
    pub cloudwatch_group: Option<String>,
    /// From the local audit log, when fleetdeck sent it from this machine.
    pub who: Option<String>,
}

impl CommandSummary {
    pub fn script(&self) -> String {
        self.commands.join("\n")
    }

    /// Still running (or waiting to): its hosts can be watched live and cancelled.
    pub fn in_flight(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Pending" | "InProgress" | "Cancelling"
        )
    }

    /// `40/40 done · 2 errors · 1 undelivered` (only the parts that are not zero).
    pub fn counts_label(&self) -> String {
        let mut parts = vec![format!("{}/{} done", self.completed, self.target_count)];
        if self.errors > 0 {
            parts.push(format!(
                "{} error{}",
                self.errors,
                if self.errors == 1 { "" } else { "s" }
            ));
        }
        if self.delivery_timed_out > 0 {
            parts.push(format!("{} undelivered", self.delivery_timed_out));
        }
        parts.join(" · ")
    }

    /// The document, when fleetdeck can run it again (`AWS-RunShellScript`, PowerShell).
    pub fn known_document(&self) -> Option<Document> {
        match self.document.as_str() {
            "AWS-RunShellScript" => Some(Document::Shell),
            "AWS-RunPowerShellScript" => Some(Document::PowerShell),
            _ => None,
        }
    }
}

fn to_utc(t: &aws_sdk_ssm::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}

fn summary_of(clients: &Clients, c: &aws_sdk_ssm::types::Command) -> CommandSummary {
    let params = c.parameters();
    let param = |name: &str| {
        params
            .and_then(|p| p.get(name))
            .cloned()
            .unwrap_or_default()
    };
    CommandSummary {
        profile: clients.target.profile_label(),
        region: clients.target.region.clone(),
        command_id: c.command_id().unwrap_or_default().to_owned(),
        requested: c.requested_date_time().and_then(to_utc),
        document: c.document_name().unwrap_or_default().to_owned(),
        commands: param("commands"),
        execution_timeout: param("executionTimeout")
            .first()
            .and_then(|t| t.parse().ok()),
        status: c
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        status_details: c.status_details().unwrap_or_default().to_owned(),
        target_count: c.target_count(),
        completed: c.completed_count(),
        errors: c.error_count(),
        delivery_timed_out: c.delivery_timed_out_count(),
        max_concurrency: c.max_concurrency().unwrap_or_default().to_owned(),
        max_errors: c.max_errors().unwrap_or_default().to_owned(),
        comment: c.comment().unwrap_or_default().to_owned(),
        instance_ids: c.instance_ids().to_vec(),
        targets: c
            .targets()
            .iter()
            .map(|t| format!("{}={}", t.key().unwrap_or_default(), t.values().join(",")))
            .collect(),
        cloudwatch_group: c
            .cloud_watch_output_config()
            .filter(|o| o.cloud_watch_output_enabled())
            .and_then(|o| o.cloud_watch_log_group_name())
            .filter(|g| !g.is_empty())
            .map(str::to_owned),
        who: None,
    }
}

/// The newest commands of one (profile, region), up to [`MAX_PAGES`] pages.
async fn list_one(clients: &Clients) -> Result<Vec<CommandSummary>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = clients
            .ssm
            .list_commands()
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &clients.target,
                    "ssm:ListCommands",
                    clients.endpoint_for("ssm"),
                )
            })?;
        out.extend(page.commands().iter().map(|c| summary_of(clients, c)));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// Every (profile, region) at once; newest first. Targets that cannot be read give one
/// sentence each instead of rows. `who` comes from the audit log at `audit`, if given.
pub async fn list_commands(
    clients: &[Clients],
    audit: Option<&Path>,
) -> (Vec<CommandSummary>, Vec<String>) {
    let results = futures_util::future::join_all(clients.iter().map(list_one)).await;
    let mut commands = Vec::new();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(c) => commands.extend(c),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let who = audit.map(super::audit::who_by_command).unwrap_or_default();
    for c in &mut commands {
        c.who = who.get(&c.command_id).cloned();
    }
    sort_newest_first(&mut commands);
    (commands, problems)
}

pub fn sort_newest_first(commands: &mut [CommandSummary]) {
    commands.sort_by(|a, b| {
        b.requested
            .cmp(&a.requested)
            .then_with(|| a.command_id.cmp(&b.command_id))
    });
}

/// The plan that watches `c` again: its script and limits, one send where it went, its hosts
/// as the inventory knows them (names, platforms) when it named them. `Targets` commands start
/// with no hosts; the watcher adds them as AWS lists their invocations. Re-running the failed
/// hosts of it works like any run's (`rerun_failed`, explicit ids).
pub fn plan_for(c: &CommandSummary, inventory: &[Instance]) -> Plan {
    let by_id: HashMap<&str, &Instance> = inventory
        .iter()
        .filter(|i| i.profile == c.profile && i.region == c.region)
        .map(|i| (i.instance_id.as_str(), i))
        .collect();
    let hosts: Vec<PlannedHost> = c
        .instance_ids
        .iter()
        .map(|id| match by_id.get(id.as_str()) {
            Some(i) => PlannedHost {
                instance_id: id.clone(),
                name: i.name.clone(),
                profile: c.profile.clone(),
                region: c.region.clone(),
                platform: i.platform.clone(),
                tags: i.tags.clone(),
            },
            None => PlannedHost {
                instance_id: id.clone(),
                name: None,
                profile: c.profile.clone(),
                region: c.region.clone(),
                platform: String::new(),
                tags: BTreeMap::new(),
            },
        })
        .collect();
    let tags: Vec<TagFilter> = c
        .targets
        .iter()
        .filter_map(|t| TagFilter::parse(t).ok())
        .collect();
    let targeting = if hosts.is_empty() && !tags.is_empty() {
        Targeting::Tags(tags.clone())
    } else {
        Targeting::InstanceIds
    };
    let target = match &targeting {
        Targeting::Tags(t) => TargetSpec::Tags(t.clone()),
        Targeting::InstanceIds => TargetSpec::InstanceIds(c.instance_ids.clone()),
    };
    let rate = |t: &str, min| Rate::parse(t, min).ok();
    Plan {
        target,
        options: RunOptions {
            commands: c.commands.clone(),
            max_concurrency: rate(&c.max_concurrency, 1),
            max_errors: rate(&c.max_errors, 0),
            execution_timeout: c.execution_timeout,
            delivery_timeout: None,
            comment: (!c.comment.is_empty()).then(|| c.comment.clone()),
            cloudwatch: c.cloudwatch_group.as_ref().map(|g| CloudWatchOutput {
                log_group: Some(g.clone()),
            }),
        },
        sends: vec![PlannedSend {
            profile: c.profile.clone(),
            region: c.region.clone(),
            document: c.known_document().unwrap_or(Document::Shell),
            targeting,
            hosts,
        }],
        skipped: Vec::new(),
        target_count: usize::try_from(c.target_count).unwrap_or(0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn summary(id: &str, at: i64) -> CommandSummary {
        CommandSummary {
            profile: "default".into(),
            region: "us-east-1".into(),
            command_id: id.into(),
            requested: DateTime::from_timestamp(at, 0),
            document: "AWS-RunShellScript".into(),
            commands: vec!["uptime".into()],
            status: "Success".into(),
            target_count: 3,
            completed: 3,
            max_concurrency: "25%".into(),
            max_errors: "0".into(),
            instance_ids: vec!["i-1".into(), "i-2".into()],
            ..CommandSummary::default()
        }
    }

    #[test]
    fn newest_first_and_counts_say_only_what_is_not_zero() {
        let mut v = vec![summary("a", 10), summary("b", 30), summary("c", 20)];
        sort_newest_first(&mut v);
        let ids: Vec<&str> = v.iter().map(|c| c.command_id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        assert_eq!(v[0].counts_label(), "3/3 done");
        v[0].errors = 1;
        v[0].delivery_timed_out = 2;
        assert_eq!(v[0].counts_label(), "3/3 done · 1 error · 2 undelivered");
    }

    #[test]
    fn the_plan_of_a_past_command_keeps_its_script_limits_and_hosts() {
        let c = summary("a", 10);
        let p = plan_for(&c, &[]);
        assert_eq!(p.script(), "uptime");
        assert_eq!(p.options.max_concurrency, Some(Rate::Percent(25)));
        assert_eq!(p.options.max_errors, Some(Rate::Count(0)));
        assert_eq!(p.sends.len(), 1);
        assert_eq!(p.sends[0].targeting, Targeting::InstanceIds);
        assert_eq!(p.hosts().count(), 2);
        let again = super::super::rerun_failed(&p, &["i-2".into()]).unwrap();
        assert_eq!(again.target_count, 1);

        let mut tagged = summary("t", 10);
        tagged.instance_ids.clear();
        tagged.targets = vec!["tag:Role=web".into()];
        let p = plan_for(&tagged, &[]);
        assert!(matches!(p.sends[0].targeting, Targeting::Tags(_)));
        assert_eq!(p.hosts().count(), 0, "AWS names the hosts as it lists them");
    }
}
