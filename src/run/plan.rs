//! The planner: a pure function from the inventory, a target spec and run options to the exact
//! SendCommand requests that would be made, and the hosts left out (with why) before anything is
//! sent.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Instance, InstanceState, PingStatus, PlatformType};
use crate::search::{FleetIndex, Query};

/// AWS's limit on `InstanceIds` per SendCommand.
pub const MAX_IDS_PER_SEND: usize = 50;
/// AWS's limit on `Targets` entries per SendCommand.
pub const MAX_TAG_TARGETS: usize = 5;
/// AWS's limit on the values of one target.
pub const MAX_TAG_VALUES: usize = 50;

/// MaxConcurrency / MaxErrors: an absolute number or a percentage of the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rate {
    Count(u32),
    Percent(u8),
}

impl Rate {
    /// Parses `N` or `N%`; `min` is 1 for MaxConcurrency and 0 for MaxErrors.
    pub fn parse(text: &str, min: u32) -> Result<Rate, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "'{text}' is not a count or a percentage: use a number ≥ {min} (e.g. 10) or 1%–100% (e.g. 25%)"
            )
        };
        match text.strip_suffix('%') {
            Some(p) => match p.parse::<u8>() {
                Ok(n) if (1..=100).contains(&n) => Ok(Rate::Percent(n)),
                _ => Err(bad()),
            },
            None => match text.parse::<u32>() {
                Ok(n) if n >= min => Ok(Rate::Count(n)),
                _ => Err(bad()),
            },
        }
    }

    /// The absolute value for `targets` targets (percentages round up, at least 1 for non-zero).
    pub fn of(&self, targets: usize) -> usize {
        match *self {
            Rate::Count(n) => n as usize,
            Rate::Percent(p) => (targets * usize::from(p)).div_ceil(100),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Count(n) => write!(f, "{n}"),
            Rate::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rate::parse(s, 0)
    }
}

/// `tag:Key=V1,V2`: the key must have one of the values (AWS `Targets` semantics; several tag
/// filters must all hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagFilter {
    pub key: String,
    pub values: Vec<String>,
}

impl TagFilter {
    pub fn parse(text: &str) -> Result<TagFilter, String> {
        let body = text.strip_prefix("tag:").ok_or_else(|| {
            format!("'{text}' is not a tag target: write it as tag:Key=Value (e.g. tag:Role=web)")
        })?;
        let (key, values) = body.split_once('=').ok_or_else(|| {
            format!(
                "'{text}' has no value: write it as tag:Key=Value (several values: tag:Key=a,b)"
            )
        })?;
        let values: Vec<String> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        if key.is_empty() || values.is_empty() {
            return Err(format!(
                "'{text}' needs a key and at least one value, e.g. tag:Role=web"
            ));
        }
        if values.len() > MAX_TAG_VALUES {
            return Err(format!(
                "'{text}' has {} values; AWS accepts at most {MAX_TAG_VALUES} per tag",
                values.len()
            ));
        }
        Ok(TagFilter {
            key: key.to_string(),
            values,
        })
    }

    /// Exact, case-sensitive match as AWS does; `*` in a value matches any run of characters.
    pub fn matches(&self, instance: &Instance) -> bool {
        instance
            .tags
            .get(&self.key)
            .is_some_and(|have| self.values.iter().any(|v| wildcard(v, have)))
    }
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tag:{}={}", self.key, self.values.join(","))
    }
}

