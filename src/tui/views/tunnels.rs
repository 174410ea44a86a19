//! The Tunnels tab (every tunnel: state, addresses, connections, live bytes, uptime, last
//! error) and the open-tunnel form overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::{Ctx, fit};
use crate::tui::keymap::Mode;
use crate::tui::state::TunnelForm;
use crate::tui::state::tunnels::{FormField, PRESETS, TunnelRow};
use crate::tui::theme::Role;
use crate::tunnel::TunnelState;

/// `1.5 MiB`, `812 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn uptime(row: &TunnelRow, now: chrono::DateTime<chrono::Utc>) -> String {
    if row.state.is_over() {
        return "—".into();
    }
    crate::format::duration(now - row.opened)
}

fn state_role(state: &TunnelState) -> Role {
    match state {
        TunnelState::Listening => Role::Ok,
        TunnelState::Starting => Role::Accent,
        TunnelState::Reconnecting { .. } => Role::Warn,
        TunnelState::Failed { .. } => Role::Error,
        TunnelState::Closed => Role::Muted,
    }
}

/// The line above the table: totals and what to do.
pub fn summary_line(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.tunnels, ctx.theme);
    let open: u64 = s.rows.iter().map(|r| r.counts.open).sum();
    let text = format!(
        " {} tunnel{} · {open} open connection{} · local ends listen on 127.0.0.1",
        s.rows.len(),
        if s.rows.len() == 1 { "" } else { "s" },
        if open == 1 { "" } else { "s" },
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            fit(&text, usize::from(area.width)),
            t.style(Role::Muted),
        )),
        area,
    );
}

pub fn table(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let (s, t) = (&ctx.state.tunnels, ctx.theme);
    if s.rows.is_empty() {
        let key = ctx
            .keymap
            .key_for(Mode::Fleet, "tunnel.new")
            .unwrap_or_else(|| "tunnel.new".into());
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!(
                    " no tunnels: select a host on the Fleet tab and press {key}, or :tunnel PORT [HOST]"
                ),
                t.style(Role::Muted),
            )),
            area,
        );
        return;
    }
    // The selected tunnel's details go below the table, in full.
    let detail_height = 3.min(area.height.saturating_sub(2));
    let table_area = Rect {
        height: area.height - detail_height,
        ..area
    };
    let detail_area = Rect {
        y: area.y + table_area.height,
        height: detail_height,
        ..area
    };
    let wide = area.width >= 140;
    let via = |r: &TunnelRow| {
        if wide && r.host != r.instance_id {
            format!("{} ({})", r.host, r.instance_id)
        } else {
            r.host.clone()
        }
    };
    let target = |r: &TunnelRow| format!("→ {}", r.destination());
    let fit_to = |head: &str, cells: &mut dyn Iterator<Item = usize>, cap: usize| {
        let w = cells.max().unwrap_or(0).max(head.len()).min(cap);
        Constraint::Length(u16::try_from(w).unwrap_or(10))
    };
    let mut widths = vec![
        fit_to(
            "STATE",
            &mut s.rows.iter().map(|r| r.state_label().chars().count()),
            16,
        ),
        Constraint::Length(15),
        fit_to(
            "VIA",
            &mut s.rows.iter().map(|r| via(r).chars().count()),
            40,
        ),
        fit_to(
            "TARGET",
            &mut s.rows.iter().map(|r| target(r).chars().count()),
            32,
        ),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
    ];
    let mut heads = vec![
        "STATE", "LOCAL", "VIA", "TARGET", "CONN", "IN", "OUT", "UPTIME",
    ];
    // Narrow terminals show the last error only in the detail lines below.
    if wide {
        widths.push(Constraint::Min(10));
        heads.push("LAST ERROR");
    }
    let header = Row::new(
        heads
            .into_iter()
            .map(|h| Cell::from(Span::styled(h, t.style(Role::Title)))),
    );
    let now = ctx.state.now;
    let view = usize::from(table_area.height.saturating_sub(1)).max(1);
    let offset = s.selected.saturating_sub(view - 1);
    let rows = s
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(view)
        .map(|(i, r)| {
            let mut cells = vec![
                Cell::from(Span::styled(r.state_label(), t.style(state_role(&r.state)))),
                Cell::from(local(r)),
                Cell::from(via(r)),
                Cell::from(target(r)),
                Cell::from(format!("{}/{}", r.counts.open, r.counts.total)),
                Cell::from(bytes(r.counts.bytes_in)),
                Cell::from(bytes(r.counts.bytes_out)),
                Cell::from(uptime(r, now)),
            ];
            if wide {
                cells.push(Cell::from(Span::styled(
                    r.problem().unwrap_or("—").to_owned(),
                    t.style(if r.problem().is_some() {
                        Role::Warn
                    } else {
                        Role::Muted
                    }),
                )));
            }
            let row = Row::new(cells);
            if i == s.selected {
                row.style(t.style(Role::Selection))
            } else {
                row
            }
        });
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .style(t.style(Role::Base)),
        table_area,
    );
    if let Some(r) = s.selected_row() {
        detail(frame, detail_area, r, ctx);
    }
}

