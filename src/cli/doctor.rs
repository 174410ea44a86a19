//! `fleetdeck doctor TARGET`: why an instance can or cannot take a session, step by step.
//! Exit 0 when a session would work, 1 otherwise (not found, ambiguous, blocked or unknown).
//! The diagnosis goes to stdout only; an unhealthy host adds one short stderr line that says
//! the verdict without repeating the reasons.

use std::io::Write;
use std::sync::Arc;

use crate::aws::{self, CallStats, ClientOptions};
use crate::config::Config;
use crate::diagnosis::{self, Diagnosis};
use crate::model::Instance;
use crate::search::{TargetMatch, resolve_target};

use super::{Cli, CliResult, DoctorArgs, Failure, problems, targets};

/// Candidates listed when a target is ambiguous.
const MAX_CANDIDATES: usize = 20;

pub async fn run(cli: &Cli, args: &DoctorArgs) -> CliResult {
    let target = args.target.join(" ");
    if target.trim().is_empty() {
        return Err(Failure::Usage(
            "doctor needs a TARGET: an instance id, a Name, or a query matching one instance"
                .into(),
        ));
    }
    let config = Config::load(cli.config.as_deref())?;
    let targets = targets::resolve(cli, &config).await?;
    let options = ClientOptions::new(cli.endpoint_url.clone().or(config.endpoint_url.clone()));
    let clients = aws::clients::build_all(&targets, &options, Arc::new(CallStats::default())).await;
    let inventory = aws::inventory::fetch(&clients).await;
    problems::report(&inventory.problems, inventory.instances.is_empty())?;
    let found =
        resolve_target(&inventory.instances, &target).map_err(|e| Failure::Usage(e.to_string()))?;
    let instance = match found {
        TargetMatch::One(i) => &inventory.instances[i],
        TargetMatch::None => {
            return Err(Failure::Other(format!(
                "no instance matches '{target}': check the name or id, or run `fleetdeck list` to see the fleet"
            )));
        }
        TargetMatch::Ambiguous(candidates) => {
            return Err(Failure::Other(ambiguous(
                &target,
                &inventory.instances,
                &candidates,
            )));
        }
    };
    let diagnosis = diagnosis::diagnose(instance, chrono::Utc::now());
    let text = render(instance, &diagnosis);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
    if diagnosis.session_would_work() {
        Ok(())
    } else {
        Err(Failure::Other(verdict_line(instance, &diagnosis)))
    }
}

/// The stderr line of an unhealthy host: the verdict and where the reasons are, not the
/// reasons again (they are on stdout, step by step).
fn verdict_line(instance: &Instance, diagnosis: &Diagnosis) -> String {
    let failed = diagnosis
        .steps
        .iter()
        .filter(|s| s.verdict == diagnosis::Verdict::Fail)
        .count();
    let checks = match failed {
        0 => "see the steps on stdout".to_owned(),
        1 => "1 check failed, see the diagnosis on stdout".to_owned(),
        n => format!("{n} checks failed, see the diagnosis on stdout"),
    };
    format!(
        "{} on {} ({}): {checks}",
        diagnosis.summary(),
        instance.display_name(),
        instance.instance_id
    )
}

fn ambiguous(target: &str, instances: &[Instance], candidates: &[usize]) -> String {
    let mut msg = format!(
        "'{target}' matches {} instances: name one by id or add a filter (region:, tag:K=V). Candidates:",
        candidates.len()
    );
    for &i in candidates.iter().take(MAX_CANDIDATES) {
        let inst = &instances[i];
        msg.push_str(&format!(
            "\n  {}  {}  {}  {}",
            inst.instance_id,
            inst.display_name(),
            inst.region,
            inst.ping_status
        ));
    }
    if candidates.len() > MAX_CANDIDATES {
        msg.push_str(&format!(
            "\n  … and {} more",
            candidates.len() - MAX_CANDIDATES
        ));
    }
    msg
}

/// The diagnosis as text: a header line, one line per step, the verdict.
pub fn render(instance: &Instance, diagnosis: &Diagnosis) -> String {
    let mut out = format!(
        "{} ({}) · {}/{} · {}\n",
        instance.display_name(),
        instance.instance_id,
        instance.profile,
        instance.region,
        if instance.platform.is_empty() {
            "unknown platform"
        } else {
            &instance.platform
        }
    );
    for step in &diagnosis.steps {
        out.push_str(&format!(
            "  {:<5} {:<14} {}\n",
            step.verdict.as_str(),
            step.check,
            step.sentence
        ));
    }
    out.push_str(&format!("=> {}\n", diagnosis.summary()));
    out
}