fn wildcard(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|skip| go(rest, &t[skip..])),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Which hosts a run is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetSpec {
    /// All must hold.
    Tags(Vec<TagFilter>),
    /// Explicit ids (also the TUI's selection).
    InstanceIds(Vec<String>),
    /// A fleetdeck search query (`fleetdeck list` syntax) over the inventory.
    Query(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Document {
    #[serde(rename = "AWS-RunShellScript")]
    Shell,
    #[serde(rename = "AWS-RunPowerShellScript")]
    PowerShell,
}

impl Document {
    pub fn name(self) -> &'static str {
        match self {
            Document::Shell => "AWS-RunShellScript",
            Document::PowerShell => "AWS-RunPowerShellScript",
        }
    }

    /// The plugin (step) name in GetCommandInvocation.
    pub fn plugin(self) -> &'static str {
        match self {
            Document::Shell => "aws:runShellScript",
            Document::PowerShell => "aws:runPowerShellScript",
        }
    }

    pub fn for_platform(platform: PlatformType) -> Document {
        match platform {
            PlatformType::Windows => Document::PowerShell,
            _ => Document::Shell,
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// CloudWatchOutputConfig: full output in CloudWatch Logs (group default `/aws/ssm/<document>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudWatchOutput {
    pub log_group: Option<String>,
}

impl CloudWatchOutput {
    pub fn group_for(&self, document: Document) -> String {
        self.log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/ssm/{}", document.name()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The script, one entry per line (the document's `commands` parameter).
    pub commands: Vec<String>,
    /// Default (AWS's): 50.
    pub max_concurrency: Option<Rate>,
    /// Default (AWS's): 0, the first error stops the run.
    pub max_errors: Option<Rate>,
    /// Seconds a script may run (`executionTimeout`); AWS's default is 3600.
    pub execution_timeout: Option<u32>,
    /// Seconds to deliver the command (`TimeoutSeconds`); AWS's default is 3600.
    pub delivery_timeout: Option<u32>,
    pub comment: Option<String>,
    pub cloudwatch: Option<CloudWatchOutput>,
}

/// One host the run will reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedHost {
    pub instance_id: String,
    pub name: Option<String>,
    pub profile: String,
    pub region: String,
    pub platform: String,
    pub tags: BTreeMap<String, String>,
}

impl PlannedHost {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.instance_id)
    }

    fn of(i: &Instance) -> PlannedHost {
        PlannedHost {
            instance_id: i.instance_id.clone(),
            name: i.name.clone(),
            profile: i.profile.clone(),
            region: i.region.clone(),
            platform: i.platform.clone(),
            tags: i.tags.clone(),
        }
    }
}

/// How one SendCommand names its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Targeting {
    /// `Targets` with tag keys: AWS resolves them; used only when every host the tags match in
    /// that (profile, region) is reachable and takes the same document.
    Tags(Vec<TagFilter>),
    /// `InstanceIds` (≤ 50): the hosts of the send.
    InstanceIds,
}

/// One SendCommand request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSend {
    /// The profile label as the inventory shows it ("default" when the SDK chose).
    pub profile: String,
    pub region: String,
    pub document: Document,
    pub targeting: Targeting,
    pub hosts: Vec<PlannedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// SSM has no record of it (no agent, no instance role, no route to SSM).
    NotManaged,
    /// Not running (stopped, stopping, terminated…).
    NotRunning { state: String },
    /// The agent has not pinged SSM since `since` (RFC 3339), so the command would time out.
    ConnectionLost { since: Option<String> },
    /// SSM reports the agent Inactive.
    Inactive,
    /// SSM could not be read for its profile and region, so its agent health is unknown.
    HealthUnknown,
    /// An explicit id that the inventory of the selected profiles/regions does not have.
    NotFound,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotManaged => {
                f.write_str("not managed by SSM (no agent, instance role or route)")
            }
            SkipReason::NotRunning { state } => write!(f, "instance is {state}"),
            SkipReason::ConnectionLost { since: Some(t) } => {
                write!(f, "SSM agent ConnectionLost since {t}")
            }
            SkipReason::ConnectionLost { since: None } => f.write_str("SSM agent ConnectionLost"),
            SkipReason::Inactive => f.write_str("SSM agent Inactive"),
            SkipReason::HealthUnknown => {
                f.write_str("SSM could not be read for its region; agent health unknown")
            }
            SkipReason::NotFound => f.write_str("not found in the selected profiles and regions"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedHost {
    pub instance_id: String,
    pub name: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub reason: SkipReason,
}

/// Everything a person must see before a run, and everything the executor needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub target: TargetSpec,
    pub options: RunOptions,
    pub sends: Vec<PlannedSend>,
    /// Hosts the targets matched that will not be sent to, listed before the run.
    pub skipped: Vec<SkippedHost>,
    /// Exactly the number of hosts that will be sent to.
    pub target_count: usize,
}

impl Plan {
    pub fn hosts(&self) -> impl Iterator<Item = &PlannedHost> {
        self.sends.iter().flat_map(|s| s.hosts.iter())
    }

