//! SSM (awsJson1.1, `AmazonSSM.*`): DescribeInstanceInformation over the seeded fleet and
//! DescribeSessions over the session store.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::api::{
    ApiError, JsonInput, glob_match, key_value_filters, time_filter, validation_null,
};
use super::fleet::{PingStatus, SimInstance, SsmRecord};
use super::pagination;

/// One Session Manager session as DescribeSessions reports it. Later issues fill the store when
/// the simulated agent runs sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRecord {
    pub region: String,
    pub session_id: String,
    pub target: String,
    /// Connected, Connecting, Disconnected, Terminated, Terminating or Failed.
    pub status: String,
    pub start_date: DateTime<Utc>,
    pub end_date: Option<DateTime<Utc>>,
    pub document_name: Option<String>,
    pub owner: String,
    pub reason: Option<String>,
    pub details: Option<String>,
    pub max_session_duration: Option<String>,
    pub cloudwatch_output_url: Option<String>,
}

impl SessionRecord {
    /// `State: Active` lists sessions not yet over; `History` the ones that ended.
    fn is_active(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Connected" | "Connecting" | "Disconnected" | "Terminating"
        )
    }
}

fn epoch_seconds(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

fn max_results(input: &JsonInput, min: i64, max: i64, default: i64) -> Result<usize, ApiError> {
    let n = input.i64("MaxResults")?.unwrap_or(default);
    if !(min..=max).contains(&n) {
        return Err(ApiError::out_of_range("maxResults", n, min, max));
    }
    Ok(usize::try_from(n).unwrap_or(1))
}

fn start_offset(input: &JsonInput, scope: &str) -> Result<usize, ApiError> {
    match input.str("NextToken")? {
        None => Ok(0),
        Some(token) => pagination::decode(scope, token).ok_or_else(|| {
            ApiError::client("InvalidNextToken", "The specified token isn't valid.")
        }),
    }
}

pub(crate) fn handle(
    fleet: &[SimInstance],
    sessions: &[SessionRecord],
    lost_agents: &HashMap<String, DateTime<Utc>>,
    region: &str,
    operation: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    match operation {
        "DescribeInstanceInformation" => {
            describe_instance_information(fleet, lost_agents, region, input)
        }
        "DescribeSessions" => describe_sessions(sessions, region, input),
        "ListTagsForResource" => list_tags_for_resource(fleet, region, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("AmazonSSM.{other} is not an operation the simulator answers"),
        )),
    }
}

/// One filter of DescribeInstanceInformation, already validated.
#[derive(Debug)]
enum InfoFilter {
    InstanceIds(Vec<String>),
    AgentVersion(Vec<String>),
    PingStatus(Vec<String>),
    PlatformTypes(Vec<String>),
    ActivationIds(Vec<String>),
    IamRole(Vec<String>),
    ResourceType(Vec<String>),
    AssociationStatus(Vec<String>),
    SourceIds(Vec<String>),
    SourceTypes(Vec<String>),
    TagKey(Vec<String>),
    Tag(String, Vec<String>),
}

fn check_values(key: &str, values: &[String], allowed: &[&str]) -> Result<(), ApiError> {
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        None => Ok(()),
        Some(bad) => Err(ApiError::client(
            "InvalidInstanceInformationFilterValue",
            format!(
                "The filter value '{bad}' is not valid for the filter key '{key}'. Valid values: \
                 {}",
                allowed.join(", ")
            ),
        )),
    }
}

impl InfoFilter {
    /// `legacy` is the old InstanceInformationFilterList, which knows only the first eight keys
    /// and no tags.
    fn parse(key: &str, values: Vec<String>, legacy: bool) -> Result<Self, ApiError> {
        let f = match key {
            "InstanceIds" => InfoFilter::InstanceIds(values),
            "AgentVersion" => InfoFilter::AgentVersion(values),
            "PingStatus" => {
                check_values(key, &values, &["Online", "ConnectionLost", "Inactive"])?;
                InfoFilter::PingStatus(values)
            }
            "PlatformTypes" | "PlatformType" => {
                check_values(key, &values, &["Windows", "Linux", "MacOS"])?;
                InfoFilter::PlatformTypes(values)
            }
            "ActivationIds" => InfoFilter::ActivationIds(values),
            "IamRole" => InfoFilter::IamRole(values),
            "ResourceType" => {
                check_values(key, &values, &["EC2Instance", "ManagedInstance"])?;
                InfoFilter::ResourceType(values)
            }
            "AssociationStatus" => {
                check_values(key, &values, &["Success", "Pending", "Failed"])?;
                InfoFilter::AssociationStatus(values)
            }
            "SourceIds" if !legacy => InfoFilter::SourceIds(values),
            "SourceTypes" if !legacy => {
                check_values(
                    key,
                    &values,
                    &[
                        "AWS::EC2::Instance",
                        "AWS::IoT::Thing",
                        "AWS::SSM::ManagedInstance",
                    ],
                )?;
                InfoFilter::SourceTypes(values)
            }
            "tag-key" if !legacy => InfoFilter::TagKey(values),
            k if !legacy && k.starts_with("tag:") && k.len() > 4 => {
                InfoFilter::Tag(k[4..].to_string(), values)
            }
            other => {
                return Err(ApiError::client(
                    "InvalidFilterKey",
                    format!("The filter key '{other}' is not valid."),
                ));
            }
        };
        Ok(f)
    }

