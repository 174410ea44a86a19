//! Session history and replay in the console: the Sessions tab, its filters, terminating a
//! session, replay tabs, and the detail pane's recent sessions.

use super::*;
use crate::replay::{LogEvent, LogLocation, LogSource, SessionState, SessionSummary, Timeline};
use std::time::Duration as StdDuration;

fn session(n: u32, who: &str, host: Option<&str>, active: bool, log: bool) -> SessionSummary {
    let start = now() - Duration::minutes(i64::from(90 - n * 10));
    SessionSummary {
        session_id: format!("{who}-0{n}a1b2c3"),
        owner: format!("arn:aws:iam::123456789012:user/{who}"),
        target: format!("i-0{n:016x}"),
        host_name: host.map(str::to_owned),
        profile: "default".into(),
        region: "us-east-1".into(),
        state: if active {
            SessionState::Active
        } else {
            SessionState::History
        },
        status: if active { "Connected" } else { "Terminated" }.into(),
        start: Some(start),
        end: (!active).then(|| start + Duration::seconds(i64::from(n) * 75)),
        document: None,
        reason: None,
        log: log.then(|| LogLocation {
            cloudwatch: Some(LogSource {
                group: "/fleetdeck/sessions".into(),
                stream: format!("{who}-0{n}a1b2c3"),
            }),
            cloudwatch_url: None,
            s3_url: None,
        }),
    }
}

fn history() -> Vec<SessionSummary> {
    vec![
        session(5, "ana", Some("pay-api-prod-1"), true, false),
        session(4, "ben", Some("api-prod-1"), false, true),
        session(3, "ana", None, false, false),
        session(2, "carla", Some("batch-dev-1"), false, true),
    ]
}

fn event(at_ms: u64, lines: &[&str]) -> LogEvent {
    let t = chrono::DateTime::from_timestamp_millis(1_800_000_000_000 + at_ms as i64)
        .expect("valid time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let message = serde_json::json!({
        "eventVersion": "1.0", "eventTime": t, "sessionId": "ben-04a1b2c3",
        "target": {"id": "i-0abc"}, "sessionData": lines,
    })
    .to_string();
    LogEvent {
        timestamp: 0,
        message,
    }
}

/// A recorded session: a command at 0 s, another after an idle stretch at 12 s, the last
/// at 20 s.
fn timeline() -> Timeline {
    Timeline::from_events(&[
        event(0, &["ssm-user@api-prod-1:~$ echo $((6*7))", "42"]),
        event(
            1_000,
            &["ssm-user@api-prod-1:~$ uptime", " 10:00 up 3 days"],
        ),
        event(
            12_000,
            &[
                "ssm-user@api-prod-1:~$ grep ERROR app.log",
                "ERROR disk full",
            ],
        ),
        event(20_000, &["ssm-user@api-prod-1:~$ exit"]),
    ])
}

/// The Sessions tab with `history()` loaded, as the task would report it.
fn sessions_app() -> App {
    let mut a = app();
    render(&mut a, (100, 30));
    type_keys(&mut a, ":sessions<Enter>");
    assert_eq!(
        a.state.sessions.loading,
        Some(1),
        "opening reads the history"
    );
    a.update(Action::SessionsLoaded {
        generation: 1,
        sessions: history(),
        problems: Vec::new(),
    });
    a
}

/// A replay tab of ben's session with `timeline()` loaded, paused at the start.
fn replay_app() -> (App, u64) {
    let mut a = sessions_app();
    type_keys(&mut a, "j<Enter>");
    let id = a.state.tabs.active_replay().expect("a replay tab opened");
    a.update(Action::ReplayProgress { tab: id, events: 4 });
    a.update(Action::ReplayLoaded {
        tab: id,
        result: Ok(std::sync::Arc::new(timeline())),
    });
    let r = a.state.replays.get_mut(&id).expect("replay");
    r.playing = false;
    (a, id)
}

#[test]
fn sessions_view() {
    let mut a = sessions_app();
    snap("sessions", &mut a, (100, 30));
    snap("sessions", &mut a, (160, 40));
}

