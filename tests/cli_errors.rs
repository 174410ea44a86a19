//! Bad input gets one clear sentence and the contract's exit status: 2 for usage, 1 otherwise.

mod common;

use common::{Env, run};

#[test]
fn unknown_flag_is_a_usage_error() {
    let env = Env::new();
    let r = run(env.cmd().args(["list", "--colour"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--colour"), "{}", r.stderr);
}

#[test]
fn bad_output_format_lists_the_good_ones() {
    let env = Env::new();
    let r = run(env.cmd().args(["list", "--output", "yaml"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("yaml"), "{}", r.stderr);
    assert!(
        r.stderr.contains("table") && r.stderr.contains("json") && r.stderr.contains("csv"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_tag_filter_says_how_to_write_one() {
    let env = Env::new();
    let r = run(env.cmd().args(["list", "tag:=prod"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tag:KEY=VALUE"), "{}", r.stderr);
    let r = run(env.cmd().args(["list", "ping:sleepy"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown ping status 'sleepy'"),
        "{}",
        r.stderr
    );
}

#[test]
fn malformed_region_is_named() {
    let env = Env::new();
    let r = run(env.cmd().args(["list", "--region", "useast1"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("'useast1' is not a region name"),
        "{}",
        r.stderr
    );
}

#[test]
fn unreachable_endpoint_says_so() {
    let env = Env::new();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let r = run(env
        .cmd()
        .args(["list", "--region", "us-east-1", "--endpoint-url", &url]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("cannot reach {url}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "no table for a fleet that could not be read"
    );
}

#[test]
fn config_syntax_error_names_file_and_line() {
    let env = Env::new();
    let path = env.write("fd.toml", "profiles = [\"a\"]\nregions = [eu-west-1]\n");
    let r = run(env.cmd().args(["list", "--config"]).arg(&path));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:2:", path.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn config_in_the_default_place_is_read() {
    let env = Env::new();
    env.write(
        ".config/fleetdeck/config.toml",
        "regoins = [\"eu-west-1\"]\n",
    );
    let r = run(env.cmd().args(["list", "--region", "us-east-1"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("config.toml:1:1"), "{}", r.stderr);
    assert!(r.stderr.contains("regoins"), "{}", r.stderr);
}

#[test]
fn missing_config_file_is_named() {
    let env = Env::new();
    let r = run(env.cmd().args(["list", "--config", "/nonexistent/fd.toml"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent/fd.toml"), "{}", r.stderr);
}

#[test]
fn no_credentials_says_how_to_set_them() {
    let env = Env::new();
    let port = common::free_port();
    let r = run(env.bare().args([
        "list",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no AWS credentials for profile 'default'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", r.stderr);
}

#[test]
fn no_region_says_where_to_set_one() {
    let env = Env::new();
    let r = run(env.cmd().args(["list"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no region is set"), "{}", r.stderr);
    assert!(r.stderr.contains("--region"), "{}", r.stderr);
}

#[test]
fn expired_sso_says_which_login_to_run() {
    let env = Env::new();
    // An SSO profile whose cached token expired long ago.
    env.write(
        ".aws/config",
        "[profile ops]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Ops\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    let port = common::free_port();
    let r = run(env.bare().args([
        "list",
        "--profile",
        "ops",
        "--endpoint-url",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("aws sso login --profile ops"),
        "{}",
        r.stderr
    );
}

#[test]
fn unreachable_endpoint_is_said_once_for_every_region() {
    let env = Env::new();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let r = run(env.cmd().args([
        "--endpoint-url",
        &url,
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "list",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("cannot reach").count(),
        1,
        "one sentence, not one per region and service:\n{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("'us-east-1' and 'eu-west-1' are real regions"),
        "{}",
        r.stderr
    );
}

#[test]
fn remote_port_zero_is_refused_before_any_request() {
    let env = Env::new();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let global = ["--endpoint-url", url.as_str(), "--region", "us-east-1"];
    for (command, flag) in [
        (["tunnel", "web-1", "--remote-port", "0"], "--remote-port"),
        (["proxy", "web-1", "--port", "0"], "--port"),
    ] {
        let r = run(env.cmd().args(global).args(command));
        assert_eq!(r.code, 2, "{command:?}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{}", r.stderr);
        assert!(r.stderr.contains("1..=65535"), "{}", r.stderr);
    }
    // Local port 0 still means "pick a free one": past the flag check, the endpoint fails.
    let r = run(env.cmd().args(global).args([
        "tunnel",
        "web-1",
        "--remote-port",
        "22",
        "--local-port",
        "0",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot reach"), "{}", r.stderr);
}

/// Id, Name and region of a running instance of the seeded simulator's fleet with this ping status.
fn running_with(env: &Env, sim: &common::Sim, ping: &str) -> (String, String, String) {
    let r = run(env.cmd().args([
        "--endpoint-url",
        &sim.endpoint,
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "list",
        "--output",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fleet: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("json");
    let found = fleet
        .iter()
        .find(|i| i["state"] == "running" && i["ping_status"] == ping && i["name"].is_string())
        .expect("such an instance in the seeded fleet");
    (
        found["instance_id"].as_str().expect("id").to_owned(),
        found["name"].as_str().expect("name").to_owned(),
        found["region"].as_str().expect("region").to_owned(),
    )
}

#[test]
fn a_target_that_is_not_connected_is_explained_once_with_doctor_pointed_to() {
    let env = Env::new();
    let sim = common::Sim::start(&env, &["--instances", "60", "--seed", "3"]);
    let (lost_id, lost, lost_region) = running_with(&env, &sim, "ConnectionLost");
    let (_, inactive, _) = running_with(&env, &sim, "Inactive");
    let both = [
        "--endpoint-url",
        sim.endpoint.as_str(),
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ];
    let explained = |r: &common::Run, status: &str, target: &str| {
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line:\n{}", r.stderr);
        assert!(r.stderr.contains(status), "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("`fleetdeck doctor {target}`")),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("TargetNotConnected"), "{}", r.stderr);
    };

    let r = run(env.cmd().args(both).args(["connect", &lost]));
    explained(&r, "ConnectionLost since", &lost);
    assert!(r.stderr.contains("amazon-ssm-agent"), "{}", r.stderr);

    let r = run(env
        .cmd()
        .args(both)
        .args(["tunnel", &inactive, "--remote-port", "22"]));
    explained(&r, "Inactive:", &inactive);

    // An id with one region skips the inventory read to resolve it: it is read for the reason.
    let r = run(env.cmd().args([
        "--endpoint-url",
        &sim.endpoint,
        "--region",
        &lost_region,
        "proxy",
        &lost_id,
    ]));
    explained(&r, "ConnectionLost since", &lost_id);
}