    /// The script as one text, lines joined.
    pub fn script(&self) -> String {
        self.options.commands.join("\n")
    }

    pub fn documents(&self) -> Vec<Document> {
        let mut d: Vec<Document> = self.sends.iter().map(|s| s.document).collect();
        d.sort();
        d.dedup();
        d
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "nothing to run: give the command after `--`, e.g. fleetdeck run --target tag:Role=web -- uptime"
    )]
    NoCommand,
    #[error("no target: give --target tag:K=V, --instance-id ID or --query Q")]
    NoTarget,
    #[error("{0}")]
    BadQuery(String),
    #[error("AWS accepts at most {MAX_TAG_TARGETS} tag targets per command; got {0}")]
    TooManyTags(usize),
}

/// Which inventory rows the spec selects (all of them, reachable or not), and explicit ids that
/// no row has.
pub fn resolve<'a>(
    inventory: &'a [Instance],
    spec: &TargetSpec,
) -> Result<(Vec<&'a Instance>, Vec<String>), PlanError> {
    match spec {
        TargetSpec::Tags(filters) => {
            if filters.is_empty() {
                return Err(PlanError::NoTarget);
            }
            if filters.len() > MAX_TAG_TARGETS {
                return Err(PlanError::TooManyTags(filters.len()));
            }
            Ok((
                inventory
                    .iter()
                    .filter(|i| filters.iter().all(|f| f.matches(i)))
                    .collect(),
                Vec::new(),
            ))
        }
        TargetSpec::InstanceIds(ids) => {
            if ids.is_empty() {
                return Err(PlanError::NoTarget);
            }
            let mut found = Vec::new();
            let mut missing = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if !seen.insert(id.as_str()) {
                    continue;
                }
                let rows: Vec<&Instance> =
                    inventory.iter().filter(|i| &i.instance_id == id).collect();
                if rows.is_empty() {
                    missing.push(id.clone());
                }
                found.extend(rows);
            }
            Ok((found, missing))
        }
        TargetSpec::Query(text) => {
            let query = Query::parse(text).map_err(|e| PlanError::BadQuery(e.to_string()))?;
            if query.is_empty() {
                return Err(PlanError::BadQuery(
                    "an empty query would select the whole fleet: give a query such as tag:Role=web"
                        .into(),
                ));
            }
            let mut index = FleetIndex::new(inventory);
            let mut hits: Vec<usize> = index
                .search(inventory, &query)
                .into_iter()
                .map(|h| h.index)
                .collect();
            hits.sort_unstable();
            Ok((
                hits.into_iter().map(|i| &inventory[i]).collect(),
                Vec::new(),
            ))
        }
    }
}

/// Why a host cannot take the command now, if it cannot.
pub fn skip_reason(i: &Instance) -> Option<SkipReason> {
    if !matches!(i.state, InstanceState::Running | InstanceState::Hybrid) {
        if matches!(i.state, InstanceState::Unknown) && i.managed {
            // SSM knows it but EC2 could not be read: judge by the agent.
        } else {
            return Some(SkipReason::NotRunning {
                state: i.state.to_string(),
            });
        }
    }
    match i.ping_status {
        PingStatus::Online => None,
        PingStatus::ConnectionLost => Some(SkipReason::ConnectionLost {
            since: i.last_ping.map(|t| t.to_rfc3339()),
        }),
        PingStatus::Inactive => Some(SkipReason::Inactive),
        PingStatus::NotManaged => Some(SkipReason::NotManaged),
        PingStatus::Unknown => Some(SkipReason::HealthUnknown),
    }
}

