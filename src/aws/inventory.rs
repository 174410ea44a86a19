//! The fleet: EC2 DescribeInstances joined with SSM DescribeInstanceInformation on instance id,
//! every page, every (profile, region) at once. A failure in one slice is reported, never fatal.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use aws_sdk_ec2::types::Instance as Ec2Instance;
use aws_sdk_ssm::types::{InstanceInformation, ResourceTypeForTagging};
use chrono::{DateTime, Utc};

use super::{AwsError, Clients, Target};
use crate::model::{Instance, InstanceState, PingStatus, PlatformType};

/// EC2 allows up to 1000 per page, SSM up to 50: the fewest calls for a large fleet.
const EC2_PAGE: i32 = 1000;
const SSM_PAGE: i32 = 50;
/// Rounds of our own backoff after the SDK's retries are spent on throttling.
const THROTTLE_ROUNDS: u32 = 4;
/// ListTagsForResource calls in flight at once per target.
const HYBRID_TAG_CALLS: usize = 8;
/// Hybrid nodes whose tags are read per target: one call each would make a large on-premises
/// fleet's inventory take minutes, so past this many their tags are left unread (documented).
const HYBRID_TAG_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct InventoryProblem {
    pub target: Target,
    pub error: AwsError,
}

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub instances: Vec<Instance>,
    pub problems: Vec<InventoryProblem>,
    pub fetched_at: Option<DateTime<Utc>>,
}

/// Reads every target concurrently and joins the results, sorted by name then id.
pub async fn fetch(clients: &[Clients]) -> Inventory {
    let slices = futures_util::future::join_all(clients.iter().map(fetch_target)).await;
    let mut inventory = Inventory {
        fetched_at: Some(Utc::now()),
        ..Inventory::default()
    };
    for (instances, problems) in slices {
        inventory.instances.extend(instances);
        inventory.problems.extend(problems);
    }
    dedup_problems(&mut inventory.problems);
    inventory.instances.sort_by(|a, b| {
        (a.display_name(), &a.instance_id, &a.profile, &a.region).cmp(&(
            b.display_name(),
            &b.instance_id,
            &b.profile,
            &b.region,
        ))
    });
    inventory
}

/// A problem is said once: one profile without credentials fails in every region the same way,
/// EC2 and SSM fail the same way on an unreachable endpoint, and one `--endpoint-url` serves every
/// region (the regions are then named in one sentence). The first target keeps the problem.
pub fn dedup_problems(problems: &mut Vec<InventoryProblem>) {
    let mut kept: Vec<InventoryProblem> = Vec::with_capacity(problems.len());
    for problem in problems.drain(..) {
        if !kept.iter_mut().any(|k| k.error.absorb(&problem.error)) {
            kept.push(problem);
        }
    }
    *problems = kept;
}

async fn fetch_target(clients: &Clients) -> (Vec<Instance>, Vec<InventoryProblem>) {
    let (ec2, ssm) = tokio::join!(ec2_instances(clients), ssm_information(clients));
    let mut problems = Vec::new();
    let mut report = |error: AwsError| {
        problems.push(InventoryProblem {
            target: clients.target.clone(),
            error,
        })
    };
    let ssm_known = ssm.is_ok();
    let ec2 = ec2.unwrap_or_else(|e| {
        report(e);
        Vec::new()
    });
    let ssm = ssm.unwrap_or_else(|e| {
        report(e);
        Vec::new()
    });
    let mut instances = join(&clients.target, ec2, ssm, ssm_known);
    if let Err(e) = add_hybrid_tags(clients, &mut instances).await {
        report(e);
    }
    (instances, problems)
}

