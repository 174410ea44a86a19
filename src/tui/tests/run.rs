//! Bulk runs in the console: marking hosts, `:run` → the confirm overlay (the guard), a run
//! tab fed with `RunEvent`s as the executor reports them, the finished run's grouped output.

use chrono::Duration;

use super::*;
use crate::run::{
    Counts, Document, HostResult, HostStatus, HostUpdate, RunEvent, RunReport, SentCommand,
};
use crate::tui::state::Overlay;

/// Twelve online web hosts in two regions and one stopped one.
fn web_fleet() -> Vec<Instance> {
    use InstanceState::*;
    use PingStatus::*;
    let mut v: Vec<Instance> = (1..=12)
        .map(|n: u32| {
            let region = if n.is_multiple_of(2) {
                "eu-west-1"
            } else {
                "us-east-1"
            };
            host(
                n,
                &format!("web-{n:02}"),
                region,
                Running,
                Online,
                Some(1),
                LATEST,
                LINUX,
                "staging",
            )
        })
        .collect();
    v.push(host(
        13,
        "web-13",
        "us-east-1",
        Stopped,
        ConnectionLost,
        Some(600),
        LATEST,
        LINUX,
        "staging",
    ));
    v.push(host(
        14,
        "db-1",
        "us-east-1",
        Running,
        Online,
        Some(1),
        LATEST,
        LINUX,
        "staging",
    ));
    v
}

fn confirm_overlay(a: &App) -> Option<&crate::tui::state::RunConfirm> {
    match a.state.top_overlay() {
        Some(Overlay::RunConfirm(c)) => Some(c),
        _ => None,
    }
}

/// `/web`, select all filtered, `:run hostname`: the confirm overlay is up.
fn planned() -> App {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "/web<Enter>a:run hostname<Enter>");
    a
}

fn message(a: &App) -> String {
    a.state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

#[test]
fn space_marks_and_a_marks_every_filtered_host() {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, " ");
    assert_eq!(a.state.fleet.marked.len(), 1);
    assert_eq!(a.state.fleet.selected, 1, "space moves on to the next host");
    type_keys(&mut a, "k ");
    assert!(a.state.fleet.marked.is_empty(), "space again unmarks");
    type_keys(&mut a, "/region:eu-west-1<Enter>a");
    assert_eq!(a.state.fleet.marked.len(), 6);
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("6 of 14 · 6 marked"), "{text}");
    assert!(text.contains("✓ web-02"), "{text}");
    type_keys(&mut a, "a");
    assert!(a.state.fleet.marked.is_empty(), "a again unmarks them");
    // Marks outlive the filter; :run takes them, not the filtered rows.
    type_keys(&mut a, "<Esc>/db<Enter> <Esc>/web-1<Enter>");
    assert_eq!(a.state.fleet.run_targets(), vec!["i-0000000000000000e"]);
}

#[test]
fn a_filter_that_does_not_parse_runs_and_marks_nothing() {
    let mut a = app_with(web_fleet());
    // A typo: the rows stay those of the last filter text that parsed (`region:eu-west-1 web`);
    // the filter line says something else.
    type_keys(&mut a, "/region:eu-west-1 web:1<Enter>");
    assert!(a.state.fleet.query_error.is_some());
    assert!(!a.state.fleet.rows().is_empty());
    type_keys(&mut a, ":run uptime<Enter>");
    assert!(
        confirm_overlay(&a).is_none(),
        "no plan for rows the filter does not describe"
    );
    let msg = message(&a);
    assert!(
        msg.contains("does not parse") && msg.contains("Nothing was sent"),
        "{msg}"
    );
    type_keys(&mut a, "a");
    assert!(a.state.fleet.marked.is_empty());
    assert!(message(&a).contains("Nothing was marked"));
    // Marked hosts are explicit: they still run whatever the filter line says.
    type_keys(
        &mut a,
        "/<C-u>region:eu-west-1<Enter> /<C-u>region:eu-west-1 web:1<Enter>:run uptime<Enter>",
    );
    assert!(confirm_overlay(&a).is_some(), "{}", message(&a));
}

