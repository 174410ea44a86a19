//! `fleetdeck list` against `fleetdeck sim`, both as a user runs them: the simulator is a child
//! process on a free loopback port, its seeded fleet (`generate_fleet`) is the oracle.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use common::{Env, Sim, run};
use fleetdeck::sim::{FleetSpec, Health, SimInstance, generate_fleet};
use serde_json::Value;

fn fleet(instances: usize, seed: u64, regions: &[&str]) -> Vec<SimInstance> {
    generate_fleet(&FleetSpec {
        instances,
        seed,
        regions: regions.iter().map(|r| r.to_string()).collect(),
        start: Utc::now(),
    })
}

fn list_json(env: &Env, sim: &Sim, args: &[&str]) -> (Vec<Value>, String) {
    let r = run(env
        .cmd()
        .args(["list", "--output", "json", "--endpoint-url", &sim.endpoint])
        .args(args));
    assert_eq!(r.code, 0, "list failed: {}", r.stderr);
    (
        serde_json::from_str(&r.stdout).expect("list --output json is a JSON array"),
        r.stderr,
    )
}

fn expected_ping(i: &SimInstance) -> &'static str {
    match i.health {
        Health::Online | Health::OutdatedAgent | Health::Hybrid => "Online",
        Health::ConnectionLost => "ConnectionLost",
        Health::Inactive => "Inactive",
        Health::Unmanaged | Health::Stopped => "NotManaged",
    }
}

const TWO: [&str; 4] = ["--region", "us-east-1", "--region", "eu-west-1"];

#[test]
fn every_instance_once_with_the_health_the_fleet_was_seeded_with() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "120", "--seed", "7"]);
    let oracle = fleet(120, 7, &["us-east-1", "eu-west-1"]);
    let (rows, _) = list_json(&env, &sim, &TWO);
    assert_eq!(rows.len(), oracle.len());

    let by_id: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["instance_id"].as_str().expect("id"), r))
        .collect();
    assert_eq!(by_id.len(), rows.len(), "no instance twice");
    for i in &oracle {
        let row = by_id
            .get(i.id.as_str())
            .unwrap_or_else(|| panic!("{} ({:?}) missing from list", i.id, i.health));
        assert_eq!(row["ping_status"], expected_ping(i), "{}", i.id);
        assert_eq!(row["region"], i.region.as_str());
        assert_eq!(row["name"], i.name.as_str());
        assert_eq!(row["managed"], i.ssm.is_some(), "{}", i.id);
        let state = match (&i.ec2, i.health) {
            (None, _) => "hybrid",
            (Some(_), Health::Stopped) => "stopped",
            (Some(_), _) => "running",
        };
        assert_eq!(row["state"], state, "{}", i.id);
        if let Some(ssm) = &i.ssm {
            assert_eq!(row["agent_version"], ssm.agent_version.as_str());
            assert_eq!(row["agent_is_latest"], ssm.is_latest_version);
        }
        // EC2 instances' tags come from EC2, hybrid nodes' from ssm:ListTagsForResource.
        assert!(!i.tags.is_empty(), "{} has tags in the simulator", i.id);
        for (k, v) in &i.tags {
            assert_eq!(row["tags"][k], v.as_str(), "{} tag {k}", i.id);
        }
    }

    // Every health case of DESIGN.md is present in a fleet of this size.
    let kinds: BTreeSet<Health> = oracle.iter().map(|i| i.health).collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
}

#[test]
fn table_summary_counts_match_the_seeded_fleet() {
    let env = Env::new();
    let sim = Sim::start(&env, &[]);
    let oracle = fleet(60, 1, &["us-east-1", "eu-west-1"]);
    let r = run(env
        .cmd()
        .args(["list", "--endpoint-url", &sim.endpoint])
        .args(TWO));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let count = |h: &[Health]| oracle.iter().filter(|i| h.contains(&i.health)).count();
    let online = count(&[Health::Online, Health::OutdatedAgent, Health::Hybrid]);
    let lost = count(&[Health::ConnectionLost]);
    let summary = r.stdout.lines().last().expect("summary line");
    assert!(
        summary.starts_with(&format!(
            "60 instances: {online} online, {lost} connection lost"
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} stopped", count(&[Health::Stopped]))),
        "{summary}"
    );
    assert!(
        r.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .starts_with("NAME ")
    );
    assert!(
        !r.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn queries_select_exactly_what_they_say() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "150", "--seed", "3"]);
    let oracle = fleet(150, 3, &["us-east-1", "eu-west-1"]);
    let ids = |rows: &[Value]| -> BTreeSet<String> {
        rows.iter()
            .map(|r| r["instance_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let expect = |pred: &dyn Fn(&SimInstance) -> bool| -> BTreeSet<String> {
        oracle
            .iter()
            .filter(|i| pred(i))
            .map(|i| i.id.clone())
            .collect()
    };

    let (rows, _) = list_json(&env, &sim, &[&TWO[..], &["ping:lost"]].concat());
    assert_eq!(ids(&rows), expect(&|i| i.health == Health::ConnectionLost));

    let (rows, _) = list_json(&env, &sim, &[&TWO[..], &["tag:Role=web"]].concat());
    let web = expect(&|i| i.tag("Role") == Some("web"));
    assert!(!web.is_empty());
    assert_eq!(ids(&rows), web);

    let (rows, _) = list_json(
        &env,
        &sim,
        &[&TWO[..], &["tag:env=PROD", "!ping:online", "region:eu"]].concat(),
    );
    assert_eq!(
        ids(&rows),
        expect(&|i| i.tag("Env") == Some("prod")
            && expected_ping(i) != "Online"
            && i.region == "eu-west-1")
    );

    let (rows, _) = list_json(&env, &sim, &[&TWO[..], &["state:stopped"]].concat());
    assert_eq!(ids(&rows), expect(&|i| i.health == Health::Stopped));

    let (rows, _) = list_json(&env, &sim, &[&TWO[..], &["platform:win"]].concat());
    assert_eq!(ids(&rows), expect(&|i| i.platform.is_windows()));

    // Fuzzy: a host's exact name ranks it first.
    let target = &oracle[17];
    let (rows, _) = list_json(&env, &sim, &[&TWO[..], &[target.name.as_str()]].concat());
    assert_eq!(rows[0]["name"], target.name.as_str());
    // An id prefix finds exactly that host.
    let (rows, _) = list_json(
        &env,
        &sim,
        &[&TWO[..], &[&format!("id:{}", &target.id)]].concat(),
    );
    assert_eq!(ids(&rows), BTreeSet::from([target.id.clone()]));
}

#[test]
fn csv_has_the_same_rows_as_json() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "40"]);
    let (rows, _) = list_json(&env, &sim, &TWO);
    let r = run(env
        .cmd()
        .args(["list", "-o", "csv", "--endpoint-url", &sim.endpoint])
        .args(TWO));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut reader = csv_rows(&r.stdout);
    let header = reader.remove(0);
    assert_eq!(header[0], "instance_id");
    assert_eq!(header.last().map(String::as_str), Some("tags"));
    assert_eq!(reader.len(), rows.len());
    for (csv_row, json_row) in reader.iter().zip(&rows) {
        assert_eq!(
            csv_row[0],
            json_row["instance_id"].as_str().unwrap_or_default()
        );
        assert_eq!(
            csv_row[5],
            json_row["ping_status"].as_str().unwrap_or_default()
        );
        let tags = json_row["tags"].as_object().expect("tags object");
        let joined: Vec<String> = tags
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        assert_eq!(csv_row[13], joined.join(";"));
    }
}

