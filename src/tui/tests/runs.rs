//! The Runs tab (run history), opening a past run, per-host cancel, `:run` options and the
//! output pane's scrolling, driven with keys like a person would.

use chrono::Duration;

use super::*;
use crate::run::{
    CommandSummary, Control, Document, HostResult, HostStatus, HostUpdate, Rate, RunEvent,
    RunReport, SentCommand,
};
use crate::tui::keymap::Mode;
use crate::tui::state::{Overlay, TabKind};

fn message(a: &App) -> String {
    a.state
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

fn id(n: u32) -> String {
    format!("i-0{n:016x}")
}

/// Six online web hosts in us-east-1.
fn web_fleet() -> Vec<Instance> {
    (1..=6)
        .map(|n: u32| {
            host(
                n,
                &format!("web-{n:02}"),
                "us-east-1",
                InstanceState::Running,
                PingStatus::Online,
                Some(1),
                LATEST,
                LINUX,
                "staging",
            )
        })
        .collect()
}

fn command(n: u32, script: &str, status: &str, minutes_ago: i64) -> CommandSummary {
    CommandSummary {
        profile: "default".into(),
        region: if n.is_multiple_of(2) {
            "eu-west-1"
        } else {
            "us-east-1"
        }
        .into(),
        command_id: format!("{n:08x}-5f0c-4d3a-9a51-2b7e0c1d9e{n:02}"),
        requested: Some(now() - Duration::minutes(minutes_ago)),
        document: "AWS-RunShellScript".into(),
        commands: vec![script.into()],
        status: status.into(),
        status_details: status.into(),
        target_count: 3,
        completed: if status == "InProgress" { 1 } else { 3 },
        errors: if status == "Failed" { 1 } else { 0 },
        max_concurrency: "50".into(),
        max_errors: "0".into(),
        instance_ids: vec![id(1), id(3), id(5)],
        who: (n == 1).then(|| "arn:aws:iam::123456789012:user/ana".into()),
        ..CommandSummary::default()
    }
}

/// `C` opened the Runs tab and the history arrived: three runs, newest first.
fn history() -> App {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "C");
    let generation = a.state.run_history.generation;
    a.update(Action::RunsLoaded {
        generation,
        commands: vec![
            command(1, "hostname", "InProgress", 2),
            command(2, "df -h /", "Failed", 30),
            command(3, "uptime", "Success", 90),
        ],
        problems: Vec::new(),
    });
    a
}

#[test]
fn c_opens_the_runs_tab_reading_the_history() {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "C");
    assert_eq!(a.state.tabs.active_kind(), &TabKind::Runs);
    assert_eq!(a.state.mode(), Mode::Runs);
    assert!(a.state.run_history.loading.is_some(), "a read is in flight");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("reading the run history"), "{text}");
    // `:runs` focuses the same tab rather than opening another.
    type_keys(&mut a, "1:runs<Enter>");
    assert_eq!(a.state.tabs.active_kind(), &TabKind::Runs);
    assert_eq!(a.state.tabs.tabs().len(), 2);
    assert_eq!(
        a.state.run_history.generation, 1,
        "no second read while one is in flight"
    );
}

#[test]
fn runs_view() {
    let mut a = history();
    for size in SIZES {
        snap("runs", &mut a, size);
    }
}

#[test]
fn runs_filter_refresh_and_stale_answers() {
    let mut a = history();
    assert!(message(&a).contains("3 runs"));
    type_keys(&mut a, "/df<Enter>");
    assert_eq!(a.state.run_history.rows().len(), 1);
    assert_eq!(a.state.mode(), Mode::Runs, "Enter keeps the filter");
    type_keys(&mut a, "<Esc>");
    assert_eq!(a.state.run_history.rows().len(), 3);
    type_keys(&mut a, "/ana<Enter>");
    assert_eq!(
        a.state.run_history.selected_command().map(|c| c.script()),
        Some("hostname".into()),
        "who comes from the audit log and can be searched"
    );
    type_keys(&mut a, "<Esc>jj");
    assert_eq!(a.state.run_history.cursor.selected, 2);

    // Coming back to the tab reads again: runs may have been sent since.
    let before = a.state.run_history.generation;
    type_keys(&mut a, "1C");
    assert_eq!(a.state.run_history.loading, Some(before + 1));
    a.update(Action::RunsLoaded {
        generation: before + 1,
        commands: a.state.run_history.commands().to_vec(),
        problems: Vec::new(),
    });
    // `r` reads again; an answer to an older read is dropped.
    let old = a.state.run_history.generation;
    type_keys(&mut a, "r");
    assert_eq!(a.state.run_history.loading, Some(old + 1));
    a.update(Action::RunsLoaded {
        generation: old,
        commands: Vec::new(),
        problems: Vec::new(),
    });
    assert_eq!(
        a.state.run_history.commands().len(),
        3,
        "stale answer ignored"
    );
    a.update(Action::RunsLoaded {
        generation: old + 1,
        commands: vec![command(3, "uptime", "Success", 90)],
        problems: vec!["default/eu-west-1: ssm:ListCommands was denied".into()],
    });
    assert_eq!(a.state.run_history.commands().len(), 1);
    assert!(message(&a).contains("was denied"), "{}", message(&a));
}

