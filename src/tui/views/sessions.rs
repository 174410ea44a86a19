//! The Sessions tab (a table of session history with its filter line) and replay tabs (the
//! log played through the same terminal widget as live shells, a status line and a timeline).

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use tui_term::widget::{Cursor, PseudoTerminal};

use super::columns::{self, Spec, kept, width};
use super::{Ctx, SPINNER, fit};
use crate::replay::SessionSummary;
use crate::tui::keymap::Mode;
use crate::tui::state::sessions::Window;
use crate::tui::state::{ReplayTab, TerminateConfirm};
use crate::tui::theme::Role;

pub fn filter_line(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.sessions, ctx.theme);
    let mut spans = vec![Span::styled(" / ", t.style(Role::Key))];
    if s.editing || !s.input.is_empty() {
        spans.push(Span::styled(s.input.clone(), t.style(Role::Base)));
        if s.editing {
            spans.push(Span::styled("▏", t.style(Role::Accent)));
        }
    } else {
        let key = ctx
            .keymap
            .key_for(Mode::Sessions, "fleet.filter")
            .unwrap_or_else(|| "/".into());
        spans.push(Span::styled(
            format!("press {key} to filter: who, host, instance id, status"),
            t.style(Role::Hint),
        ));
    }
    let key = |run: &str| ctx.keymap.key_for(Mode::Sessions, run).unwrap_or_default();
    let mut right = format!(
        " {} state {} · {} {} · {} of {} sessions ",
        key("sessions.state"),
        s.state_filter.label(),
        key("sessions.window"),
        s.window.label(),
        s.rows().len(),
        s.sessions().len()
    );
    if s.loading.is_some() {
        let spin = SPINNER[ctx.state.refresh.spinner % SPINNER.len()];
        right = format!("{spin} reading history · {right}");
    }
    let [left_area, right_area] = ratatui::layout::Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(u16::try_from(right.chars().count()).unwrap_or(20)),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(
        Paragraph::new(Span::styled(right, t.style(Role::Muted))),
        right_area,
    );
}

pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

pub fn span(d: Option<chrono::Duration>) -> String {
    d.map_or_else(|| "—".into(), crate::format::duration)
}

