//! The aws CLI (botocore), a client nobody here wrote, against the simulator's Run Command: it must
//! parse every answer, and the answers must agree with each other and with `generate_fleet`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{Env, Sim, wait_for};
use fleetdeck::sim::{FleetSpec, PingStatus, generate_fleet};
use serde_json::Value;

fn aws(env: &Env, sim: &Sim, args: &[&str]) -> Result<Value, String> {
    let mut cmd = Command::new("aws");
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", env.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            env.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .args(["--endpoint-url", sim.endpoint.as_str(), "--output", "json"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run aws ({e}): pip install awscli"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))
}

#[test]
fn aws_cli_sends_watches_and_reads_a_tag_targeted_command() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "120"]);
    let fleet = generate_fleet(&FleetSpec {
        instances: 120,
        seed: 1,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        start: chrono::Utc::now(),
    });
    // Every managed Role=web node in us-east-1 is a target, offline ones included (AWS semantics).
    let targets: BTreeSet<String> = fleet
        .iter()
        .filter(|i| i.region == "us-east-1" && i.tag("Role") == Some("web") && i.ssm.is_some())
        .map(|i| i.id.clone())
        .collect();
    assert!(targets.len() >= 2);
    let sent = aws(
        &env,
        &sim,
        &[
            "ssm",
            "send-command",
            "--document-name",
            "AWS-RunShellScript",
            "--targets",
            "Key=tag:Role,Values=web",
            "--parameters",
            "commands=echo $INSTANCE_ID",
            "--timeout-seconds",
            "30",
            "--max-concurrency",
            "50%",
            "--max-errors",
            "100%",
            "--comment",
            "botocore",
        ],
    )
    .expect("send-command");
    let id = sent["Command"]["CommandId"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        sent["Command"]["TargetCount"].as_u64(),
        Some(targets.len() as u64)
    );
    assert_eq!(sent["Command"]["MaxConcurrency"], "50%");

    let mut last = Value::Null;
    wait_for("the command to finish", Duration::from_secs(60), || {
        last =
            aws(&env, &sim, &["ssm", "list-commands", "--command-id", &id]).expect("list-commands");
        let status = last["Commands"][0]["Status"].as_str().unwrap_or("");
        !matches!(status, "Pending" | "InProgress")
    });
    let cmd = &last["Commands"][0];
    let online: BTreeSet<String> = fleet
        .iter()
        .filter(|i| targets.contains(&i.id))
        .filter(|i| {
            i.ssm
                .as_ref()
                .is_some_and(|s| s.ping_status == PingStatus::Online)
        })
        .filter(|i| !i.platform.is_windows())
        .map(|i| i.id.clone())
        .collect();
    assert!(!online.is_empty());
    assert_eq!(cmd["CompletedCount"].as_u64(), Some(targets.len() as u64));
    assert_eq!(cmd["Comment"], "botocore");

    let inv = aws(
        &env,
        &sim,
        &[
            "ssm",
            "list-command-invocations",
            "--command-id",
            &id,
            "--details",
        ],
    )
    .expect("list-command-invocations (the CLI pages through NextToken)");
    let invocations = inv["CommandInvocations"].as_array().expect("invocations");
    let listed: BTreeSet<String> = invocations
        .iter()
        .map(|i| i["InstanceId"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(listed, targets);
    for i in invocations {
        let iid = i["InstanceId"].as_str().expect("id");
        let plugin = &i["CommandPlugins"][0];
        if online.contains(iid) {
            assert_eq!(i["Status"], "Success", "{i}");
            assert_eq!(plugin["Output"], format!("{iid}\n"));
            assert_eq!(plugin["ResponseCode"], 0);
            let got = aws(
                &env,
                &sim,
                &[
                    "ssm",
                    "get-command-invocation",
                    "--command-id",
                    &id,
                    "--instance-id",
                    iid,
                ],
            )
            .expect("get-command-invocation");
            assert_eq!(got["StandardOutputContent"], format!("{iid}\n"));
            assert_eq!(got["PluginName"], "aws:runShellScript");
        } else {
            assert_ne!(i["Status"], "Success", "{i}");
        }
    }
    let err = aws(
        &env,
        &sim,
        &[
            "ssm",
            "get-command-invocation",
            "--command-id",
            &id,
            "--instance-id",
            "i-00000000000000000",
        ],
    )
    .expect_err("unknown pair");
    assert!(err.contains("InvocationDoesNotExist"), "{err}");
    let err = aws(
        &env,
        &sim,
        &[
            "ssm",
            "cancel-command",
            "--command-id",
            "00000000-0000-0000-0000-000000000000",
        ],
    )
    .expect_err("unknown command");
    assert!(err.contains("InvalidCommandId"), "{err}");
}
