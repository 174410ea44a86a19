//! The console without a terminal: a fixed fleet at a fixed time, driven with the same
//! crossterm events the terminal delivers (event → keymap → Action → state), rendered into
//! ratatui's TestBackend and compared with insta snapshots in `src/tui/snapshots/`.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::action::Action;
use super::app::{App, Services};
use super::keymap::Keymap;
use super::state::{AppState, FleetState, Overlay};
use super::theme::{Role, Theme};
use crate::model::{Instance, InstanceState, PingStatus, PlatformType};

const SIZES: [(u16, u16); 2] = [(100, 30), (160, 40)];

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("valid time")
}

#[allow(clippy::too_many_arguments)]
fn host(
    n: u32,
    name: &str,
    region: &str,
    state: InstanceState,
    ping: PingStatus,
    ago_min: Option<i64>,
    agent: Option<(&str, bool)>,
    platform: (PlatformType, &str),
    env: &str,
) -> Instance {
    Instance {
        instance_id: format!("i-0{n:016x}"),
        name: Some(name.into()),
        profile: "default".into(),
        region: region.into(),
        state,
        ping_status: ping,
        last_ping: ago_min.map(|m| now() - Duration::minutes(m)),
        agent_version: agent.map(|(v, _)| v.to_owned()),
        agent_is_latest: agent.map(|(_, latest)| latest),
        platform_type: platform.0,
        platform: platform.1.into(),
        private_ip: Some(format!("10.0.{}.{}", n / 10, n % 10 + 10)),
        public_ip: None,
        instance_type: Some("t3.medium".into()),
        availability_zone: Some(format!("{region}a")),
        iam_instance_profile: Some("arn:aws:iam::123456789012:instance-profile/ssm-core".into()),
        computer_name: None,
        launch_time: None,
        tags: [
            ("Name".to_string(), name.to_string()),
            ("Env".to_string(), env.to_string()),
            (
                "Team".to_string(),
                name.split('-').next().unwrap_or("ops").to_string(),
            ),
        ]
        .into(),
        managed: !matches!(ping, PingStatus::NotManaged),
    }
}

const LINUX: (PlatformType, &str) = (PlatformType::Linux, "Amazon Linux 2023");
const WINDOWS: (PlatformType, &str) = (PlatformType::Windows, "Windows Server 2022");
const LATEST: Option<(&str, bool)> = Some(("3.3.987.0", true));

/// A fleet with every health case; names sorted like the inventory sorts them.
fn fleet() -> Vec<Instance> {
    use InstanceState::*;
    use PingStatus::*;
    let mut v = vec![
        host(
            1,
            "api-prod-1",
            "us-east-1",
            Running,
            Online,
            Some(1),
            LATEST,
            LINUX,
            "prod",
        ),
        host(
            2,
            "api-prod-2",
            "us-east-1",
            Running,
            ConnectionLost,
            Some(134),
            Some(("3.2.1630.0", false)),
            LINUX,
            "prod",
        ),
        host(
            3,
            "batch-dev-1",
            "eu-west-1",
            Stopped,
            ConnectionLost,
            Some(60 * 30),
            LATEST,
            LINUX,
            "dev",
        ),
        host(
            4,
            "legacy-prod-1",
            "eu-west-1",
            Running,
            Inactive,
            Some(60 * 24 * 40),
            Some(("2.3.500.0", false)),
            LINUX,
            "prod",
        ),
        host(
            5,
            "pay-api-prod-1",
            "us-east-1",
            Running,
            Online,
            Some(2),
            LATEST,
            LINUX,
            "prod",
        ),
        host(
            6,
            "pay-db-prod-1",
            "eu-west-1",
            Running,
            NotManaged,
            None,
            None,
            LINUX,
            "prod",
        ),
        host(
            7,
            "pay-worker-staging-1",
            "us-east-1",
            Running,
            PingStatus::Unknown,
            None,
            None,
            LINUX,
            "staging",
        ),
        host(
            8,
            "web-win-prod-1",
            "eu-west-1",
            Running,
            Online,
            Some(3),
            LATEST,
            WINDOWS,
            "prod",
        ),
    ];
    let mut hybrid = host(
        9,
        "dc1-build-1",
        "eu-west-1",
        Hybrid,
        Online,
        Some(4),
        LATEST,
        LINUX,
        "dev",
    );
    hybrid.instance_id = "mi-0123456789abcdef0".into();
    v.push(hybrid);
    v.sort_by(|a, b| a.display_name().cmp(b.display_name()));
    v
}