pub fn table(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.sessions, ctx.theme);
    if s.rows().is_empty() {
        let text = if s.loading.is_some() && !s.loaded {
            "reading the session history …".to_owned()
        } else if s.sessions().is_empty() {
            "no sessions in the history of these profiles and regions".to_owned()
        } else {
            let when = match s.window {
                Window::All => "at any time".to_owned(),
                w => format!("in the {}", w.label()),
            };
            let state = s.state_filter.label();
            if s.input.is_empty() {
                let n = s.sessions().len();
                let key = |run: &str| ctx.keymap.key_for(Mode::Sessions, run).unwrap_or_default();
                format!(
                    "no {state} sessions {when} ({n} in all: {} and {} change the filters)",
                    key("sessions.state"),
                    key("sessions.window")
                )
            } else {
                format!("no {state} session {when} matches '{}'", s.input)
            }
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), t.style(Role::Muted))),
            area,
        );
        return;
    }
    const TITLES: [&str; 7] = [
        "WHO",
        "HOST",
        "START (UTC)",
        "END (UTC)",
        "DURATION",
        "STATUS",
        "LOG",
    ];
    let now = ctx.state.now;
    let end = |x: &SessionSummary| {
        if x.end.is_none() && x.state == crate::replay::SessionState::Active {
            "active".to_owned()
        } else {
            when(x.end)
        }
    };
    let host = |x: &SessionSummary| x.host_name.clone().unwrap_or_else(|| x.target.clone());
    // Widths from every filtered row, so they stay put while the selection scrolls.
    let all = || (0..s.rows().len()).filter_map(|i| s.row(i));
    let specs = [
        Spec::fixed(TITLES[0], all().map(|x| width(x.who())), 32).rank(0),
        Spec::flexible(TITLES[1], all().map(|x| width(&host(x))), 12).rank(1),
        Spec::fixed(TITLES[2], [19], 19).rank(2),
        Spec::fixed(TITLES[3], all().map(|x| width(&end(x))), 19).rank(4),
        Spec::fixed(TITLES[4], all().map(|x| width(&span(x.duration(now)))), 9).rank(5),
        Spec::fixed(TITLES[5], all().map(|x| width(&x.status)), 14).rank(3),
        Spec::fixed(TITLES[6], [3], 3).rank(6),
    ];
    let plan = columns::plan(&specs, usize::from(area.width), 1);
    let header = Row::new(kept(
        TITLES.map(|h| Cell::from(Span::styled(h, t.style(Role::Title)))),
        &plan,
    ));
    let w = |n: usize| plan[n].unwrap_or(0);
    let view = usize::from(area.height.saturating_sub(1)).max(1);
    let rows = (s.cursor.offset..s.rows().len().min(s.cursor.offset + view)).filter_map(|i| {
        let x: &SessionSummary = s.row(i)?;
        let status_role = match x.state {
            crate::replay::SessionState::Active => Role::Ok,
            crate::replay::SessionState::History => Role::Base,
        };
        let row = Row::new(kept(
            [
                Cell::from(fit(x.who(), w(0))),
                Cell::from(fit(&host(x), w(1))),
                Cell::from(when(x.start)),
                Cell::from(end(x)),
                Cell::from(span(x.duration(now))),
                Cell::from(Span::styled(fit(&x.status, w(5)), t.style(status_role))),
                Cell::from(if x.has_log() { "yes" } else { "—" }),
            ],
            &plan,
        ));
        Some(if i == s.cursor.selected {
            row.style(t.style(Role::Selection))
        } else {
            row
        })
    });
    frame.render_widget(
        Table::new(rows, columns::constraints(&plan))
            .header(header)
            .column_spacing(1)
            .style(t.style(Role::Base)),
        area,
    );
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The replay: the screen, then a status line and a one-line timeline with idle gaps.
pub fn replay(frame: &mut Frame, area: Rect, r: &ReplayTab, ctx: &Ctx) {
    let t = ctx.theme;
    let [screen, status, bar] = ratatui::layout::Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let Some(timeline) = &r.timeline else {
        let text = match &r.error {
            Some(e) => format!(" cannot replay {}: {e}", r.session_id),
            None => format!(
                " loading the log of {} on {} … {} events read",
                r.session_id, r.host, r.loaded_events
            ),
        };
        let role = if r.error.is_some() {
            Role::Error
        } else {
            Role::Muted
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, t.style(role)))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            screen,
        );
        return;
    };
    let mut cursor = Cursor::default();
    cursor.hide();
    frame.render_widget(
        PseudoTerminal::new(r.screen.screen())
            .cursor(cursor)
            .style(t.style(Role::Base)),
        screen,
    );
    if !r.query.is_empty() {
        highlight(frame, screen, &r.query, t.style(Role::Match));
    }
    let state = if r.finished() {
        "■ end"
    } else if r.playing {
        "▶"
    } else {
        "❚❚ paused"
    };
    let mut text = format!(
        " {state} {} / {} · {}x · {} · {} by {}",
        clock(r.position),
        clock(timeline.duration()),
        r.speed(),
        timeline.pacing.label(),
        r.session_id,
        r.who
    );
    if r.searching || !r.query.is_empty() {
        let at = r
            .current_match
            .map_or(String::new(), |i| format!("{}/", i + 1));
        text = format!(
            " /{}{} · {at}{} matches ·{}",
            r.query,
            if r.searching { "▏" } else { "" },
            r.matches.len(),
            text
        );
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&text, usize::from(status.width)),
            t.style(Role::Accent),
        )),
        status,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            timeline_bar(r, usize::from(bar.width)),
            t.style(Role::Muted),
        )),
        bar,
    );
}

