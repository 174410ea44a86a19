//! The seeded fleet: a pure function from (size, seed, regions, start time) to instances.
//!
//! Tests use [`generate_fleet`] as the oracle for what EC2 and SSM must answer, so everything here
//! is derived from the seed and the start time only (never from the wall clock or a global RNG).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The account every simulated resource belongs to.
pub const ACCOUNT_ID: &str = "123456789012";
/// The agent version the simulated SSM reports as current (`IsLatestVersion: true`).
pub const LATEST_AGENT_VERSION: &str = "3.3.1957.0";
const OUTDATED_AGENT_VERSIONS: &[&str] = &["3.2.1630.0", "3.1.1732.0", "3.0.1390.0", "2.3.1644.0"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSpec {
    pub instances: usize,
    pub seed: u64,
    pub regions: Vec<String>,
    /// Every timestamp in the fleet is relative to this instant.
    pub start: DateTime<Utc>,
}

/// The health category an instance was generated in; `ec2` and `ssm` follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Health {
    /// Running, agent Online with the latest version.
    Online,
    /// Running, agent Online but `IsLatestVersion: false`.
    OutdatedAgent,
    /// Running, agent has not pinged for minutes to hours.
    ConnectionLost,
    /// Running, SSM reports the deprecated `Inactive` status.
    Inactive,
    /// Running EC2 instance that SSM does not know (no agent or no permissions).
    Unmanaged,
    /// Stopped EC2 instance: SSM does not return it.
    Stopped,
    /// Hybrid `mi-` node: registered in SSM only, no EC2 record.
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    AmazonLinux2023,
    Ubuntu2204,
    WindowsServer2022,
}

impl Platform {
    pub fn is_windows(self) -> bool {
        self == Platform::WindowsServer2022
    }