fn app_with(instances: Vec<Instance>) -> App {
    let mut state = AppState::new(FleetState::new(instances), now());
    state.scope.profiles = vec!["default".into()];
    state.scope.regions = vec!["us-east-1".into(), "eu-west-1".into()];
    state.refresh.fetched_at = Some(now() - Duration::seconds(42));
    state.tag_columns = vec!["Env".into()];
    state.palette_context.regions = state.scope.regions.clone();
    state.palette_context.profiles = state.scope.profiles.clone();
    state.palette_context.themes = Theme::available(None);
    let (theme, problems) = Theme::load("dark", None, &toml::Table::new(), false);
    assert!(problems.is_empty(), "{problems:?}");
    App::new(state, Keymap::builtin(), theme, Services::offline())
}

fn app() -> App {
    app_with(fleet())
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Types keys the way a terminal delivers them; `<Esc>`, `<Enter>`, `<Tab>`, `<Down>`, `<Up>`,
/// `<BS>` stand for themselves and `<C-x>` for Ctrl with a letter.
fn type_keys(app: &mut App, keys: &str) {
    let mut rest = keys;
    while !rest.is_empty() {
        let bytes = rest.as_bytes();
        if rest.starts_with("<C-") && bytes.len() >= 5 && bytes[4] == b'>' {
            app.dispatch(ctrl(char::from(bytes[3])));
            rest = &rest[5..];
            continue;
        }
        let named = [
            ("<Esc>", KeyCode::Esc),
            ("<Enter>", KeyCode::Enter),
            ("<Tab>", KeyCode::Tab),
            ("<Down>", KeyCode::Down),
            ("<Up>", KeyCode::Up),
            ("<BS>", KeyCode::Backspace),
        ]
        .into_iter()
        .find(|(n, _)| rest.starts_with(n));
        match named {
            Some((n, code)) => {
                app.dispatch(key(code));
                rest = &rest[n.len()..];
            }
            None => {
                let c = rest.chars().next().expect("non-empty");
                let shift = if c.is_ascii_uppercase() {
                    KeyModifiers::SHIFT
                } else {
                    KeyModifiers::NONE
                };
                app.dispatch(Event::Key(KeyEvent::new(KeyCode::Char(c), shift)));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
}

fn render(app: &mut App, (w, h): (u16, u16)) -> Buffer {
    app.dispatch(Event::Resize(w, h));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| app.draw(f)).expect("draw");
    terminal.backend().buffer().clone()
}

/// The screen as text, right-trimmed; with `marks`, a line of `^` under highlighted characters
/// follows each row that has some.
fn screen(buffer: &Buffer, marks: Option<&Theme>) -> String {
    let w = usize::from(buffer.area.width);
    let mut out = String::new();
    for row in buffer.content.chunks(w) {
        let text: String = row.iter().map(|c| c.symbol()).collect();
        out.push_str(text.trim_end());
        out.push('\n');
        if let Some(theme) = marks {
            let hl = theme.style(Role::Match);
            let line: String = row
                .iter()
                .map(|c| {
                    if c.fg == hl.fg.unwrap_or_default()
                        && c.modifier.contains(ratatui::style::Modifier::UNDERLINED)
                    {
                        '^'
                    } else {
                        ' '
                    }
                })
                .collect();
            if line.contains('^') {
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
    }
    out
}

fn snap(name: &str, app: &mut App, size: (u16, u16)) {
    let buffer = render(app, size);
    insta::assert_snapshot!(
        format!("{name}_{}x{}", size.0, size.1),
        screen(&buffer, None)
    );
}

fn names(app: &App) -> Vec<String> {
    let f = &app.state.fleet;
    f.rows()
        .iter()
        .map(|&i| f.instances()[i].display_name().to_owned())
        .collect()
}

// ---- snapshots ----

#[test]
fn fleet_with_mixed_health() {
    for size in SIZES {
        snap("fleet", &mut app(), size);
    }
}

#[test]
fn filtered_list_highlights_matches() {
    for size in SIZES {
        let mut a = app();
        type_keys(&mut a, "/pay");
        let buffer = render(&mut a, size);
        insta::assert_snapshot!(
            format!("filtered_{}x{}", size.0, size.1),
            screen(&buffer, Some(&a.theme))
        );
    }
}

#[test]
fn detail_and_diagnosis_of_each_health_case() {
    let cases = [
        ("online", "pay-api-prod-1"),
        ("lost", "api-prod-2"),
        ("stopped", "batch-dev-1"),
        ("inactive_old_agent", "legacy-prod-1"),
        ("not_managed", "pay-db-prod-1"),
        ("unknown", "pay-worker-staging-1"),
        ("windows", "web-win-prod-1"),
        ("hybrid", "dc1-build-1"),
    ];
    for (case, name) in cases {
        for size in SIZES {
            let mut a = app();
            let position = names(&a)
                .iter()
                .position(|n| n == name)
                .expect("host in fixture");
            a.state.fleet.move_to(position);
            type_keys(&mut a, "d");
            assert!(a.state.fleet.detail);
            snap(&format!("detail_{case}"), &mut a, size);
        }
    }
}

#[test]
fn help_overlay() {
    for size in SIZES {
        let mut a = app();
        type_keys(&mut a, "?");
        snap("help", &mut a, size);
    }
}

#[test]
fn palette_with_completion() {
    for size in SIZES {
        let mut a = app();
        type_keys(&mut a, ":theme ");
        snap("palette", &mut a, size);
    }
}

#[test]
fn tiny_terminal_shows_a_message() {
    for size in [(40, 10), (20, 5)] {
        let mut a = app();
        let text = screen(&render(&mut a, size), None);
        assert!(text.contains("needs at least"), "{text}");
        insta::assert_snapshot!(format!("tiny_{}x{}", size.0, size.1), text);
    }
}

// ---- keys through the terminal's entry ----

#[test]
fn typing_a_query_narrows_incrementally_and_esc_clears() {
    let mut a = app();
    type_keys(&mut a, "jjj/p");
    assert_eq!(
        a.state.fleet.selected, 0,
        "a new query selects its best match"
    );
    assert!(a.state.fleet.editing);
    let wide = a.state.fleet.rows().len();
    type_keys(&mut a, "ay-db");
    assert!(
        a.state.fleet.last_search_narrowed,
        "growing query searches within hits"
    );
    assert_eq!(names(&a), ["pay-db-prod-1"]);
    assert!(wide > 1);
    type_keys(&mut a, "<BS><BS>");
    assert!(
        !a.state.fleet.last_search_narrowed,
        "shrinking query searches everything"
    );
    assert!(names(&a).len() > 1);
    // Esc clears and leaves the input; the table is whole again.
    type_keys(&mut a, "<Esc>");
    assert!(!a.state.fleet.editing);
    assert_eq!(a.state.fleet.input, "");
    assert_eq!(a.state.fleet.rows().len(), fleet().len());
}

#[test]
fn field_filters_and_enter_keeps_the_query_visible() {
    let mut a = app();
    type_keys(&mut a, "/ping:lost region:us<Enter>");
    assert!(!a.state.fleet.editing);
    assert_eq!(names(&a), ["api-prod-2"]);
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("/ ping:lost region:us"), "{text}");
    // Esc in the table clears it too.
    type_keys(&mut a, "<Esc>");
    assert_eq!(a.state.fleet.rows().len(), fleet().len());
}

#[test]
fn bad_query_shows_its_error_and_keeps_the_rows() {
    let mut a = app();
    type_keys(&mut a, "/ping:lost");
    let before = names(&a);
    type_keys(&mut a, "x");
    assert_eq!(
        names(&a),
        before,
        "rows stay while the query does not parse"
    );
    let err = a.state.fleet.query_error.clone().expect("a parse error");
    assert!(err.contains("unknown ping status 'lostx'"), "{err}");
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("✖ unknown ping status 'lostx'"), "{text}");
}

#[test]
fn digits_and_q_are_text_in_the_filter_but_ctrl_c_quits() {
    let mut a = app();
    type_keys(&mut a, "/q1");
    assert_eq!(a.state.fleet.input, "q1");
    assert!(!a.state.quit);
    a.dispatch(ctrl('c'));
    assert!(a.state.quit);
}

#[test]
fn vim_and_arrow_navigation_and_chords() {
    let mut a = app();
    type_keys(&mut a, "jj<Down>");
    assert_eq!(a.state.fleet.selected, 3);
    type_keys(&mut a, "k<Up>");
    assert_eq!(a.state.fleet.selected, 1);
    type_keys(&mut a, "G");
    assert_eq!(a.state.fleet.selected, fleet().len() - 1);
    type_keys(&mut a, "g");
    assert_eq!(
        a.state.pending.len(),
        1,
        "g waits for the rest of the chord"
    );
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(text.contains("g… g First host"), "which-key hint: {text}");
    type_keys(&mut a, "g");
    assert_eq!(a.state.fleet.selected, 0);
    assert!(a.state.pending.is_empty());
    // A chord that goes nowhere lets its last key count alone.
    type_keys(&mut a, "gj");
    assert_eq!(a.state.fleet.selected, 1);
}

#[test]
fn scrolling_keeps_the_selection_visible_in_a_large_fleet() {
    let many: Vec<Instance> = (0..10_000)
        .map(|n| {
            host(
                n,
                &format!("node-{n:05}"),
                "us-east-1",
                InstanceState::Running,
                PingStatus::Online,
                Some(1),
                LATEST,
                LINUX,
                "prod",
            )
        })
        .collect();
    let mut a = app_with(many);
    render(&mut a, (100, 30));
    let rows = a.state.fleet.viewport;
    type_keys(&mut a, "G");
    assert_eq!(a.state.fleet.selected, 9_999);
    assert_eq!(a.state.fleet.offset, 10_000 - rows);
    a.dispatch(ctrl('u'));
    assert_eq!(a.state.fleet.selected, 9_999 - rows / 2);
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.contains(&format!("node-{:05}", 9_999 - rows / 2)),
        "{text}"
    );
    assert!(!text.contains("node-00000"));
}

#[test]
fn sort_cycles_and_reverses() {
    let mut a = app();
    type_keys(&mut a, "s");
    assert_eq!(
        a.state.fleet.sort.column,
        Some(super::action::SortColumn::Name)
    );
    type_keys(&mut a, "s");
    assert_eq!(
        a.state.fleet.sort.column,
        Some(super::action::SortColumn::Id)
    );
    assert_eq!(names(&a)[0], "api-prod-1", "ids i-0…1 first");
    assert_eq!(
        names(&a).last().map(String::as_str),
        Some("dc1-build-1"),
        "mi- after i-"
    );
    type_keys(&mut a, "S");
    assert_eq!(names(&a)[0], "dc1-build-1");
    type_keys(&mut a, ":sort ping<Enter>");
    assert_eq!(
        a.state.fleet.sort.column,
        Some(super::action::SortColumn::Ping)
    );
    assert_eq!(
        a.state.fleet.selected_instance().map(|i| i.ping_status),
        Some(PingStatus::Online)
    );
}

#[test]
fn help_opens_and_q_closes_it_without_quitting() {
    let mut a = app();
    type_keys(&mut a, "?");
    assert!(matches!(a.state.top_overlay(), Some(Overlay::Help { .. })));
    type_keys(&mut a, "jj");
    assert!(matches!(
        a.state.top_overlay(),
        Some(Overlay::Help { scroll: 2 })
    ));
    assert_eq!(a.state.fleet.selected, 0, "keys go to the top layer");
    type_keys(&mut a, "q");
    assert!(a.state.overlays.is_empty());
    assert!(!a.state.quit);
    type_keys(&mut a, "q");
    assert!(a.state.quit);
}

#[test]
fn palette_completes_and_switches_theme_live() {
    let mut a = app();
    type_keys(&mut a, ":th<Tab>l<Tab>");
    match a.state.top_overlay() {
        Some(Overlay::Palette(p)) => assert_eq!(p.input, "theme light "),
        other => panic!("palette expected, got {other:?}"),
    }
    type_keys(&mut a, "<Enter>");
    assert!(a.state.overlays.is_empty());
    assert_eq!(a.theme.name, "light");
    assert_ne!(
        a.theme.style(Role::Base),
        Theme::load("dark", None, &toml::Table::new(), false)
            .0
            .style(Role::Base)
    );
    // A theme that does not exist: a message, and the default.
    type_keys(&mut a, ":theme neon<Enter>");
    assert_eq!(a.theme.name, "dark");
    let msg = a.state.message.clone().expect("a message");
    assert!(msg.text.contains("no theme named 'neon'"), "{msg:?}");
    // Unknown commands say so.
    type_keys(&mut a, ":fly<Enter>");
    assert!(
        a.state
            .message
            .expect("a message")
            .text
            .contains("unknown command ':fly'")
    );
}

#[test]
fn quit_from_palette_and_tabs_keys() {
    let mut a = app();
    type_keys(&mut a, "2");
    assert!(
        a.state
            .message
            .clone()
            .expect("message")
            .text
            .contains("no tab 2")
    );
    type_keys(&mut a, "gt");
    assert_eq!(a.state.tabs.active(), 0, "one tab: next wraps to itself");
    a.dispatch(ctrl('x'));
    assert!(
        a.state
            .message
            .clone()
            .expect("message")
            .text
            .contains("Fleet tab stays open")
    );
    type_keys(&mut a, ":quit<Enter>");
    assert!(a.state.quit);
}

#[test]
fn refresh_reports_and_stale_results_are_dropped() {
    use crate::aws::{AwsError, Inventory, InventoryProblem, Target};
    let mut a = app();
    // A report for a refresh that is not the one in flight changes nothing.
    a.state.refresh.in_flight = Some(2);
    let key = a.services.cache_key();
    a.update(Action::InventoryFetched {
        generation: 1,
        key: key.clone(),
        clients: Vec::new(),
        inventory: Box::new(Inventory::default()),
    });
    assert_eq!(a.state.refresh.in_flight, Some(2));
    // The current one with only a throttling problem keeps the rows and says what happened.
    let target = Target {
        profile: None,
        region: "us-east-1".into(),
    };
    a.update(Action::InventoryFetched {
        generation: 2,
        key,
        clients: Vec::new(),
        inventory: Box::new(Inventory {
            instances: Vec::new(),
            problems: vec![InventoryProblem {
                target,
                error: AwsError::Throttled {
                    target: "default/us-east-1".into(),
                    operation: "ec2:DescribeInstances",
                },
            }],
            fetched_at: Some(now()),
        }),
    });
    assert_eq!(a.state.refresh.in_flight, None);
    assert!(a.state.refresh.throttled);
    assert_eq!(
        a.state.fleet.instances().len(),
        fleet().len(),
        "previous rows kept"
    );
    let text = screen(&render(&mut a, (160, 40)), None);
    assert!(text.contains("was throttled and retries ran out"), "{text}");
    assert!(text.contains("Showing the previous inventory"), "{text}");
    assert!(text.contains("▲ throttled"), "{text}");
    assert!(text.contains("✖ 1 error"), "{text}");
}

#[test]
fn config_theme_and_keymap_overrides_apply_and_mistakes_are_flashed_with_lines() {
    use crate::aws::{CallStats, ClientOptions};
    let text = "[tui]\ntag_columns = [\"Team\"]\n\n[theme]\nname = \"light\"\nroles = { match = { fg = \"magenta\" } }\n\n[keymap]\nfleet = [\n  { on = \"x\", run = \"sort.next\" },\n  { on = \"y\", run = \"teleport\" },\n]\n";
    let config = crate::config::Config::parse(text, std::path::Path::new("/etc/fd/config.toml"))
        .expect("valid config");
    let mut a = super::build_app(
        super::Launch {
            clients: Vec::new(),
            options: ClientOptions::new(None),
            stats: std::sync::Arc::new(CallStats::default()),
            config,
            cache: None,
            label: Some("test".into()),
            notice: None,
        },
        None,
    );
    assert_eq!(a.theme.name, "light");
    assert_eq!(
        a.theme.style(Role::Match).fg,
        Some(ratatui::style::Color::Magenta)
    );
    assert_eq!(a.state.tag_columns, ["Team"]);
    let msg = a
        .state
        .message
        .clone()
        .expect("the bad binding is reported");
    assert!(
        msg.text
            .contains("/etc/fd/config.toml:11: unknown command 'teleport'"),
        "{msg:?}"
    );
    a.state.fleet = FleetState::new(fleet());
    type_keys(&mut a, "x");
    assert_eq!(
        a.state.fleet.sort.column,
        Some(super::action::SortColumn::Name)
    );
}

/// Output a shell session might send: a coloured prompt, a command and its output.
const RECORDED: &[u8] = b"\x1b[?2004h\x1b[32mssm-user@pay-api-prod-1\x1b[0m:~$ echo $((6*7))\r\n42\r\n\x1b[32mssm-user@pay-api-prod-1\x1b[0m:~$ ls -1 /etc | head -3\r\nadduser.conf\r\nalternatives\r\napt\r\n\x1b[32mssm-user@pay-api-prod-1\x1b[0m:~$ ";

fn open_shell_on(a: &mut App, name: &str) -> u64 {
    let position = names(a)
        .iter()
        .position(|n| n == name)
        .expect("host in fixture");
    a.state.fleet.move_to(position);
    type_keys(a, "<Enter>");
    a.state.tabs.active_shell().expect("a shell tab opened")
}

#[test]
fn shell_tab_mid_session() {
    let mut a = app();
    render(&mut a, (100, 30));
    let id = open_shell_on(&mut a, "pay-api-prod-1");
    a.update(Action::ShellStateChanged {
        tab: id,
        state: crate::channel::SessionState::Live,
    });
    a.update(Action::ShellOutput {
        tab: id,
        bytes: bytes::Bytes::from_static(RECORDED),
    });
    snap("shell_live", &mut a, (100, 30));
    // The tab's screen follows the layout: everything but the 5 lines of chrome.
    assert_eq!(a.state.shells[&id].screen.size(), (25, 100));
    render(&mut a, (160, 40));
    assert_eq!(a.state.shells[&id].screen.size(), (35, 160));
    assert!(a.state.shells[&id].screen.bracketed_paste());
}

#[test]
fn shell_keys_go_to_the_shell_except_the_escape_chord() {
    let mut a = app();
    render(&mut a, (100, 30));
    open_shell_on(&mut a, "pay-api-prod-1");
    let send = |a: &mut App, ev: Event| -> Vec<u8> {
        match a.handle_event(ev).as_slice() {
            [Action::ShellKeys(b)] => b.clone(),
            other => panic!("expected keys for the shell, got {other:?}"),
        }
    };
    assert_eq!(send(&mut a, key(KeyCode::Char('q'))), b"q");
    assert_eq!(send(&mut a, key(KeyCode::Char('1'))), b"1");
    assert_eq!(send(&mut a, ctrl('c')), b"\x03");
    assert_eq!(send(&mut a, ctrl('d')), b"\x04");
    assert_eq!(send(&mut a, key(KeyCode::Up)), b"\x1b[A");
    assert_eq!(
        send(&mut a, Event::Paste("ls\n".into())),
        b"ls\r",
        "no bracketed paste until the remote asks"
    );
    assert!(!a.state.quit);
    // Ctrl-] arrives from legacy terminals as Ctrl-5; then `1` goes back to the fleet.
    a.dispatch(ctrl('5'));
    assert_eq!(
        a.state.pending.len(),
        1,
        "the chord waits for its second key"
    );
    let buffer = render(&mut a, (100, 30));
    let footer = screen(&buffer, None);
    assert!(
        footer.contains("Ctrl-]… 1 Back to the fleet"),
        "which-key hint:\n{footer}"
    );
    a.dispatch(key(KeyCode::Char('1')));
    assert_eq!(a.state.tabs.active(), 0);
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Fleet);
    // Number keys in the fleet go back to the shell tab.
    type_keys(&mut a, "2");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Shell);
    // Scroll mode: Ctrl-] [ , then Esc leaves.
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "[");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Scroll);
    assert!(a.handle_event(key(KeyCode::Char('x'))).is_empty());
    type_keys(&mut a, "<Esc>");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Shell);
    // Ctrl-] x closes the tab.
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "x");
    assert_eq!(a.state.tabs.tabs().len(), 1);
    assert!(a.state.shells.is_empty());
}

