//! Tunnels in the console: the open-tunnel form (keys, presets, validation), the Tunnels tab
//! with live counts, close and restart; and an ssh tab running a stand-in for ssh in a real PTY.

use std::net::SocketAddr;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;

use super::*;
use crate::tui::state::tunnels::TunnelCounts;
use crate::tui::state::{TabKind, TabStatus, TunnelForm};
use crate::tunnel::TunnelState;

fn alt(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}

fn select(a: &mut App, name: &str) {
    let position = names(a)
        .iter()
        .position(|n| n == name)
        .expect("host in fixture");
    a.state.fleet.move_to(position);
}

fn form(a: &App) -> &TunnelForm {
    match a.state.top_overlay() {
        Some(Overlay::TunnelForm(f)) => f,
        other => panic!("no tunnel form on top: {other:?}"),
    }
}

/// Opens a tunnel through `name` to `port` (on `host`) with the form, as a user types it.
fn open_tunnel(a: &mut App, name: &str, port: &str, host: &str) -> u64 {
    a.update(Action::GotoTab(1));
    select(a, name);
    type_keys(a, "t");
    type_keys(a, port);
    type_keys(a, "<Tab>");
    type_keys(a, host);
    type_keys(a, "<Enter>");
    a.state.tunnels.rows.last().expect("a tunnel row").id
}

#[test]
fn form_with_a_preset_and_a_validation_error() {
    let mut a = app();
    render(&mut a, (100, 30));
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "t");
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::TunnelForm);
    a.dispatch(alt('3'));
    assert_eq!(form(&a).remote_port, "5432");
    type_keys(&mut a, "<Tab>db.internal");
    snap("tunnel_form", &mut a, (100, 30));

    // The local port takes digits only; a bad port is refused with a sentence, in the form.
    type_keys(&mut a, "<Tab><BS>99999");
    type_keys(&mut a, "x");
    assert!(
        form(&a)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("is a number")
    );
    type_keys(&mut a, "<Enter>");
    assert!(
        form(&a)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("'99999' is not a port")
    );
    assert!(a.state.tunnels.rows.is_empty(), "nothing opened");
    snap("tunnel_form_error", &mut a, (100, 30));
    type_keys(&mut a, "<Esc>");
    assert!(a.state.overlays.is_empty());
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Fleet);
}

#[test]
fn presets_cycle_with_arrows_and_empty_port_is_refused() {
    let mut a = app();
    select(&mut a, "api-prod-1");
    type_keys(&mut a, "t<Enter>");
    assert!(
        form(&a)
            .error
            .as_deref()
            .unwrap_or("")
            .contains("type a remote port")
    );
    type_keys(&mut a, "<Down>");
    assert_eq!(form(&a).remote_port, "22");
    type_keys(&mut a, "<Down><Down>");
    assert_eq!(form(&a).remote_port, "5432");
    type_keys(&mut a, "<Up>");
    assert_eq!(form(&a).remote_port, "3306");
}

#[test]
fn enter_lists_the_tunnel_close_removes_it_restart_starts_a_failed_one_again() {
    let mut a = app();
    render(&mut a, (100, 30));
    let id = open_tunnel(&mut a, "pay-api-prod-1", "6379", "");
    assert_eq!(a.state.tabs.active_kind(), &TabKind::Tunnels);
    assert_eq!(a.state.mode(), crate::tui::keymap::Mode::Tunnels);
    let row = a.state.tunnels.selected_row().expect("listed").clone();
    assert_eq!(row.destination(), "localhost:6379");
    assert_eq!(row.remote_host, None);
    assert_eq!(row.state, TunnelState::Starting);
    let spec = &a.services.tunnels.links[&id].spec;
    assert!(spec.bind.is_loopback(), "listens on 127.0.0.1 only");
    assert_eq!(spec.local_port, 0);

    // The tunnels keep going while the user is elsewhere; T comes back to them.
    type_keys(&mut a, "<Esc>");
    assert_eq!(a.state.tabs.active(), 0);
    let id2 = open_tunnel(&mut a, "api-prod-1", "5432", "db.internal");
    type_keys(&mut a, "1T");
    assert_eq!(a.state.tabs.active_kind(), &TabKind::Tunnels);
    assert_eq!(a.state.tunnels.rows.len(), 2);
    assert_eq!(
        a.state
            .tabs
            .tabs()
            .iter()
            .filter(|t| t.kind == TabKind::Tunnels)
            .count(),
        1,
        "one Tunnels tab"
    );

    // A failed tunnel marks the tab; r starts it again.
    a.update(Action::TunnelStateChanged {
        id: id2,
        state: TunnelState::Failed {
            why: "TargetNotConnected".into(),
        },
    });
    let tab = a.state.tabs.active_tab().clone();
    assert!(matches!(tab.status, TabStatus::Failed(_)), "{tab:?}");
    assert!(
        a.state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("TargetNotConnected")),
        "{:?}",
        a.state.message
    );
    type_keys(&mut a, "r");
    assert_eq!(a.state.tunnels.rows[1].state, TunnelState::Starting);

    // d closes the selected one: gone from the list and from the app's tasks.
    type_keys(&mut a, "k");
    assert_eq!(a.state.tunnels.selected_row().map(|r| r.id), Some(id));
    type_keys(&mut a, "d");
    assert_eq!(a.state.tunnels.rows.len(), 1);
    assert!(!a.services.tunnels.links.contains_key(&id));
    type_keys(&mut a, "x");
    assert!(a.state.tunnels.rows.is_empty());
    assert_eq!(a.state.tabs.active_tab().title, "tunnels 0");
}

