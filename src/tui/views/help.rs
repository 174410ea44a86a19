//! The `?` overlay, generated from the keymap: every binding's keys and description, by mode.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::Ctx;
use crate::tui::keymap::{Keymap, Mode, keys_label};
use crate::tui::theme::{Role, Theme};

/// The help text: one section per mode, bindings of the same command on one line.
pub fn help_lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for mode in Mode::HELP_ORDER {
        lines.push(Line::from(Span::styled(
            mode.title().to_owned(),
            theme.style(Role::Title),
        )));
        let mut rows: Vec<(String, String)> = Vec::new();
        for b in keymap.bindings(mode) {
            let keys = keys_label(&b.keys);
            match rows.iter_mut().find(|(_, d)| *d == b.desc) {
                Some((k, _)) => {
                    k.push_str(", ");
                    k.push_str(&keys);
                }
                None => rows.push((keys, b.desc.clone())),
            }
        }
        // "Go to tab 1" … "Go to tab 9" read better as one line.
        let tabs: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| d.starts_with("Go to tab "))
            .map(|(n, _)| n)
            .collect();
        if tabs.len() > 1 {
            let keys: Vec<String> = tabs.iter().map(|&n| rows[n].0.clone()).collect();
            let first = tabs[0];
            rows[first] = (keys.join(","), "Go to tab N".into());
            for &n in tabs[1..].iter().rev() {
                rows.remove(n);
            }
        }
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<22}"), theme.style(Role::Key)),
                Span::raw(desc),
            ]));
        }
        lines.push(Line::default());
    }
    lines.push(Line::from(Span::styled(
        "Filter terms: words match names, ids, IPs and tag values; tag:K=V ping:lost platform:win region:eu state:stopped id:i-0ab agent:outdated; !term negates.",
        theme.style(Role::Muted),
    )));
    lines
}

pub fn overlay(frame: &mut Frame, area: Rect, scroll: usize, ctx: &Ctx) {
    let t = ctx.theme;
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 1,
        width: w,
        height: h,
    };
    let lines = help_lines(ctx.keymap, t);
    let max_scroll = lines.len().saturating_sub(usize::from(h.saturating_sub(2)));
    let scroll = scroll.min(max_scroll);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .style(t.style(Role::Base))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.style(Role::Border))
                    .title(Span::styled(
                        " Keys · Esc closes · j/k scroll ",
                        t.style(Role::Title),
                    )),
            ),
        rect,
    );
}