    /// SSM `PlatformType`.
    pub fn platform_type(self) -> &'static str {
        if self.is_windows() {
            "Windows"
        } else {
            "Linux"
        }
    }

    /// SSM `PlatformName`.
    pub fn platform_name(self) -> &'static str {
        match self {
            Platform::AmazonLinux2023 => "Amazon Linux",
            Platform::Ubuntu2204 => "Ubuntu",
            Platform::WindowsServer2022 => "Microsoft Windows Server 2022 Datacenter",
        }
    }

    /// SSM `PlatformVersion`.
    pub fn platform_version(self) -> &'static str {
        match self {
            Platform::AmazonLinux2023 => "2023",
            Platform::Ubuntu2204 => "22.04",
            Platform::WindowsServer2022 => "10.0.20348",
        }
    }

    /// EC2 `platformDetails`.
    pub fn platform_details(self) -> &'static str {
        if self.is_windows() {
            "Windows"
        } else {
            "Linux/UNIX"
        }
    }

    /// EC2 `usageOperation` (the billing code that goes with `platformDetails`).
    pub fn usage_operation(self) -> &'static str {
        if self.is_windows() {
            "RunInstances:0002"
        } else {
            "RunInstances"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ec2State {
    Running,
    Stopped,
}

impl Ec2State {
    /// `instanceState/code`.
    pub fn code(self) -> u8 {
        match self {
            Ec2State::Running => 16,
            Ec2State::Stopped => 80,
        }
    }

    /// `instanceState/name`, also the `instance-state-name` filter value.
    pub fn name(self) -> &'static str {
        match self {
            Ec2State::Running => "running",
            Ec2State::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamInstanceProfile {
    pub arn: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Record {
    pub state: Ec2State,
    pub instance_type: String,
    pub architecture: String,
    pub image_id: String,
    pub private_ip: String,
    pub public_ip: Option<String>,
    pub private_dns: String,
    pub public_dns: Option<String>,
    pub vpc_id: String,
    pub subnet_id: String,
    pub availability_zone: String,
    pub launch_time: DateTime<Utc>,
    pub iam_instance_profile: Option<IamInstanceProfile>,
    pub reservation_id: String,
    pub security_group_id: String,
    pub security_group_name: String,
    pub key_name: Option<String>,
    /// Set for stopped instances: when the user stopped it (`reason`/`stateReason`).
    pub stopped_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingStatus {
    Online,
    ConnectionLost,
    Inactive,
}

impl PingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Online => "Online",
            PingStatus::ConnectionLost => "ConnectionLost",
            PingStatus::Inactive => "Inactive",
        }
    }
}

/// What SSM DescribeInstanceInformation returns for the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmRecord {
    pub ping_status: PingStatus,
    pub last_ping: DateTime<Utc>,
    pub agent_version: String,
    pub is_latest_version: bool,
    pub ip_address: String,
    pub computer_name: String,
    /// `EC2Instance` or `ManagedInstance`.
    pub resource_type: String,
    /// `AWS::EC2::Instance` or `AWS::SSM::ManagedInstance`.
    pub source_type: String,
    pub source_id: String,
    /// `Success`, `Pending` or `Failed`; `None` when no association targets the node.
    pub association_status: Option<String>,
    pub last_association: Option<DateTime<Utc>>,
    /// Hybrid nodes only.
    pub activation_id: Option<String>,
    /// Hybrid nodes only: the service role of the activation.
    pub iam_role: Option<String>,
    /// Hybrid nodes only.
    pub registration_date: Option<DateTime<Utc>>,
    /// Hybrid nodes only: the name given at activation.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInstance {
    /// `i-` or `mi-` followed by 17 hex digits.
    pub id: String,
    pub region: String,
    /// The Name tag.
    pub name: String,
    /// In the order EC2 returns them: Name, Env, Team, Role.
    pub tags: Vec<(String, String)>,
    pub platform: Platform,
    pub health: Health,
    /// `None` for hybrid nodes.
    pub ec2: Option<Ec2Record>,
    /// `None` when DescribeInstanceInformation does not return the node (unmanaged or stopped).
    pub ssm: Option<SsmRecord>,
}

impl SimInstance {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Roughly the health mix of a real fleet, in percent; the rest is [`Health::Online`].
const HEALTH_MIX: &[(Health, usize)] = &[
    (Health::OutdatedAgent, 8),
    (Health::ConnectionLost, 8),
    (Health::Inactive, 4),
    (Health::Unmanaged, 7),
    (Health::Stopped, 5),
    (Health::Hybrid, 3),
];

fn health_plan(n: usize, rng: &mut StdRng) -> Vec<Health> {
    let mut plan = Vec::with_capacity(n);
    for &(health, pct) in HEALTH_MIX {
        let count = (n * pct + 50) / 100;
        plan.extend(std::iter::repeat_n(health, count.min(n - plan.len())));
    }
    plan.resize(n, Health::Online);
    plan.shuffle(rng);
    plan
}

#[derive(Clone, Copy)]
struct App {
    prefix: &'static str,
    team: &'static str,
    roles: &'static [&'static str],
}

const APPS: &[App] = &[
    App {
        prefix: "pay",
        team: "payments",
        roles: &["api", "worker", "db"],
    },
    App {
        prefix: "auth",
        team: "identity",
        roles: &["api", "cache", "db"],
    },
    App {
        prefix: "orders",
        team: "commerce",
        roles: &["api", "worker", "db", "queue"],
    },
    App {
        prefix: "search",
        team: "discovery",
        roles: &["api", "worker", "cache"],
    },
    App {
        prefix: "media",
        team: "content",
        roles: &["worker", "cache"],
    },
    App {
        prefix: "web",
        team: "frontend",
        roles: &["web"],
    },
    App {
        prefix: "bastion",
        team: "platform",
        roles: &["bastion"],
    },
];
const APP_WEIGHTS: &[u32] = &[4, 3, 3, 2, 2, 4, 1];
const HYBRID_ROLES: &[&str] = &["build", "gpu", "ci-runner", "nas"];

fn pick_env(rng: &mut StdRng) -> &'static str {
    match rng.random_range(0..10) {
        0..5 => "prod",
        5..8 => "staging",
        _ => "dev",
    }
}

fn pick_app(rng: &mut StdRng) -> App {
    let total: u32 = APP_WEIGHTS.iter().sum();
    let mut roll = rng.random_range(0..total);
    for (app, &w) in APPS.iter().zip(APP_WEIGHTS) {
        if roll < w {
            return *app;
        }
        roll -= w;
    }
    APPS[0]
}

fn pick_platform(role: &str, rng: &mut StdRng) -> Platform {
    if role == "bastion" {
        return Platform::AmazonLinux2023;
    }
    match rng.random_range(0..20) {
        0..11 => Platform::AmazonLinux2023,
        11..17 => Platform::Ubuntu2204,
        _ => Platform::WindowsServer2022,
    }
}