    fn matches(&self, inst: &SimInstance, ssm: &SsmRecord) -> bool {
        let any = |values: &[String], have: Option<&str>| {
            have.is_some_and(|h| values.iter().any(|v| v == h))
        };
        match self {
            InfoFilter::InstanceIds(v) => any(v, Some(&inst.id)),
            InfoFilter::AgentVersion(v) => any(v, Some(&ssm.agent_version)),
            InfoFilter::PingStatus(v) => any(v, Some(ssm.ping_status.as_str())),
            InfoFilter::PlatformTypes(v) => any(v, Some(inst.platform.platform_type())),
            InfoFilter::ActivationIds(v) => any(v, ssm.activation_id.as_deref()),
            InfoFilter::IamRole(v) => any(v, ssm.iam_role.as_deref()),
            InfoFilter::ResourceType(v) => any(v, Some(&ssm.resource_type)),
            InfoFilter::AssociationStatus(v) => any(v, ssm.association_status.as_deref()),
            InfoFilter::SourceIds(v) => any(v, Some(&ssm.source_id)),
            InfoFilter::SourceTypes(v) => any(v, Some(&ssm.source_type)),
            InfoFilter::TagKey(v) => inst
                .tags
                .iter()
                .any(|(k, _)| v.iter().any(|p| glob_match(p, k))),
            InfoFilter::Tag(key, v) => inst
                .tag(key)
                .is_some_and(|have| v.iter().any(|p| glob_match(p, have))),
        }
    }
}

fn parse_filters(input: &JsonInput) -> Result<Vec<InfoFilter>, ApiError> {
    let modern = input.objects("Filters")?;
    let legacy = input.objects("InstanceInformationFilterList")?;
    if modern.is_some() && legacy.is_some() {
        return Err(ApiError::client(
            "ValidationException",
            "InstanceInformationFilterList and Filters cannot be used together.",
        ));
    }
    let (list, legacy, key_name, values_name, member) = match (modern, legacy) {
        (Some(l), _) => (l, false, "Key", "Values", "filters"),
        (None, Some(l)) => (l, true, "key", "valueSet", "instanceInformationFilterList"),
        (None, None) => return Ok(Vec::new()),
    };
    list.iter()
        .enumerate()
        .map(|(i, f)| {
            let at = |m: &str| format!("{member}.{}.member.{m}", i + 1);
            let key = f
                .str(key_name)?
                .ok_or_else(|| validation_null(&at("key")))?;
            let values = f
                .strings(values_name)?
                .ok_or_else(|| validation_null(&at(values_name)))?;
            if values.is_empty() || values.len() > 100 {
                return Err(ApiError::validation(
                    "'[]'",
                    &at(values_name),
                    "Member must have length between 1 and 100",
                ));
            }
            InfoFilter::parse(key, values.into_iter().map(String::from).collect(), legacy)
        })
        .collect()
}