/// Plans a run: pure, no network. Hosts that cannot take the command are listed in `skipped`;
/// the rest are grouped per (profile, region, document) into sends — tag `Targets` when AWS's
/// own resolution would reach exactly those hosts, else batches of at most 50 instance ids.
pub fn plan(
    inventory: &[Instance],
    spec: &TargetSpec,
    options: &RunOptions,
) -> Result<Plan, PlanError> {
    if options.commands.iter().all(|c| c.trim().is_empty()) {
        return Err(PlanError::NoCommand);
    }
    let (matched, missing) = resolve(inventory, spec)?;
    let mut skipped: Vec<SkippedHost> = missing
        .into_iter()
        .map(|id| SkippedHost {
            instance_id: id,
            name: None,
            profile: None,
            region: None,
            reason: SkipReason::NotFound,
        })
        .collect();
    let mut reachable: Vec<&Instance> = Vec::new();
    for i in matched {
        match skip_reason(i) {
            Some(reason) => skipped.push(SkippedHost {
                instance_id: i.instance_id.clone(),
                name: i.name.clone(),
                profile: Some(i.profile.clone()),
                region: Some(i.region.clone()),
                reason,
            }),
            None => reachable.push(i),
        }
    }
    // Per (profile, region): may AWS resolve the tags itself?
    let tags_ok = |profile: &str, region: &str| -> bool {
        let TargetSpec::Tags(filters) = spec else {
            return false;
        };
        let slice: Vec<&Instance> = inventory
            .iter()
            .filter(|i| i.profile == profile && i.region == region)
            .filter(|i| filters.iter().all(|f| f.matches(i)))
            .collect();
        !slice.is_empty()
            && slice.iter().all(|i| skip_reason(i).is_none())
            && slice.iter().all(|i| {
                Document::for_platform(i.platform_type)
                    == Document::for_platform(slice[0].platform_type)
            })
    };
    let mut groups: BTreeMap<(String, String, Document), Vec<PlannedHost>> = BTreeMap::new();
    for i in &reachable {
        groups
            .entry((
                i.profile.clone(),
                i.region.clone(),
                Document::for_platform(i.platform_type),
            ))
            .or_default()
            .push(PlannedHost::of(i));
    }
    let mut sends = Vec::new();
    for ((profile, region, document), hosts) in groups {
        let tag_filters = match spec {
            TargetSpec::Tags(filters) if tags_ok(&profile, &region) => Some(filters),
            _ => None,
        };
        if let Some(filters) = tag_filters {
            sends.push(PlannedSend {
                profile,
                region,
                document,
                targeting: Targeting::Tags(filters.clone()),
                hosts,
            });
        } else {
            sends.extend(id_batches(&profile, &region, document, hosts));
        }
    }
    let target_count = sends.iter().map(|s| s.hosts.len()).sum();
    Ok(Plan {
        target: spec.clone(),
        options: options.clone(),
        sends,
        skipped,
        target_count,
    })
}

fn id_batches(
    profile: &str,
    region: &str,
    document: Document,
    hosts: Vec<PlannedHost>,
) -> Vec<PlannedSend> {
    hosts
        .chunks(MAX_IDS_PER_SEND)
        .map(|chunk| PlannedSend {
            profile: profile.to_string(),
            region: region.to_string(),
            document,
            targeting: Targeting::InstanceIds,
            hosts: chunk.to_vec(),
        })
        .collect()
}