#[test]
fn run_opens_the_confirm_overlay_with_the_plan() {
    let a = planned();
    let c = confirm_overlay(&a).expect("confirm overlay");
    assert_eq!(c.plan.target_count, 12);
    assert_eq!(
        c.plan.skipped.len(),
        1,
        "the stopped host is listed, not sent"
    );
    assert_eq!(
        c.confirmation.as_ref().map(|c| c.expected.as_str()),
        Some("12")
    );
    assert!(
        a.state.runs.is_empty(),
        "nothing is sent before the overlay is accepted"
    );
}

#[test]
fn confirm_overlay_snapshot() {
    let mut a = planned();
    type_keys(&mut a, "1");
    snap("run_confirm", &mut a, (100, 30));
}

#[test]
fn wrong_count_sends_nothing_and_esc_cancels() {
    let mut a = planned();
    type_keys(&mut a, "13<Enter>");
    let c = confirm_overlay(&a).expect("asked again, the plan still shown");
    assert!(c.typed.is_empty(), "the wrong count is cleared");
    assert!(a.state.runs.is_empty());
    assert_eq!(a.state.tabs.tabs().len(), 1);
    assert!(message(&a).contains("did not match (type exactly 12); nothing was sent"));

    // Enter without typing is a wrong count too.
    type_keys(&mut a, "<Enter>");
    assert!(confirm_overlay(&a).is_some());
    assert!(a.state.runs.is_empty());

    type_keys(&mut a, "<Esc>");
    assert!(confirm_overlay(&a).is_none());
    assert!(a.state.runs.is_empty());
    assert!(message(&a).contains("nothing was sent"));

    // The right count, at the second try, sends.
    type_keys(&mut a, ":run hostname<Enter>1<Enter>12<Enter>");
    assert_eq!(a.state.runs.len(), 1);
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Run);
}

#[test]
fn small_runs_need_no_typed_count_but_still_the_overlay() {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "/web-0<Enter>jj k:run uptime<Enter>");
    let c = confirm_overlay(&a).expect("overlay even for one host");
    assert_eq!(c.plan.target_count, 1);
    assert!(c.confirmation.is_none());
    type_keys(&mut a, "<Enter>");
    assert_eq!(a.state.runs.len(), 1);
}

#[test]
fn run_without_command_says_how() {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, ":run <Enter>");
    assert!(confirm_overlay(&a).is_none());
    assert!(message(&a).contains(":run needs a command"));
}

fn ids() -> Vec<String> {
    (1..=12u32).map(|n| format!("i-0{n:016x}")).collect()
}

fn sent(region: &str, ids: Vec<String>) -> RunEvent {
    RunEvent::Sent(SentCommand {
        profile: "default".into(),
        region: region.into(),
        document: Document::Shell,
        command_id: Some(format!("cmd-{region}")),
        error: None,
        instance_ids: ids,
        targets: Vec::new(),
    })
}

fn update(n: u32, status: HostStatus) -> RunEvent {
    RunEvent::Host(HostUpdate {
        instance_id: format!("i-0{n:016x}"),
        name: Some(format!("web-{n:02}")),
        region: if n.is_multiple_of(2) {
            "eu-west-1"
        } else {
            "us-east-1"
        }
        .into(),
        status,
        status_details: status.as_str().into(),
    })
}

/// A run accepted and fed: 12 hosts, 7 done (6 ok, 1 failed), 3 running, 2 pending.
fn running() -> (App, u64) {
    let mut a = planned();
    type_keys(&mut a, "12<Enter>");
    let run = *a.state.runs.keys().next().expect("a run tab");
    let ids = ids();
    let feed = |a: &mut App, event| a.update(Action::RunReported { run, event });
    feed(
        &mut a,
        sent("us-east-1", ids.iter().step_by(2).cloned().collect()),
    );
    feed(
        &mut a,
        sent(
            "eu-west-1",
            ids.iter().skip(1).step_by(2).cloned().collect(),
        ),
    );
    for n in 1..=6 {
        feed(&mut a, update(n, HostStatus::Success));
    }
    feed(&mut a, update(7, HostStatus::Failed));
    for n in 8..=10 {
        feed(&mut a, update(n, HostStatus::InProgress));
    }
    feed(
        &mut a,
        RunEvent::Progress(Counts {
            total: 12,
            pending: 2,
            in_progress: 3,
            success: 6,
            failed: 1,
            cancelled: 0,
        }),
    );
    (a, run)
}