fn instance_information(inst: &SimInstance, ssm: &SsmRecord) -> Value {
    let mut v = json!({
        "InstanceId": inst.id,
        "PingStatus": ssm.ping_status.as_str(),
        "LastPingDateTime": epoch_seconds(ssm.last_ping),
        "AgentVersion": ssm.agent_version,
        "IsLatestVersion": ssm.is_latest_version,
        "PlatformType": inst.platform.platform_type(),
        "PlatformName": inst.platform.platform_name(),
        "PlatformVersion": inst.platform.platform_version(),
        "ResourceType": ssm.resource_type,
        "IPAddress": ssm.ip_address,
        "ComputerName": ssm.computer_name,
        "SourceId": ssm.source_id,
        "SourceType": ssm.source_type,
    });
    if let Some(status) = &ssm.association_status {
        v["AssociationStatus"] = json!(status);
        v["AssociationOverview"] = json!({
            "DetailedStatus": status,
            "InstanceAssociationStatusAggregatedCount": { status.as_str(): 1 },
        });
        if let Some(at) = ssm.last_association {
            v["LastAssociationExecutionDate"] = epoch_seconds(at);
            if status == "Success" {
                v["LastSuccessfulAssociationExecutionDate"] = epoch_seconds(at);
            }
        }
    }
    if let Some(id) = &ssm.activation_id {
        v["ActivationId"] = json!(id);
    }
    if let Some(role) = &ssm.iam_role {
        v["IamRole"] = json!(role);
    }
    if let Some(at) = ssm.registration_date {
        v["RegistrationDate"] = epoch_seconds(at);
    }
    if let Some(name) = &ssm.name {
        v["Name"] = json!(name);
    }
    v
}

/// The node's SSM record, or a copy saying ConnectionLost since `since` for an agent lost while
/// the simulator ran.
fn current_record<'a>(ssm: &'a SsmRecord, since: Option<&DateTime<Utc>>) -> Cow<'a, SsmRecord> {
    match since {
        None => Cow::Borrowed(ssm),
        Some(&at) => Cow::Owned(SsmRecord {
            ping_status: PingStatus::ConnectionLost,
            last_ping: at,
            ..ssm.clone()
        }),
    }
}

