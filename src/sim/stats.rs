//! Counts of API calls and injected throttles per (service, operation, region).

use std::collections::BTreeMap;

use serde::Serialize;

/// One row of [`Stats`]. `calls` includes the throttled ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationStats {
    pub service: String,
    pub operation: String,
    pub region: String,
    pub calls: u64,
    pub throttled: u64,
}

/// A snapshot of the simulator's counters, also served as JSON at `GET /_sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Sorted by service, operation, region.
    pub operations: Vec<OperationStats>,
    pub total_calls: u64,
    pub total_throttled: u64,
}

impl Stats {
    /// Calls to `operation` of `service` (signing name: `ec2`, `ssm`, `logs`), all regions.
    pub fn calls(&self, service: &str, operation: &str) -> u64 {
        self.rows(service, operation).map(|r| r.calls).sum()
    }

    /// Throttles injected into `operation` of `service`, all regions.
    pub fn throttled(&self, service: &str, operation: &str) -> u64 {
        self.rows(service, operation).map(|r| r.throttled).sum()
    }

    fn rows<'a>(
        &'a self,
        service: &'a str,
        operation: &'a str,
    ) -> impl Iterator<Item = &'a OperationStats> + 'a {
        self.operations
            .iter()
            .filter(move |r| r.service == service && r.operation == operation)
    }
}

#[derive(Debug, Default)]
pub(crate) struct StatsCounter {
    counts: BTreeMap<(String, String, String), (u64, u64)>,
}

impl StatsCounter {
    pub(crate) fn record(&mut self, service: &str, operation: &str, region: &str, throttled: bool) {
        let entry = self
            .counts
            .entry((service.into(), operation.into(), region.into()))
            .or_default();
        entry.0 += 1;
        entry.1 += u64::from(throttled);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let operations: Vec<OperationStats> = self
            .counts
            .iter()
            .map(
                |((service, operation, region), &(calls, throttled))| OperationStats {
                    service: service.clone(),
                    operation: operation.clone(),
                    region: region.clone(),
                    calls,
                    throttled,
                },
            )
            .collect();
        Stats {
            total_calls: operations.iter().map(|r| r.calls).sum(),
            total_throttled: operations.iter().map(|r| r.throttled).sum(),
            operations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_operation_and_region() {
        let mut c = StatsCounter::default();
        c.record("ssm", "DescribeInstanceInformation", "us-east-1", false);
        c.record("ssm", "DescribeInstanceInformation", "eu-west-1", true);
        c.record("ec2", "DescribeInstances", "us-east-1", false);
        let s = c.snapshot();
        assert_eq!(s.total_calls, 3);
        assert_eq!(s.total_throttled, 1);
        assert_eq!(s.calls("ssm", "DescribeInstanceInformation"), 2);
        assert_eq!(s.throttled("ssm", "DescribeInstanceInformation"), 1);
        assert_eq!(s.operations[0].service, "ec2");
        let json = serde_json::to_value(&s).expect("serializable");
        assert_eq!(json["operations"][0]["operation"], "DescribeInstances");
    }
}
