//! The aws CLI (botocore), a client nobody here wrote, against the simulator: its answers must
//! agree with each other and with `generate_fleet`.
//!
//! CI installs the CLI; a missing CLI fails these tests rather than skipping them.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use fleetdeck::sim::{Health, SimInstance, SimOptions, Simulator};
use serde_json::Value;

/// A simulator on its own runtime, which keeps serving while the test thread blocks on `aws`.
struct Harness {
    runtime: tokio::runtime::Runtime,
    sim: Option<Simulator>,
    config_dir: tempfile::TempDir,
}

impl Harness {
    fn start(faults: &str) -> Harness {
        aws_cli();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sim = runtime
            .block_on(Simulator::start(SimOptions {
                faults: faults.parse().expect("valid fault spec"),
                seed: 7,
                ..SimOptions::default()
            }))
            .expect("simulator starts");
        let config_dir = tempfile::tempdir().expect("temp dir");
        for name in ["config", "credentials"] {
            std::fs::write(config_dir.path().join(name), "").expect("empty aws file");
        }
        Harness {
            runtime,
            sim: Some(sim),
            config_dir,
        }
    }

    fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("running until drop")
    }

    fn command(&self, region: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(aws_cli());
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        let file = |name: &str| -> PathBuf { self.config_dir.path().join(name) };
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", region)
            .env("AWS_CONFIG_FILE", file("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", file("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .arg("--endpoint-url")
            .arg(self.sim().endpoint_url())
            .args(["--output", "json"])
            .args(args);
        cmd
    }

    /// Runs `aws ARGS` and returns its JSON output, or (exit code, stderr) when it fails.
    fn try_aws(&self, region: &str, args: &[&str]) -> Result<Value, (i32, String)> {
        let out = self
            .command(region, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run aws: {e}; pip install awscli"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err((out.status.code().unwrap_or(-1), stderr));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_str::<Value>(&stdout)
            .unwrap_or_else(|e| panic!("aws {args:?} printed non-JSON ({e}): {stdout}")))
    }

    fn aws(&self, region: &str, args: &[&str]) -> Value {
        self.try_aws(region, args)
            .unwrap_or_else(|(code, stderr)| panic!("aws {args:?} exited {code}: {stderr}"))
    }

    fn aws_error(&self, region: &str, args: &[&str]) -> String {
        match self.try_aws(region, args) {
            Ok(v) => panic!("aws {args:?} should have failed, printed {v}"),
            Err((_, stderr)) => stderr,
        }
    }

    fn in_region(&self, region: &str) -> Vec<&SimInstance> {
        self.sim()
            .fleet()
            .iter()
            .filter(|i| i.region == region)
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

fn aws_cli() -> &'static str {
    static CHECKED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        let ok = Command::new("aws")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "the aws CLI is needed for these tests and was not found on PATH: pip install awscli"
        );
    });
    "aws"
}

fn instance_ids(describe_instances: &Value) -> Vec<String> {
    describe_instances["Reservations"]
        .as_array()
        .expect("Reservations list")
        .iter()
        .flat_map(|r| r["Instances"].as_array().cloned().unwrap_or_default())
        .map(|i| i["InstanceId"].as_str().expect("InstanceId").to_string())
        .collect()
}

fn info_ids(describe_info: &Value) -> Vec<String> {
    describe_info["InstanceInformationList"]
        .as_array()
        .expect("InstanceInformationList")
        .iter()
        .map(|i| i["InstanceId"].as_str().expect("InstanceId").to_string())
        .collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    let s: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(s.len(), ids.len(), "duplicates in {ids:?}");
    s
}

fn oracle(instances: &[&SimInstance], keep: impl Fn(&SimInstance) -> bool) -> BTreeSet<String> {
    instances
        .iter()
        .filter(|i| keep(i))
        .map(|i| i.id.clone())
        .collect()
}

