//! The guard: when a person must type the exact target count before a run is sent. Pure.

use serde::{Deserialize, Serialize};

use super::plan::Plan;

/// Above `threshold` hosts, or when any host carries a production tag, the count must be typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardPolicy {
    pub threshold: usize,
    /// The tag key that marks production (case-insensitive).
    pub production_tag: String,
    /// Values of that tag that mean production (case-insensitive).
    pub production_values: Vec<String>,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        GuardPolicy {
            threshold: 10,
            production_tag: "Env".into(),
            production_values: vec!["prod".into(), "production".into()],
        }
    }
}

/// Why confirmation is needed, and the exact text that confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The text to type: the target count, e.g. "42".
    pub expected: String,
    pub over_threshold: bool,
    pub threshold: usize,
    /// Display names of the production-tagged hosts.
    pub production_hosts: Vec<String>,
}

impl Confirmation {
    /// One sentence for the prompt: why, and what to type.
    pub fn prompt(&self) -> String {
        let mut why = Vec::new();
        if self.over_threshold {
            why.push(format!("more than {} hosts", self.threshold));
        }
        if !self.production_hosts.is_empty() {
            why.push(format!(
                "{} production-tagged host{}",
                self.production_hosts.len(),
                if self.production_hosts.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        format!(
            "This run reaches {}. Type the number of target hosts ({}) to send it: ",
            why.join(" and "),
            self.expected
        )
    }
}

/// `None` when the plan may be sent without a typed confirmation.
pub fn needs_confirmation(plan: &Plan, policy: &GuardPolicy) -> Option<Confirmation> {
    let production_hosts: Vec<String> = plan
        .hosts()
        .filter(|h| {
            h.tags.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(&policy.production_tag)
                    && policy
                        .production_values
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(v.trim()))
            })
        })
        .map(|h| h.display_name().to_string())
        .collect();
    let over_threshold = plan.target_count > policy.threshold;
    (over_threshold || !production_hosts.is_empty()).then(|| Confirmation {
        expected: plan.target_count.to_string(),
        over_threshold,
        threshold: policy.threshold,
        production_hosts,
    })
}

/// The typed text confirms only if it is exactly the count (surrounding blanks ignored).
pub fn confirmation_accepted(confirmation: &Confirmation, typed: &str) -> bool {
    typed.trim() == confirmation.expected
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Instance;
    use crate::run::plan::{RunOptions, TargetSpec, plan};

    fn inventory(n: usize, env: &str) -> Vec<Instance> {
        (0..n)
            .map(|i| {
                let mut inst: Instance = serde_json::from_value(serde_json::json!({
                    "instance_id": format!("i-{i:017x}"), "name": format!("h{i}"),
                    "profile": "default", "region": "us-east-1", "state": "running",
                    "ping_status": "Online", "last_ping": null, "agent_version": null,
                    "agent_is_latest": null, "platform_type": "Linux", "platform": "Linux",
                    "private_ip": null, "public_ip": null, "instance_type": null,
                    "availability_zone": null, "iam_instance_profile": null,
                    "computer_name": null, "launch_time": null, "tags": {}, "managed": true
                }))
                .unwrap();
                inst.tags.insert("Env".into(), env.into());
                inst
            })
            .collect()
    }

    fn planned(n: usize, env: &str) -> Plan {
        let inv = inventory(n, env);
        let ids = inv.iter().map(|i| i.instance_id.clone()).collect();
        plan(
            &inv,
            &TargetSpec::InstanceIds(ids),
            &RunOptions {
                commands: vec!["uptime".into()],
                ..RunOptions::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn threshold_is_strictly_above() {
        let policy = GuardPolicy::default();
        assert!(needs_confirmation(&planned(10, "dev"), &policy).is_none());
        let c = needs_confirmation(&planned(11, "dev"), &policy).unwrap();
        assert_eq!(c.expected, "11");
        assert!(c.over_threshold);
        assert!(c.prompt().contains("(11)"));
    }

    #[test]
    fn production_hosts_always_need_the_count() {
        let policy = GuardPolicy::default();
        for env in ["prod", "Production", "PROD"] {
            let c = needs_confirmation(&planned(1, env), &policy).unwrap();
            assert!(!c.over_threshold);
            assert_eq!(c.production_hosts, vec!["h0"]);
        }
        assert!(needs_confirmation(&planned(1, "preprod"), &policy).is_none());
    }

    #[test]
    fn only_the_exact_count_confirms() {
        let c = needs_confirmation(&planned(12, "dev"), &GuardPolicy::default()).unwrap();
        assert!(confirmation_accepted(&c, "12\n"));
        assert!(confirmation_accepted(&c, " 12 "));
        for wrong in ["y", "yes", "11", "", "12 hosts", "012"] {
            assert!(!confirmation_accepted(&c, wrong), "{wrong}");
        }
    }
}