fn result(n: u32, status: HostStatus, stdout: &str, code: i64) -> HostResult {
    HostResult {
        instance_id: format!("i-0{n:016x}"),
        name: Some(format!("web-{n:02}")),
        profile: "default".into(),
        region: if n.is_multiple_of(2) {
            "eu-west-1"
        } else {
            "us-east-1"
        }
        .into(),
        document: Some(Document::Shell),
        command_id: Some("cmd".into()),
        status,
        status_details: status.as_str().into(),
        exit_code: Some(code),
        stdout: stdout.into(),
        ..HostResult::default()
    }
}

fn finished() -> (App, u64) {
    let (mut a, run) = running();
    let mut hosts: Vec<HostResult> = (1..=12)
        .filter(|n| *n != 7 && *n != 11)
        .map(|n| result(n, HostStatus::Success, "ok\n", 0))
        .collect();
    hosts.insert(6, result(7, HostStatus::Failed, "disk full\n", 1));
    hosts.push(result(11, HostStatus::Failed, "disk full\n", 1));
    let report = RunReport {
        run_id: "run-1".into(),
        started_at: now(),
        finished_at: now() + Duration::seconds(9),
        sends: Vec::new(),
        hosts,
        skipped: Vec::new(),
        notes: Vec::new(),
        api_calls: 7,
        polls: 4,
        throttled_polls: 0,
    };
    a.update(Action::RunFinished {
        run,
        report: Box::new(report),
    });
    (a, run)
}

#[test]
fn run_tab_mid_way() {
    let (mut a, _) = running();
    snap("run_running", &mut a, (100, 30));
}

#[test]
fn run_tab_finished_groups_outputs_and_enter_shows_one() {
    let (mut a, _) = finished();
    snap("run_finished", &mut a, (100, 30));
    type_keys(&mut a, "j<Enter>");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains("2 hosts: disk full (exit 1, Failed)"),
        "{text}"
    );
    assert!(text.contains("hosts: web-07, web-11"), "{text}");
    assert!(text.contains("│ disk full"), "{text}");
}

#[test]
fn a_cancelled_group_is_marked_neither_ok_nor_failed() {
    let (mut a, run) = running();
    let mut hosts: Vec<HostResult> = (1..=11)
        .map(|n| result(n, HostStatus::Success, "ok\n", 0))
        .collect();
    hosts.push(result(12, HostStatus::Cancelled, "", -1));
    let report = RunReport {
        run_id: "run-1".into(),
        started_at: now(),
        finished_at: now() + Duration::seconds(9),
        sends: Vec::new(),
        hosts,
        skipped: Vec::new(),
        notes: Vec::new(),
        api_calls: 7,
        polls: 4,
        throttled_polls: 0,
    };
    a.update(Action::RunFinished {
        run,
        report: Box::new(report),
    });
    let text = screen(&render(&mut a, (100, 30)), None);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{text}"))
            .to_owned()
    };
    assert!(line("11 hosts: ok").contains('✔'), "{text}");
    let cancelled = line("1 host:");
    assert!(cancelled.contains("Cancelled"), "{text}");
    assert!(
        !cancelled.contains('✔') && !cancelled.contains('✖'),
        "{cancelled}"
    );
}