fn report(hosts: Vec<HostResult>) -> RunReport {
    RunReport {
        run_id: "r".into(),
        started_at: now(),
        finished_at: now(),
        sends: Vec::new(),
        hosts,
        skipped: Vec::new(),
        notes: Vec::new(),
        api_calls: 4,
        polls: 1,
        throttled_polls: 0,
    }
}

fn result(n: u32, status: HostStatus, stdout: &str) -> HostResult {
    HostResult {
        instance_id: id(n),
        name: Some(format!("web-{n:02}")),
        profile: "default".into(),
        region: "us-east-1".into(),
        document: Some(Document::Shell),
        status,
        status_details: status.as_str().into(),
        exit_code: Some(if status == HostStatus::Success { 0 } else { 1 }),
        stdout: stdout.into(),
        ..HostResult::default()
    }
}

#[test]
fn enter_opens_a_past_run_once_and_it_can_be_rerun() {
    let mut a = history();
    type_keys(&mut a, "j<Enter>");
    assert_eq!(a.state.mode(), Mode::Run);
    let run = a.state.tabs.active_run().expect("a run tab");
    let tab = &a.state.runs[&run];
    assert_eq!(
        tab.past.as_deref(),
        Some(command(2, "", "", 0).command_id.as_str())
    );
    assert_eq!(tab.command(), "df -h /");
    assert_eq!(tab.hosts.len(), 3, "the hosts the command named");
    assert!(
        a.state.tabs.active_tab().title.ends_with("(past)"),
        "{}",
        a.state.tabs.active_tab().title
    );
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("watching a past run"), "{text}");

    // Enter on the same run again focuses its tab.
    type_keys(&mut a, "2<Enter>");
    assert_eq!(a.state.tabs.tabs().len(), 3);
    assert_eq!(a.state.tabs.active_run(), Some(run));

    // Its report groups the outputs; R re-runs the failed host through the guard.
    a.update(Action::RunFinished {
        run,
        report: Box::new(report(vec![
            result(1, HostStatus::Success, "ok\n"),
            result(3, HostStatus::Failed, "disk full\n"),
            result(5, HostStatus::Success, "ok\n"),
        ])),
    });
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("2 hosts: ok"), "{text}");
    assert!(text.contains("4 API calls"), "{text}");
    type_keys(&mut a, "R");
    let Some(Overlay::RunConfirm(c)) = a.state.top_overlay() else {
        panic!(
            "the re-run goes through the confirm overlay: {}",
            message(&a)
        );
    };
    let ids: Vec<&str> = c.plan.hosts().map(|h| h.instance_id.as_str()).collect();
    assert_eq!(ids, vec![id(3).as_str()]);
    assert_eq!(c.plan.script(), "df -h /");
}

/// A run tab mid-way: hosts 1–2 done, 3–6 running; the test holds the control channel.
fn running() -> (App, u64, tokio::sync::mpsc::UnboundedReceiver<Control>) {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "a:run hostname<Enter><Enter>");
    let run = a.state.tabs.active_run().expect("a run tab");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    a.services.runs.controls.insert(run, tx);
    a.update(Action::RunReported {
        run,
        event: RunEvent::Sent(SentCommand {
            profile: "default".into(),
            region: "us-east-1".into(),
            document: Document::Shell,
            command_id: Some("cmd-1".into()),
            error: None,
            instance_ids: (1..=6).map(id).collect(),
            targets: Vec::new(),
        }),
    });
    for n in 1..=6 {
        let status = if n <= 2 {
            HostStatus::Success
        } else {
            HostStatus::InProgress
        };
        a.update(Action::RunReported {
            run,
            event: RunEvent::Host(HostUpdate {
                instance_id: id(n),
                name: Some(format!("web-{n:02}")),
                region: "us-east-1".into(),
                status,
                status_details: status.as_str().into(),
            }),
        });
    }
    (a, run, rx)
}

#[test]
fn x_cancels_only_the_selected_host() {
    let (mut a, run, mut rx) = running();
    // The first host has finished: nothing to cancel there.
    type_keys(&mut a, "x");
    assert!(message(&a).contains("has already ended"), "{}", message(&a));
    assert!(rx.try_recv().is_err());
    type_keys(&mut a, "jjx");
    assert_eq!(rx.try_recv().ok(), Some(Control::CancelHost(id(3))));
    assert!(rx.try_recv().is_err(), "one request, for one host");
    assert!(message(&a).contains("cancelling web-03"), "{}", message(&a));
    assert!(!a.state.runs[&run].cancelling, "the run itself goes on");
    assert_eq!(a.state.runs[&run].hosts[2].details, "cancel requested");
    // `c` still cancels the whole run.
    type_keys(&mut a, "c");
    assert_eq!(rx.try_recv().ok(), Some(Control::CancelAll));
    assert!(a.state.runs[&run].cancelling);
}

