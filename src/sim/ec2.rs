//! EC2 (Query protocol, XML replies): DescribeInstances over the seeded fleet.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::api::{ApiError, glob_match};
use super::fleet::{ACCOUNT_ID, Ec2Record, SimInstance};
use super::pagination;
use super::xml::XmlWriter;

pub(crate) const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn invalid_value(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterValue", message)
}

/// The EC2 Query parameters of one request, `Action` and `Version` included.
pub(crate) type Params = Vec<(String, String)>;

pub(crate) fn handle(
    fleet: &[SimInstance],
    region: &str,
    action: &str,
    params: &Params,
    request_id: &str,
) -> Result<String, ApiError> {
    match action {
        "DescribeInstances" => describe_instances(fleet, region, params, request_id),
        "" => Err(ApiError::client(
            "MissingAction",
            "The request must contain the parameter Action",
        )),
        other => Err(ApiError::client(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

#[derive(Debug, Default)]
struct DescribeInstancesInput {
    instance_ids: Vec<String>,
    filters: Vec<(String, Vec<String>)>,
    max_results: Option<usize>,
    next_token: Option<String>,
    dry_run: bool,
}

/// Splits `Filter.3.Value.2` style keys; the numbers order the members, they need not be dense.
fn parse_input(params: &Params) -> Result<DescribeInstancesInput, ApiError> {
    let mut input = DescribeInstancesInput::default();
    let mut ids: BTreeMap<u32, String> = BTreeMap::new();
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut values: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let index = |s: &str, key: &str| {
        s.parse::<u32>()
            .map_err(|_| invalid_value(format!("Invalid parameter name '{key}'")))
    };
    for (key, value) in params {
        let parts: Vec<&str> = key.split('.').collect();
        match parts[..] {
            ["InstanceId", n] => {
                ids.insert(index(n, key)?, value.clone());
            }
            ["Filter", n, "Name"] => {
                names.insert(index(n, key)?, value.clone());
            }
            ["Filter", n, "Value", m] => {
                values
                    .entry(index(n, key)?)
                    .or_default()
                    .insert(index(m, key)?, value.clone());
            }
            ["MaxResults"] => {
                let n: i64 = value.trim().parse().map_err(|_| {
                    invalid_value(format!("Invalid value '{value}' for maxResults"))
                })?;
                if !(5..=1000).contains(&n) {
                    return Err(invalid_value(format!(
                        "Value ( {n} ) for parameter maxResults is invalid. Expecting a value \
                         between 5 and 1000."
                    )));
                }
                input.max_results = usize::try_from(n).ok();
            }
            ["NextToken"] => input.next_token = Some(value.clone()),
            ["DryRun"] => input.dry_run = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    for (n, vals) in &values {
        if !names.contains_key(n) {
            return Err(invalid_value(format!(
                "The filter 'null' is invalid (Filter.{n} has values but no name)"
            )));
        }
        let _ = vals;
    }
    for (n, name) in names {
        let vals: Vec<String> = values
            .remove(&n)
            .unwrap_or_default()
            .into_values()
            .collect();
        input.filters.push((name, vals));
    }
    input.instance_ids = ids.into_values().collect();
    Ok(input)
}

fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// What a filter name reads from an instance; several values mean "matches if any does".
fn filter_field<'a>(name: &str, inst: &'a SimInstance, ec2: &'a Ec2Record) -> Option<Vec<&'a str>> {
    let one = |v: &'a str| Some(vec![v]);
    let opt = |v: Option<&'a str>| Some(v.into_iter().collect());
    match name {
        "instance-id" => one(&inst.id),
        "instance-state-name" => one(ec2.state.name()),
        "instance-state-code" => None,
        "instance-type" => one(&ec2.instance_type),
        "vpc-id" => one(&ec2.vpc_id),
        "subnet-id" => one(&ec2.subnet_id),
        "availability-zone" => one(&ec2.availability_zone),
        "private-ip-address" => one(&ec2.private_ip),
        "ip-address" => opt(ec2.public_ip.as_deref()),
        "private-dns-name" => one(&ec2.private_dns),
        "dns-name" => opt(ec2.public_dns.as_deref()),
        "image-id" => one(&ec2.image_id),
        "architecture" => one(&ec2.architecture),
        "reservation-id" => one(&ec2.reservation_id),
        "key-name" => opt(ec2.key_name.as_deref()),
        "platform" => opt(inst.platform.is_windows().then_some("windows")),
        "platform-details" => one(inst.platform.platform_details()),
        "iam-instance-profile.arn" => {
            opt(ec2.iam_instance_profile.as_ref().map(|p| p.arn.as_str()))
        }
        "iam-instance-profile.id" => opt(ec2.iam_instance_profile.as_ref().map(|p| p.id.as_str())),
        "instance.group-id" | "group-id" => one(&ec2.security_group_id),
        "instance.group-name" | "group-name" => one(&ec2.security_group_name),
        "tag-key" => Some(inst.tags.iter().map(|(k, _)| k.as_str()).collect()),
        "tag-value" => Some(inst.tags.iter().map(|(_, v)| v.as_str()).collect()),
        n => n
            .strip_prefix("tag:")
            .map(|k| inst.tag(k).into_iter().collect()),
    }
}

const KNOWN_FILTERS: &[&str] = &[
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "instance-type",
    "vpc-id",
    "subnet-id",
    "availability-zone",
    "private-ip-address",
    "ip-address",
    "private-dns-name",
    "dns-name",
    "image-id",
    "architecture",
    "reservation-id",
    "key-name",
    "platform",
    "platform-details",
    "iam-instance-profile.arn",
    "iam-instance-profile.id",
    "instance.group-id",
    "group-id",
    "instance.group-name",
    "group-name",
    "tag-key",
    "tag-value",
];

fn filter_matches(name: &str, values: &[String], inst: &SimInstance, ec2: &Ec2Record) -> bool {
    if name == "instance-state-code" {
        let code = ec2.state.code().to_string();
        return values.iter().any(|v| v == &code);
    }
    let have = filter_field(name, inst, ec2).unwrap_or_default();
    values
        .iter()
        .any(|pattern| have.iter().any(|h| glob_match(pattern, h)))
}

fn describe_instances(
    fleet: &[SimInstance],
    region: &str,
    params: &Params,
    request_id: &str,
) -> Result<String, ApiError> {
    let input = parse_input(params)?;
    if !input.instance_ids.is_empty() && input.max_results.is_some() {
        return Err(ApiError::client(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    for (name, values) in &input.filters {
        if !(KNOWN_FILTERS.contains(&name.as_str()) || name.starts_with("tag:")) {
            return Err(invalid_value(format!("The filter '{name}' is invalid")));
        }
        if values.is_empty() {
            return Err(invalid_value(format!(
                "The filter '{name}' must have at least one value"
            )));
        }
    }
    if let Some(bad) = input.instance_ids.iter().find(|id| !is_instance_id(id)) {
        return Err(ApiError::client(
            "InvalidInstanceID.Malformed",
            format!("Invalid id: \"{bad}\""),
        ));
    }
    let in_region: Vec<(&SimInstance, &Ec2Record)> = fleet
        .iter()
        .filter(|i| i.region == region)
        .filter_map(|i| i.ec2.as_ref().map(|e| (i, e)))
        .collect();
    let missing: Vec<&str> = input
        .instance_ids
        .iter()
        .filter(|id| !in_region.iter().any(|(i, _)| &i.id == *id))
        .map(String::as_str)
        .collect();
    match missing[..] {
        [] => {}
        [one] => {
            return Err(ApiError::client(
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{one}' does not exist"),
            ));
        }
        _ => {
            return Err(ApiError::client(
                "InvalidInstanceID.NotFound",
                format!("The instance IDs '{}' do not exist", missing.join(", ")),
            ));
        }
    }
    if input.dry_run {
        return Err(ApiError::client(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        )
        .with_status(412));
    }

    let matching: Vec<(&SimInstance, &Ec2Record)> = in_region
        .into_iter()
        .filter(|(i, _)| input.instance_ids.is_empty() || input.instance_ids.contains(&i.id))
        .filter(|(i, e)| {
            input
                .filters
                .iter()
                .all(|(name, values)| filter_matches(name, values, i, e))
        })
        .collect();
    let scope = format!("ec2:DescribeInstances:{region}");
    let start = match &input.next_token {
        None => 0,
        Some(token) => pagination::decode(&scope, token).ok_or_else(|| {
            ApiError::client(
                "InvalidPaginationToken",
                format!("The specified pagination token is not valid or is expired: {token}"),
            )
        })?,
    };
    let (page, next) = pagination::page(
        &matching,
        start,
        input.max_results.unwrap_or(usize::MAX),
        &scope,
    );

    let mut w = XmlWriter::new();
    w.open_ns("DescribeInstancesResponse", XMLNS)
        .leaf("requestId", request_id)
        .open("reservationSet");
    for (inst, ec2) in page {
        w.open("item")
            .leaf("reservationId", &ec2.reservation_id)
            .leaf("ownerId", ACCOUNT_ID)
            .empty("groupSet")
            .open("instancesSet");
        write_instance(&mut w, inst, ec2);
        w.close("instancesSet").close("item");
    }
    w.close("reservationSet");
    w.opt_leaf("nextToken", next.as_deref());
    w.close("DescribeInstancesResponse");
    Ok(w.finish())
}

fn write_instance(w: &mut XmlWriter, inst: &SimInstance, ec2: &Ec2Record) {
    let windows = inst.platform.is_windows();
    let root_device = if inst.platform == super::fleet::Platform::AmazonLinux2023 {
        "/dev/xvda"
    } else {
        "/dev/sda1"
    };
    let reason = ec2
        .stopped_at
        .map(|t| format!("User initiated ({})", t.format("%Y-%m-%d %H:%M:%S GMT")))
        .unwrap_or_default();
    w.open("item")
        .leaf("instanceId", &inst.id)
        .leaf("imageId", &ec2.image_id)
        .open("instanceState")
        .leaf("code", &ec2.state.code().to_string())
        .leaf("name", ec2.state.name())
        .close("instanceState")
        .leaf("privateDnsName", &ec2.private_dns)
        .leaf("dnsName", ec2.public_dns.as_deref().unwrap_or(""))
        .leaf("reason", &reason)
        .opt_leaf("keyName", ec2.key_name.as_deref())
        .leaf("amiLaunchIndex", "0")
        .empty("productCodes")
        .leaf("instanceType", &ec2.instance_type)
        .leaf("launchTime", &iso(ec2.launch_time))
        .open("placement")
        .leaf("availabilityZone", &ec2.availability_zone)
        .leaf("groupName", "")
        .leaf("tenancy", "default")
        .close("placement");
    if windows {
        w.leaf("platform", "windows");
    }
    w.open("monitoring")
        .leaf("state", "disabled")
        .close("monitoring")
        .leaf("subnetId", &ec2.subnet_id)
        .leaf("vpcId", &ec2.vpc_id)
        .leaf("privateIpAddress", &ec2.private_ip)
        .opt_leaf("ipAddress", ec2.public_ip.as_deref())
        .leaf("sourceDestCheck", "true")
        .open("groupSet")
        .open("item")
        .leaf("groupId", &ec2.security_group_id)
        .leaf("groupName", &ec2.security_group_name)
        .close("item")
        .close("groupSet");
    if ec2.stopped_at.is_some() {
        w.open("stateReason")
            .leaf("code", "Client.UserInitiatedShutdown")
            .leaf(
                "message",
                "Client.UserInitiatedShutdown: User initiated shutdown",
            )
            .close("stateReason");
    }
    w.leaf("architecture", &ec2.architecture)
        .leaf("rootDeviceType", "ebs")
        .leaf("rootDeviceName", root_device)
        .empty("blockDeviceMapping")
        .leaf("virtualizationType", "hvm")
        .leaf("clientToken", "")
        .open("tagSet");
    for (key, value) in &inst.tags {
        w.open("item")
            .leaf("key", key)
            .leaf("value", value)
            .close("item");
    }
    w.close("tagSet").leaf("hypervisor", "xen");
    if let Some(profile) = &ec2.iam_instance_profile {
        w.open("iamInstanceProfile")
            .leaf("arn", &profile.arn)
            .leaf("id", &profile.id)
            .close("iamInstanceProfile");
    }
    w.empty("networkInterfaceSet")
        .leaf("ebsOptimized", "false")
        .leaf("enaSupport", "true")
        .open("metadataOptions")
        .leaf("state", "applied")
        .leaf("httpTokens", "required")
        .leaf("httpPutResponseHopLimit", "2")
        .leaf("httpEndpoint", "enabled")
        .leaf("httpProtocolIpv6", "disabled")
        .leaf("instanceMetadataTags", "disabled")
        .close("metadataOptions")
        .leaf("platformDetails", inst.platform.platform_details())
        .leaf("usageOperation", inst.platform.usage_operation())
        .leaf("usageOperationUpdateTime", &iso(ec2.launch_time))
        .close("item");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::fleet::{FleetSpec, Health, generate_fleet};
    use chrono::TimeZone;

    fn fleet() -> Vec<SimInstance> {
        generate_fleet(&FleetSpec {
            instances: 120,
            seed: 11,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().unwrap(),
        })
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut p: Params = vec![
            ("Action".into(), "DescribeInstances".into()),
            ("Version".into(), "2016-11-15".into()),
        ];
        p.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    }

    fn ids_in(xml: &str) -> Vec<String> {
        xml.split("<instanceId>")
            .skip(1)
            .filter_map(|s| s.split_once("</instanceId>").map(|(id, _)| id.to_string()))
            .collect()
    }

    fn call(fleet: &[SimInstance], pairs: &[(&str, &str)]) -> Result<String, ApiError> {
        handle(
            fleet,
            "us-east-1",
            "DescribeInstances",
            &params(pairs),
            "req-1",
        )
    }

    #[test]
    fn lists_every_ec2_instance_of_the_region() {
        let fleet = fleet();
        let xml = call(&fleet, &[]).unwrap();
        let expected: Vec<String> = fleet
            .iter()
            .filter(|i| i.region == "us-east-1" && i.ec2.is_some())
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(ids_in(&xml), expected);
        assert!(xml.contains(
            "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
        ));
        assert!(!xml.contains("<nextToken>"));
    }

    #[test]
    fn filters_by_tag_glob_and_state() {
        let fleet = fleet();
        let xml = call(
            &fleet,
            &[
                ("Filter.1.Name", "tag:Env"),
                ("Filter.1.Value.1", "prod"),
                ("Filter.2.Name", "instance-state-name"),
                ("Filter.2.Value.1", "stopped"),
            ],
        )
        .unwrap();
        let expected: Vec<String> = fleet
            .iter()
            .filter(|i| {
                i.region == "us-east-1"
                    && i.health == Health::Stopped
                    && i.tag("Env") == Some("prod")
            })
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(ids_in(&xml), expected);

        let xml = call(
            &fleet,
            &[("Filter.1.Name", "tag:Name"), ("Filter.1.Value.1", "web-*")],
        )
        .unwrap();
        let ids = ids_in(&xml);
        assert!(!ids.is_empty());
        for id in ids {
            let inst = fleet.iter().find(|i| i.id == id).unwrap();
            assert!(inst.name.starts_with("web-"));
        }
    }

    #[test]
    fn pages_with_max_results() {
        let fleet = fleet();
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut pairs = vec![("MaxResults", "7")];
            if let Some(t) = &token {
                pairs.push(("NextToken", t.as_str()));
            }
            let xml = call(&fleet, &pairs).unwrap();
            let ids = ids_in(&xml);
            assert!(ids.len() <= 7);
            all.extend(ids);
            token = xml
                .split_once("<nextToken>")
                .and_then(|(_, rest)| rest.split_once("</nextToken>"))
                .map(|(t, _)| t.to_string());
            if token.is_none() {
                break;
            }
        }
        assert_eq!(all, ids_in(&call(&fleet, &[]).unwrap()));
    }

    #[test]
    fn errors_match_aws_codes() {
        let fleet = fleet();
        let code = |pairs: &[(&str, &str)]| call(&fleet, pairs).unwrap_err().code;
        assert_eq!(code(&[("MaxResults", "4")]), "InvalidParameterValue");
        assert_eq!(code(&[("MaxResults", "1001")]), "InvalidParameterValue");
        assert_eq!(
            code(&[("MaxResults", "5"), ("InstanceId.1", "i-0123456789abcdef0")]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[("InstanceId.1", "i-0123456789abcdef0")]),
            "InvalidInstanceID.NotFound"
        );
        assert_eq!(
            code(&[("InstanceId.1", "nope")]),
            "InvalidInstanceID.Malformed"
        );
        assert_eq!(code(&[("NextToken", "garbage")]), "InvalidPaginationToken");
        assert_eq!(
            code(&[("Filter.1.Name", "colour"), ("Filter.1.Value.1", "x")]),
            "InvalidParameterValue"
        );
        let e = handle(&fleet, "us-east-1", "RunInstances", &params(&[]), "r").unwrap_err();
        assert_eq!(e.code, "InvalidAction");
        let dry = call(&fleet, &[("DryRun", "true")]).unwrap_err();
        assert_eq!((dry.code.as_str(), dry.status), ("DryRunOperation", 412));
    }

    #[test]
    fn windows_only_has_platform_element() {
        let fleet = fleet();
        let win = fleet
            .iter()
            .find(|i| i.region == "us-east-1" && i.platform.is_windows() && i.ec2.is_some())
            .unwrap();
        let lin = fleet
            .iter()
            .find(|i| i.region == "us-east-1" && !i.platform.is_windows() && i.ec2.is_some())
            .unwrap();
        let one = |id: &str| call(&fleet, &[("InstanceId.1", id)]).unwrap();
        assert!(one(&win.id).contains("<platform>windows</platform>"));
        assert!(!one(&lin.id).contains("<platform>"));
        assert!(one(&lin.id).contains("<platformDetails>Linux/UNIX</platformDetails>"));
    }
}