fn local(r: &TunnelRow) -> String {
    r.local_addr
        .map_or_else(|| format!("127.0.0.1:{}", r.local_port), |a| a.to_string())
}

/// The selected tunnel in full: where it goes, its counters, and its last error.
fn detail(frame: &mut Frame, area: Rect, r: &TunnelRow, ctx: &Ctx) {
    let t = ctx.theme;
    let muted = t.style(Role::Muted);
    let first = Line::from(vec![
        Span::styled(" selected ", muted),
        Span::raw(format!(
            "{} → {} ({}) → {}",
            local(r),
            r.host,
            r.instance_id,
            r.destination()
        )),
        Span::styled(
            format!(
                " · {} connection{} so far · {} restart{} · {} refused by the destination",
                r.counts.total,
                if r.counts.total == 1 { "" } else { "s" },
                r.counts.restarts,
                if r.counts.restarts == 1 { "" } else { "s" },
                r.counts.connect_errors,
            ),
            muted,
        ),
    ]);
    let second = match r.problem() {
        Some(p) => Line::from(vec![
            Span::styled(" last error ", muted),
            Span::styled(p.to_owned(), t.style(Role::Warn)),
        ]),
        None => Line::from(Span::styled(" no errors", muted)),
    };
    let lines = vec![first, second];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The form, centred: the host, three fields, the presets, and the form's error.
pub fn form(frame: &mut Frame, area: Rect, f: &TunnelForm, ctx: &Ctx) {
    let t = ctx.theme;
    let width = area.width.min(72);
    let height = area.height.min(13);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let field = |which: FormField, hint: &str| {
        let focused = f.focus == which;
        let value = f.field(which);
        let mut spans = vec![
            Span::styled(
                format!(" {:<12} ", which.label()),
                t.style(if focused { Role::Accent } else { Role::Muted }),
            ),
            Span::styled(
                value.to_owned(),
                t.style(if focused { Role::Selection } else { Role::Base }),
            ),
        ];
        if focused {
            spans.push(Span::styled("▏", t.style(Role::Accent)));
        }
        if value.is_empty() || which == FormField::RemotePort {
            spans.push(Span::styled(format!("  {hint}"), t.style(Role::Hint)));
        }
        Line::from(spans)
    };
    let preset = f
        .preset_name()
        .map_or_else(String::new, |n| format!("({n})"));
    // Two lines of presets, so the form fits 72 columns.
    let preset_line = |label: &str, range: std::ops::Range<usize>| {
        let mut spans = vec![Span::styled(format!(" {label:<12} "), t.style(Role::Muted))];
        for (i, (name, port)) in PRESETS.iter().enumerate().take(range.end).skip(range.start) {
            spans.push(Span::styled(format!("Alt-{}", i + 1), t.style(Role::Key)));
            spans.push(Span::raw(format!(" {name} {port}  ")));
        }
        Line::from(spans)
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(" through ", t.style(Role::Muted)),
            Span::raw(format!("{} ({}, {})", f.host, f.instance_id, f.region)),
        ]),
        Line::default(),
        field(FormField::RemotePort, &preset),
        field(FormField::RemoteHost, "empty: the instance itself"),
        field(FormField::LocalPort, "0: a free port on 127.0.0.1"),
        Line::default(),
        preset_line("presets", 0..3),
        preset_line("", 3..PRESETS.len()),
        Line::from(Span::styled(
            " Tab next field · ↑/↓ presets · Enter opens · Esc cancels",
            t.style(Role::Hint),
        )),
    ];
    if let Some(e) = &f.error {
        lines.push(Line::from(Span::styled(
            format!(" ✖ {e}"),
            t.style(Role::Error),
        )));
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(t.style(Role::Base))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.style(Role::Border))
                    .title(Span::styled(" Open a tunnel ", t.style(Role::Title))),
            ),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn byte_counts_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