#[test]
fn rerun_failed_goes_through_the_confirm_overlay() {
    let (mut a, _) = finished();
    type_keys(&mut a, "c");
    assert!(message(&a).contains("the run has finished"));
    type_keys(&mut a, "R");
    let c = confirm_overlay(&a).expect("re-run overlay");
    assert_eq!(c.plan.target_count, 2);
    let hosts: Vec<String> = c.plan.hosts().map(|h| h.instance_id.clone()).collect();
    assert_eq!(
        hosts,
        vec![format!("i-0{:016x}", 7), format!("i-0{:016x}", 11)]
    );
    assert!(
        c.confirmation.is_none(),
        "two staging hosts need no typed count"
    );
    type_keys(&mut a, "<Enter>");
    assert_eq!(a.state.runs.len(), 2);
}

#[test]
fn cancel_marks_the_run_cancelling() {
    let (mut a, run) = running();
    type_keys(&mut a, "c");
    assert!(a.state.runs[&run].cancelling);
    assert!(message(&a).contains("cancelling the run"));
}

/// A run tab at 1,000 hosts: counts over all of them, rows only for what fits.
#[test]
fn run_tab_counts_a_thousand_hosts() {
    let instances: Vec<Instance> = (0..1_000)
        .map(|n| {
            host(
                n,
                &format!("node-{n:04}"),
                "us-east-1",
                InstanceState::Running,
                PingStatus::Online,
                Some(1),
                LATEST,
                LINUX,
                "staging",
            )
        })
        .collect();
    let mut a = app_with(instances);
    type_keys(&mut a, "a");
    let ids = a.state.fleet.run_targets();
    let plan = crate::run::plan(
        a.state.fleet.instances(),
        &crate::run::TargetSpec::InstanceIds(ids),
        &crate::run::RunOptions {
            commands: vec!["hostname".into()],
            ..Default::default()
        },
    )
    .expect("plan");
    let run = a.start_run(plan, "typed");
    let hosts: Vec<String> = a.state.runs[&run]
        .hosts
        .iter()
        .map(|h| h.instance_id.clone())
        .collect();
    for (i, id) in hosts.iter().enumerate() {
        a.update(Action::RunReported {
            run,
            event: RunEvent::Host(HostUpdate {
                instance_id: id.clone(),
                name: None,
                region: "us-east-1".into(),
                status: if i % 3 == 0 {
                    HostStatus::Success
                } else {
                    HostStatus::InProgress
                },
                status_details: String::new(),
            }),
        });
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("test terminal");
    a.dispatch(Event::Resize(160, 40));
    terminal.draw(|f| a.draw(f)).expect("draw");
    // The list and the bar cover all 1,000 hosts though only a screenful of rows is drawn.
    // (Frame time is a figure for docs/performance.md, never an assertion here.)
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("Hosts (1000)"), "{screen}");
    assert!(screen.contains("0/1000 done"), "{screen}");
    assert!(screen.contains("node-0030"), "{screen}");
    type_keys(&mut a, "<Enter>");
    assert!(a.state.runs[&run].output);
}

#[test]
fn a_plan_over_linux_and_windows_hosts_says_the_command_runs_as_both() {
    let mut a = app();
    render(&mut a, (120, 40));
    type_keys(&mut a, "/prod<Enter>:run hostname<Enter>");
    let c = confirm_overlay(&a).expect("the plan");
    let warning = c
        .lines
        .iter()
        .find_map(|l| match l {
            crate::tui::state::run::ConfirmLine::Warning(w) => Some(w.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no warning in {:?}", c.lines));
    assert!(
        warning.contains("PowerShell on the 1 Windows host")
            && warning.contains("sh on the others"),
        "{warning}"
    );
    let text = screen(&render(&mut a, (120, 40)), None);
    assert!(text.contains("Mixed platforms"), "{text}");

    // Linux hosts only: nothing to warn about.
    type_keys(&mut a, "<Esc>/<C-u>pay<Enter>:run hostname<Enter>");
    let c = confirm_overlay(&a).unwrap_or_else(|| {
        panic!(
            "no plan: {} (filter {:?})",
            message(&a),
            a.state.fleet.input
        )
    });
    assert!(
        !c.lines
            .iter()
            .any(|l| matches!(l, crate::tui::state::run::ConfirmLine::Warning(_))),
        "{:?}",
        c.lines
    );
}