fn pick_instance_type(role: &str, platform: Platform, rng: &mut StdRng) -> &'static str {
    let choices: &[&str] = match role {
        "web" => &["t3.medium", "m6i.large", "m7g.large"],
        "api" => &["m6i.large", "c6i.xlarge", "m7g.large"],
        "worker" | "queue" => &["c6i.xlarge", "c7g.large", "t3.large"],
        "db" => &["r6i.xlarge", "r6g.large"],
        "cache" => &["r6g.large", "r6i.large"],
        "bastion" => &["t3.micro", "t4g.micro"],
        _ => &["m6i.large"],
    };
    let t = choices.choose(rng).copied().unwrap_or("m6i.large");
    // Graviton types cannot run Windows.
    if platform.is_windows() && is_arm(t) {
        "m6i.large"
    } else {
        t
    }
}

fn is_arm(instance_type: &str) -> bool {
    instance_type
        .split('.')
        .next()
        .is_some_and(|family| family.ends_with('g'))
}

/// A stable id suffix derived from names, for things that must not depend on draw order.
fn hashed_hex(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let mut s = hex::encode(h.finalize());
    s.truncate(len);
    s
}

fn random_hex(rng: &mut StdRng, len: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..len)
        .map(|_| HEX[rng.random_range(0..16)] as char)
        .collect()
}

fn random_upper(rng: &mut StdRng, len: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..len)
        .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
        .collect()
}

/// AWS resource ids usually start with 0 after the prefix: a zero and 16 random hex digits.
fn new_id(prefix: &str, rng: &mut StdRng, used: &mut HashSet<String>) -> String {
    loop {
        let id = format!("{prefix}-0{}", random_hex(rng, 16));
        if used.insert(id.clone()) {
            return id;
        }
    }
}

fn private_dns(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

fn public_dns(ip: &str, region: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        format!("ec2-{dashed}.{region}.compute.amazonaws.com")
    }
}

fn instance_profile(name: &str) -> IamInstanceProfile {
    IamInstanceProfile {
        arn: format!("arn:aws:iam::{ACCOUNT_ID}:instance-profile/{name}"),
        id: format!(
            "AIPA{}",
            hashed_hex(&["profile", name], 17).to_ascii_uppercase()
        ),
    }
}

