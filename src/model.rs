//! Plain data shared by every front end: what an instance is, how healthy its agent is.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The EC2 lifecycle state, plus `Hybrid` for SSM managed nodes that are not EC2 instances
/// (`mi-` ids: on-premises servers and VMs registered with an activation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
    Hybrid,
    /// SSM knows the node but EC2 did not return it (for example EC2 could not be read).
    Unknown,
}

impl InstanceState {
    pub const ALL: [InstanceState; 8] = [
        Self::Pending,
        Self::Running,
        Self::ShuttingDown,
        Self::Terminated,
        Self::Stopping,
        Self::Stopped,
        Self::Hybrid,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Hybrid => "hybrid",
            Self::Unknown => "unknown",
        }
    }

    pub fn from_ec2_name(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or(Self::Unknown)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SSM's PingStatus, widened with the two cases an operator must tell apart from a lost agent:
/// SSM has no record of the instance at all, or SSM could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PingStatus {
    Online,
    ConnectionLost,
    Inactive,
    /// SSM answered and has no record of this instance: agent missing, no IAM role, or no route.
    NotManaged,
    /// The SSM call failed for this profile and region, so the agent's health is not known.
    Unknown,
}

impl PingStatus {
    pub const ALL: [PingStatus; 5] = [
        Self::Online,
        Self::ConnectionLost,
        Self::Inactive,
        Self::NotManaged,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::ConnectionLost => "ConnectionLost",
            Self::Inactive => "Inactive",
            Self::NotManaged => "NotManaged",
            Self::Unknown => "Unknown",
        }
    }

    /// Maps SSM's wire value; anything new from AWS is kept visible as `Unknown` rather than guessed.
    pub fn from_ssm(value: &str) -> Self {
        match value {
            "Online" => Self::Online,
            "ConnectionLost" => Self::ConnectionLost,
            "Inactive" => Self::Inactive,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for PingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlatformType {
    Linux,
    Windows,
    MacOS,
    Unknown,
}

/// One row of the fleet: EC2's view joined with SSM's on instance id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub instance_id: String,
    /// The `Name` tag (EC2) or the registered name (hybrid nodes).
    pub name: Option<String>,
    pub profile: String,
    pub region: String,
    pub state: InstanceState,
    pub ping_status: PingStatus,
    pub last_ping: Option<DateTime<Utc>>,
    pub agent_version: Option<String>,
    /// SSM's IsLatestVersion: `Some(false)` marks an outdated agent.
    pub agent_is_latest: Option<bool>,
    pub platform_type: PlatformType,
    /// Human platform, e.g. "Amazon Linux 2023" or "Windows Server 2022".
    pub platform: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub instance_type: Option<String>,
    pub availability_zone: Option<String>,
    pub iam_instance_profile: Option<String>,
    pub computer_name: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    /// SSM has a record of this node (whatever its ping status).
    pub managed: bool,
}

impl Instance {
    /// The name an operator recognises: the Name tag, else the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.instance_id)
    }

    pub fn agent_outdated(&self) -> bool {
        self.agent_is_latest == Some(false)
    }
}

/// Counts by health, for headers and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HealthCounts {
    pub online: usize,
    pub connection_lost: usize,
    pub inactive: usize,
    pub not_managed: usize,
    pub unknown: usize,
    pub stopped: usize,
}

impl HealthCounts {
    pub fn of<'a>(instances: impl IntoIterator<Item = &'a Instance>) -> Self {
        let mut c = Self::default();
        for i in instances {
            if matches!(i.state, InstanceState::Stopped | InstanceState::Stopping) {
                c.stopped += 1;
            }
            match i.ping_status {
                PingStatus::Online => c.online += 1,
                PingStatus::ConnectionLost => c.connection_lost += 1,
                PingStatus::Inactive => c.inactive += 1,
                PingStatus::NotManaged => c.not_managed += 1,
                PingStatus::Unknown => c.unknown += 1,
            }
        }
        c
    }
}
