//! Identical outputs grouped, and one host's output against the majority. Pure.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::exec::{HostResult, HostStatus};

/// Hosts whose stdout, stderr and exit code are all identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputGroup {
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// The statuses seen in the group (usually one).
    pub statuses: Vec<HostStatus>,
    /// Instance ids, in the order of the results.
    pub instance_ids: Vec<String>,
    /// Display names, same order.
    pub hosts: Vec<String>,
}

impl OutputGroup {
    pub fn len(&self) -> usize {
        self.instance_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instance_ids.is_empty()
    }

    /// "38 hosts: ok": the count and the first line of output (or the status).
    pub fn headline(&self) -> String {
        let first = self
            .stdout
            .lines()
            .chain(self.stderr.lines())
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string());
        let status = self
            .statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("/");
        let n = self.len();
        let noun = if n == 1 { "host" } else { "hosts" };
        match (first, self.exit_code) {
            (Some(line), Some(code)) => format!("{n} {noun}: {line} (exit {code}, {status})"),
            (Some(line), None) => format!("{n} {noun}: {line} ({status})"),
            (None, Some(code)) => format!("{n} {noun}: no output (exit {code}, {status})"),
            (None, None) => format!("{n} {noun}: {status}"),
        }
    }
}

/// Groups results by identical (stdout, stderr, exit code); largest group first, ties in order
/// of first appearance.
pub fn group_outputs(results: &[HostResult]) -> Vec<OutputGroup> {
    let mut index: HashMap<(Option<i64>, &str, &str), usize> = HashMap::new();
    let mut groups: Vec<OutputGroup> = Vec::new();
    for r in results {
        let key = (r.exit_code, r.stdout.as_str(), r.stderr.as_str());
        let at = *index.entry(key).or_insert_with(|| {
            groups.push(OutputGroup {
                exit_code: r.exit_code,
                stdout: r.stdout.clone(),
                stderr: r.stderr.clone(),
                statuses: Vec::new(),
                instance_ids: Vec::new(),
                hosts: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[at];
        if !g.statuses.contains(&r.status) {
            g.statuses.push(r.status);
        }
        g.instance_ids.push(r.instance_id.clone());
        g.hosts.push(r.display_name().to_string());
    }
    // Stable: equal sizes keep their first-appearance order.
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups
}

/// A unified line diff of one host's output (stdout, then stderr) against the largest group's;
/// `None` when the host is unknown or already in the majority.
pub fn diff_vs_majority(results: &[HostResult], instance_id: &str) -> Option<String> {
    diff_against(group_outputs(results).first()?, results, instance_id)
}

/// As [`diff_vs_majority`], with the majority group already known (front ends keep the groups).
pub fn diff_against(
    majority: &OutputGroup,
    results: &[HostResult],
    instance_id: &str,
) -> Option<String> {
    if majority.instance_ids.iter().any(|i| i == instance_id) {
        return None;
    }
    let host = results.iter().find(|r| r.instance_id == instance_id)?;
    let text = |stdout: &str, stderr: &str, code: Option<i64>| {
        let mut t = stdout.to_string();
        if !t.is_empty() && !t.ends_with('\n') {
            t.push('\n');
        }
        if !stderr.is_empty() {
            t.push_str("--- stderr ---\n");
            t.push_str(stderr);
            if !t.ends_with('\n') {
                t.push('\n');
            }
        }
        t.push_str(&format!(
            "--- exit {} ---\n",
            code.map_or("none".to_string(), |c| c.to_string())
        ));
        t
    };
    let old = text(&majority.stdout, &majority.stderr, majority.exit_code);
    let new = text(&host.stdout, &host.stderr, host.exit_code);
    let diff = similar::TextDiff::from_lines(&old, &new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("majority ({} hosts)", majority.len()),
                host.display_name(),
            )
            .to_string(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn result(id: &str, out: &str, err: &str, code: i64) -> HostResult {
        HostResult {
            instance_id: id.into(),
            name: Some(format!("n-{id}")),
            status: if code == 0 {
                HostStatus::Success
            } else {
                HostStatus::Failed
            },
            exit_code: Some(code),
            stdout: out.into(),
            stderr: err.into(),
            ..HostResult::default()
        }
    }

    #[test]
    fn identical_outputs_group_largest_first() {
        let results = vec![
            result("a", "disk full\n", "", 1),
            result("b", "ok\n", "", 0),
            result("c", "ok\n", "", 0),
            result("d", "ok\n", "warn\n", 0),
            result("e", "ok\n", "", 0),
            result("f", "disk full\n", "", 1),
            result("g", "ok\n", "", 2),
        ];
        let g = group_outputs(&results);
        let sizes: Vec<usize> = g.iter().map(OutputGroup::len).collect();
        assert_eq!(sizes, vec![3, 2, 1, 1]);
        assert_eq!(g[0].instance_ids, vec!["b", "c", "e"]);
        assert_eq!(g[0].headline(), "3 hosts: ok (exit 0, Success)");
        assert_eq!(g[1].headline(), "2 hosts: disk full (exit 1, Failed)");
        // Same stdout, different stderr or exit code: different groups.
        assert_eq!(g[2].instance_ids, vec!["d"]);
        assert_eq!(g[3].instance_ids, vec!["g"]);
    }

    #[test]
    fn diff_shows_what_differs_from_the_majority() {
        let results = vec![
            result("a", "line1\nline2\nline3\n", "", 0),
            result("b", "line1\nline2\nline3\n", "", 0),
            result("c", "line1\nLINE2\nline3\n", "", 0),
        ];
        let d = diff_vs_majority(&results, "c").unwrap();
        assert!(d.contains("-line2"), "{d}");
        assert!(d.contains("+LINE2"), "{d}");
        assert!(d.contains("majority (2 hosts)"), "{d}");
        assert!(diff_vs_majority(&results, "a").is_none());
        assert!(diff_vs_majority(&results, "zz").is_none());
    }
}