/// Hybrid nodes have no EC2 record, so their tags live in SSM, one ListTagsForResource call per
/// node, a few at once, for up to `HYBRID_TAG_LIMIT` nodes. Every tag set read is kept; the
/// first failure is reported once and the other nodes keep their names from SSM.
async fn add_hybrid_tags(clients: &Clients, instances: &mut [Instance]) -> Result<(), AwsError> {
    use futures_util::stream::{self, StreamExt};
    let hybrid: Vec<usize> = instances
        .iter()
        .enumerate()
        .filter(|(_, i)| i.state == InstanceState::Hybrid)
        .map(|(n, _)| n)
        .collect();
    if hybrid.len() > HYBRID_TAG_LIMIT {
        tracing::info!(
            nodes = hybrid.len(),
            "too many hybrid nodes to read their tags one call each; tags left unread"
        );
        return Ok(());
    }
    let ids: Vec<(usize, String)> = hybrid
        .into_iter()
        .map(|n| (n, instances[n].instance_id.clone()))
        .collect();
    let tagged: Vec<(usize, Result<Tags, AwsError>)> = stream::iter(ids)
        .map(|(n, id)| async move { (n, hybrid_tags(clients, &id).await) })
        .buffer_unordered(HYBRID_TAG_CALLS)
        .collect()
        .await;
    let mut first_error = None;
    for (n, tags) in tagged {
        match tags {
            Ok(tags) => instances[n].tags = tags,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

type Tags = BTreeMap<String, String>;

async fn hybrid_tags(c: &Clients, id: &str) -> Result<Tags, AwsError> {
    let out = with_throttle_rounds(|| async {
        c.ssm
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::ManagedInstance)
            .resource_id(id)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &c.target,
                    "ssm:ListTagsForResource",
                    c.endpoint_for("ssm"),
                )
            })
    })
    .await?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

/// Runs one API call, retrying further rounds on throttling with our own backoff.
async fn with_throttle_rounds<T, F, Fut>(mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..THROTTLE_ROUNDS {
        match call().await {
            Err(e) if e.is_throttled() => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    call().await
}

/// Follows NextToken to the end; each page gets the throttling rounds of its own.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (items, next) = with_throttle_rounds(|| page(token.clone())).await?;
        all.extend(items);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(all);
        }
    }
}

async fn ec2_instances(c: &Clients) -> Result<Vec<Ec2Instance>, AwsError> {
    all_pages(|token| async move {
        let page = c
            .ec2
            .describe_instances()
            .max_results(EC2_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(e, &c.target, "ec2:DescribeInstances", c.endpoint_for("ec2"))
            })?;
        let items = page
            .reservations()
            .iter()
            .flat_map(|r| r.instances().iter().cloned())
            .collect();
        Ok((items, page.next_token().map(str::to_owned)))
    })
    .await
}

async fn ssm_information(c: &Clients) -> Result<Vec<InstanceInformation>, AwsError> {
    all_pages(|token| async move {
        let page = c
            .ssm
            .describe_instance_information()
            .max_results(SSM_PAGE)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &c.target,
                    "ssm:DescribeInstanceInformation",
                    c.endpoint_for("ssm"),
                )
            })?;
        let items = page.instance_information_list().to_vec();
        Ok((items, page.next_token().map(str::to_owned)))
    })
    .await
}