/// `━` played, `─` to come, `·` idle stretches (≥ 2 s), `●` the position.
pub fn timeline_bar(r: &ReplayTab, width: usize) -> String {
    let Some(timeline) = &r.timeline else {
        return String::new();
    };
    let total = timeline.duration().as_secs_f64();
    if width == 0 {
        return String::new();
    }
    let cell = |d: Duration| -> usize {
        if total <= 0.0 {
            return 0;
        }
        ((d.as_secs_f64() / total) * (width - 1) as f64).round() as usize
    };
    let here = cell(r.position);
    let mut cells: Vec<char> = (0..width)
        .map(|i| if i < here { '━' } else { '─' })
        .collect();
    for gap in &r.gaps {
        for c in cells
            .iter_mut()
            .take(cell(gap.to).min(width))
            .skip(cell(gap.from) + 1)
        {
            *c = '·';
        }
    }
    if let Some(c) = cells.get_mut(here) {
        *c = '●';
    }
    cells.into_iter().collect()
}

/// Marks occurrences of `needle` (smart case) on the drawn screen.
fn highlight(frame: &mut Frame, area: Rect, needle: &str, style: ratatui::style::Style) {
    let fold = !needle.chars().any(char::is_uppercase);
    let needle: Vec<char> = if fold {
        needle.to_lowercase().chars().collect()
    } else {
        needle.chars().collect()
    };
    let buf = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        let row: Vec<char> = (area.left()..area.right())
            .map(|x| {
                let c = buf[(x, y)].symbol().chars().next().unwrap_or(' ');
                if fold { c.to_ascii_lowercase() } else { c }
            })
            .collect();
        if needle.is_empty() || needle.len() > row.len() {
            continue;
        }
        for start in 0..=row.len() - needle.len() {
            if row[start..start + needle.len()] == needle[..] {
                for x in start..start + needle.len() {
                    let x = area.left() + u16::try_from(x).unwrap_or(0);
                    let cell = &mut buf[(x, y)];
                    cell.set_style(cell.style().patch(style));
                }
            }
        }
    }
}

/// The confirm overlay of `x`: which session, whose, on which host, since when, and the short id
/// to type. Nothing is sent before it is typed.
pub fn terminate_confirm(frame: &mut Frame, area: Rect, c: &TerminateConfirm, ctx: &Ctx) {
    let t = ctx.theme;
    let width = area.width.saturating_sub(4).min(76);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + area.height.saturating_sub(12) / 2,
        width,
        height: 12.min(area.height),
    };
    let w = usize::from(width.saturating_sub(2));
    let s = &c.session;
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<9}"), t.style(Role::Muted)),
            Span::styled(fit(&value, w.saturating_sub(10)), t.style(Role::Base)),
        ])
    };
    let host = match &s.host_name {
        Some(h) => format!("{h} ({})", s.target),
        None => s.target.clone(),
    };
    let lines = vec![
        field("Session", s.session_id.clone()),
        // The whole identity (an ARN ends with the name the table shows).
        field("Owner", s.owner.clone()),
        field("Host", host),
        field("Where", format!("{} / {}", s.profile, s.region)),
        field(
            "Since",
            format!(
                "{} UTC · {}",
                when(s.start),
                span(s.duration(ctx.state.now))
            ),
        ),
        Line::from(""),
        Line::from(Span::styled(
            fit(
                &format!(
                    " The session ends for whoever is in it. Type {} to terminate it:",
                    c.short_id()
                ),
                w,
            ),
            t.style(Role::Danger),
        )),
        Line::from(vec![
            Span::styled(" > ", t.style(Role::Key)),
            Span::raw(c.typed.clone()),
            Span::styled("▏", t.style(Role::Accent)),
        ]),
        Line::from(Span::styled(
            fit(
                " Enter terminates once typed · Esc cancels (nothing sent)",
                w,
            ),
            t.style(Role::Hint),
        )),
    ];
    frame.render_widget(ratatui::widgets::Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            ratatui::widgets::Block::bordered()
                .title(Span::styled(" Terminate session? ", t.style(Role::Title)))
                .border_style(t.style(Role::Danger))
                .style(t.style(Role::Base)),
        ),
        rect,
    );
}