fn deterministic_uuid(rng: &mut StdRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

struct Namer {
    counters: HashMap<String, usize>,
}

impl Namer {
    fn next(&mut self, base: String) -> String {
        let n = self.counters.entry(base.clone()).or_insert(0);
        *n += 1;
        format!("{base}-{n}")
    }
}

fn base_name(app: App, role: &str, env: &str) -> String {
    match role {
        "web" | "bastion" => format!("{role}-{env}"),
        "db" | "cache" => format!("{role}-{}-{env}", app.prefix),
        _ => format!("{}-{role}-{env}", app.prefix),
    }
}

/// Generates the fleet for `spec`. Same spec, same fleet.
pub fn generate_fleet(spec: &FleetSpec) -> Vec<SimInstance> {
    if spec.regions.is_empty() {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let plan = health_plan(spec.instances, &mut rng);
    let mut used_ids = HashSet::new();
    let mut used_ips = HashSet::new();
    let mut namer = Namer {
        counters: HashMap::new(),
    };
    let start = spec.start;
    let seed = spec.seed.to_string();

    plan.into_iter()
        .enumerate()
        .map(|(i, health)| {
            let region_index = i % spec.regions.len();
            let region = spec.regions[region_index].clone();
            if health == Health::Hybrid {
                return hybrid_node(&region, start, &mut rng, &mut used_ids, &mut namer);
            }

            let env = pick_env(&mut rng);
            let app = pick_app(&mut rng);
            let role = app.roles.choose(&mut rng).copied().unwrap_or("api");
            let name = namer.next(base_name(app, role, env));
            let platform = pick_platform(role, &mut rng);
            let instance_type = pick_instance_type(role, platform, &mut rng).to_string();
            let architecture = if is_arm(&instance_type) {
                "arm64"
            } else {
                "x86_64"
            };
            let id = new_id("i", &mut rng, &mut used_ids);

            let az_index = rng.random_range(0..3u8);
            let az = format!("{region}{}", (b'a' + az_index) as char);
            let second_octet = (region_index % 16) * 16;
            let private_ip = loop {
                let ip = format!(
                    "10.{second_octet}.{}.{}",
                    usize::from(az_index) * 16 + rng.random_range(0..16usize),
                    rng.random_range(4..251u8)
                );
                if used_ips.insert(ip.clone()) {
                    break ip;
                }
            };
            let wants_public = matches!(role, "web" | "bastion") || rng.random_bool(0.1);
            let public_ip = (wants_public && health != Health::Stopped).then(|| {
                let first = if region == "us-east-1" { 3 } else { 54 };
                format!(
                    "{first}.{}.{}.{}",
                    rng.random_range(16..250u8),
                    rng.random_range(0..255u8),
                    rng.random_range(1..255u8)
                )
            });

            let iam_instance_profile = match health {
                // Half the unmanaged ones are unmanaged because nobody attached a profile.
                Health::Unmanaged if rng.random_bool(0.5) => None,
                Health::Unmanaged => Some(instance_profile("legacy-app-profile")),
                _ if rng.random_bool(0.5) => Some(instance_profile("SSMInstanceProfile")),
                _ => Some(instance_profile(&format!("{}-instance-profile", app.team))),
            };
            let launch_time = start - Duration::seconds(rng.random_range(2 * 3600..400 * 86_400));
            let stopped_at = (health == Health::Stopped).then(|| {
                let ago = rng.random_range(600..30 * 86_400);
                (start - Duration::seconds(ago)).max(launch_time + Duration::seconds(60))
            });
            let platform_key = format!("{platform:?}");
            let ec2 = Ec2Record {
                state: if health == Health::Stopped {
                    Ec2State::Stopped
                } else {
                    Ec2State::Running
                },
                image_id: format!(
                    "ami-0{}",
                    hashed_hex(&["ami", &platform_key, architecture, &region], 16)
                ),
                architecture: architecture.to_string(),
                instance_type,
                private_dns: private_dns(&private_ip, &region),
                public_dns: public_ip.as_deref().map(|ip| public_dns(ip, &region)),
                vpc_id: format!("vpc-0{}", hashed_hex(&["vpc", &seed, &region], 16)),
                subnet_id: format!("subnet-0{}", hashed_hex(&["subnet", &seed, &az], 16)),
                security_group_id: format!(
                    "sg-0{}",
                    hashed_hex(&["sg", &seed, &region, app.team], 16)
                ),
                security_group_name: format!("{}-{env}", app.team),
                key_name: (!platform.is_windows() && rng.random_bool(0.3))
                    .then(|| format!("{}-{env}", app.team)),
                availability_zone: az,
                launch_time,
                iam_instance_profile,
                reservation_id: format!("r-0{}", random_hex(&mut rng, 16)),
                private_ip: private_ip.clone(),
                public_ip,
                stopped_at,
            };

            let ssm = ssm_for_ec2(health, &id, &ec2, platform, start, &mut rng);
            SimInstance {
                tags: vec![
                    ("Name".into(), name.clone()),
                    ("Env".into(), env.into()),
                    ("Team".into(), app.team.into()),
                    ("Role".into(), role.into()),
                ],
                id,
                region,
                name,
                platform,
                health,
                ec2: Some(ec2),
                ssm,
            }
        })
        .collect()
}

fn ssm_for_ec2(
    health: Health,
    id: &str,
    ec2: &Ec2Record,
    platform: Platform,
    start: DateTime<Utc>,
    rng: &mut StdRng,
) -> Option<SsmRecord> {
    let (ping_status, ago_secs) = match health {
        Health::Online | Health::OutdatedAgent => (PingStatus::Online, rng.random_range(5..290)),
        Health::ConnectionLost => (
            PingStatus::ConnectionLost,
            rng.random_range(10 * 60..8 * 3600),
        ),
        Health::Inactive => (
            PingStatus::Inactive,
            rng.random_range(3 * 86_400..40 * 86_400),
        ),
        Health::Unmanaged | Health::Stopped | Health::Hybrid => return None,
    };
    let last_ping = (start - Duration::seconds(ago_secs)).max(ec2.launch_time);
    let agent_version = match health {
        Health::OutdatedAgent => OUTDATED_AGENT_VERSIONS.choose(rng).copied(),
        Health::Online => Some(LATEST_AGENT_VERSION),
        _ if rng.random_bool(0.5) => Some(LATEST_AGENT_VERSION),
        _ => OUTDATED_AGENT_VERSIONS.choose(rng).copied(),
    }
    .unwrap_or(LATEST_AGENT_VERSION)
    .to_string();
    let computer_name = if platform.is_windows() {
        format!("EC2AMAZ-{}", random_upper(rng, 7))
    } else {
        ec2.private_dns.clone()
    };
    let association_status = match health {
        Health::Online | Health::OutdatedAgent => "Success",
        _ if rng.random_bool(0.3) => "Failed",
        _ => "Success",
    };
    Some(SsmRecord {
        ping_status,
        last_ping,
        is_latest_version: agent_version == LATEST_AGENT_VERSION,
        agent_version,
        ip_address: ec2.private_ip.clone(),
        computer_name,
        resource_type: "EC2Instance".into(),
        source_type: "AWS::EC2::Instance".into(),
        source_id: id.to_string(),
        association_status: Some(association_status.into()),
        last_association: Some(last_ping - Duration::seconds(rng.random_range(60..3600))),
        activation_id: None,
        iam_role: None,
        registration_date: None,
        name: None,
    })
}

fn hybrid_node(
    region: &str,
    start: DateTime<Utc>,
    rng: &mut StdRng,
    used_ids: &mut HashSet<String>,
    namer: &mut Namer,
) -> SimInstance {
    let role = HYBRID_ROLES.choose(rng).copied().unwrap_or("build");
    let env = pick_env(rng);
    let name = namer.next(format!("dc1-{role}-{env}"));
    let platform = if rng.random_bool(0.5) {
        Platform::Ubuntu2204
    } else {
        Platform::AmazonLinux2023
    };
    let id = new_id("mi", rng, used_ids);
    let registration = start - Duration::seconds(rng.random_range(30 * 86_400..700 * 86_400));
    let last_ping = start - Duration::seconds(rng.random_range(5..290));
    let ip = format!(
        "192.168.{}.{}",
        rng.random_range(0..8u8),
        rng.random_range(10..250u8)
    );
    let ssm = SsmRecord {
        ping_status: PingStatus::Online,
        last_ping,
        agent_version: LATEST_AGENT_VERSION.into(),
        is_latest_version: true,
        ip_address: ip,
        computer_name: format!("{name}.corp.example.com"),
        resource_type: "ManagedInstance".into(),
        source_type: "AWS::SSM::ManagedInstance".into(),
        source_id: id.clone(),
        association_status: Some("Success".into()),
        last_association: Some(last_ping - Duration::seconds(rng.random_range(60..3600))),
        activation_id: Some(deterministic_uuid(rng)),
        iam_role: Some("SSMServiceRole".into()),
        registration_date: Some(registration),
        name: Some(name.clone()),
    };
    SimInstance {
        tags: vec![
            ("Name".into(), name.clone()),
            ("Env".into(), env.into()),
            ("Team".into(), "platform".into()),
            ("Role".into(), role.into()),
        ],
        id,
        region: region.to_string(),
        name,
        platform,
        health: Health::Hybrid,
        ec2: None,
        ssm: Some(ssm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(instances: usize, seed: u64) -> FleetSpec {
        FleetSpec {
            instances,
            seed,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start: Utc
                .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
                .single()
                .expect("valid date"),
        }
    }

    #[test]
    fn same_spec_same_fleet_other_seed_other_fleet() {
        assert_eq!(generate_fleet(&spec(60, 1)), generate_fleet(&spec(60, 1)));
        assert_ne!(generate_fleet(&spec(60, 1)), generate_fleet(&spec(60, 2)));
    }

    #[test]
    fn sixty_instances_have_the_planned_mix() {
        let fleet = generate_fleet(&spec(60, 1));
        assert_eq!(fleet.len(), 60);
        let count = |h| fleet.iter().filter(|i| i.health == h).count();
        assert_eq!(count(Health::OutdatedAgent), 5);
        assert_eq!(count(Health::ConnectionLost), 5);
        assert_eq!(count(Health::Inactive), 2);
        assert_eq!(count(Health::Unmanaged), 4);
        assert_eq!(count(Health::Stopped), 3);
        assert_eq!(count(Health::Hybrid), 2);
        assert_eq!(count(Health::Online), 39);
    }

    #[test]
    fn records_follow_health() {
        let start = spec(1, 1).start;
        for inst in generate_fleet(&spec(500, 9)) {
            let ec2 = inst.ec2.as_ref();
            let ssm = inst.ssm.as_ref();
            match inst.health {
                Health::Hybrid => {
                    assert!(inst.id.starts_with("mi-"), "{}", inst.id);
                    assert!(ec2.is_none());
                    let ssm = ssm.expect("hybrid nodes are in SSM");
                    assert_eq!(ssm.resource_type, "ManagedInstance");
                    assert!(ssm.iam_role.is_some() && ssm.name.is_some());
                }
                Health::Unmanaged => {
                    assert!(ssm.is_none());
                    assert_eq!(ec2.map(|e| e.state), Some(Ec2State::Running));
                }
                Health::Stopped => {
                    assert!(ssm.is_none());
                    let ec2 = ec2.expect("stopped instances are in EC2");
                    assert_eq!(ec2.state, Ec2State::Stopped);
                    assert!(ec2.public_ip.is_none() && ec2.stopped_at.is_some());
                }
                Health::Online => {
                    let ssm = ssm.expect("online is in SSM");
                    assert_eq!(ssm.ping_status, PingStatus::Online);
                    assert!(ssm.is_latest_version);
                    assert!(start - ssm.last_ping < Duration::minutes(5));
                }
                Health::OutdatedAgent => {
                    let ssm = ssm.expect("outdated is in SSM");
                    assert_eq!(ssm.ping_status, PingStatus::Online);
                    assert!(!ssm.is_latest_version);
                    assert_ne!(ssm.agent_version, LATEST_AGENT_VERSION);
                }
                Health::ConnectionLost => {
                    let ssm = ssm.expect("lost is in SSM");
                    assert_eq!(ssm.ping_status, PingStatus::ConnectionLost);
                    assert!(start - ssm.last_ping >= Duration::minutes(10));
                }
                Health::Inactive => {
                    assert_eq!(ssm.map(|s| s.ping_status), Some(PingStatus::Inactive));
                }
            }
            if let Some(ec2) = ec2 {
                assert!(inst.id.starts_with("i-"));
                assert!(ec2.private_ip.starts_with("10."));
                assert!(ec2.launch_time < start);
                if inst.platform.is_windows() {
                    assert_eq!(ec2.architecture, "x86_64");
                }
            }
        }
    }

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let fleet = generate_fleet(&spec(1000, 3));
        let ids: HashSet<_> = fleet.iter().map(|i| i.id.as_str()).collect();
        let names: HashSet<_> = fleet.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(names.len(), 1000);
        for i in &fleet {
            let hex =
                i.id.strip_prefix("i-")
                    .or_else(|| i.id.strip_prefix("mi-"))
                    .expect("prefix");
            assert_eq!(hex.len(), 17, "{}", i.id);
            assert!(
                hex.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert_eq!(i.tag("Name"), Some(i.name.as_str()));
            assert!(matches!(i.tag("Env"), Some("prod" | "staging" | "dev")));
        }
    }

    #[test]
    fn spreads_across_regions_and_platforms() {
        let fleet = generate_fleet(&spec(60, 1));
        let us = fleet.iter().filter(|i| i.region == "us-east-1").count();
        assert_eq!(us, 30);
        assert!(fleet.iter().any(|i| i.platform.is_windows()));
        assert!(fleet.iter().any(|i| i.platform == Platform::Ubuntu2204));
        assert!(
            fleet
                .iter()
                .any(|i| { i.ec2.as_ref().is_some_and(|e| e.public_ip.is_some()) })
        );
        assert!(
            fleet.iter().any(|i| {
                i.ec2
                    .as_ref()
                    .is_some_and(|e| e.iam_instance_profile.is_none())
            }) || fleet.iter().all(|i| i.health != Health::Unmanaged)
        );
    }

    #[test]
    fn empty_inputs_give_empty_fleets() {
        assert!(generate_fleet(&spec(0, 1)).is_empty());
        let mut s = spec(10, 1);
        s.regions.clear();
        assert!(generate_fleet(&s).is_empty());
    }
}
