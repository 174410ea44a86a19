//! The note — "API calls made and UI frame time during a 1,000-host run" — measured
//! the way the console works: the in-process simulator answering the real SDK clients over
//! loopback, `App::start_run` (the same path as accepting the confirm overlay), every task
//! report applied with `App::update`, and the run tab drawn into a 160×40 TestBackend whenever
//! the frame tick finds the state dirty (as `App::run` does). Figures are printed, never
//! asserted: the test is ignored and run by name (docs/performance.md, "Bulk run"):
//!
//! `cargo test --lib measure_bulk_run -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::aws::{self, CallStats, ClientOptions, Target};
use crate::run::{Rate, RunOptions, TargetSpec};
use crate::sim::{SimOptions, Simulator};

const HOSTS: usize = 1_000;
/// Enough simulated instances for 1,000 reachable ones across the two default regions.
const INSTANCES: usize = 1_500;
/// A second of work per host, so the run is watched over several polls as a real one is.
const SCRIPT: &str = "sleep 1; hostname";

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() - 1) * p / 100]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run it by name with --ignored --nocapture"]
async fn measure_bulk_run_of_a_thousand_hosts() {
    let sim = Simulator::start(SimOptions {
        instances: INSTANCES,
        seed: 7,
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let options = ClientOptions {
        endpoint_url: Some(sim.endpoint_url()),
        static_credentials: Some(("testing".into(), "testing".into())),
        max_attempts: 4,
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
    let ids: Vec<String> = inventory
        .instances
        .iter()
        .filter(|i| crate::run::plan::skip_reason(i).is_none())
        .take(HOSTS)
        .map(|i| i.instance_id.clone())
        .collect();
    assert_eq!(
        ids.len(),
        HOSTS,
        "the seeded fleet has {HOSTS} reachable hosts"
    );

    let mut a = app_with(inventory.instances);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    a.services.tx = Some(tx);
    a.services.clients = clients;
    let plan = crate::run::plan(
        a.state.fleet.instances(),
        &TargetSpec::InstanceIds(ids),
        &RunOptions {
            commands: vec![SCRIPT.into()],
            // 20 sends of 50 ids; at most 10 scripts at once per send (200 in all) keeps the
            // simulator's real processes from swamping a 2-core machine.
            max_concurrency: Some(Rate::Count(10)),
            max_errors: Some(Rate::Percent(100)),
            ..RunOptions::default()
        },
    )
    .expect("plan");
    let sends = plan.sends.len();
    let before = sim.stats().total_calls;
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("test terminal");
    a.update(Action::Resize(160, 40));
    let started = Instant::now();
    let run = a.start_run(plan, "typed");
    // Follow the run like a person: the output pane open on the selected host.
    a.update(Action::RunToggleOutput);

    let mut frames: Vec<Duration> = Vec::new();
    let mut reports = 0usize;
    let mut tick = tokio::time::interval(crate::tui::app::FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut finished = false;
    while !finished {
        tokio::select! {
            biased;
            _ = tick.tick() => {
                a.on_frame();
                if a.take_dirty() {
                    let t = Instant::now();
                    terminal.draw(|f| a.draw(f)).expect("draw");
                    frames.push(t.elapsed());
                }
            }
            action = rx.recv() => {
                let action = action.expect("the run reports");
                finished = matches!(&action, Action::RunFinished { run: r, .. } if *r == run);
                reports += 1;
                a.update(action);
            }
            _ = tokio::time::sleep_until(deadline) => panic!("the run did not end in 10 minutes"),
        }
    }
    let t = Instant::now();
    terminal.draw(|f| a.draw(f)).expect("draw");
    frames.push(t.elapsed());
    let wall = started.elapsed();
    let tab = &a.state.runs[&run];
    let report = tab.report.as_ref().expect("report");
    let stats = sim.stats();
    let op = |name: &str| stats.calls("ssm", name);
    frames.sort();
    println!(
        "bulk run: `{SCRIPT}` on {HOSTS} hosts, {sends} SendCommand, MaxConcurrency 10 per send"
    );
    println!(
        "  outcome: {} ok, {} failed, {} cancelled; wall time {:.1} s; {} task reports",
        tab.counts.success,
        tab.counts.failed,
        tab.counts.cancelled,
        wall.as_secs_f64(),
        reports
    );
    println!(
        "  API calls (the run's own counter): {}; answered by the simulator: {} \
         (SendCommand {}, ListCommandInvocations {}, GetCommandInvocation {}, STS/other {}); \
         polls {}, throttled {}",
        report.api_calls,
        stats.total_calls - before,
        op("SendCommand"),
        op("ListCommandInvocations"),
        op("GetCommandInvocation"),
        (stats.total_calls - before)
            .saturating_sub(op("SendCommand") + op("ListCommandInvocations"))
            .saturating_sub(op("GetCommandInvocation")),
        report.polls,
        report.throttled_polls
    );
    println!(
        "  run-tab frames drawn: {}; frame time p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        frames.len(),
        percentile(&frames, 50).as_secs_f64() * 1e3,
        percentile(&frames, 95).as_secs_f64() * 1e3,
        frames.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    assert_eq!(tab.counts.total, HOSTS);
    assert_eq!(tab.counts.done(), HOSTS);
}