#[test]
fn sessions_filter_refresh_and_blocked_replay() {
    let mut a = sessions_app();
    type_keys(&mut a, "/ana");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Filter);
    assert_eq!(a.state.sessions.rows().len(), 2);
    type_keys(&mut a, "<Enter>");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Sessions);
    // The active session has no log yet: Enter says why and opens nothing.
    type_keys(&mut a, "<Enter>");
    assert!(a.state.tabs.active_replay().is_none());
    let msg = a.state.message.clone().expect("a message").text;
    assert!(msg.contains("still active"), "{msg}");
    type_keys(&mut a, "<Esc>");
    assert_eq!(a.state.sessions.rows().len(), 4);
    // r reads the history again; an older read's report is dropped.
    type_keys(&mut a, "r");
    assert_eq!(a.state.sessions.loading, Some(2));
    a.update(Action::SessionsLoaded {
        generation: 1,
        sessions: Vec::new(),
        problems: Vec::new(),
    });
    assert_eq!(a.state.sessions.sessions().len(), 4);
    assert_eq!(a.state.sessions.loading, Some(2));
}

#[test]
fn replay_mid_way() {
    let (mut a, id) = replay_app();
    let loading = a.state.replays[&id].loaded_events;
    assert_eq!(loading, 4);
    // Played 13 s at 1x: the grep and its output are on screen, the exit is not.
    a.state.replays.get_mut(&id).expect("replay").playing = true;
    assert!(
        a.state
            .replays
            .get_mut(&id)
            .expect("replay")
            .advance(StdDuration::from_secs(13))
    );
    a.state.replays.get_mut(&id).expect("replay").playing = false;
    let text = a.state.replays[&id].screen.text();
    assert!(
        text.contains("ERROR disk full") && !text.contains("exit"),
        "{text}"
    );
    snap("replay_mid_way", &mut a, (100, 30));
}

#[test]
fn replay_keys_pause_speed_seek_command_search_export() {
    let (mut a, id) = replay_app();
    let r = |a: &App| a.state.replays[&id].position;
    type_keys(&mut a, " ");
    assert!(a.state.replays[&id].playing, "space resumes");
    type_keys(&mut a, " ");
    assert!(!a.state.replays[&id].playing, "space pauses");
    type_keys(&mut a, "++");
    assert_eq!(a.state.replays[&id].speed(), 4.0);
    type_keys(&mut a, "++++");
    assert_eq!(a.state.replays[&id].speed(), 16.0, "16x at most");
    type_keys(&mut a, "------");
    assert_eq!(a.state.replays[&id].speed(), 0.5, "0.5x at least");
    a.dispatch(key(KeyCode::Right));
    assert_eq!(r(&a), StdDuration::from_secs(5));
    a.dispatch(key(KeyCode::Right));
    assert_eq!(r(&a), StdDuration::from_secs(10));
    assert!(!a.state.replays[&id].screen.text().contains("grep"));
    a.dispatch(key(KeyCode::Left));
    assert_eq!(r(&a), StdDuration::from_secs(5));
    assert!(
        a.state.replays[&id].screen.text().contains("uptime"),
        "seek back rebuilds"
    );
    type_keys(&mut a, "c");
    assert_eq!(r(&a), StdDuration::from_secs(12), "next command");
    // Search: matches counted, n jumps to them (wrapping), highlighted on screen.
    a.dispatch(key(KeyCode::Left));
    a.dispatch(key(KeyCode::Left));
    type_keys(&mut a, "/error<Enter>");
    assert_eq!(a.state.replays[&id].matches.len(), 2);
    assert_eq!(r(&a), StdDuration::from_secs(12));
    let buffer = render(&mut a, (100, 30));
    assert!(
        screen(&buffer, Some(&a.theme)).contains("^^^^^"),
        "highlighted"
    );
    type_keys(&mut a, "n");
    assert_eq!(a.state.replays[&id].current_match, Some(1));
    type_keys(&mut a, "n");
    assert_eq!(a.state.replays[&id].current_match, Some(0), "wraps");
    type_keys(&mut a, "N");
    assert_eq!(a.state.replays[&id].current_match, Some(1));
    // Playing to the end stops there; space plays again from the start.
    type_keys(&mut a, " ");
    a.state
        .replays
        .get_mut(&id)
        .expect("replay")
        .advance(StdDuration::from_secs(60));
    assert!(a.state.replays[&id].finished() && !a.state.replays[&id].playing);
    type_keys(&mut a, " ");
    assert_eq!(r(&a), StdDuration::ZERO);
    // e writes SESSION.cast in the current directory and says where.
    let dir = tempfile::tempdir().expect("temp dir");
    a.services.export_dir = Some(dir.path().to_path_buf());
    type_keys(&mut a, "e");
    let msg = a.state.message.clone().expect("a message").text;
    assert!(
        msg.contains("exported to") && msg.ends_with("ben-04a1b2c3.cast"),
        "{msg}"
    );
    let cast = std::fs::read_to_string(dir.path().join("ben-04a1b2c3.cast")).expect("cast");
    assert!(
        cast.contains("\"version\":2") && cast.contains("42"),
        "{cast}"
    );
    // Closing the tab drops the replay.
    a.dispatch(ctrl('x'));
    assert!(a.state.replays.is_empty());
}

