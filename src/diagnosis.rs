//! Why an instance can or cannot take a Session Manager session, step by step.
//!
//! A pure function of an [`Instance`] and the current time, shared by the console's detail pane
//! and `fleetdeck doctor`. Each step has a verdict and one sentence that says what to do.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::format::age;
use crate::model::{Instance, InstanceState, PingStatus, PlatformType};

/// The first agent version that supports port forwarding sessions.
pub const PORT_FORWARDING_MIN_AGENT: &str = "2.3.672.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub verdict: Verdict,
    /// What was checked, in a few words: "EC2 state", "SSM agent".
    pub check: &'static str,
    /// What was found and what to do.
    pub sentence: String,
}

/// Whether a shell session would open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlook {
    /// Every check passed (warnings may remain).
    Ready,
    /// At least one check failed.
    Blocked,
    /// SSM could not be asked, so nobody knows.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub steps: Vec<Step>,
    pub outlook: Outlook,
}

impl Diagnosis {
    pub fn session_would_work(&self) -> bool {
        self.outlook == Outlook::Ready
    }

    /// The first failing step, else the first warning: what a one-line summary should say.
    pub fn headline(&self) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.verdict == Verdict::Fail)
            .or_else(|| self.steps.iter().find(|s| s.verdict == Verdict::Warn))
    }

    pub fn summary(&self) -> &'static str {
        match self.outlook {
            Outlook::Ready => "a session would work",
            Outlook::Blocked => "a session would not work",
            Outlook::Unknown => "whether a session would work is unknown",
        }
    }
}

/// Compares dotted numeric versions ("3.3.987.0"); `None` if either is not one.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let parse =
        |v: &str| -> Option<Vec<u64>> { v.trim().split('.').map(|p| p.parse().ok()).collect() };
    let (mut a, mut b) = (parse(a)?, parse(b)?);
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    Some(a.cmp(&b))
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({} ago)", t.format("%Y-%m-%d %H:%M UTC"), age(t, now))
}

