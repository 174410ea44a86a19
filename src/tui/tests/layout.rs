//! The console's layout where space is short: the tab bar keeps the active tab whole, tables
//! size their columns from what they hold, and the header's parts never run into each other.

use super::*;
use crate::channel::SessionState;

/// Nine online hosts with long names, like a real fleet's.
fn long_named_fleet() -> Vec<Instance> {
    (1..=9)
        .map(|n| {
            host(
                n,
                &format!("auth-api-production-node-{n:02}"),
                "us-east-1",
                InstanceState::Running,
                PingStatus::Online,
                Some(1),
                LATEST,
                LINUX,
                "prod",
            )
        })
        .collect()
}

/// Eight live shells (tabs 2–9) opened with Enter, going back to the fleet with `Ctrl-] 1`
/// between them; the last one is active.
fn eight_shells() -> (App, Vec<u64>) {
    let mut a = app_with(long_named_fleet());
    render(&mut a, (160, 40));
    let mut ids = Vec::new();
    for n in 1..=8 {
        let id = open_shell_on(&mut a, &format!("auth-api-production-node-{n:02}"));
        a.update(Action::ShellStateChanged {
            tab: id,
            state: SessionState::Live,
        });
        ids.push(id);
        if n < 8 {
            a.dispatch(ctrl(']'));
            type_keys(&mut a, "1");
        }
    }
    assert_eq!(a.state.tabs.tabs().len(), 9);
    (a, ids)
}

fn tab_bar(a: &mut App, size: (u16, u16)) -> String {
    let text = screen(&render(a, size), None);
    text.lines().nth(2).expect("a tab bar").to_owned()
}

#[test]
fn the_active_tab_is_whole_with_its_status_at_80_and_160_columns() {
    let (mut a, ids) = eight_shells();
    for size in [(80, 24), (160, 40)] {
        let bar = tab_bar(&mut a, size);
        assert!(
            bar.contains(" 9 auth-api-production-node-08 · live"),
            "{size:?}: {bar}"
        );
        assert!(bar.chars().count() <= usize::from(size.0), "{bar}");
    }
    // At 80 columns the bar scrolled: the tabs before are counted, not drawn.
    let bar = tab_bar(&mut a, (80, 24));
    assert!(bar.starts_with("‹"), "{bar}");
    assert!(
        !bar.contains("›"),
        "nothing hidden after the last tab: {bar}"
    );

    // A tab in the middle: hidden tabs on both sides at 80, the others shortened at 160.
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "5");
    assert_eq!(a.state.tabs.active(), 4);
    let bar = tab_bar(&mut a, (80, 24));
    assert!(
        bar.contains(" 5 auth-api-production-node-04 · live"),
        "{bar}"
    );
    assert!(bar.starts_with("‹") && bar.contains("›"), "{bar}");
    let bar = tab_bar(&mut a, (160, 40));
    assert!(
        bar.contains(" 5 auth-api-production-node-04 · live"),
        "{bar}"
    );
    assert!(bar.contains("…"), "other titles give way first: {bar}");

    // A closed session's reason stays in sight too.
    a.update(Action::ShellStateChanged {
        tab: ids[7],
        state: SessionState::Closed {
            reason: "exit status 0".into(),
        },
    });
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "9");
    let bar = tab_bar(&mut a, (80, 24));
    assert!(
        bar.contains(" 9 auth-api-production-node-08 · closed: exit status 0"),
        "{bar}"
    );
    // Back in the fleet the Fleet tab is whole and the shells follow it.
    a.dispatch(ctrl(']'));
    type_keys(&mut a, "1");
    let bar = tab_bar(&mut a, (80, 24));
    assert!(bar.starts_with(" 1 Fleet 9  "), "{bar}");
    assert!(bar.contains("›"), "{bar}");
}

#[test]
fn the_header_parts_never_run_into_each_other_at_60x12() {
    let mut a = app();
    a.state.refresh.fetched_at = Some(now() - Duration::minutes(4));
    a.state.refresh.throttled = true;
    let text = screen(&render(&mut a, (60, 12)), None);
    let mut lines = text.lines();
    let first = lines.next().expect("header");
    // No room for the refresh time beside the profile and regions: it goes.
    assert_eq!(
        first, " fleetdeck profile default  region us-east-1, eu-west-1",
        "{text}"
    );
    let second = lines.next().expect("counts");
    assert!(second.ends_with("… ▲ throttled"), "{text}");

    // With one region it fits in a short form, apart from the left part.
    a.state.scope.regions = vec!["us-east-1".into()];
    let text = screen(&render(&mut a, (60, 12)), None);
    let first = text.lines().next().expect("header");
    assert!(
        first.starts_with(" fleetdeck profile default  region us-east-1  "),
        "{text}"
    );
    assert!(first.ends_with(" 4m ago"), "{text}");
    let text = screen(&render(&mut a, (64, 12)), None);
    let first = text.lines().next().expect("header");
    assert!(first.contains("region us-east-1  "), "{text}");
    assert!(first.ends_with("  refreshed 4m ago"), "{text}");
    // Wide enough, the whole of it.
    let text = screen(&render(&mut a, (100, 30)), None);
    assert!(
        text.lines()
            .next()
            .expect("header")
            .ends_with("refreshed 4m ago (07:56:00)"),
        "{text}"
    );
}