// ---- filters ----

fn rows(a: &App) -> Vec<String> {
    let s = &a.state.sessions;
    (0..s.rows().len())
        .filter_map(|i| s.row(i).map(|x| x.session_id.clone()))
        .collect()
}

#[test]
fn sessions_filter_by_state_and_time_window_with_search() {
    let mut a = sessions_app();
    // One more, three days old.
    let mut old = session(1, "dana", Some("api-prod-1"), false, true);
    old.start = Some(now() - Duration::days(3));
    old.end = Some(now() - Duration::days(3) + Duration::minutes(4));
    let mut all = history();
    all.push(old);
    type_keys(&mut a, "r");
    a.update(Action::SessionsLoaded {
        generation: 2,
        sessions: all,
        problems: Vec::new(),
    });
    assert_eq!(rows(&a).len(), 5);
    type_keys(&mut a, "s");
    assert_eq!(rows(&a), ["ana-05a1b2c3"], "active only");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("state active"), "{text}");
    type_keys(&mut a, "s");
    assert_eq!(rows(&a).len(), 4, "history only");
    assert!(!rows(&a).contains(&"ana-05a1b2c3".to_owned()));
    type_keys(&mut a, "s");
    assert_eq!(rows(&a).len(), 5, "all again");
    // Windows: sessions open at some time in the last hour (the active one always is).
    type_keys(&mut a, "w");
    assert_eq!(
        rows(&a),
        ["ana-05a1b2c3", "ben-04a1b2c3", "ana-03a1b2c3"],
        "last hour"
    );
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("last 1h · 3 of 5 sessions"), "{text}");
    type_keys(&mut a, "w");
    assert_eq!(rows(&a).len(), 4, "last day");
    type_keys(&mut a, "w");
    assert_eq!(rows(&a).len(), 5, "last week");
    // `/` search combines with the filters.
    type_keys(&mut a, "/dana<Enter>");
    assert_eq!(rows(&a), ["dana-01a1b2c3"]);
    type_keys(&mut a, "s");
    assert!(rows(&a).is_empty(), "dana has no active session");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains("no active session in the last 7d matches 'dana'"),
        "{text}"
    );
    type_keys(&mut a, "w<Esc>");
    assert_eq!(rows(&a), ["ana-05a1b2c3"], "Esc clears the search only");
}

// ---- terminate ----

#[test]
fn terminate_asks_first_and_sends_only_after_the_short_id() {
    let mut a = sessions_app();
    // A finished session cannot be terminated.
    type_keys(&mut a, "jx");
    assert!(a.state.overlays.is_empty());
    let msg = a.state.message.clone().expect("a message").text;
    assert!(msg.contains("has already ended (Terminated)"), "{msg}");
    // The active one: the overlay names it, its owner and host.
    type_keys(&mut a, "kx");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Terminate);
    snap("terminate_confirm", &mut a, (100, 30));
    // A wrong answer sends nothing and keeps asking; `q` is text here, not quit.
    type_keys(&mut a, "q<Enter>");
    assert!(!a.state.quit);
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Terminate);
    let msg = a.state.message.clone().expect("a message").text;
    assert!(
        msg.contains("type a1b2c3") && msg.contains("nothing was sent"),
        "{msg}"
    );
    assert_eq!(a.state.sessions.sessions()[0].status, "Connected");
    // Esc: nothing sent.
    type_keys(&mut a, "<Esc>");
    assert!(a.state.overlays.is_empty());
    assert_eq!(a.state.sessions.sessions()[0].status, "Connected");
    // The short id (any case) and Enter: terminating, then the history is read again.
    type_keys(&mut a, "xA1B2C3<Enter>");
    assert!(a.state.overlays.is_empty());
    assert_eq!(a.state.sessions.sessions()[0].status, "Terminating");
    let msg = a.state.message.clone().expect("a message").text;
    assert!(
        msg.contains("terminating ana-05a1b2c3 on pay-api-prod-1 (by ana)"),
        "{msg}"
    );
    a.update(Action::SessionTerminated {
        session_id: "ana-05a1b2c3".into(),
        target: "i-00000000000000005".into(),
        result: Ok(true),
    });
    assert_eq!(a.state.sessions.loading, Some(2), "reads the history again");
    let mut ended = history();
    ended[0].state = SessionState::History;
    ended[0].status = "Terminated".into();
    ended[0].end = Some(now());
    a.update(Action::SessionsLoaded {
        generation: 2,
        sessions: ended,
        problems: Vec::new(),
    });
    assert_eq!(a.state.sessions.sessions()[0].status, "Terminated");
    let msg = a.state.message.clone().expect("a message").text;
    assert_eq!(
        msg, "ana-05a1b2c3 terminated",
        "the read again keeps the message"
    );
    let text = screen(&render(&mut a, (100, 30)), None);
    let row = text
        .lines()
        .find(|l| l.contains("pay-api-prod-1"))
        .expect("the row");
    assert!(row.contains("Terminated"), "{row}");
    // A refusal is said, and the history is read again to show the truth.
    a.update(Action::SessionTerminated {
        session_id: "ana-05a1b2c3".into(),
        target: "i-00000000000000005".into(),
        result: Err("access denied".into()),
    });
    let msg = a.state.message.clone().expect("a message").text;
    assert!(
        msg.contains("cannot terminate ana-05a1b2c3: access denied"),
        "{msg}"
    );
}

