//! `fleetdeck doctor TARGET` against the simulator: the same diagnosis as the console's detail
//! pane, exit 0 only when a session would work.

mod common;

use common::{Env, Sim, run};

fn args<'a>(sim: &'a Sim, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--endpoint-url",
        sim.endpoint.as_str(),
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ];
    v.extend_from_slice(rest);
    v
}

#[test]
fn doctor_says_why_and_exits_accordingly() {
    let env = Env::new();
    let sim = Sim::start(&env, &["--instances", "60", "--seed", "3"]);
    let list = run(env.cmd().args(args(&sim, &["list", "--output", "json"])));
    assert_eq!(list.code, 0, "{}", list.stderr);
    let fleet: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).expect("json");
    let find = |pred: &dyn Fn(&serde_json::Value) -> bool| -> String {
        fleet
            .iter()
            .find(|i| pred(i))
            .and_then(|i| i["instance_id"].as_str())
            .expect("such an instance in the seeded fleet")
            .to_owned()
    };
    let running = |i: &serde_json::Value| i["state"] == "running";

    let online = find(&|i| running(i) && i["ping_status"] == "Online");
    let r = run(env.cmd().args(args(&sim, &["doctor", &online])));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("=> a session would work"), "{}", r.stdout);
    assert!(r.stdout.contains("The SSM agent is Online"), "{}", r.stdout);

    let lost = find(&|i| running(i) && i["ping_status"] == "ConnectionLost");
    let r = run(env.cmd().args(args(&sim, &["doctor", &lost])));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ConnectionLost since"), "{}", r.stdout);
    // The diagnosis is said once, on stdout; stderr has the verdict in one short line.
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("a session would not work"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("1 check failed"), "{}", r.stderr);
    assert!(!r.stderr.contains("ConnectionLost"), "{}", r.stderr);

    let unmanaged = find(&|i| running(i) && i["ping_status"] == "NotManaged");
    let r = run(env.cmd().args(args(&sim, &["doctor", &unmanaged])));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("AmazonSSMManagedInstanceCore"),
        "{}",
        r.stdout
    );

    // A query matching several instances lists them.
    let r = run(env.cmd().args(args(&sim, &["doctor", "ping:online"])));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("Candidates:"), "{}", r.stderr);
    assert!(r.stderr.contains(&online), "{}", r.stderr);

    let r = run(env.cmd().args(args(&sim, &["doctor", "no-such-host-zzz"])));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no instance matches"), "{}", r.stderr);
}