#[test]
fn shell_tab_titles_show_state_and_blocked_hosts_say_why() {
    use crate::channel::SessionState;
    let mut a = app();
    render(&mut a, (160, 40));
    // A ConnectionLost host: no tab, the diagnosis' sentence instead.
    let before = a.state.tabs.tabs().len();
    let position = names(&a)
        .iter()
        .position(|n| n == "api-prod-2")
        .expect("host");
    a.state.fleet.move_to(position);
    type_keys(&mut a, "<Enter>");
    assert_eq!(
        a.state.tabs.tabs().len(),
        before,
        "no tab for a blocked host"
    );
    let text = a.state.message.as_ref().expect("a message").text.clone();
    assert!(text.starts_with("api-prod-2: no shell: "), "{text}");
    assert!(text.contains("ConnectionLost"), "{text}");

    let one = open_shell_on(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "\u{1d}"); // not a chord: a plain character
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1");
    let two = open_shell_on(&mut a, "web-win-prod-1");
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1");
    let three = open_shell_on(&mut a, "pay-worker-staging-1");
    a.update(Action::ShellStateChanged {
        tab: one,
        state: SessionState::Reconnecting,
    });
    a.update(Action::ShellStateChanged {
        tab: two,
        state: SessionState::Closed {
            reason: "exit status 0".into(),
        },
    });
    let _ = three;
    let buffer = render(&mut a, (160, 40));
    let text = screen(&buffer, None);
    let bar = text.lines().nth(2).expect("tab bar");
    insta::assert_snapshot!("shell_tab_titles", bar);
    assert!(
        text.contains("session closed: exit status 0"),
        "the message line says why:\n{text}"
    );
}

mod layout;
mod measure;
mod run;
mod runs;
mod sessions;
mod tunnels;

#[test]
fn quitting_with_a_live_session_asks_first() {
    let mut a = app();
    render(&mut a, (160, 40));
    let tab = open_shell_on(&mut a, "pay-api-prod-1");
    a.update(Action::ShellStateChanged {
        tab,
        state: crate::channel::SessionState::Live,
    });
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1q");
    assert!(!a.state.quit, "the first q only asks");
    let text = a.state.message.clone().expect("a message").text;
    assert!(text.contains("1 session open: q again"), "{text}");
    type_keys(&mut a, "q");
    assert!(a.state.quit, "the second q quits");

    // Once the session is closed there is nothing to lose: one q quits.
    let mut a = app();
    render(&mut a, (160, 40));
    let tab = open_shell_on(&mut a, "pay-api-prod-1");
    a.update(Action::ShellStateChanged {
        tab,
        state: crate::channel::SessionState::Closed {
            reason: "exit".into(),
        },
    });
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1q");
    assert!(a.state.quit);
}