// ---- the detail pane's recent sessions ----

fn select(a: &mut App, name: &str) {
    let position = names(a).iter().position(|n| n == name).expect("host");
    a.state.fleet.move_to(position);
}

fn pay_api_key() -> crate::tui::state::HostKey {
    crate::tui::state::HostKey {
        profile: "default".into(),
        region: "us-east-1".into(),
        instance_id: "i-00000000000000005".into(),
    }
}

/// pay-api-prod-1's seven sessions, newest first: ana's active one, then finished ones.
fn pay_api_sessions() -> Vec<SessionSummary> {
    (0..7)
        .map(|k| {
            let mut s = session(
                5,
                ["ana", "ben", "carla"][k % 3],
                Some("pay-api-prod-1"),
                k == 0,
                k == 2 || k == 4,
            );
            s.session_id = format!("{}-5{k}f00d", s.who());
            s.start = Some(now() - Duration::minutes(40 + 30 * k as i64));
            if k > 0 {
                s.end = Some(now() - Duration::minutes(30 + 30 * k as i64));
            }
            s
        })
        .collect()
}

#[test]
fn detail_pane_lists_recent_sessions_and_l_and_r_open_them() {
    use crate::tui::state::Recent;
    let mut a = app();
    select(&mut a, "pay-api-prod-1");
    assert!(
        a.state.recent.get(&pay_api_key()).is_none(),
        "not read before the pane shows"
    );
    type_keys(&mut a, "d");
    assert_eq!(a.state.recent.get(&pay_api_key()), Some(&Recent::Loading));
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("reading DescribeSessions"), "{text}");
    a.update(Action::RecentSessionsLoaded {
        key: pay_api_key(),
        result: Ok(pay_api_sessions()),
    });
    snap("detail_recent_sessions", &mut a, (100, 30));
    snap("detail_recent_sessions", &mut a, (160, 40));
    // Read once per host: leaving and coming back reads nothing again.
    type_keys(&mut a, "j");
    let other = crate::tui::state::HostKey::of(a.state.fleet.selected_instance().expect("host"));
    assert_eq!(a.state.recent.get(&other), Some(&Recent::Loading));
    a.update(Action::RecentSessionsLoaded {
        key: other.clone(),
        result: Err("ssm:DescribeSessions was denied".into()),
    });
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains("cannot read its sessions: ssm:DescribeSessions was denied"),
        "{text}"
    );
    type_keys(&mut a, "k");
    assert!(matches!(
        a.state.recent.get(&pay_api_key()),
        Some(Recent::Loaded { total: 7, .. })
    ));
    // R: the newest session with a log (the active one has none yet) replays.
    type_keys(&mut a, "R");
    let id = a.state.tabs.active_replay().expect("a replay tab");
    assert_eq!(a.state.replays[&id].session_id, "carla-52f00d");
    // L: the Sessions tab, filtered to the host, every state and time.
    type_keys(&mut a, "1L");
    assert!(a.state.tabs.active_kind() == &crate::tui::state::TabKind::Sessions);
    assert_eq!(a.state.sessions.input, "i-00000000000000005");
    a.update(Action::SessionsLoaded {
        generation: 1,
        sessions: history(),
        problems: Vec::new(),
    });
    assert_eq!(rows(&a), ["ana-05a1b2c3"]);
}