#[test]
fn blocked_hosts_get_no_form_and_the_palette_fills_it_in() {
    let mut a = app();
    select(&mut a, "batch-dev-1");
    type_keys(&mut a, "t");
    assert!(a.state.overlays.is_empty());
    assert!(
        a.state
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("no tunnel")),
        "{:?}",
        a.state.message
    );
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, ":tunnel 5432 db.internal<Enter>");
    let f = form(&a);
    assert_eq!(
        (f.remote_port.as_str(), f.remote_host.as_str()),
        ("5432", "db.internal")
    );
    type_keys(&mut a, "<Enter>");
    assert_eq!(a.state.tunnels.rows[0].destination(), "db.internal:5432");
}

#[test]
fn tunnels_view_with_live_counts() {
    let mut a = app();
    render(&mut a, (160, 40));
    let one = open_tunnel(&mut a, "pay-api-prod-1", "5432", "db.internal");
    let two = open_tunnel(&mut a, "api-prod-1", "22", "");
    let three = open_tunnel(&mut a, "pay-api-prod-1", "6379", "");
    let addr = |p: u16| Some(SocketAddr::from(([127, 0, 0, 1], p)));
    for (id, port, state) in [
        (one, 54321, TunnelState::Listening),
        (
            two,
            54322,
            TunnelState::Reconnecting {
                attempt: 2,
                why: "a new session failed: throttled".into(),
            },
        ),
        (
            three,
            54323,
            TunnelState::Failed {
                why: "TargetNotConnected: the agent is not connected".into(),
            },
        ),
    ] {
        let row = a.state.tunnels.row_mut(id).expect("row");
        row.local_addr = addr(port);
        a.update(Action::TunnelStateChanged { id, state });
    }
    let row = a.state.tunnels.row_mut(one).expect("row");
    row.counts = TunnelCounts {
        bytes_in: 5 * 1024 * 1024 + 300_000,
        bytes_out: 2048,
        open: 3,
        total: 17,
        connect_errors: 0,
        restarts: 1,
    };
    a.state.now = now() + Duration::seconds(3725);
    a.state.tunnels.selected = 0;
    a.state.message = None;
    snap("tunnels", &mut a, (160, 40));
    snap("tunnels", &mut a, (100, 30));
}

/// A stand-in for ssh: prints its arguments, asks for a line, echoes it, exits.
const FAKE_SSH: &str = "#!/bin/sh\nprintf 'argv:'\nfor a in \"$@\"; do printf ' [%s]' \"$a\"; done\nprintf '\\n'\nprintf 'say something: '\nread line\nprintf 'got: %s\\n' \"$line\"\n";

/// Applies reports from the PTY's threads until `done` holds (or the deadline passes).
fn pump_until(
    a: &mut App,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while !done(a) {
        match rx.try_recv() {
            Ok(action) => a.update(action),
            Err(_) => {
                let text = a.state.active_shell().map(|s| s.screen.text());
                assert!(Instant::now() < deadline, "no {what}; screen: {text:?}");
                std::thread::sleep(StdDuration::from_millis(10));
            }
        }
    }
}

#[test]
fn ssh_tab_runs_the_users_ssh_through_the_proxy_and_is_interactive() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("fake-ssh");
    std::fs::write(&script, FAKE_SSH).expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let mut a = app();
    render(&mut a, (160, 40));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    a.services.tx = Some(tx);
    a.services.ssh = crate::tui::ssh::SshSettings {
        program: script.display().to_string(),
        user: Some("ec2-user".into()),
        exe: "/usr/local/bin/fleetdeck".into(),
        endpoint: Some("http://127.0.0.1:4566".into()),
        credentials: None,
    };
    select(&mut a, "pay-api-prod-1");
    type_keys(&mut a, "gs");
    let id = a.state.tabs.active_shell().expect("an ssh tab");
    assert_eq!(a.state.tabs.active_tab().title, "ssh pay-api-prod-1");
    let instance = a.state.shells[&id].instance_id.clone();
    let text = |a: &App| a.state.shells[&id].screen.text();
    pump_until(&mut a, &mut rx, "prompt", |a| {
        text(a).contains("say something:")
    });
    let screen = text(&a).replace('\n', "");
    assert!(
        screen.contains(&format!("[ec2-user@{instance}]")),
        "{screen}"
    );
    assert!(
        screen.contains("[ProxyCommand=/usr/local/bin/fleetdeck --endpoint-url http://127.0.0.1:4566 --region us-east-1 proxy %h --port %p]"),
        "{screen}"
    );
    // Keys go to the program in the tab.
    type_keys(&mut a, "hello<Enter>");
    pump_until(&mut a, &mut rx, "echo", |a| text(a).contains("got: hello"));
    pump_until(&mut a, &mut rx, "exit", |a| a.state.shells[&id].is_closed());
    assert_eq!(a.state.shells[&id].state_label(), "closed: ssh exited");
}
