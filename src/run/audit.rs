//! The local audit log: one JSON line per run (who, what, where, when, command ids) appended to
//! `$XDG_STATE_HOME/fleetdeck/audit.jsonl` (else the platform's state or data directory), file
//! mode 0600. Secrets never go in: the identity is STS's caller ARN, or the profile and the
//! access key *id* when STS cannot be asked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::exec::SentCommand;
use super::plan::Plan;
use crate::aws::Clients;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditWhere {
    pub profile: String,
    pub region: String,
    pub document: String,
    pub command_id: Option<String>,
    pub error: Option<String>,
    pub instance_ids: Vec<String>,
    pub tag_targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub when: DateTime<Utc>,
    pub who: String,
    /// `sts` (GetCallerIdentity) or `profile` (STS could not be asked).
    pub identity_source: String,
    /// The script as sent.
    pub what: String,
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
    pub target_count: usize,
    pub skipped_count: usize,
    /// How the run was allowed: `not-needed`, `typed`, or `--yes`.
    pub confirmation: String,
    #[serde(rename = "where")]
    pub where_: Vec<AuditWhere>,
    pub command_ids: Vec<String>,
}

impl AuditRecord {
    /// Built as soon as the sends are made (so a run killed later is still recorded).
    pub fn new(
        plan: &Plan,
        sends: &[SentCommand],
        when: DateTime<Utc>,
        who: (String, String),
        confirmation: &str,
    ) -> AuditRecord {
        AuditRecord {
            when,
            who: who.0,
            identity_source: who.1,
            what: plan.script(),
            max_concurrency: plan.options.max_concurrency.map(|r| r.to_string()),
            max_errors: plan.options.max_errors.map(|r| r.to_string()),
            target_count: plan.target_count,
            skipped_count: plan.skipped.len(),
            confirmation: confirmation.to_string(),
            where_: sends
                .iter()
                .map(|s| AuditWhere {
                    profile: s.profile.clone(),
                    region: s.region.clone(),
                    document: s.document.name().to_string(),
                    command_id: s.command_id.clone(),
                    error: s.error.clone(),
                    instance_ids: s.instance_ids.clone(),
                    tag_targets: s.targets.iter().map(|t| t.to_string()).collect(),
                })
                .collect(),
            command_ids: sends.iter().filter_map(|s| s.command_id.clone()).collect(),
        }
    }
}

/// `$XDG_STATE_HOME/fleetdeck/audit.jsonl`, else the platform state dir, else the data dir.
pub fn audit_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::state_dir)
        .or_else(dirs::data_dir)?;
    Some(base.join("fleetdeck").join("audit.jsonl"))
}

/// Appends one line; creates the file with mode 0600 in a 0700 directory (and tightens an
/// existing file).
pub fn append(path: &Path, record: &AuditRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        crate::private_fs::create_dir(dir)?;
    }
    let mut file =
        crate::private_fs::open(path, std::fs::OpenOptions::new().create(true).append(true))?;
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.flush()
}

/// Appends `record` to [`audit_path`]; the error is a sentence for the user.
pub fn write(record: &AuditRecord) -> Result<PathBuf, String> {
    let path = audit_path()
        .ok_or_else(|| "no state directory for the audit log: set XDG_STATE_HOME".to_string())?;
    append(&path, record)
        .map_err(|e| format!("cannot write the audit log {}: {e}", path.display()))?;
    Ok(path)
}

/// Who sent each command, by command id, from the audit log at `path` (unreadable lines and a
/// missing file give nothing: the log is a record, not a dependency).
pub fn who_by_command(path: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut who = std::collections::HashMap::new();
    for record in text
        .lines()
        .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
    {
        for id in record.command_ids {
            who.insert(id, record.who.clone());
        }
    }
    who
}

/// (who, source): STS GetCallerIdentity's ARN when it answers within a few seconds; else
/// `profile:<label> key:<access key id>` from the credentials in use (never the secret).
pub async fn caller_identity(clients: &Clients) -> (String, String) {
    let sts = tokio::time::timeout(
        Duration::from_secs(5),
        clients.sts.get_caller_identity().send(),
    )
    .await;
    if let Ok(Ok(out)) = sts
        && let Some(arn) = out.arn()
    {
        return (arn.to_string(), "sts".to_string());
    }
    let key_id = match &clients.credentials {
        Some(provider) => {
            use aws_credential_types::provider::ProvideCredentials;
            tokio::time::timeout(Duration::from_secs(5), provider.provide_credentials())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|c| c.access_key_id().to_string())
        }
        None => None,
    };
    let mut who = format!("profile:{}", clients.target.profile_label());
    if let Some(id) = key_id {
        who.push_str(&format!(" key:{id}"));
    }
    (who, "profile".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/fleetdeck/audit.jsonl");
        let record = AuditRecord {
            when: Utc::now(),
            who: "arn:aws:iam::123456789012:user/ana".into(),
            identity_source: "sts".into(),
            what: "uptime".into(),
            max_concurrency: None,
            max_errors: None,
            target_count: 2,
            skipped_count: 0,
            confirmation: "--yes".into(),
            where_: vec![],
            command_ids: vec!["c1".into()],
        };
        append(&path, &record).unwrap();
        append(&path, &record).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let back: AuditRecord = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(back, record);
        assert!(text.contains("\"where\":[]"));
        let who = who_by_command(&path);
        assert_eq!(
            who.get("c1").map(String::as_str),
            Some("arn:aws:iam::123456789012:user/ana")
        );
        assert!(who_by_command(&dir.path().join("none")).is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
            assert_eq!(
                dir.permissions().mode() & 0o777,
                0o700,
                "the audit directory"
            );
        }
    }
}
