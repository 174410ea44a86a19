//! Bulk Run Command through fleetdeck's `run` module and AWS layer against the in-process
//! simulator (real SDK clients over loopback; the simulator really runs each script).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fleetdeck::aws::{self, CallStats, ClientOptions, Clients, Target};
use fleetdeck::model::Instance;
use fleetdeck::run::{
    self, CloudWatchOutput, Control, HostStatus, OutputSource, Plan, PollOptions, Rate, RunEvent,
    RunOptions, RunReport, TagFilter, TargetSpec,
};
use fleetdeck::sim::{PingStatus, SimInstance, SimOptions, Simulator};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

struct Fixture {
    sim: Simulator,
    clients: Vec<Clients>,
    inventory: Vec<Instance>,
}

async fn fixture(instances: usize) -> Fixture {
    fixture_with(instances, "", 4).await
}

async fn fixture_with(instances: usize, faults: &str, max_attempts: u32) -> Fixture {
    let sim = Simulator::start(SimOptions {
        instances,
        seed: 7,
        faults: faults.parse().expect("fault spec"),
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let options = ClientOptions {
        endpoint_url: Some(sim.endpoint_url()),
        static_credentials: Some(("testing".into(), "testing".into())),
        max_attempts,
    };
    let targets: Vec<Target> = sim
        .regions()
        .iter()
        .map(|r| Target {
            profile: None,
            region: r.clone(),
        })
        .collect();
    let clients = aws::clients::build_all(&targets, &options, Arc::new(CallStats::default())).await;
    let inventory = aws::inventory::fetch(&clients).await;
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
    Fixture {
        sim,
        clients,
        inventory: inventory.instances,
    }
}

fn fast() -> PollOptions {
    PollOptions {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
        ..PollOptions::default()
    }
}

/// The oracle's view: can this instance take a command now?
fn reachable(i: &SimInstance) -> bool {
    i.ssm
        .as_ref()
        .is_some_and(|s| s.ping_status == PingStatus::Online)
}

fn online_linux(sim: &Simulator, region: &str, n: usize) -> Vec<SimInstance> {
    let picked: Vec<SimInstance> = sim
        .fleet()
        .iter()
        .filter(|i| i.region == region && reachable(i) && !i.platform.is_windows())
        .take(n)
        .cloned()
        .collect();
    assert_eq!(
        picked.len(),
        n,
        "the seeded fleet has {n} online Linux hosts"
    );
    picked
}

fn opts(script: &str) -> RunOptions {
    RunOptions {
        commands: vec![script.to_string()],
        ..RunOptions::default()
    }
}

fn ids_plan(f: &Fixture, hosts: &[SimInstance], options: RunOptions) -> Plan {
    let spec = TargetSpec::InstanceIds(hosts.iter().map(|h| h.id.clone()).collect());
    run::plan(&f.inventory, &spec, &options).expect("plan")
}

async fn execute(f: &Fixture, plan: &Plan) -> RunReport {
    tokio::time::timeout(
        DEADLINE,
        run::exec::execute_quietly(plan, &f.clients, &fast()),
    )
    .await
    .expect("the run ends before the deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_run_reaches_exactly_the_reachable_web_hosts_with_their_own_output() {
    let f = fixture(160).await;
    let spec = TargetSpec::Tags(vec![TagFilter::parse("tag:Role=web").expect("tag")]);
    let plan = run::plan(&f.inventory, &spec, &opts("hostname")).expect("plan");

    let web: Vec<&SimInstance> = f
        .sim
        .fleet()
        .iter()
        .filter(|i| i.tag("Role") == Some("web"))
        .collect();
    let expected: BTreeSet<String> = web
        .iter()
        .filter(|i| reachable(i))
        .map(|i| i.id.clone())
        .collect();
    let offline: BTreeSet<String> = web
        .iter()
        .filter(|i| !reachable(i))
        .map(|i| i.id.clone())
        .collect();
    assert!(expected.len() >= 4, "seed gives several web hosts");
    assert!(!offline.is_empty(), "seed gives offline web hosts too");
    // Offline hosts are known before anything is sent.
    let planned: BTreeSet<String> = plan.hosts().map(|h| h.instance_id.clone()).collect();
    let skipped: BTreeSet<String> = plan.skipped.iter().map(|s| s.instance_id.clone()).collect();
    assert_eq!(planned, expected);
    assert_eq!(skipped, offline);
    assert_eq!(f.sim.stats().calls("ssm", "SendCommand"), 0);

    let report = execute(&f, &plan).await;
    let reached: BTreeSet<String> = report.hosts.iter().map(|h| h.instance_id.clone()).collect();
    assert_eq!(reached, expected);
    assert_eq!(
        f.sim.stats().calls("ssm", "SendCommand"),
        plan.sends.len() as u64
    );
    for h in &report.hosts {
        assert_eq!(h.status, HostStatus::Success, "{h:?}");
        let inst = f
            .sim
            .fleet()
            .iter()
            .find(|i| i.id == h.instance_id)
            .expect("in the fleet");
        let want = if inst.platform.is_windows() {
            inst.ssm.as_ref().expect("managed").computer_name.clone()
        } else {
            inst.name.clone()
        };
        assert_eq!(h.stdout.trim_end(), want, "{}", h.instance_id);
        assert_eq!(h.exit_code, Some(0));
    }
    // Different hosts, different output: one group per host.
    let groups = run::group_outputs(&report.hosts);
    assert_eq!(groups.len(), expected.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_is_never_exceeded() {
    let f = fixture(120).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("spans.log");
    let hosts = online_linux(&f.sim, "us-east-1", 8);
    let script = format!(
        "echo \"start $(date +%s%N)\" >> {log}; sleep 0.3; echo \"end $(date +%s%N)\" >> {log}",
        log = log.display()
    );
    let mut options = opts(&script);
    options.max_concurrency = Some(Rate::Count(2));
    let plan = ids_plan(&f, &hosts, options);
    let report = execute(&f, &plan).await;
    assert!(report.all_succeeded(), "{:?}", report.hosts);

    let text = std::fs::read_to_string(&log).expect("span log");
    let mut events: Vec<(u128, i32)> = text
        .lines()
        .map(|l| {
            let (kind, t) = l.split_once(' ').expect("kind and time");
            let t: u128 = t.parse().expect("nanoseconds");
            (t, if kind == "start" { 1 } else { -1 })
        })
        .collect();
    assert_eq!(events.len(), 16);
    // Ends before starts at the same instant.
    events.sort();
    let (mut running, mut most) = (0, 0);
    for (_, d) in events {
        running += d;
        most = most.max(running);
    }
    assert!(
        most <= 2,
        "{most} scripts ran at once with MaxConcurrency 2"
    );
    assert_eq!(most, 2, "MaxConcurrency 2 should let two run together");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_errors_stops_dispatching_and_cancels_the_rest() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 10);
    let mut options = opts("echo broken >&2; exit 3");
    options.max_concurrency = Some(Rate::Count(1));
    options.max_errors = Some(Rate::Count(1));
    let plan = ids_plan(&f, &hosts, options);
    let report = execute(&f, &plan).await;
    let statuses: Vec<HostStatus> = report.hosts.iter().map(|h| h.status).collect();
    // Errors must exceed MaxErrors (1): two failures, then nothing more starts.
    assert_eq!(&statuses[..2], &[HostStatus::Failed, HostStatus::Failed]);
    assert!(
        statuses[2..].iter().all(|s| *s == HostStatus::Cancelled),
        "{statuses:?}"
    );
    assert_eq!(report.hosts[0].exit_code, Some(3));
    assert_eq!(report.hosts[0].stderr, "broken\n");
    assert_eq!(report.failed_ids().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_one_host_then_the_whole_run() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 4);
    let plan = ids_plan(&f, &hosts, opts("sleep 30"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ctl, ctl_rx) = mpsc::unbounded_channel();
    let clients = f.clients.clone();
    let run_plan = plan.clone();
    let task =
        tokio::spawn(async move { run::execute(&run_plan, &clients, &fast(), &tx, ctl_rx).await });
    let first = hosts[0].id.clone();
    let mut in_progress = BTreeSet::new();
    let mut asked_all = false;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let RunEvent::Host(u) = event {
            if u.status == HostStatus::InProgress {
                in_progress.insert(u.instance_id.clone());
                if in_progress.len() == hosts.len() {
                    ctl.send(Control::CancelHost(first.clone())).expect("send");
                }
            }
            if u.instance_id == first && u.status == HostStatus::Cancelled && !asked_all {
                asked_all = true;
                ctl.send(Control::CancelAll).expect("send");
            }
        }
    }
    let report = tokio::time::timeout(DEADLINE, task)
        .await
        .expect("run ends after cancel")
        .expect("task");
    assert!(asked_all, "the one-host cancel took effect");
    assert!(
        report
            .hosts
            .iter()
            .all(|h| h.status == HostStatus::Cancelled),
        "{:?}",
        report.hosts
    );
    assert!(f.sim.stats().calls("ssm", "CancelCommand") >= 2);
    assert!(report.finished_at - report.started_at < chrono::Duration::seconds(25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_targets_only_the_failed_hosts() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 6);
    let bad = [hosts[1].id.clone(), hosts[4].id.clone()];
    let script = format!(
        "case \"$INSTANCE_ID\" in {}|{}) echo nope; exit 1;; esac; echo ok",
        bad[0], bad[1]
    );
    let mut options = opts(&script);
    options.max_errors = Some(Rate::Percent(100));
    let plan = ids_plan(&f, &hosts, options);
    let report = execute(&f, &plan).await;
    let failed: BTreeSet<String> = report.failed_ids().into_iter().collect();
    assert_eq!(failed, bad.iter().cloned().collect());

    let again = run::rerun_failed(&plan, &report.failed_ids()).expect("something failed");
    assert_eq!(again.target_count, 2);
    let sends_before = f.sim.stats().calls("ssm", "SendCommand");
    let second = execute(&f, &again).await;
    let reached: BTreeSet<String> = second.hosts.iter().map(|h| h.instance_id.clone()).collect();
    assert_eq!(reached, bad.iter().cloned().collect());
    assert_eq!(f.sim.stats().calls("ssm", "SendCommand"), sends_before + 1);
    // The simulator ran it on exactly those two.
    let inv = f.clients[0]
        .ssm
        .list_command_invocations()
        .command_id(second.command_ids()[0].clone())
        .send()
        .await
        .expect("list");
    let ran: BTreeSet<String> = inv
        .command_invocations()
        .iter()
        .filter_map(|i| i.instance_id().map(String::from))
        .collect();
    assert_eq!(ran, bad.iter().cloned().collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_is_completed_from_cloudwatch() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 2);
    // 30,001 characters of stdout, 9,000 of stderr.
    let script =
        "head -c 30000 /dev/zero | tr '\\0' a; echo; head -c 9000 /dev/zero | tr '\\0' e >&2";
    let mut options = opts(script);
    options.cloudwatch = Some(CloudWatchOutput::default());
    let report = execute(&f, &ids_plan(&f, &hosts, options)).await;
    for h in &report.hosts {
        assert_eq!(h.status, HostStatus::Success);
        assert_eq!(h.stdout.len(), 30_001, "full stdout");
        assert_eq!(h.stderr.len(), 9_000, "full stderr");
        assert_eq!(h.output_source, Some(OutputSource::CloudWatch));
        assert!(!h.truncated);
    }
    assert!(
        report.notes.iter().any(|n| n.contains("CloudWatch")),
        "{:?}",
        report.notes
    );

    // Without CloudWatch output the caps show, and the report says so.
    let report = execute(&f, &ids_plan(&f, &hosts, opts(script))).await;
    for h in &report.hosts {
        assert_eq!(h.stdout.len(), 24_000);
        assert_eq!(h.stderr.len(), 8_000);
        assert!(h.truncated);
    }
    assert!(report.notes.iter().any(|n| n.contains("truncated")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_timeout_ends_timed_out() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "eu-west-1", 1);
    let mut options = opts("echo started; sleep 20");
    options.execution_timeout = Some(1);
    let report = execute(&f, &ids_plan(&f, &hosts, options)).await;
    let h = &report.hosts[0];
    assert_eq!(h.status, HostStatus::ExecutionTimedOut, "{h:?}");
    assert_eq!(h.stdout, "started\n");
    assert!(report.finished_at - report.started_at < chrono::Duration::seconds(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_reports_offline_and_unmanaged_targets_as_aws_does() {
    let f = fixture(160).await;
    let ssm = &f.clients[0].ssm;
    let region = &f.clients[0].target.region;
    let lost = f
        .sim
        .fleet()
        .iter()
        .find(|i| {
            &i.region == region
                && i.ssm
                    .as_ref()
                    .is_some_and(|s| s.ping_status == PingStatus::ConnectionLost)
        })
        .expect("a ConnectionLost host");
    let unmanaged = f
        .sim
        .fleet()
        .iter()
        .find(|i| &i.region == region && i.ssm.is_none())
        .expect("an unmanaged host");
    let err = ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .parameters("commands", vec!["uptime".into()])
        .instance_ids(&unmanaged.id)
        .send()
        .await
        .expect_err("unmanaged ids are refused");
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&err),
        Some("InvalidInstanceId")
    );
    let sent = ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .parameters("commands", vec!["uptime".into()])
        .instance_ids(&lost.id)
        .timeout_seconds(30)
        .send()
        .await
        .expect("ConnectionLost ids are accepted");
    let id = sent
        .command()
        .and_then(|c| c.command_id())
        .expect("id")
        .to_string();
    let mut last = String::new();
    let deadline = std::time::Instant::now() + DEADLINE;
    while std::time::Instant::now() < deadline {
        let got = ssm
            .get_command_invocation()
            .command_id(&id)
            .instance_id(&lost.id)
            .send()
            .await
            .expect("invocation");
        last = got.status_details().unwrap_or_default().to_string();
        if last == "DeliveryTimedOut" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, "DeliveryTimedOut");
    let listed = ssm
        .list_commands()
        .command_id(&id)
        .send()
        .await
        .expect("list");
    let cmd = &listed.commands()[0];
    assert_eq!(cmd.delivery_timed_out_count(), 1);
    assert_eq!(cmd.completed_count(), 1);
    let missing = ssm
        .get_command_invocation()
        .command_id(&id)
        .instance_id("i-00000000000000000")
        .send()
        .await
        .expect_err("unknown pair");
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&missing),
        Some("InvocationDoesNotExist")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_run_still_completes() {
    // 30% of every request throttled; 8 SDK attempts make a send that never gets through
    // vanishingly rare, and the executor slows its polling instead of failing.
    let f = fixture_with(120, "throttle=0.3", 8).await;
    let hosts = online_linux(&f.sim, "us-east-1", 20);
    let before = f.sim.stats();
    let report = execute(&f, &ids_plan(&f, &hosts, opts("echo ok"))).await;
    assert!(report.all_succeeded(), "{:?}", report.hosts);
    assert!(report.hosts.iter().all(|h| h.stdout == "ok\n"));
    let after = f.sim.stats();
    assert!(after.total_throttled > before.total_throttled);
    assert!(
        report.api_calls
            >= after.calls("ssm", "ListCommandInvocations")
                - before.calls("ssm", "ListCommandInvocations")
    );
}

/// Statuses of a command's invocations by instance id, through the SDK.
async fn invocation_statuses(
    ssm: &aws_sdk_ssm::Client,
    command_id: &str,
) -> std::collections::BTreeMap<String, (String, String)> {
    let out = ssm
        .list_command_invocations()
        .command_id(command_id)
        .details(true)
        .send()
        .await
        .expect("ListCommandInvocations");
    out.command_invocations()
        .iter()
        .map(|i| {
            let output = i
                .command_plugins()
                .first()
                .and_then(|p| p.output())
                .unwrap_or_default()
                .to_string();
            (
                i.instance_id().unwrap_or_default().to_string(),
                (
                    i.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    output,
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_command_with_instance_ids_cancels_only_those_hosts() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 3);
    let ssm = &f
        .clients
        .iter()
        .find(|c| c.target.region == "us-east-1")
        .expect("us-east-1 clients")
        .ssm;
    let ids: Vec<String> = hosts.iter().map(|h| h.id.clone()).collect();
    let sent = ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .parameters("commands", vec!["sleep 4; echo ok".into()])
        .set_instance_ids(Some(ids.clone()))
        .send()
        .await
        .expect("SendCommand");
    let command_id = sent
        .command()
        .and_then(|c| c.command_id())
        .expect("id")
        .to_string();
    let deadline = std::time::Instant::now() + DEADLINE;
    // Cancel the first host once all three are running: the others are mid-sleep then.
    loop {
        let s = invocation_statuses(ssm, &command_id).await;
        if s.len() == 3 && s.values().all(|(st, _)| st == "InProgress") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never all InProgress: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ssm.cancel_command()
        .command_id(&command_id)
        .instance_ids(&ids[0])
        .send()
        .await
        .expect("CancelCommand with InstanceIds");
    let finished = loop {
        let s = invocation_statuses(ssm, &command_id).await;
        if s.values()
            .all(|(st, _)| matches!(st.as_str(), "Success" | "Failed" | "Cancelled" | "TimedOut"))
        {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never finished: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished[&ids[0]].0, "Cancelled", "{finished:?}");
    for id in &ids[1..] {
        assert_eq!(
            finished[id],
            ("Success".to_string(), "ok\n".to_string()),
            "the other hosts ran to the end: {finished:?}"
        );
    }
    let listed = ssm
        .list_commands()
        .command_id(&command_id)
        .send()
        .await
        .expect("ListCommands");
    let status = listed.commands()[0]
        .status()
        .map(|s| s.as_str().to_string());
    assert_ne!(
        status.as_deref(),
        Some("Cancelled"),
        "the command as a whole was not cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_past_runs_newest_first_and_attach_reads_one_back() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 3);
    let first = execute(&f, &ids_plan(&f, &hosts, opts("hostname"))).await;
    let second = execute(&f, &ids_plan(&f, &hosts[..2], opts("echo two"))).await;
    let (commands, problems) = run::history::list_commands(&f.clients, None).await;
    assert!(problems.is_empty(), "{problems:?}");
    let ids: Vec<&str> = commands.iter().map(|c| c.command_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            second.command_ids()[0].as_str(),
            first.command_ids()[0].as_str()
        ],
        "every region read, newest first"
    );
    let past = &commands[1];
    assert_eq!(past.script(), "hostname");
    assert_eq!(past.status, "Success");
    assert_eq!((past.target_count, past.completed), (3, 3));

    // Watching it again gives the same per-host results as the run that sent it.
    let plan = run::history::plan_for(past, &f.inventory);
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_ctl, ctl_rx) = mpsc::unbounded_channel();
    let again = tokio::time::timeout(
        DEADLINE,
        run::attach(&plan, &past.command_id, &f.clients, &fast(), &tx, ctl_rx),
    )
    .await
    .expect("attach ends");
    let outputs = |r: &RunReport| {
        let mut v: Vec<(String, &str, String)> = r
            .hosts
            .iter()
            .map(|h| (h.instance_id.clone(), h.status.as_str(), h.stdout.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(outputs(&again), outputs(&first));
    assert!(again.api_calls >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_follows_a_command_sent_elsewhere_live_and_cancels_it() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 3);
    let clients = f
        .clients
        .iter()
        .find(|c| c.target.region == "us-east-1")
        .expect("us-east-1 clients");
    // Sent by someone else (straight through the SDK): two hosts sleep, one answers at once.
    let script = format!(
        "if [ \"$INSTANCE_ID\" = {} ]; then echo quick; else sleep 30; fi",
        hosts[2].id
    );
    clients
        .ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .parameters("commands", vec![script])
        .set_instance_ids(Some(hosts.iter().map(|h| h.id.clone()).collect()))
        .send()
        .await
        .expect("SendCommand");
    let (commands, _) = run::history::list_commands(&f.clients, None).await;
    let past = commands.first().expect("the command is listed").clone();
    assert!(past.in_flight(), "{past:?}");
    let plan = run::history::plan_for(&past, &f.inventory);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ctl, ctl_rx) = mpsc::unbounded_channel();
    let all = f.clients.clone();
    let id = past.command_id.clone();
    let task =
        tokio::spawn(async move { run::attach(&plan, &id, &all, &fast(), &tx, ctl_rx).await });
    let (first, second) = (hosts[0].id.clone(), hosts[1].id.clone());
    let mut running = BTreeSet::new();
    let mut asked_all = false;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let RunEvent::Host(u) = event {
            // Once both sleepers run: cancel the first alone.
            if u.status == HostStatus::InProgress
                && running.insert(u.instance_id.clone())
                && running.contains(&first)
                && running.contains(&second)
            {
                ctl.send(Control::CancelHost(first.clone())).expect("send");
            }
            if u.instance_id == first && u.status == HostStatus::Cancelled && !asked_all {
                asked_all = true;
                ctl.send(Control::CancelAll).expect("send");
            }
        }
    }
    let report = tokio::time::timeout(DEADLINE, task)
        .await
        .expect("attach ends after the cancel")
        .expect("task");
    assert!(asked_all, "the one-host cancel reached the command");
    let by_id = |id: &str| {
        report
            .hosts
            .iter()
            .find(|h| h.instance_id == id)
            .unwrap_or_else(|| panic!("{id} in {:?}", report.hosts))
    };
    assert_eq!(by_id(&first).status, HostStatus::Cancelled);
    assert_eq!(by_id(&second).status, HostStatus::Cancelled);
    let quick = by_id(&hosts[2].id);
    assert_eq!(
        (quick.status, quick.stdout.as_str()),
        (HostStatus::Success, "quick\n")
    );
    assert!(report.finished_at - report.started_at < chrono::Duration::seconds(25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_own_counter_counts_exactly_its_requests() {
    let f = fixture(120).await;
    let hosts = online_linux(&f.sim, "us-east-1", 4);
    let plan = ids_plan(&f, &hosts, opts("hostname"));
    let own = Arc::new(CallStats::default());
    let counted: Vec<Clients> = f.clients.iter().map(|c| c.counted(own.clone())).collect();
    let shared_before = f.clients[0].stats.attempts();
    let sim_before = f.sim.stats().total_calls;
    let report = tokio::time::timeout(
        DEADLINE,
        run::exec::execute_quietly(&plan, &counted, &fast()),
    )
    .await
    .expect("the run ends");
    assert!(report.all_succeeded(), "{:?}", report.hosts);
    let made = f.sim.stats().total_calls - sim_before;
    assert!(made >= 2, "at least a SendCommand and a poll: {made}");
    assert_eq!(own.attempts(), made, "the run's counter saw every request");
    assert_eq!(report.api_calls, made);
    assert_eq!(
        f.clients[0].stats.attempts() - shared_before,
        made,
        "the console-wide counter still counts them too"
    );
}