/// A new plan for the hosts of `plan` whose result in `failed` is a failure (always explicit ids:
/// a retry must not widen to hosts a tag matches now). `None` when nothing failed.
pub fn rerun_failed(plan: &Plan, failed_ids: &[String]) -> Option<Plan> {
    let mut groups: BTreeMap<(String, String, Document), Vec<PlannedHost>> = BTreeMap::new();
    for send in &plan.sends {
        for h in &send.hosts {
            if failed_ids.contains(&h.instance_id) {
                groups
                    .entry((send.profile.clone(), send.region.clone(), send.document))
                    .or_default()
                    .push(h.clone());
            }
        }
    }
    if groups.is_empty() {
        return None;
    }
    let sends: Vec<PlannedSend> = groups
        .into_iter()
        .flat_map(|((p, r, d), hosts)| id_batches(&p, &r, d, hosts))
        .collect();
    let ids: Vec<String> = sends
        .iter()
        .flat_map(|s| s.hosts.iter().map(|h| h.instance_id.clone()))
        .collect();
    Some(Plan {
        target: TargetSpec::InstanceIds(ids),
        options: plan.options.clone(),
        target_count: sends.iter().map(|s| s.hosts.len()).sum(),
        sends,
        skipped: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn host(id: &str, name: &str, role: &str, env: &str) -> Instance {
        let mut tags = BTreeMap::new();
        tags.insert("Name".to_string(), name.to_string());
        tags.insert("Role".to_string(), role.to_string());
        tags.insert("Env".to_string(), env.to_string());
        Instance {
            instance_id: id.into(),
            name: Some(name.into()),
            profile: "default".into(),
            region: "us-east-1".into(),
            state: InstanceState::Running,
            ping_status: PingStatus::Online,
            last_ping: None,
            agent_version: Some("3.3.1957.0".into()),
            agent_is_latest: Some(true),
            platform_type: PlatformType::Linux,
            platform: "Amazon Linux".into(),
            private_ip: None,
            public_ip: None,
            instance_type: None,
            availability_zone: None,
            iam_instance_profile: None,
            computer_name: None,
            launch_time: None,
            tags,
            managed: true,
        }
    }

    fn opts() -> RunOptions {
        RunOptions {
            commands: vec!["uptime".into()],
            ..RunOptions::default()
        }
    }

    #[test]
    fn rates_parse_counts_and_percentages() {
        assert_eq!(Rate::parse("10", 1), Ok(Rate::Count(10)));
        assert_eq!(Rate::parse("25%", 1), Ok(Rate::Percent(25)));
        assert_eq!(Rate::parse("0", 0), Ok(Rate::Count(0)));
        assert!(Rate::parse("0", 1).is_err());
        assert!(Rate::parse("0%", 0).is_err());
        assert!(Rate::parse("101%", 0).is_err());
        assert!(Rate::parse("-1", 0).is_err());
        assert!(Rate::parse("ten", 0).is_err());
        assert_eq!(Rate::Percent(10).of(15), 2);
        assert_eq!(Rate::Percent(100).of(7), 7);
        assert_eq!(Rate::Count(3).of(100), 3);
        assert_eq!(Rate::Percent(25).to_string(), "25%");
    }

    #[test]
    fn tag_filters_parse_and_match_exactly() {
        let f = TagFilter::parse("tag:Role=web,api").unwrap();
        assert_eq!(f.values, vec!["web", "api"]);
        assert!(f.matches(&host("i-1", "a", "web", "prod")));
        assert!(!f.matches(&host("i-1", "a", "Web", "prod")));
        assert!(TagFilter::parse("Role=web").is_err());
        assert!(TagFilter::parse("tag:Role").is_err());
        assert!(TagFilter::parse("tag:=x").is_err());
        assert!(
            TagFilter::parse("tag:Env=pro*")
                .unwrap()
                .matches(&host("i-1", "a", "x", "prod"))
        );
    }

    #[test]
    fn explicit_ids_over_fifty_go_in_batches_of_fifty() {
        let inv: Vec<Instance> = (0..120)
            .map(|n| host(&format!("i-{n:017x}"), &format!("h{n}"), "web", "dev"))
            .collect();
        let ids: Vec<String> = inv.iter().map(|i| i.instance_id.clone()).collect();
        let p = plan(&inv, &TargetSpec::InstanceIds(ids), &opts()).unwrap();
        let sizes: Vec<usize> = p.sends.iter().map(|s| s.hosts.len()).collect();
        assert_eq!(sizes, vec![50, 50, 20]);
        assert!(
            p.sends
                .iter()
                .all(|s| s.targeting == Targeting::InstanceIds)
        );
        assert_eq!(p.target_count, 120);
    }

    #[test]
    fn offline_and_unknown_hosts_are_skipped_up_front_with_reasons() {
        let mut inv = vec![
            host("i-1", "web-1", "web", "dev"),
            host("i-2", "web-2", "web", "dev"),
            host("i-3", "web-3", "web", "dev"),
            host("i-4", "web-4", "web", "dev"),
        ];
        inv[1].ping_status = PingStatus::ConnectionLost;
        inv[2].state = InstanceState::Stopped;
        inv[2].ping_status = PingStatus::NotManaged;
        inv[2].managed = false;
        inv[3].ping_status = PingStatus::NotManaged;
        inv[3].managed = false;
        let spec = TargetSpec::InstanceIds(vec![
            "i-1".into(),
            "i-2".into(),
            "i-3".into(),
            "i-4".into(),
            "i-9".into(),
        ]);
        let p = plan(&inv, &spec, &opts()).unwrap();
        assert_eq!(p.target_count, 1);
        let reasons: Vec<(&str, &SkipReason)> = p
            .skipped
            .iter()
            .map(|s| (s.instance_id.as_str(), &s.reason))
            .collect();
        assert_eq!(reasons[0], ("i-9", &SkipReason::NotFound));
        assert!(matches!(
            reasons[1],
            ("i-2", SkipReason::ConnectionLost { .. })
        ));
        assert!(matches!(reasons[2], ("i-3", SkipReason::NotRunning { .. })));
        assert_eq!(reasons[3], ("i-4", &SkipReason::NotManaged));
    }

    #[test]
    fn tags_use_aws_targets_only_when_aws_would_reach_exactly_the_plan() {
        let mut inv = vec![
            host("i-1", "web-1", "web", "dev"),
            host("i-2", "web-2", "web", "dev"),
            host("i-3", "api-1", "api", "dev"),
        ];
        let spec = TargetSpec::Tags(vec![TagFilter::parse("tag:Role=web").unwrap()]);
        let p = plan(&inv, &spec, &opts()).unwrap();
        assert_eq!(p.sends.len(), 1);
        assert!(matches!(p.sends[0].targeting, Targeting::Tags(_)));
        assert_eq!(p.target_count, 2);

        // One offline web host: AWS would send to it, so name the others explicitly.
        inv[1].ping_status = PingStatus::ConnectionLost;
        let p = plan(&inv, &spec, &opts()).unwrap();
        assert_eq!(p.sends[0].targeting, Targeting::InstanceIds);
        assert_eq!(p.target_count, 1);
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn windows_hosts_get_powershell_in_their_own_send() {
        let mut inv = vec![
            host("i-1", "web-1", "web", "dev"),
            host("i-2", "web-2", "web", "dev"),
        ];
        inv[1].platform_type = PlatformType::Windows;
        let spec = TargetSpec::Tags(vec![TagFilter::parse("tag:Role=web").unwrap()]);
        let p = plan(&inv, &spec, &opts()).unwrap();
        let docs: Vec<Document> = p.sends.iter().map(|s| s.document).collect();
        assert_eq!(docs, vec![Document::Shell, Document::PowerShell]);
        assert!(
            p.sends
                .iter()
                .all(|s| s.targeting == Targeting::InstanceIds)
        );
    }

    #[test]
    fn regions_and_profiles_get_their_own_sends() {
        let mut inv = vec![
            host("i-1", "a", "web", "dev"),
            host("i-2", "b", "web", "dev"),
        ];
        inv[1].region = "eu-west-1".into();
        let spec = TargetSpec::Query("tag:Role=web".into());
        let p = plan(&inv, &spec, &opts()).unwrap();
        assert_eq!(p.sends.len(), 2);
        assert_eq!(p.sends[0].region, "eu-west-1");
    }

    #[test]
    fn rerun_takes_only_the_failed_hosts() {
        let inv: Vec<Instance> = (0..5)
            .map(|n| host(&format!("i-{n}"), &format!("h{n}"), "web", "dev"))
            .collect();
        let spec = TargetSpec::Tags(vec![TagFilter::parse("tag:Role=web").unwrap()]);
        let p = plan(&inv, &spec, &opts()).unwrap();
        let again = rerun_failed(&p, &["i-1".into(), "i-3".into()]).unwrap();
        let ids: Vec<&str> = again.hosts().map(|h| h.instance_id.as_str()).collect();
        assert_eq!(ids, vec!["i-1", "i-3"]);
        assert_eq!(again.sends[0].targeting, Targeting::InstanceIds);
        assert!(rerun_failed(&p, &[]).is_none());
    }

    #[test]
    fn no_command_or_target_is_an_error() {
        let inv = vec![host("i-1", "a", "web", "dev")];
        let empty = RunOptions::default();
        assert_eq!(
            plan(&inv, &TargetSpec::InstanceIds(vec!["i-1".into()]), &empty),
            Err(PlanError::NoCommand)
        );
        assert_eq!(
            plan(&inv, &TargetSpec::Tags(vec![]), &opts()),
            Err(PlanError::NoTarget)
        );
        assert!(matches!(
            plan(&inv, &TargetSpec::Query(String::new()), &opts()),
            Err(PlanError::BadQuery(_))
        ));
    }
}