pub fn diagnose(i: &Instance, now: DateTime<Utc>) -> Diagnosis {
    let mut steps = Vec::new();
    let mut step = |verdict, check, sentence: String| {
        steps.push(Step {
            verdict,
            check,
            sentence,
        })
    };

    // 1. The machine must be running.
    let running = match i.state {
        InstanceState::Running => {
            step(Verdict::Ok, "EC2 state", "The instance is running.".into());
            true
        }
        InstanceState::Hybrid => {
            step(
                Verdict::Ok,
                "EC2 state",
                "A hybrid node (on-premises or another cloud), registered with an SSM activation."
                    .into(),
            );
            true
        }
        InstanceState::Stopped | InstanceState::Stopping => {
            step(
                Verdict::Fail,
                "EC2 state",
                format!(
                    "The instance is {}: start it (`aws ec2 start-instances --instance-ids {}`) and wait for its agent to come Online.",
                    i.state, i.instance_id
                ),
            );
            false
        }
        InstanceState::Pending => {
            step(
                Verdict::Warn,
                "EC2 state",
                "The instance is starting: its agent registers a minute or two after boot.".into(),
            );
            true
        }
        InstanceState::ShuttingDown | InstanceState::Terminated => {
            step(
                Verdict::Fail,
                "EC2 state",
                format!(
                    "The instance is {}: it cannot take sessions any more.",
                    i.state
                ),
            );
            false
        }
        InstanceState::Unknown => {
            step(
                Verdict::Warn,
                "EC2 state",
                "EC2 did not return this instance (EC2 could not be read, or it is not an EC2 instance)."
                    .into(),
            );
            true
        }
    };

    // 2. SSM must know the agent, and the agent must be talking to it.
    let mut health_unknown = false;
    let mut agent_online = false;
    match i.ping_status {
        PingStatus::Online => {
            let last = i
                .last_ping
                .map(|t| format!(" (last ping {})", when(t, now)))
                .unwrap_or_default();
            step(Verdict::Ok, "SSM agent", format!("The SSM agent is Online{last}."));
            agent_online = true;
        }
        PingStatus::ConnectionLost => {
            let since = i
                .last_ping
                .map(|t| format!(" since {}", when(t, now)))
                .unwrap_or_default();
            let sentence = if running {
                format!(
                    "ConnectionLost{since}: the agent is unreachable. Check the agent service is running (`systemctl status amazon-ssm-agent`, or the AmazonSSMAgent service on Windows) and that the instance still reaches the ssm, ssmmessages and ec2messages endpoints."
                )
            } else {
                format!("ConnectionLost{since}: expected while the instance is not running.")
            };
            step(Verdict::Fail, "SSM agent", sentence);
        }
        PingStatus::Inactive => step(
            Verdict::Fail,
            "SSM agent",
            "Inactive: SSM no longer manages this node (deregistered, or the instance was stopped or terminated long ago). Re-register it, or start the instance and restart the agent."
                .into(),
        ),
        PingStatus::NotManaged => step(
            Verdict::Fail,
            "SSM agent",
            "Not managed: SSM has no record of this instance. Check that the SSM agent is installed and running, that the instance profile grants AmazonSSMManagedInstanceCore, and that the instance has a route to the ssm, ssmmessages and ec2messages endpoints (internet, NAT, or VPC endpoints)."
                .into(),
        ),
        PingStatus::Unknown => {
            health_unknown = true;
            step(
                Verdict::Warn,
                "SSM agent",
                "Unknown: SSM could not be asked about this instance (see the errors of the last refresh): check the credentials and permissions for ssm:DescribeInstanceInformation, then refresh."
                    .into(),
            );
        }
    }

    // 3. The agent's version.
    if let Some(version) = &i.agent_version {
        let too_old_for_ports = compare_versions(version, PORT_FORWARDING_MIN_AGENT)
            .is_some_and(|o| o == Ordering::Less);
        if too_old_for_ports {
            step(
                Verdict::Warn,
                "Agent version",
                format!(
                    "Agent {version} is too old for port forwarding (it needs {PORT_FORWARDING_MIN_AGENT} or later): update it with the AWS-UpdateSSMAgent document. Shell sessions still work."
                ),
            );
        } else if i.agent_outdated() {
            step(
                Verdict::Warn,
                "Agent version",
                format!(
                    "Agent {version} is not the latest: update it with the AWS-UpdateSSMAgent document (Run Command)."
                ),
            );
        } else {
            let latest = if i.agent_is_latest == Some(true) {
                " (latest)"
            } else {
                ""
            };
            step(
                Verdict::Ok,
                "Agent version",
                format!("Agent {version}{latest}."),
            );
        }
    }

    // 4. What a session will look like.
    match i.platform_type {
        PlatformType::Windows => step(
            Verdict::Ok,
            "Platform",
            format!(
                "{}: sessions open PowerShell, not a Unix shell.",
                non_empty(&i.platform, "Windows")
            ),
        ),
        PlatformType::Linux | PlatformType::MacOS => step(
            Verdict::Ok,
            "Platform",
            format!(
                "{}: sessions open sh as ssm-user.",
                non_empty(&i.platform, "Linux")
            ),
        ),
        PlatformType::Unknown => {}
    }

    let failed = steps.iter().any(|s| s.verdict == Verdict::Fail);
    let outlook = if failed {
        Outlook::Blocked
    } else if health_unknown {
        Outlook::Unknown
    } else if running && agent_online {
        Outlook::Ready
    } else {
        Outlook::Blocked
    };
    Diagnosis { steps, outlook }
}

