//! Bulk runs: the confirm overlay (document, command, exact count, hosts, skipped hosts, the
//! typed count) and a run tab (progress bar, counts, per-host status, grouped outputs, the
//! output pane). Only the visible rows are built, so a 1,000-host run costs what 20 hosts do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Ctx, fit};
use crate::run::HostStatus;
use crate::tui::state::run::{ConfirmLine, RunConfirm, RunTab, plural};
use crate::tui::theme::Role;

pub fn status_role(s: HostStatus) -> Role {
    match s {
        HostStatus::Success => Role::Ok,
        s if s.is_failure() => Role::Error,
        HostStatus::Cancelling | HostStatus::Delayed => Role::Warn,
        _ => Role::Muted,
    }
}

pub fn confirm(frame: &mut Frame, area: Rect, c: &RunConfirm, ctx: &Ctx) {
    let t = ctx.theme;
    let rect = Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    };
    let w = usize::from(rect.width.saturating_sub(2));
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<10}"), t.style(Role::Muted)),
            Span::styled(fit(&value, w.saturating_sub(11)), t.style(Role::Base)),
        ])
    };
    let mut top = vec![
        field("Document", c.documents()),
        field("Command", c.plan.script().replace('\n', "; ")),
        field("Targets", c.summary()),
        field("Limits", c.rates()),
    ];
    if c.plan.skipped.is_empty() {
        top.push(Line::from(""));
    } else {
        top.push(Line::from(Span::styled(
            format!(
                " {} matching host{} will not be sent to (listed below)",
                c.plan.skipped.len(),
                plural(c.plan.skipped.len())
            ),
            t.style(Role::Warn),
        )));
    }
    let mut bottom: Vec<Line> = Vec::new();
    if c.plan.target_count == 0 {
        bottom.push(Line::from(Span::styled(
            " No host can take the command: nothing will be sent. Esc closes.",
            t.style(Role::Error),
        )));
    } else if let Some(need) = &c.confirmation {
        bottom.push(Line::from(Span::styled(
            fit(&format!(" {}", need.prompt().trim_end()), w),
            t.style(Role::Danger),
        )));
        bottom.push(Line::from(vec![
            Span::styled(" > ", t.style(Role::Key)),
            Span::raw(c.typed.clone()),
            Span::styled("▏", t.style(Role::Accent)),
        ]));
        bottom.push(Line::from(Span::styled(
            " Enter sends once the count is typed · Esc cancels (nothing sent) · ↑↓ scroll",
            t.style(Role::Hint),
        )));
    } else {
        bottom.push(Line::from(Span::styled(
            format!(
                " Enter sends to {} host{} · Esc cancels (nothing sent) · ↑↓ scroll",
                c.plan.target_count,
                plural(c.plan.target_count)
            ),
            t.style(Role::Hint),
        )));
    }
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::Border))
        .title(Span::styled(
            if c.rerun_of.is_some() {
                " Re-run on the failed hosts? "
            } else {
                " Run Command: check before sending "
            },
            t.style(Role::Title),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block.style(t.style(Role::Base)), rect);
    let [top_area, list_area, bottom_area] = Layout::vertical([
        Constraint::Length(top.len() as u16),
        Constraint::Min(1),
        Constraint::Length(bottom.len() as u16),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), top_area);
    let visible = usize::from(list_area.height);
    let start = c.scroll.min(c.lines.len().saturating_sub(visible));
    let list: Vec<Line> = c
        .lines
        .iter()
        .skip(start)
        .take(visible)
        .map(|l| match l {
            ConfirmLine::Heading(s) => Line::from(Span::styled(
                format!(" {}", fit(s, w)),
                t.style(Role::Title),
            )),
            ConfirmLine::Host(s) => Line::from(format!(" {}", fit(s, w))),
            ConfirmLine::Skipped(s) | ConfirmLine::Warning(s) => {
                Line::from(Span::styled(format!(" {}", fit(s, w)), t.style(Role::Warn)))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(list), list_area);
    frame.render_widget(Paragraph::new(bottom), bottom_area);
}

/// What a row of the run tab's list shows.
#[derive(Clone, Copy)]
enum Row {
    GroupsHeading,
    Group(usize),
    GroupHosts(usize),
    HostsHeading,
    Host(usize),
}

/// The list's rows and the row of each item (the selection moves over items).
fn rows(run: &RunTab) -> (Vec<Row>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut item_rows = Vec::new();
    if run.done() {
        rows.push(Row::GroupsHeading);
        for g in 0..run.groups.len() {
            item_rows.push(rows.len());
            rows.push(Row::Group(g));
            rows.push(Row::GroupHosts(g));
        }
    }
    rows.push(Row::HostsHeading);
    for h in 0..run.hosts.len() {
        item_rows.push(rows.len());
        rows.push(Row::Host(h));
    }
    (rows, item_rows)
}

pub fn tab(frame: &mut Frame, area: Rect, run: &RunTab, ctx: &Ctx) {
    let t = ctx.theme;
    let w = usize::from(area.width);
    let c = run.counts;
    let state = if run.done() {
        "finished"
    } else if run.cancelling {
        "cancelling"
    } else if run.past.is_some() {
        "watching a past run"
    } else if run.sends.is_empty() {
        "sending"
    } else {
        "running"
    };
    let ids = run.command_ids();
    let mut head = vec![
        Line::from(vec![
            Span::styled(" $ ", t.style(Role::Key)),
            Span::styled(
                fit(&run.command().replace('\n', "; "), w.saturating_sub(4)),
                t.style(Role::Title),
            ),
        ]),
        Line::from(Span::styled(
            fit(
                &{
                    let mut parts = vec![
                        state.to_owned(),
                        format!("{} host{}", c.total, plural(c.total)),
                    ];
                    // Before the ids, which a long run cuts at the edge.
                    if run.api_calls > 0 || run.done() {
                        parts.push(format!("{} API calls", run.api_calls));
                    }
                    parts.push(if ids.is_empty() {
                        "no command id yet".to_owned()
                    } else {
                        format!("command {}", ids.join(", "))
                    });
                    format!(" {}", parts.join(" · "))
                },
                w,
            ),
            t.style(Role::Muted),
        )),
    ];
    let bar_width = 30usize.min(w.saturating_sub(10));
    let filled = (c.done() * bar_width).checked_div(c.total).unwrap_or(0);
    head.push(Line::from(vec![
        Span::raw(" "),
        Span::styled("█".repeat(filled), t.style(Role::Ok)),
        Span::styled("░".repeat(bar_width - filled), t.style(Role::Muted)),
        Span::raw(format!(
            " {}/{} done · {} ok · {} failed · {} cancelled · {} running · {} pending",
            c.done(),
            c.total,
            c.success,
            c.failed,
            c.cancelled,
            c.in_progress,
            c.pending
        )),
    ]));
    if let Some(note) = run.notes.last() {
        head.push(Line::from(Span::styled(
            fit(&format!(" note: {note}"), w),
            t.style(Role::Warn),
        )));
    }
    let [head_area, body] =
        Layout::vertical([Constraint::Length(head.len() as u16), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(head), head_area);
    let (list_area, output_area) = if run.output {
        let [l, o] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body);
        (l, Some(o))
    } else {
        (body, None)
    };

    let (rows, item_rows) = rows(run);
    let visible = usize::from(list_area.height).max(1);
    let sel_row = item_rows.get(run.selected).copied().unwrap_or(0);
    // Keep the group's host line with it when it is selected.
    let offset = (sel_row + 2).saturating_sub(visible).min(sel_row);
    let selected_style = t.style(Role::Selection);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(n, row)| {
            let selected = n == sel_row;
            let base = if selected {
                selected_style
            } else {
                t.style(Role::Base)
            };
            match *row {
                Row::GroupsHeading => Line::from(Span::styled(
                    format!(
                        " Output, identical outputs grouped ({} group{})",
                        run.groups.len(),
                        plural(run.groups.len())
                    ),
                    t.style(Role::Title),
                )),
                Row::Group(g) => {
                    let group = &run.groups[g];
                    // Cancelled (or not yet finished) hosts are neither a success nor a failure.
                    let (mark, role) = if group.statuses.iter().any(|s| s.is_failure()) {
                        ("✖", Role::Error)
                    } else if group.statuses.iter().all(|s| *s == HostStatus::Success) {
                        ("✔", Role::Ok)
                    } else {
                        ("•", Role::Warn)
                    };
                    Line::from(vec![
                        Span::styled(format!(" {mark} "), base.patch(fg(ctx, role))),
                        Span::styled(fit(&group.headline(), w.saturating_sub(4)), base),
                    ])
                    .style(base)
                }
                Row::GroupHosts(g) => Line::from(Span::styled(
                    fit(
                        &format!("     {}", run.groups[g].hosts.join(", ")),
                        w.saturating_sub(1),
                    ),
                    t.style(Role::Muted),
                )),
                Row::HostsHeading => Line::from(Span::styled(
                    format!(" Hosts ({})", run.hosts.len()),
                    t.style(Role::Title),
                )),
                Row::Host(h) => {
                    let host = &run.hosts[h];
                    let mut spans = vec![
                        Span::styled(
                            format!("   {:<18}", host.status.as_str()),
                            base.patch(fg(ctx, status_role(host.status))),
                        ),
                        Span::styled(format!("{:<14} ", fit(&host.region, 14)), base),
                        Span::styled(host.label.clone(), base),
                    ];
                    if !host.details.is_empty() && host.details != host.status.as_str() {
                        spans.push(Span::styled(
                            format!("  {}", host.details),
                            base.patch(fg(ctx, Role::Muted)),
                        ));
                    }
                    Line::from(spans).style(base)
                }
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list_area);

    if let Some(o) = output_area {
        let all = run.output_lines();
        let visible = usize::from(o.height.saturating_sub(1)).max(1);
        let first = run.output_scroll.min(all.len().saturating_sub(1));
        let text: Vec<Line> = all
            .iter()
            .skip(first)
            .take(visible)
            .map(|l| Line::from(fit(l, usize::from(o.width.saturating_sub(2)))))
            .collect();
        let title = if all.len() > visible {
            let key = |command| {
                ctx.keymap
                    .key_for(crate::tui::keymap::Mode::Run, command)
                    .unwrap_or_default()
            };
            format!(
                " Output · lines {}–{} of {} · {}/{} scroll · Enter hides ",
                first + 1,
                (first + visible).min(all.len()),
                all.len(),
                key("run.output_down"),
                key("run.output_up"),
            )
        } else {
            " Output · Enter hides ".to_owned()
        };
        frame.render_widget(
            Paragraph::new(text).block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(t.style(Role::Border))
                    .title(Span::styled(title, t.style(Role::Title))),
            ),
            o,
        );
    }
}

/// A role's foreground without its background, so a selected row keeps its bar.
fn fg(ctx: &Ctx, role: Role) -> ratatui::style::Style {
    let mut s = ctx.theme.style(role);
    s.bg = None;
    s
}