fn describe_instance_information(
    fleet: &[SimInstance],
    lost_agents: &HashMap<String, DateTime<Utc>>,
    region: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let filters = parse_filters(input)?;
    let limit = max_results(input, 5, 50, 10)?;
    let scope = format!("ssm:DescribeInstanceInformation:{region}");
    let start = start_offset(input, &scope)?;
    let matching: Vec<(&SimInstance, Cow<SsmRecord>)> = fleet
        .iter()
        .filter(|i| i.region == region)
        .filter_map(|i| {
            let ssm = i.ssm.as_ref()?;
            Some((i, current_record(ssm, lost_agents.get(&i.id))))
        })
        .filter(|(i, s)| filters.iter().all(|f| f.matches(i, s)))
        .collect();
    let (page, next) = pagination::page(&matching, start, limit, &scope);
    let mut out = json!({
        "InstanceInformationList": page.iter().map(|(i, s)| instance_information(i, s)).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

/// Resource types SSM tags (`ResourceTypeForTagging`). Only managed nodes have tags in the
/// simulator; the others exist nowhere here, so their ids are all invalid.
const TAGGABLE_TYPES: &[&str] = &[
    "Document",
    "ManagedInstance",
    "MaintenanceWindow",
    "Parameter",
    "PatchBaseline",
    "OpsItem",
    "OpsMetadata",
    "Automation",
    "Association",
];

/// SSM keeps tags of hybrid (`mi-`) nodes only: EC2 instances are tagged in EC2, and asking SSM
/// for one is `InvalidResourceId`, as it is for an id SSM does not know.
fn list_tags_for_resource(
    fleet: &[SimInstance],
    region: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let kind = input
        .str("ResourceType")?
        .ok_or_else(|| validation_null("resourceType"))?;
    let id = input
        .str("ResourceId")?
        .ok_or_else(|| validation_null("resourceId"))?;
    if !TAGGABLE_TYPES.contains(&kind) {
        return Err(ApiError::validation(
            &format!("'{kind}'"),
            "resourceType",
            &format!(
                "Member must satisfy enum value set: [{}]",
                TAGGABLE_TYPES.join(", ")
            ),
        ));
    }
    let invalid_id = || {
        ApiError::client(
            "InvalidResourceId",
            "The resource ID isn't valid. Verify that you entered the correct ID and try again.",
        )
    };
    if kind != "ManagedInstance" {
        return Err(invalid_id());
    }
    let node = fleet
        .iter()
        .find(|i| i.region == region && i.id == id && i.ec2.is_none() && i.ssm.is_some())
        .ok_or_else(invalid_id)?;
    let tags: Vec<Value> = node
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({ "TagList": tags }))
}

type SessionCheck = Box<dyn Fn(&SessionRecord) -> bool>;

fn describe_sessions(
    sessions: &[SessionRecord],
    region: &str,
    input: &JsonInput,
) -> Result<Value, ApiError> {
    let active = match input.str("State")? {
        None => return Err(validation_null("state")),
        Some("Active") => true,
        Some("History") => false,
        Some(other) => {
            return Err(ApiError::validation(
                &format!("'{other}'"),
                "state",
                "Member must satisfy enum value set: [Active, History]",
            ));
        }
    };
    let limit = max_results(input, 1, 200, 20)?;
    let mut checks: Vec<SessionCheck> = Vec::new();
    for (key, value) in key_value_filters(input, 6)? {
        let check: SessionCheck = match key.as_str() {
            "InvokedAfter" => {
                let t = time_filter(&key, &value)?;
                Box::new(move |s| s.start_date >= t)
            }
            "InvokedBefore" => {
                let t = time_filter(&key, &value)?;
                Box::new(move |s| s.start_date <= t)
            }
            "Target" => Box::new(move |s| s.target == value),
            "Owner" => Box::new(move |s| s.owner == value),
            "Status" => Box::new(move |s| s.status == value),
            "SessionId" => Box::new(move |s| s.session_id == value),
            // No simulated session has a just-in-time access type: every session is Standard.
            "AccessType" => Box::new(move |_| value == "Standard"),
            other => {
                return Err(ApiError::client(
                    "InvalidFilterKey",
                    format!("The filter key '{other}' is not valid."),
                ));
            }
        };
        checks.push(check);
    }

    let mut matching: Vec<&SessionRecord> = sessions
        .iter()
        .filter(|s| s.region == region && s.is_active() == active)
        .filter(|s| checks.iter().all(|c| c(s)))
        .collect();
    // Newest first, as the console lists them.
    matching.sort_by_key(|s| std::cmp::Reverse(s.start_date));
    let scope = format!("ssm:DescribeSessions:{region}:{active}");
    let start = start_offset(input, &scope)?;
    let (page, next) = pagination::page(&matching, start, limit, &scope);
    let items: Vec<Value> = page
        .iter()
        .map(|s| {
            let mut v = json!({
                "SessionId": s.session_id,
                "Target": s.target,
                "Status": s.status,
                "StartDate": epoch_seconds(s.start_date),
                "Owner": s.owner,
            });
            if let Some(t) = s.end_date {
                v["EndDate"] = epoch_seconds(t);
            }
            if let Some(d) = &s.document_name {
                v["DocumentName"] = json!(d);
            }
            if let Some(r) = &s.reason {
                v["Reason"] = json!(r);
            }
            if let Some(d) = &s.details {
                v["Details"] = json!(d);
            }
            if let Some(m) = &s.max_session_duration {
                v["MaxSessionDuration"] = json!(m);
            }
            if let Some(url) = &s.cloudwatch_output_url {
                v["OutputUrl"] = json!({ "CloudWatchOutputUrl": url });
            }
            v
        })
        .collect();
    let mut out = json!({ "Sessions": items });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::fleet::{FleetSpec, Health, generate_fleet};
    use chrono::TimeZone;

    fn fleet() -> Vec<SimInstance> {
        generate_fleet(&FleetSpec {
            instances: 200,
            seed: 5,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().unwrap(),
        })
    }

    fn call(fleet: &[SimInstance], op: &str, body: Value) -> Result<Value, ApiError> {
        let obj = body.as_object().cloned().unwrap_or_default();
        handle(
            fleet,
            &[],
            &HashMap::new(),
            "us-east-1",
            op,
            &JsonInput::new(&obj),
        )
    }

    fn all_ids(fleet: &[SimInstance], body: Value) -> Vec<String> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut b = body.clone();
            if let Some(t) = &token {
                b["NextToken"] = json!(t);
            }
            let out = call(fleet, "DescribeInstanceInformation", b).unwrap();
            for i in out["InstanceInformationList"].as_array().unwrap() {
                ids.push(i["InstanceId"].as_str().unwrap().to_string());
            }
            match out.get("NextToken").and_then(Value::as_str) {
                Some(t) => token = Some(t.to_string()),
                None => return ids,
            }
        }
    }

    #[test]
    fn pages_return_every_managed_instance_once() {
        let fleet = fleet();
        let ids = all_ids(&fleet, json!({"MaxResults": 7}));
        let expected: Vec<String> = fleet
            .iter()
            .filter(|i| i.region == "us-east-1" && i.ssm.is_some())
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(ids, expected);
        assert!(
            fleet
                .iter()
                .any(|i| i.health == Health::Stopped && !ids.contains(&i.id))
        );
    }

    #[test]
    fn filters_combine_with_and_values_with_or() {
        let fleet = fleet();
        let ids = all_ids(
            &fleet,
            json!({"Filters": [
                {"Key": "PingStatus", "Values": ["ConnectionLost", "Inactive"]},
                {"Key": "tag:Env", "Values": ["prod"]}
            ], "MaxResults": 50}),
        );
        let expected: Vec<String> = fleet
            .iter()
            .filter(|i| i.region == "us-east-1" && i.tag("Env") == Some("prod"))
            .filter(|i| {
                i.ssm.as_ref().is_some_and(|s| {
                    matches!(s.ping_status.as_str(), "ConnectionLost" | "Inactive")
                })
            })
            .map(|i| i.id.clone())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(ids, expected);

        let hybrid = all_ids(
            &fleet,
            json!({"InstanceInformationFilterList": [{"key": "ResourceType", "valueSet": ["ManagedInstance"]}]}),
        );
        assert!(!hybrid.is_empty());
        assert!(hybrid.iter().all(|id| id.starts_with("mi-")));
    }

    #[test]
    fn errors_match_aws_codes() {
        let fleet = fleet();
        let code = |body: Value| {
            call(&fleet, "DescribeInstanceInformation", body)
                .unwrap_err()
                .code
        };
        assert_eq!(code(json!({"MaxResults": 4})), "ValidationException");
        assert_eq!(code(json!({"MaxResults": 51})), "ValidationException");
        assert_eq!(code(json!({"NextToken": "bogus"})), "InvalidNextToken");
        assert_eq!(
            code(json!({"Filters": [{"Key": "Colour", "Values": ["x"]}]})),
            "InvalidFilterKey"
        );
        assert_eq!(
            code(json!({"Filters": [{"Key": "PingStatus", "Values": ["Sleepy"]}]})),
            "InvalidInstanceInformationFilterValue"
        );
        assert_eq!(
            code(json!({"InstanceInformationFilterList": [{"key": "tag-key", "valueSet": ["x"]}]})),
            "InvalidFilterKey"
        );
        assert_eq!(
            call(&fleet, "SendCommandX", json!({})).unwrap_err().code,
            "UnknownOperationException"
        );
    }

    #[test]
    fn describe_sessions_requires_state_and_filters_store() {
        let fleet = fleet();
        let e = call(&fleet, "DescribeSessions", json!({})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let out = call(&fleet, "DescribeSessions", json!({"State": "Active"})).unwrap();
        assert_eq!(out, json!({"Sessions": []}));
        let e = call(
            &fleet,
            "DescribeSessions",
            json!({"State": "Active", "MaxResults": 0}),
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");

        let t0 = Utc.with_ymd_and_hms(2025, 1, 2, 3, 0, 0).single().unwrap();
        let session = |id: &str, status: &str, mins: i64| SessionRecord {
            region: "us-east-1".into(),
            session_id: id.into(),
            target: "i-0123456789abcdef0".into(),
            status: status.into(),
            start_date: t0 + chrono::Duration::minutes(mins),
            end_date: None,
            document_name: None,
            owner: "arn:aws:iam::123456789012:user/ana".into(),
            reason: None,
            details: None,
            max_session_duration: None,
            cloudwatch_output_url: None,
        };
        let store = vec![
            session("ana-1", "Terminated", 0),
            session("ana-2", "Connected", 5),
            session("ana-3", "Terminated", 10),
        ];
        let obj = json!({"State": "History", "Filters": [{"key": "InvokedAfter", "value": "2025-01-02T03:01:00Z"}]});
        let out = handle(
            &fleet,
            &store,
            &HashMap::new(),
            "us-east-1",
            "DescribeSessions",
            &JsonInput::new(obj.as_object().unwrap()),
        )
        .unwrap();
        assert_eq!(out["Sessions"].as_array().unwrap().len(), 1);
        assert_eq!(out["Sessions"][0]["SessionId"], "ana-3");
        let obj = json!({"State": "Active", "Filters": [{"key": "Colour", "value": "x"}]});
        let e = handle(
            &fleet,
            &store,
            &HashMap::new(),
            "us-east-1",
            "DescribeSessions",
            &JsonInput::new(obj.as_object().unwrap()),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidFilterKey");
    }
}
