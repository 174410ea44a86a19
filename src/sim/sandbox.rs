//! Per-instance sandboxes for everything the simulator runs "on" an instance (Run Command scripts
//! and shell sessions alike): the working directory and HOME
//! `<SimState::sandbox_root>/<instance-id>/` (= `<tmp>/fleetdeck-sim-<pid>-<n>/<instance-id>/`), a
//! `.bin` directory first on PATH with a `hostname` shim that prints the instance's Name, and an
//! environment that says which instance this is (HOSTNAME, INSTANCE_ID, AWS_SSM_INSTANCE_ID,
//! AWS_REGION). A file a Run Command script writes is there for the next shell session.
//!
//! Nothing here isolates anything: the simulator is a test and demo tool on the user's own
//! machine, and the scripts are the user's own commands.

use std::path::{Path, PathBuf};

use super::fleet::SimInstance;

/// The directories and environment of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceSandbox {
    /// The working directory (and HOME) of processes run on the instance.
    pub home: PathBuf,
    /// Holds the shims; first on PATH.
    pub bin: PathBuf,
    /// Variables to set on top of the simulator's own environment.
    pub env: Vec<(String, String)>,
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Creates (or reuses) the sandbox of `instance` under `root`.
pub(crate) fn prepare(root: &Path, instance: &SimInstance) -> std::io::Result<InstanceSandbox> {
    let home = root.join(&instance.id);
    let bin = home.join(".bin");
    std::fs::create_dir_all(&bin)?;
    let name = if instance.name.is_empty() {
        instance.id.as_str()
    } else {
        instance.name.as_str()
    };
    let shim = bin.join("hostname");
    let script = format!("#!/bin/sh\necho {}\n", shell_quote(name));
    if std::fs::read_to_string(&shim).ok().as_deref() != Some(script.as_str()) {
        // Write then rename: a concurrent reader never sees a half-written shim.
        // Unique per call: two sessions on the same instance may prepare it at the same moment.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = bin.join(format!(".hostname.{}.{n}", std::process::id()));
        std::fs::write(&tmp, &script)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::rename(&tmp, &shim)?;
    }
    let path = match std::env::var_os("PATH") {
        Some(p) => format!("{}:{}", bin.display(), p.to_string_lossy()),
        None => format!("{}:/usr/bin:/bin", bin.display()),
    };
    let env = vec![
        ("HOSTNAME".to_string(), name.to_string()),
        ("INSTANCE_ID".to_string(), instance.id.clone()),
        ("AWS_SSM_INSTANCE_ID".to_string(), instance.id.clone()),
        ("AWS_REGION".to_string(), instance.region.clone()),
        ("HOME".to_string(), home.display().to_string()),
        ("PATH".to_string(), path),
    ];
    Ok(InstanceSandbox { home, bin, env })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::fleet::{FleetSpec, generate_fleet};

    #[test]
    fn hostname_shim_prints_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = generate_fleet(&FleetSpec {
            instances: 3,
            seed: 1,
            regions: vec!["us-east-1".into()],
            start: chrono::Utc::now(),
        });
        let inst = &fleet[0];
        let sb = prepare(dir.path(), inst).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("hostname; echo $INSTANCE_ID; pwd")
            .current_dir(&sb.home)
            .envs(sb.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], inst.name);
        assert_eq!(lines[1], inst.id);
        assert!(lines[2].ends_with(&inst.id), "{text}");
    }

    /// Several sessions on one instance at once (tests run simulators in parallel in one
    /// process): every preparation succeeds.
    #[test]
    fn concurrent_preparations_of_one_instance_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = generate_fleet(&FleetSpec {
            instances: 3,
            seed: 1,
            regions: vec!["us-east-1".into()],
            start: chrono::Utc::now(),
        });
        let inst = fleet[0].clone();
        // A stale shim makes every thread rewrite it.
        let first = prepare(dir.path(), &inst).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let root = dir.path().to_path_buf();
                let inst = inst.clone();
                let shim = first.bin.join("hostname");
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| {
                            let _ = std::fs::write(&shim, "stale");
                            prepare(&root, &inst).map(|_| ())
                        })
                        .collect::<Result<Vec<()>, _>>()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }
}
