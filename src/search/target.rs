//! One instance from what a person typed: an id, a Name, or a query that matches only it.
//! Shared by every command that takes a TARGET (`doctor`, `connect`, `tunnel`, `proxy`).

use super::{FleetIndex, Query, QueryError};
use crate::model::Instance;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetMatch {
    One(usize),
    /// Indices of the candidates, best first.
    Ambiguous(Vec<usize>),
    None,
}

/// Exact id first, then exact Name (case-insensitive), then the query language.
pub fn resolve_target(instances: &[Instance], target: &str) -> Result<TargetMatch, QueryError> {
    let target = target.trim();
    if let Some(i) = instances
        .iter()
        .position(|i| i.instance_id.eq_ignore_ascii_case(target))
    {
        return Ok(TargetMatch::One(i));
    }
    let by_name: Vec<usize> = instances
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            i.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
        })
        .map(|(n, _)| n)
        .collect();
    match by_name.len() {
        1 => return Ok(TargetMatch::One(by_name[0])),
        0 => {}
        _ => return Ok(TargetMatch::Ambiguous(by_name)),
    }
    let query = Query::parse(target)?;
    if query.is_empty() {
        return Ok(TargetMatch::None);
    }
    let hits = FleetIndex::new(instances).search(instances, &query);
    Ok(match hits.len() {
        0 => TargetMatch::None,
        1 => TargetMatch::One(hits[0].index),
        _ => TargetMatch::Ambiguous(hits.into_iter().map(|h| h.index).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstanceState, PingStatus, PlatformType};

    fn host(id: &str, name: &str, region: &str) -> Instance {
        Instance {
            instance_id: id.into(),
            name: Some(name.into()),
            profile: "default".into(),
            region: region.into(),
            state: InstanceState::Running,
            ping_status: PingStatus::Online,
            last_ping: None,
            agent_version: None,
            agent_is_latest: None,
            platform_type: PlatformType::Linux,
            platform: String::new(),
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

    #[test]
    fn id_then_name_then_query() {
        let fleet = vec![
            host("i-01", "pay-api-1", "us-east-1"),
            host("i-02", "pay-api-2", "us-east-1"),
            host("i-03", "web", "us-east-1"),
            host("i-04", "web", "eu-west-1"),
        ];
        assert_eq!(resolve_target(&fleet, "I-02"), Ok(TargetMatch::One(1)));
        assert_eq!(resolve_target(&fleet, "pay-api-1"), Ok(TargetMatch::One(0)));
        assert_eq!(
            resolve_target(&fleet, "web"),
            Ok(TargetMatch::Ambiguous(vec![2, 3]))
        );
        assert_eq!(
            resolve_target(&fleet, "web region:eu"),
            Ok(TargetMatch::One(3))
        );
        assert!(
            matches!(resolve_target(&fleet, "pay"), Ok(TargetMatch::Ambiguous(v)) if v.len() == 2)
        );
        assert_eq!(resolve_target(&fleet, "zzz"), Ok(TargetMatch::None));
        assert!(resolve_target(&fleet, "ping:sleepy").is_err());
    }
}