#[test]
fn r_before_the_sessions_are_read_replays_once_they_are() {
    let mut a = app();
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "R");
    assert!(a.state.tabs.active_replay().is_none());
    let msg = a.state.message.clone().expect("a message").text;
    assert!(msg.contains("reading the host's sessions"), "{msg}");
    a.update(Action::RecentSessionsLoaded {
        key: pay_api_key(),
        result: Ok(pay_api_sessions()),
    });
    assert!(a.state.tabs.active_replay().is_some(), "replays once read");
    // A host whose sessions have no log says so.
    type_keys(&mut a, "1");
    select(&mut a, "api-prod-1");
    type_keys(&mut a, "R");
    let key = crate::tui::state::HostKey::of(a.state.fleet.selected_instance().expect("host"));
    a.update(Action::RecentSessionsLoaded {
        key,
        result: Ok(vec![session(1, "ana", Some("api-prod-1"), true, false)]),
    });
    let msg = a.state.message.clone().expect("a message").text;
    assert!(msg.contains("only session is still active"), "{msg}");
}

#[test]
fn recent_sessions_are_read_again_after_r_and_after_a_shell_on_the_host() {
    use crate::tui::state::Recent;
    let loaded = |a: &mut App| {
        a.update(Action::RecentSessionsLoaded {
            key: pay_api_key(),
            result: Ok(pay_api_sessions()),
        });
        assert!(matches!(
            a.state.recent.get(&pay_api_key()),
            Some(Recent::Loaded { .. })
        ));
    };
    let mut a = app();
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "d");
    loaded(&mut a);
    // `r` reads everything again, the shown host's sessions too.
    type_keys(&mut a, "r");
    assert_eq!(a.state.recent.get(&pay_api_key()), Some(&Recent::Loading));
    loaded(&mut a);
    // A shell on the host ends: its history changed.
    let tab = open_shell_on(&mut a, "pay-api-prod-1");
    a.update(Action::ShellStateChanged {
        tab,
        state: crate::channel::SessionState::Closed {
            reason: "exit".into(),
        },
    });
    assert_eq!(a.state.recent.get(&pay_api_key()), None, "forgotten");
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1");
    assert_eq!(
        a.state.recent.get(&pay_api_key()),
        Some(&Recent::Loading),
        "read again when the pane shows it"
    );
}

#[test]
fn r_while_another_hosts_read_is_in_flight_waits_its_turn() {
    use crate::tui::state::Recent;
    let mut a = app();
    select(&mut a, "api-prod-1");
    type_keys(&mut a, "d");
    let first = crate::tui::state::HostKey::of(a.state.fleet.selected_instance().expect("host"));
    assert_eq!(a.state.recent.get(&first), Some(&Recent::Loading));
    // The pane closes, R on pay-api-prod-1: one read at a time, so it waits.
    type_keys(&mut a, "d");
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "R");
    assert_eq!(a.state.recent.get(&pay_api_key()), None);
    a.update(Action::RecentSessionsLoaded {
        key: first,
        result: Ok(Vec::new()),
    });
    assert_eq!(
        a.state.recent.get(&pay_api_key()),
        Some(&Recent::Loading),
        "its turn came"
    );
    a.update(Action::RecentSessionsLoaded {
        key: pay_api_key(),
        result: Ok(pay_api_sessions()),
    });
    let id = a.state.tabs.active_replay().expect("replays once read");
    assert_eq!(a.state.replays[&id].session_id, "carla-52f00d");
}

#[test]
fn the_owner_name_is_whole_at_100_columns_and_the_arn_in_the_confirm() {
    let mut a = sessions_app();
    let long = vec![
        session(
            5,
            "AKIDFLEETDECKDEMO",
            Some("auth-api-production-eu-west-1-node-01"),
            true,
            false,
        ),
        session(4, "ben", Some("api-prod-1"), false, true),
    ];
    a.update(Action::SessionsLoaded {
        generation: a.state.sessions.generation,
        sessions: long,
        problems: Vec::new(),
    });
    let text = screen(&render(&mut a, (100, 30)), None);
    let row = text
        .lines()
        .find(|l| l.contains("Connected"))
        .expect("the active session's row");
    assert!(row.starts_with("AKIDFLEETDECKDEMO "), "{text}");
    // The host gives way, not the owner.
    assert!(row.contains(" auth-api-produc"), "{text}");
    assert!(row.contains('…'), "{text}");
    // `x` on it: the confirm names the whole ARN.
    type_keys(&mut a, "x");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains("Owner    arn:aws:iam::123456789012:user/AKIDFLEETDECKDEMO "),
        "{text}"
    );
}
