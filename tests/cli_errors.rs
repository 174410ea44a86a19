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