/// Joins one target's EC2 and SSM views. EC2 instances SSM does not know stay, as NotManaged
/// (or Unknown when SSM could not be read); SSM nodes EC2 does not know (hybrid `mi-`) stay too.
pub fn join(
    target: &Target,
    ec2: Vec<Ec2Instance>,
    ssm: Vec<InstanceInformation>,
    ssm_known: bool,
) -> Vec<Instance> {
    let mut by_id: HashMap<String, InstanceInformation> = ssm
        .into_iter()
        .filter_map(|info| Some((info.instance_id()?.to_owned(), info)))
        .collect();
    let profile = target.profile_label();
    let mut out = Vec::with_capacity(ec2.len() + by_id.len());
    for e in ec2 {
        let Some(id) = e.instance_id().map(str::to_owned) else {
            continue;
        };
        let state = e
            .state()
            .and_then(|s| s.name())
            .map_or(InstanceState::Unknown, |n| {
                InstanceState::from_ec2_name(n.as_str())
            });
        if state == InstanceState::Terminated {
            continue;
        }
        let tags: std::collections::BTreeMap<String, String> = e
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
        let ec2_platform_type = match e.platform() {
            Some(p) if p.as_str().eq_ignore_ascii_case("windows") => PlatformType::Windows,
            _ => PlatformType::Linux,
        };
        let mut instance = Instance {
            name: tags.get("Name").cloned(),
            profile: profile.clone(),
            region: target.region.clone(),
            state,
            ping_status: if ssm_known {
                PingStatus::NotManaged
            } else {
                PingStatus::Unknown
            },
            last_ping: None,
            agent_version: None,
            agent_is_latest: None,
            platform_type: ec2_platform_type,
            platform: e
                .platform_details()
                .map(str::to_owned)
                .unwrap_or_else(|| platform_label(ec2_platform_type).to_owned()),
            private_ip: e.private_ip_address().map(str::to_owned),
            public_ip: e.public_ip_address().map(str::to_owned),
            instance_type: e.instance_type().map(|t| t.as_str().to_owned()),
            availability_zone: e
                .placement()
                .and_then(|p| p.availability_zone())
                .map(str::to_owned),
            iam_instance_profile: e
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_owned),
            computer_name: None,
            launch_time: e.launch_time().and_then(to_chrono),
            tags,
            managed: false,
            instance_id: id,
        };
        if let Some(info) = by_id.remove(&instance.instance_id) {
            apply_ssm(&mut instance, &info);
        }
        out.push(instance);
    }
    for (id, info) in by_id {
        let hybrid = id.starts_with("mi-")
            || info
                .resource_type()
                .is_some_and(|r| r.as_str() == "ManagedInstance");
        let mut instance = Instance {
            name: info.name().map(str::to_owned),
            profile: profile.clone(),
            region: target.region.clone(),
            state: if hybrid {
                InstanceState::Hybrid
            } else {
                InstanceState::Unknown
            },
            ping_status: PingStatus::Unknown,
            last_ping: None,
            agent_version: None,
            agent_is_latest: None,
            platform_type: PlatformType::Unknown,
            platform: String::new(),
            private_ip: info.ip_address().map(str::to_owned),
            public_ip: None,
            instance_type: None,
            availability_zone: None,
            iam_instance_profile: info.iam_role().map(str::to_owned),
            computer_name: None,
            launch_time: info.registration_date().and_then(to_chrono),
            tags: Default::default(),
            managed: true,
            instance_id: id,
        };
        apply_ssm(&mut instance, &info);
        out.push(instance);
    }
    out
}

fn apply_ssm(instance: &mut Instance, info: &InstanceInformation) {
    instance.managed = true;
    instance.ping_status = info
        .ping_status()
        .map_or(PingStatus::Unknown, |p| PingStatus::from_ssm(p.as_str()));
    instance.last_ping = info.last_ping_date_time().and_then(to_chrono);
    instance.agent_version = info.agent_version().map(str::to_owned);
    instance.agent_is_latest = info.is_latest_version();
    if let Some(kind) = info.platform_type() {
        instance.platform_type = match kind.as_str() {
            "Windows" => PlatformType::Windows,
            "Linux" => PlatformType::Linux,
            "MacOS" => PlatformType::MacOS,
            _ => PlatformType::Unknown,
        };
    }
    let name = info.platform_name().unwrap_or_default();
    let version = info.platform_version().unwrap_or_default();
    let label = format!("{name} {version}").trim().to_owned();
    if !label.is_empty() {
        instance.platform = label;
    } else if instance.platform.is_empty() {
        instance.platform = platform_label(instance.platform_type).to_owned();
    }
    instance.computer_name = info.computer_name().map(str::to_owned);
    if instance.private_ip.is_none() {
        instance.private_ip = info.ip_address().map(str::to_owned);
    }
}

fn platform_label(kind: PlatformType) -> &'static str {
    match kind {
        PlatformType::Linux => "Linux/UNIX",
        PlatformType::Windows => "Windows",
        PlatformType::MacOS => "macOS",
        PlatformType::Unknown => "",
    }
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