#[test]
fn sim_ec2_and_ssm_agree_with_each_other_and_the_fleet() {
    let h = Harness::start("");
    let mut ssm_calls = 0;
    for region in h.sim().regions().to_vec() {
        let fleet = h.in_region(&region);
        let ec2 = h.aws(&region, &["ec2", "describe-instances"]);
        let ec2_ids = set(&instance_ids(&ec2));
        let ssm = h.aws(
            &region,
            &["ssm", "describe-instance-information", "--page-size", "5"],
        );
        let ssm_ids = set(&info_ids(&ssm));
        let managed = fleet.iter().filter(|i| i.ssm.is_some()).count();
        ssm_calls += managed.div_ceil(5).max(1);

        assert_eq!(ec2_ids, oracle(&fleet, |i| i.ec2.is_some()), "{region} EC2");
        assert_eq!(ssm_ids, oracle(&fleet, |i| i.ssm.is_some()), "{region} SSM");
        for inst in &fleet {
            let (in_ec2, in_ssm) = (ec2_ids.contains(&inst.id), ssm_ids.contains(&inst.id));
            let expected = match inst.health {
                Health::Online
                | Health::OutdatedAgent
                | Health::ConnectionLost
                | Health::Inactive => (true, true),
                Health::Unmanaged | Health::Stopped => (true, false),
                Health::Hybrid => (false, true),
            };
            assert_eq!(
                (in_ec2, in_ssm),
                expected,
                "{} ({:?})",
                inst.id,
                inst.health
            );
        }

        let instances: Vec<&Value> = ec2["Reservations"]
            .as_array()
            .expect("list")
            .iter()
            .flat_map(|r| r["Instances"].as_array().expect("instances").iter())
            .collect();
        for got in instances {
            let id = got["InstanceId"].as_str().expect("id");
            let inst = fleet.iter().find(|i| i.id == id).expect("in fleet");
            let rec = inst.ec2.as_ref().expect("EC2 record");
            assert_eq!(got["State"]["Name"], rec.state.name());
            assert_eq!(got["State"]["Code"], rec.state.code());
            assert_eq!(got["PrivateIpAddress"], rec.private_ip.as_str());
            assert_eq!(got["InstanceType"], rec.instance_type.as_str());
            assert_eq!(got["VpcId"], rec.vpc_id.as_str());
            assert_eq!(
                got["Placement"]["AvailabilityZone"],
                rec.availability_zone.as_str()
            );
            assert_eq!(
                got.get("PublicIpAddress").and_then(Value::as_str),
                rec.public_ip.as_deref()
            );
            assert_eq!(
                got.get("Platform").and_then(Value::as_str),
                inst.platform.is_windows().then_some("windows")
            );
            assert_eq!(got["PlatformDetails"], inst.platform.platform_details());
            assert_eq!(
                got.get("IamInstanceProfile").map(|p| p["Arn"].clone()),
                rec.iam_instance_profile
                    .as_ref()
                    .map(|p| Value::from(p.arn.clone()))
            );
            let tags: Vec<(String, String)> = got["Tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| {
                    (
                        t["Key"].as_str().expect("key").to_string(),
                        t["Value"].as_str().expect("value").to_string(),
                    )
                })
                .collect();
            assert_eq!(tags, inst.tags);
        }

        for got in ssm["InstanceInformationList"].as_array().expect("list") {
            let id = got["InstanceId"].as_str().expect("id");
            let inst = fleet.iter().find(|i| i.id == id).expect("in fleet");
            let rec = inst.ssm.as_ref().expect("SSM record");
            assert_eq!(got["PingStatus"], rec.ping_status.as_str());
            assert_eq!(got["IsLatestVersion"], rec.is_latest_version);
            assert_eq!(got["PlatformType"], inst.platform.platform_type());
            assert_eq!(got["ResourceType"], rec.resource_type.as_str());
            // CLI v1 prints timestamps as received (epoch seconds); v2 prints ISO-8601.
            let ping = match &got["LastPingDateTime"] {
                Value::Number(n) => n.as_f64().expect("number") as i64,
                Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                    .expect("ISO-8601")
                    .timestamp(),
                other => panic!("LastPingDateTime {other}"),
            };
            assert_eq!(ping, rec.last_ping.timestamp(), "{id}");
        }
    }

    // The CLI followed the pages; the simulator counted each one.
    let stats: Value = serde_json::from_str(
        &raw_http(
            h.sim(),
            "GET /_sim/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .1,
    )
    .expect("stats JSON");
    let calls: u64 = stats["operations"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["operation"] == "DescribeInstanceInformation")
        .map(|r| r["calls"].as_u64().expect("count"))
        .sum();
    assert_eq!(calls, ssm_calls as u64, "{stats}");
    assert_eq!(stats["total_throttled"], 0);
}

