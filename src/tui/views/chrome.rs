//! The frame around the table: header, tab bar, filter line, key hints and the message line.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::tabstrip::{self, Label};
use super::text::clip;
use super::{Ctx, SPINNER, fit};
use crate::format::age;
use crate::tui::keymap::{Mode, keys_label};
use crate::tui::state::tabs::TabKind;
use crate::tui::state::{AppState, Level, TabStatus};
use crate::tui::theme::Role;

pub fn header(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let muted = t.style(Role::Muted);
    let mut left = vec![Span::styled(" fleetdeck ", t.style(Role::Title))];
    if let Some(label) = &s.scope.label {
        left.push(Span::styled(format!("[{label}] "), t.style(Role::Accent)));
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    left.push(Span::styled("profile ", muted));
    left.push(Span::raw(list(&s.scope.profiles)));
    left.push(Span::styled("  region ", muted));
    left.push(Span::raw(list(&s.scope.regions)));
    if let Some(endpoint) = &s.scope.endpoint {
        left.push(Span::styled("  endpoint ", muted));
        left.push(Span::raw(endpoint.clone()));
    }

    let r = &s.refresh;
    // The right part in ever shorter forms; the first that fits beside the left part is drawn.
    let spinner = r.in_flight.is_some().then(|| {
        Span::styled(
            format!("{} refreshing  ", SPINNER[r.spinner % SPINNER.len()]),
            t.style(Role::Accent),
        )
    });
    let with_spinner = |text: Option<String>| -> Line<'static> {
        let mut spans: Vec<Span> = spinner.iter().cloned().collect();
        spans.extend(text.map(|text| Span::styled(text, muted)));
        Line::from(spans)
    };
    let rights: Vec<Line> = match r.fetched_at {
        Some(at) => {
            let source = if r.from_cache { "cached" } else { "refreshed" };
            let ago = age(at, s.now);
            vec![
                with_spinner(Some(format!(
                    "{source} {ago} ago ({}) ",
                    at.format("%H:%M:%S")
                ))),
                with_spinner(Some(format!("{source} {ago} ago "))),
                with_spinner(Some(format!("{ago} ago "))),
                Line::from(Span::styled(format!("{ago} ago "), muted)),
            ]
        }
        None if r.in_flight.is_some() => vec![with_spinner(None)],
        None => vec![with_spinner(Some("not read yet ".into()))],
    };

    let c = s.fleet.counts();
    let dot = |role, n: usize, what: &str| {
        vec![
            Span::styled("● ", t.style(role)),
            Span::raw(format!("{n} {what}  ")),
        ]
    };
    let mut counts = vec![Span::raw(" ")];
    counts.extend(dot(Role::HealthOnline, c.online, "online"));
    counts.extend(dot(Role::HealthLost, c.connection_lost, "lost"));
    counts.extend(dot(Role::HealthInactive, c.inactive, "inactive"));
    counts.extend(dot(Role::HealthUnmanaged, c.not_managed, "unmanaged"));
    if c.unknown > 0 {
        counts.extend(dot(Role::HealthUnknown, c.unknown, "unknown"));
    }
    counts.push(Span::styled("■ ", muted));
    counts.push(Span::raw(format!("{} stopped", c.stopped)));

    let mut trouble = Vec::new();
    if r.throttled {
        trouble.push(Span::styled("▲ throttled ", t.style(Role::Warn)));
    }
    if r.retries > 0 {
        trouble.push(Span::styled(
            format!("{} retried requests ", r.retries),
            t.style(Role::Warn),
        ));
    }
    if !r.problems.is_empty() {
        let n = r.problems.len();
        trouble.push(Span::styled(
            format!("✖ {n} error{} ", if n == 1 { "" } else { "s" }),
            t.style(Role::Error),
        ));
    }

    let second = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    left_first(frame, Rect { height: 1, ..area }, Line::from(left), rights);
    left_right(frame, second, Line::from(counts), Line::from(trouble));
}

/// One line with `left` and `right` parts; the right part wins when space is short, and the left
/// part then ends in `…` a column before it, so the two never run into each other.
fn left_right(frame: &mut Frame, area: Rect, left: Line, right: Line) {
    let rw = u16::try_from(right.width())
        .unwrap_or(u16::MAX)
        .min(area.width);
    let room = area.width - rw;
    let left_room = if rw > 0 && left.width() > usize::from(room) {
        room.saturating_sub(1)
    } else {
        room
    };
    let left_area = Rect {
        width: left_room,
        ..area
    };
    let right_area = Rect {
        x: area.x + room,
        width: rw,
        ..area
    };
    frame.render_widget(
        Paragraph::new(clip(left, usize::from(left_room))),
        left_area,
    );
    frame.render_widget(
        Paragraph::new(right).alignment(Alignment::Right),
        right_area,
    );
}