/// A small CSV reader for the test (quoted fields with doubled quotes).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

#[test]
fn three_regions_at_once() {
    let env = Env::new();
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let sim = Sim::start(
        &env,
        &[
            "--instances",
            "90",
            "--region",
            regions[0],
            "--region",
            regions[1],
            "--region",
            regions[2],
        ],
    );
    let oracle = fleet(90, 1, &regions);
    let (rows, _) = list_json(
        &env,
        &sim,
        &[
            "--region", regions[0], "--region", regions[1], "--region", regions[2],
        ],
    );
    assert_eq!(rows.len(), 90);
    for region in regions {
        let got = rows.iter().filter(|r| r["region"] == region).count();
        let want = oracle.iter().filter(|i| i.region == region).count();
        assert!(want > 0);
        assert_eq!(got, want, "{region}");
    }
}

#[test]
fn two_profiles_each_see_the_fleet() {
    let env = Env::new();
    env.write(
        ".aws/config",
        "[profile blue]\nregion = us-east-1\n\n[profile green]\nregion = eu-west-1\n",
    );
    env.write(
        ".aws/credentials",
        "[blue]\naws_access_key_id = AKIDBLUE\naws_secret_access_key = s1\n\n[green]\naws_access_key_id = AKIDGREEN\naws_secret_access_key = s2\n",
    );
    let sim = Sim::start(&env, &["--instances", "30"]);
    let oracle = fleet(30, 1, &["us-east-1", "eu-west-1"]);
    // Each profile's own region from ~/.aws/config, no --region: blue reads us-east-1, green eu-west-1.
    let r = run(env.bare().args([
        "list",
        "-o",
        "json",
        "--endpoint-url",
        &sim.endpoint,
        "--profile",
        "blue",
        "--profile",
        "green",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    for (profile, region) in [("blue", "us-east-1"), ("green", "eu-west-1")] {
        let got = rows.iter().filter(|r| r["profile"] == profile).count();
        assert!(
            rows.iter()
                .filter(|r| r["profile"] == profile)
                .all(|r| r["region"] == region)
        );
        assert_eq!(got, oracle.iter().filter(|i| i.region == region).count());
    }
    // The table names the profile when there is more than one.
    let r = run(env.bare().args([
        "list",
        "--endpoint-url",
        &sim.endpoint,
        "--profile",
        "blue",
        "--profile",
        "green",
        "--region",
        "us-east-1",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .contains("PROFILE")
    );
    assert_eq!(
        r.stdout.lines().count(),
        2 + 2 * oracle.iter().filter(|i| i.region == "us-east-1").count()
    );
}

#[test]
fn half_the_requests_throttled_still_completes_and_says_so() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "300", "--faults", "throttle=0.5"]);
    let (rows, stderr) = list_json(&env, &sim, &TWO);
    assert_eq!(rows.len(), 300);
    assert!(stderr.contains("were retried"), "{stderr}");
}

#[test]
fn a_region_the_endpoint_does_not_serve_is_reported_with_its_name() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "20"]);
    let r = run(env.cmd().args([
        "list",
        "-o",
        "json",
        "--endpoint-url",
        &sim.endpoint,
        "--region",
        "us-east-1",
        "--region",
        "sa-east-1",
    ]));
    assert_eq!(
        r.code, 0,
        "the region that works is still listed: {}",
        r.stderr
    );
    assert!(r.stderr.contains("sa-east-1"), "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert!(!rows.is_empty() && rows.iter().all(|r| r["region"] == "us-east-1"));
}

#[test]
fn sim_rejects_bad_faults_and_non_loopback_addresses() {
    let env = Env::new();
    let r = run(env.bare().args(["sim", "--faults", "throttle=2"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("throttle"), "{}", r.stderr);
    let r = run(env.bare().args(["sim", "--listen", "0.0.0.0:0"]));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("loopback"), "{}", r.stderr);
}