#[test]
fn run_options_reach_the_plan_and_bad_ones_send_nothing() {
    let mut a = app_with(web_fleet());
    type_keys(
        &mut a,
        "a:run --max-concurrency 2 --max-errors 50% --timeout 60 --cloudwatch -- df -h /<Enter>",
    );
    let Some(Overlay::RunConfirm(c)) = a.state.top_overlay() else {
        panic!("confirm overlay: {}", message(&a));
    };
    let o = &c.plan.options;
    assert_eq!(o.max_concurrency, Some(Rate::Count(2)));
    assert_eq!(o.max_errors, Some(Rate::Percent(50)));
    assert_eq!(o.execution_timeout, Some(60));
    assert!(o.cloudwatch.is_some());
    assert_eq!(o.commands, vec!["df -h /"]);
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains("MaxConcurrency 2 · MaxErrors 50% · timeout 60 s · CloudWatch output on"),
        "{text}"
    );
    type_keys(&mut a, "<Esc>");

    type_keys(&mut a, ":run --max-errors 200% -- uptime<Enter>");
    assert!(a.state.top_overlay().is_none());
    assert!(a.state.runs.is_empty());
    let m = message(&a);
    assert!(
        m.starts_with("--max-errors: '200%'") && m.ends_with("nothing was sent"),
        "{m}"
    );
    type_keys(&mut a, ":run --timeout 5 uptime<Enter>");
    assert!(message(&a).contains("put -- between the options and the command"));
    assert!(a.state.runs.is_empty());
}

#[test]
fn the_output_pane_scrolls() {
    let (mut a, run, _rx) = running();
    let long: String = (1..=60).map(|n| format!("line {n}\n")).collect();
    a.update(Action::RunFinished {
        run,
        report: Box::new(report(
            (1..=6)
                .map(|n| result(n, HostStatus::Success, &long))
                .collect(),
        )),
    });
    // J opens the pane first, then scrolls it a line at a time; Ctrl-D half a pane.
    type_keys(&mut a, "J");
    assert!(a.state.runs[&run].output);
    assert_eq!(a.state.runs[&run].output_scroll, 0);
    type_keys(&mut a, "JJ");
    assert_eq!(a.state.runs[&run].output_scroll, 2);
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("lines 3–"), "{text}");
    assert!(
        text.contains("│ line 1") && !text.contains("hosts: web-01"),
        "{text}"
    );
    a.dispatch(ctrl('d'));
    let half = a.state.runs[&run].output_scroll;
    assert!(half > 3, "{half}");
    type_keys(&mut a, "K");
    assert_eq!(a.state.runs[&run].output_scroll, half - 1);
    a.dispatch(ctrl('u'));
    a.dispatch(ctrl('u'));
    assert_eq!(a.state.runs[&run].output_scroll, 0);
    // Scrolling stops at the last line; another selection starts at the top.
    for _ in 0..40 {
        a.dispatch(ctrl('d'));
    }
    let last = a.state.runs[&run].output_lines().len() - 1;
    assert_eq!(a.state.runs[&run].output_scroll, last);
    type_keys(&mut a, "j");
    assert_eq!(a.state.runs[&run].output_scroll, 0);
}

#[test]
fn a_running_run_spins_in_the_tab_bar() {
    let (mut a, run, _rx) = running();
    let bar = |a: &mut App| {
        screen(&render(a, (100, 30)), None)
            .lines()
            .nth(2)
            .unwrap_or_default()
            .to_owned()
    };
    let before = bar(&mut a);
    assert!(before.contains("2 run hostname"), "{before}");
    a.state.refresh.spinner += 3;
    let after = bar(&mut a);
    assert_ne!(
        before, after,
        "the spinner frame shows in the run's tab title"
    );
    a.update(Action::RunFinished {
        run,
        report: Box::new(report(
            (1..=6)
                .map(|n| result(n, HostStatus::Success, "ok\n"))
                .collect(),
        )),
    });
    let done = bar(&mut a);
    a.state.refresh.spinner += 3;
    assert_eq!(done, bar(&mut a), "a finished run no longer spins");
}

#[test]
fn the_owner_name_is_whole_at_100_columns() {
    let mut a = app_with(web_fleet());
    type_keys(&mut a, "C");
    let generation = a.state.run_history.generation;
    let mut run = command(
        1,
        "test \"$(hostname)\" = web-01 && systemctl status nginx",
        "Success",
        2,
    );
    run.who = Some("arn:aws:iam::123456789012:user/AKIDFLEETDECKDEMO".into());
    a.update(Action::RunsLoaded {
        generation,
        commands: vec![run, command(2, "df -h /", "Failed", 30)],
        problems: Vec::new(),
    });
    let text = screen(&render(&mut a, (100, 30)), None);
    let row = text
        .lines()
        .find(|l| l.contains("Success"))
        .expect("the run's row");
    assert!(row.contains(" AKIDFLEETDECKDEMO "), "{text}");
    assert!(!row.contains("user/"), "{text}");
    // The command gives way, with an ellipsis.
    assert!(row.contains(" test \"$(hostname)"), "{text}");
    assert!(row.contains('…'), "{text}");
}