/// One line whose `left` part wins: the first of `rights` (longest first) that fits beside it
/// with a gap of two columns is drawn, else none.
fn left_first(frame: &mut Frame, area: Rect, left: Line, rights: Vec<Line>) {
    let width = usize::from(area.width);
    let right = rights
        .into_iter()
        .find(|r| left.width() + 2 + r.width() <= width)
        .unwrap_or_default();
    left_right(frame, area, left, right);
}

pub fn tab_bar(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let labels: Vec<Label> = s
        .tabs
        .tabs()
        .iter()
        .enumerate()
        .map(|(i, tab)| tab_label(i, tab, s))
        .collect();
    let help = s
        .overlays
        .iter()
        .any(|o| matches!(o, crate::tui::state::Overlay::Help { .. }));
    let room = usize::from(area.width).saturating_sub(if help { 6 } else { 0 });
    let strip = tabstrip::layout(&labels, s.tabs.active(), room);
    let mut spans = Vec::new();
    if strip.hidden_left > 0 {
        spans.push(Span::styled(
            format!("‹{} ", strip.hidden_left),
            t.style(Role::Accent),
        ));
    }
    for (title, active) in strip.tabs {
        let role = if active {
            Role::TabActive
        } else {
            Role::TabInactive
        };
        spans.push(Span::styled(title, t.style(role)));
        spans.push(Span::raw(" "));
    }
    if strip.hidden_right > 0 {
        spans.push(Span::styled(
            format!("{}› ", strip.hidden_right),
            t.style(Role::Accent),
        ));
    }
    if help {
        spans.push(Span::styled(" help ", t.style(Role::Accent)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A tab's number, title and status (session state, host count, progress, busy or failed).
fn tab_label(i: usize, tab: &crate::tui::state::tabs::Tab, s: &AppState) -> Label {
    let mut status = String::new();
    if let TabKind::Shell(id) = tab.kind
        && let Some(shell) = s.shells.get(&id)
    {
        status = format!(" · {}", fit(&shell.state_label(), 40));
        if shell.scrolling {
            status.push_str(" · scroll");
        }
    }
    if i == 0 {
        status.push_str(&format!(" {}", s.fleet.instances().len()));
    }
    if let TabKind::Run(id) = tab.kind
        && let Some(run) = s.runs.get(&id)
    {
        status.push_str(&format!(" · {}/{}", run.counts.done(), run.counts.total));
    }
    match &tab.status {
        TabStatus::Busy => {
            status.push_str(&format!(" {}", SPINNER[s.refresh.spinner % SPINNER.len()]))
        }
        TabStatus::Failed(_) => status.push_str(" ✖"),
        TabStatus::Idle => {}
    }
    Label {
        number: i + 1,
        title: tab.title.clone(),
        status,
    }
}

pub fn filter_line(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let f = &s.fleet;
    let mut spans = vec![Span::styled(" / ", t.style(Role::Key))];
    if f.editing || !f.input.is_empty() {
        let role = if f.query_error.is_some() {
            Role::Error
        } else {
            Role::Base
        };
        spans.push(Span::styled(f.input.clone(), t.style(role)));
        if f.editing {
            spans.push(Span::styled("▏", t.style(Role::Accent)));
        }
    } else {
        let key = ctx
            .keymap
            .key_for(Mode::Fleet, "fleet.filter")
            .unwrap_or_else(|| "/".into());
        spans.push(Span::styled(
            format!("press {key} to filter: pay, tag:Env=prod, ping:lost, platform:win, region:eu"),
            t.style(Role::Hint),
        ));
    }
    let sort = match f.sort.column {
        Some(c) => format!(
            "sort {} {}",
            c.as_str(),
            if f.sort.reverse { "▼" } else { "▲" }
        ),
        None if !f.query().text.is_empty() => "best match first".to_owned(),
        None if f.sort.reverse => "sort name ▼".to_owned(),
        None => "sort name ▲".to_owned(),
    };
    let marked = if f.marked.is_empty() {
        String::new()
    } else {
        format!(" · {} marked", f.marked.len())
    };
    let right = format!(
        "{} of {}{marked} · {sort} ",
        f.rows().len(),
        f.instances().len()
    );
    left_right(
        frame,
        area,
        Line::from(spans),
        Line::from(Span::styled(right, t.style(Role::Muted))),
    );
}

/// Key hints for the keys that work here, from the keymap; a chord in progress shows its
/// continuations instead (which-key).
pub fn hints(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let mode = s.mode();
    let mut spans = vec![Span::raw(" ")];
    let mut width = 1usize;
    let mut push = |spans: &mut Vec<Span>, key: String, desc: &str| -> bool {
        let desc = short_desc(desc);
        let w = key.chars().count() + desc.chars().count() + 3;
        if width + w > usize::from(area.width) {
            return false;
        }
        width += w;
        spans.push(Span::styled(key, t.style(Role::Key)));
        spans.push(Span::styled(format!(" {desc}  "), t.style(Role::Hint)));
        true
    };
    if !s.pending.is_empty() {
        let pending = &s.pending;
        spans.push(Span::styled(
            format!("{}… ", keys_label(pending)),
            t.style(Role::Accent),
        ));
        for b in ctx.keymap.continuations(mode, pending) {
            if !push(&mut spans, keys_label(&b.keys[pending.len()..]), &b.desc) {
                break;
            }
        }
    } else if matches!(mode, Mode::Shell | Mode::Scroll) {
        shell_hints(&mut spans, &mut push, mode, ctx);
    } else {
        let mut seen: Vec<&str> = Vec::new();
        let layers: &[Mode] = if mode == Mode::Fleet {
            &[Mode::Fleet, Mode::Global]
        } else {
            &[mode]
        };
        for b in layers.iter().flat_map(|m| ctx.keymap.bindings(*m)) {
            // One hint per command; tab numbers are one hint.
            let family = if b.run.starts_with("tab.goto") {
                "tab.goto"
            } else {
                b.run.as_str()
            };
            if seen.contains(&family) || family.starts_with("move.") && b.run != "move.down" {
                continue;
            }
            seen.push(family);
            let (key, desc) = match family {
                "tab.goto" => ("1-9".to_owned(), "Tab"),
                "move.down" => ("j/k".to_owned(), "Move"),
                _ => (keys_label(&b.keys), b.desc.as_str()),
            };
            if !push(&mut spans, key, desc) {
                break;
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// In a shell tab: the escape chord and what follows it (scroll mode: its own keys first).
fn shell_hints(
    spans: &mut Vec<Span<'static>>,
    push: &mut impl FnMut(&mut Vec<Span<'static>>, String, &str) -> bool,
    mode: Mode,
    ctx: &Ctx,
) {
    let t = ctx.theme;
    if mode == Mode::Scroll {
        let scroll = ctx
            .state
            .active_shell()
            .map_or(0, |s| s.screen.scrollback());
        spans.push(Span::styled(
            format!("scroll {scroll} up  "),
            t.style(Role::Accent),
        ));
        let mut seen: Vec<&str> = Vec::new();
        for b in ctx.keymap.bindings(Mode::Scroll) {
            if seen.contains(&b.run.as_str()) {
                continue;
            }
            seen.push(b.run.as_str());
            if !push(spans, keys_label(&b.keys), &b.desc) {
                return;
            }
        }
        return;
    }
    let Some(prefix) = ctx.keymap.bindings(Mode::Shell).next().map(|b| b.keys[0]) else {
        return;
    };
    spans.push(Span::styled(
        format!("keys go to the shell · {prefix} then: "),
        t.style(Role::Hint),
    ));
    let mut seen: Vec<&str> = Vec::new();
    for b in ctx.keymap.continuations(Mode::Shell, &[prefix]) {
        let family = if b.run.starts_with("tab.goto") {
            "tab.goto"
        } else {
            b.run.as_str()
        };
        if seen.contains(&family) {
            continue;
        }
        seen.push(family);
        let (key, desc) = match family {
            "tab.goto" => ("1-9".to_owned(), "Tab"),
            _ => (keys_label(&b.keys[1..]), b.desc.as_str()),
        };
        if !push(spans, key, desc) {
            return;
        }
    }
}

/// The first words of a description, for the footer.
fn short_desc(desc: &str) -> String {
    let head = desc.split([':', '(', ',']).next().unwrap_or(desc).trim();
    fit(head, 28)
}

pub fn message(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (ctx.state, ctx.theme);
    let (role, text) = if let Some(err) = &s.fleet.query_error {
        (Role::Error, format!(" ✖ {err}"))
    } else {
        match &s.message {
            Some(m) => match m.level {
                Level::Info => (Role::Base, format!(" {}", m.text)),
                Level::Warn => (Role::Warn, format!(" ▲ {}", m.text)),
                Level::Error => (Role::Error, format!(" ✖ {}", m.text)),
            },
            None => return,
        }
    };
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&text, usize::from(area.width)),
            t.style(role),
        )),
        area,
    );
}