#[test]
fn sim_ec2_filters_and_paging() {
    let h = Harness::start("");
    let region = "us-east-1";
    let fleet = h.in_region(region);

    let prod_running = h.aws(
        region,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=tag:Env,Values=prod",
            "Name=instance-state-name,Values=running",
        ],
    );
    assert_eq!(
        set(&instance_ids(&prod_running)),
        oracle(&fleet, |i| {
            i.tag("Env") == Some("prod")
                && i.ec2.as_ref().is_some_and(|e| e.state.name() == "running")
        })
    );
    let stopped = h.aws(
        region,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=instance-state-name,Values=stopped",
        ],
    );
    assert_eq!(
        set(&instance_ids(&stopped)),
        oracle(&fleet, |i| i.health == Health::Stopped)
    );
    let named = h.aws(
        region,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=tag:Name,Values=web-*",
        ],
    );
    assert_eq!(
        set(&instance_ids(&named)),
        oracle(&fleet, |i| i.ec2.is_some() && i.name.starts_with("web-"))
    );

    let all = instance_ids(&h.aws(region, &["ec2", "describe-instances"]));
    let paged = instance_ids(&h.aws(region, &["ec2", "describe-instances", "--page-size", "7"]));
    assert_eq!(paged, all, "--page-size changes nothing but the calls");

    let first = h.aws(region, &["ec2", "describe-instances", "--max-items", "4"]);
    let token = first["NextToken"]
        .as_str()
        .expect("--max-items leaves a NextToken");
    let mut resumed = instance_ids(&first);
    assert_eq!(resumed.len(), 4);
    resumed.extend(instance_ids(&h.aws(
        region,
        &["ec2", "describe-instances", "--starting-token", token],
    )));
    assert_eq!(resumed, all);

    let one = &all[0];
    let got = h.aws(
        region,
        &["ec2", "describe-instances", "--instance-ids", one],
    );
    assert_eq!(instance_ids(&got), std::slice::from_ref(one));

    let err = h.aws_error(
        region,
        &[
            "ec2",
            "describe-instances",
            "--instance-ids",
            "i-0123456789abcdef0",
        ],
    );
    assert!(err.contains("InvalidInstanceID.NotFound"), "{err}");
    let err = h.aws_error(
        region,
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=colour,Values=blue",
        ],
    );
    assert!(err.contains("InvalidParameterValue"), "{err}");
    let err = h.aws_error(
        region,
        &[
            "ec2",
            "describe-instances",
            "--instance-ids",
            one,
            "--max-results",
            "5",
        ],
    );
    assert!(err.contains("InvalidParameterCombination"), "{err}");

    // An instance of the other region is not found here, as in AWS.
    let other = h
        .sim()
        .fleet()
        .iter()
        .find(|i| i.region != region && i.ec2.is_some())
        .expect("other region has instances");
    let err = h.aws_error(
        region,
        &["ec2", "describe-instances", "--instance-ids", &other.id],
    );
    assert!(err.contains("InvalidInstanceID.NotFound"), "{err}");
}

#[test]
fn sim_ssm_filters_and_errors() {
    let h = Harness::start("");
    let region = "eu-west-1";
    let fleet = h.in_region(region);
    let lost = h.aws(
        region,
        &[
            "ssm",
            "describe-instance-information",
            "--filters",
            "Key=PingStatus,Values=ConnectionLost",
        ],
    );
    assert_eq!(
        set(&info_ids(&lost)),
        oracle(&fleet, |i| i.health == Health::ConnectionLost)
    );
    let hybrid = h.aws(
        region,
        &[
            "ssm",
            "describe-instance-information",
            "--filters",
            "Key=ResourceType,Values=ManagedInstance",
        ],
    );
    assert_eq!(
        set(&info_ids(&hybrid)),
        oracle(&fleet, |i| i.health == Health::Hybrid)
    );
    let err = h.aws_error(
        region,
        &[
            "ssm",
            "describe-instance-information",
            "--filters",
            "Key=Colour,Values=blue",
        ],
    );
    assert!(err.contains("InvalidFilterKey"), "{err}");
    let err = h.aws_error(
        region,
        &[
            "ssm",
            "describe-instance-information",
            "--starting-token",
            "bogus",
        ],
    );
    assert!(
        err.contains("InvalidNextToken") || err.contains("token"),
        "{err}"
    );
    let sessions = h.aws(region, &["ssm", "describe-sessions", "--state", "History"]);
    assert_eq!(sessions["Sessions"], serde_json::json!([]));
}