fn non_empty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() { fallback } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid time")
    }

    fn online() -> Instance {
        Instance {
            instance_id: "i-0abc".into(),
            name: Some("web-1".into()),
            profile: "default".into(),
            region: "us-east-1".into(),
            state: InstanceState::Running,
            ping_status: PingStatus::Online,
            last_ping: Some(now() - chrono::Duration::seconds(30)),
            agent_version: Some("3.3.987.0".into()),
            agent_is_latest: Some(true),
            platform_type: PlatformType::Linux,
            platform: "Amazon Linux 2023".into(),
            private_ip: None,
            public_ip: None,
            instance_type: None,
            availability_zone: None,
            iam_instance_profile: None,
            computer_name: None,
            launch_time: None,
            tags: Default::default(),
            managed: true,
        }
    }

    fn verdicts(d: &Diagnosis) -> Vec<(&'static str, Verdict)> {
        d.steps.iter().map(|s| (s.check, s.verdict)).collect()
    }

    #[test]
    fn online_and_current_is_ready() {
        let d = diagnose(&online(), now());
        assert_eq!(d.outlook, Outlook::Ready);
        assert!(d.steps.iter().all(|s| s.verdict == Verdict::Ok), "{d:?}");
        assert!(
            d.steps[1].sentence.contains("30s ago"),
            "{}",
            d.steps[1].sentence
        );
    }

    #[test]
    fn stopped_says_start_it() {
        let mut i = online();
        i.state = InstanceState::Stopped;
        i.ping_status = PingStatus::ConnectionLost;
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Blocked);
        assert_eq!(d.steps[0].verdict, Verdict::Fail);
        assert!(d.steps[0].sentence.contains("start it"));
        assert!(
            d.headline()
                .expect("a failure")
                .sentence
                .contains("start-instances")
        );
    }

    #[test]
    fn not_managed_names_agent_role_and_endpoints() {
        let mut i = online();
        i.ping_status = PingStatus::NotManaged;
        i.managed = false;
        i.agent_version = None;
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Blocked);
        let s = &d.steps[1].sentence;
        for needle in [
            "agent is installed",
            "AmazonSSMManagedInstanceCore",
            "ssmmessages",
            "ec2messages",
        ] {
            assert!(s.contains(needle), "{needle} missing from {s}");
        }
        assert_eq!(
            verdicts(&d).len(),
            3,
            "no agent version step without an agent"
        );
    }

    #[test]
    fn connection_lost_says_since_when() {
        let mut i = online();
        i.ping_status = PingStatus::ConnectionLost;
        i.last_ping = Some(now() - chrono::Duration::minutes(12));
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Blocked);
        let s = &d.steps[1].sentence;
        assert!(s.contains("since 2027-01-15 07:48 UTC (12m ago)"), "{s}");
        assert!(s.contains("unreachable"), "{s}");
    }

    #[test]
    fn inactive_fails() {
        let mut i = online();
        i.ping_status = PingStatus::Inactive;
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Blocked);
        assert!(d.steps[1].sentence.starts_with("Inactive"));
    }

    #[test]
    fn old_agent_warns_about_port_forwarding() {
        let mut i = online();
        i.agent_version = Some("2.3.500.0".into());
        i.agent_is_latest = Some(false);
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Ready, "shells still work");
        let step = &d.steps[2];
        assert_eq!(step.verdict, Verdict::Warn);
        assert!(
            step.sentence.contains("port forwarding"),
            "{}",
            step.sentence
        );
        assert!(step.sentence.contains(PORT_FORWARDING_MIN_AGENT));

        i.agent_version = Some("3.2.1.0".into());
        let d = diagnose(&i, now());
        assert_eq!(d.steps[2].verdict, Verdict::Warn);
        assert!(d.steps[2].sentence.contains("not the latest"));
        assert!(!d.steps[2].sentence.contains("port forwarding"));
    }

    #[test]
    fn windows_opens_powershell() {
        let mut i = online();
        i.platform_type = PlatformType::Windows;
        i.platform = "Microsoft Windows Server 2022 Datacenter".into();
        let d = diagnose(&i, now());
        assert!(
            d.steps
                .last()
                .expect("a step")
                .sentence
                .contains("PowerShell")
        );
        assert_eq!(d.outlook, Outlook::Ready);
    }

    #[test]
    fn unknown_health_is_not_ready() {
        let mut i = online();
        i.ping_status = PingStatus::Unknown;
        let d = diagnose(&i, now());
        assert_eq!(d.outlook, Outlook::Unknown);
        assert!(!d.session_would_work());
        assert!(d.steps[1].sentence.contains("could not be asked"));
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(
            compare_versions("2.3.1000.0", "2.3.672.0"),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_versions("2.3.672", "2.3.672.0"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_versions("10.0", "9.9"), Some(Ordering::Greater));
        assert_eq!(compare_versions("x", "1"), None);
    }
}