#[test]
fn sim_logs_round_trip() {
    let h = Harness::start("");
    let r = "us-east-1";
    let group = "/fleetdeck/test";
    assert_eq!(
        h.aws(r, &["logs", "create-log-group", "--log-group-name", group]),
        Value::Null
    );
    let err = h.aws_error(r, &["logs", "create-log-group", "--log-group-name", group]);
    assert!(err.contains("ResourceAlreadyExistsException"), "{err}");
    for stream in ["ana-1", "bob-2"] {
        h.aws(
            r,
            &[
                "logs",
                "create-log-stream",
                "--log-group-name",
                group,
                "--log-stream-name",
                stream,
            ],
        );
    }
    let now = chrono::Utc::now().timestamp_millis();
    let events = |stream: &str, lines: &[(i64, &str)]| {
        let events: Vec<Value> = lines
            .iter()
            .map(|(t, m)| serde_json::json!({"timestamp": now - 1000 + t, "message": m}))
            .collect();
        h.aws(
            r,
            &[
                "logs",
                "put-log-events",
                "--log-group-name",
                group,
                "--log-stream-name",
                stream,
                "--log-events",
                &Value::from(events).to_string(),
            ],
        )
    };
    let put = events(
        "ana-1",
        &[(1, "$ uptime"), (2, "ERROR disk full"), (3, "$ exit")],
    );
    assert!(put.get("rejectedLogEventsInfo").is_none(), "{put}");
    events("bob-2", &[(4, "ERROR again")]);

    let got = h.aws(
        r,
        &[
            "logs",
            "get-log-events",
            "--log-group-name",
            group,
            "--log-stream-name",
            "ana-1",
            "--start-from-head",
        ],
    );
    let messages: Vec<&str> = got["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages, ["$ uptime", "ERROR disk full", "$ exit"]);
    let forward = got["nextForwardToken"].as_str().expect("token");
    let again = h.aws(
        r,
        &[
            "logs",
            "get-log-events",
            "--log-group-name",
            group,
            "--log-stream-name",
            "ana-1",
            "--start-from-head",
            "--next-token",
            forward,
        ],
    );
    assert_eq!(again["events"], serde_json::json!([]));
    assert_eq!(again["nextForwardToken"], forward, "same token at the end");

    let filtered = h.aws(
        r,
        &[
            "logs",
            "filter-log-events",
            "--log-group-name",
            group,
            "--filter-pattern",
            "ERROR",
        ],
    );
    let hits: Vec<(&str, &str)> = filtered["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["logStreamName"].as_str().expect("stream"),
                e["message"].as_str().expect("message"),
            )
        })
        .collect();
    assert_eq!(
        hits,
        [("ana-1", "ERROR disk full"), ("bob-2", "ERROR again")]
    );

    let streams = h.aws(
        r,
        &[
            "logs",
            "describe-log-streams",
            "--log-group-name",
            group,
            "--order-by",
            "LastEventTime",
            "--descending",
        ],
    );
    let names: Vec<&str> = streams["logStreams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["logStreamName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["bob-2", "ana-1"]);
    assert_eq!(streams["logStreams"][1]["firstEventTimestamp"], now - 999);

    let err = h.aws_error(
        r,
        &[
            "logs",
            "put-log-events",
            "--log-group-name",
            "/missing",
            "--log-stream-name",
            "x",
            "--log-events",
            &format!("timestamp={now},message=x"),
        ],
    );
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

#[test]
fn sim_throttling_is_retried_by_botocore() {
    let h = Harness::start("throttle=0.5");
    let region = "us-east-1";
    let fleet = h.in_region(region);
    let run = |args: &[&str]| {
        let out = h
            .command(region, args)
            .env("AWS_MAX_ATTEMPTS", "10")
            .output()
            .expect("aws runs");
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
    };
    let ec2 = run(&["ec2", "describe-instances", "--page-size", "10"]);
    assert_eq!(
        set(&instance_ids(&ec2)),
        oracle(&fleet, |i| i.ec2.is_some())
    );
    let ssm = run(&["ssm", "describe-instance-information", "--page-size", "10"]);
    assert_eq!(set(&info_ids(&ssm)), oracle(&fleet, |i| i.ssm.is_some()));
    let stats = h.sim().stats();
    assert!(stats.throttled("ec2", "DescribeInstances") > 0, "{stats:?}");
    assert!(
        stats.throttled("ssm", "DescribeInstanceInformation") > 0,
        "{stats:?}"
    );
}

#[test]
fn sim_unknown_region_is_refused_by_name() {
    let h = Harness::start("");
    let err = h.aws_error("ap-south-1", &["ec2", "describe-instances"]);
    assert!(
        err.contains("AuthFailure") && err.contains("ap-south-1"),
        "{err}"
    );
    let err = h.aws_error("ap-south-1", &["ssm", "describe-instance-information"]);
    assert!(
        err.contains("UnrecognizedClientException") && err.contains("ap-south-1"),
        "{err}"
    );
}

/// Sends `request` verbatim and returns (status code, body): a client that signs nothing.
fn raw_http(sim: &Simulator, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(sim.local_addr()).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {reply:?}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn sim_unsigned_requests_get_aws_error_shapes() {
    let h = Harness::start("");
    let form = "Action=DescribeInstances&Version=2016-11-15";
    let (status, body) = raw_http(
        h.sim(),
        &format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded; \
             charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!((400..500).contains(&status), "{status}");
    assert!(
        body.contains("<Response><Errors><Error><Code>AuthFailure</Code>"),
        "{body}"
    );
    assert!(body.contains("<RequestID>"), "{body}");

    let json = "{}";
    let (status, body) = raw_http(
        h.sim(),
        &format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: AmazonSSM.DescribeInstanceInformation\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            json.len()
        ),
    );
    assert_eq!(status, 400);
    let v: Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(v["__type"], "MissingAuthenticationTokenException");

    let (status, _) = raw_http(
        h.sim(),
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(
        h.sim().stats().total_calls,
        0,
        "unsigned requests are not API calls"
    );
}
