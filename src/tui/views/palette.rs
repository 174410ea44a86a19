//! The `:` command palette: the input line and its suggestions, above the footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::Ctx;
use crate::tui::state::PaletteState;
use crate::tui::state::palette::PALETTE_COMMANDS;
use crate::tui::theme::Role;

const MAX_SUGGESTIONS: usize = 8;

pub fn overlay(frame: &mut Frame, area: Rect, p: &PaletteState, ctx: &Ctx) {
    let t = ctx.theme;
    let shown = p.suggestions.len().min(MAX_SUGGESTIONS);
    let height = (shown as u16 + 3).min(area.height.saturating_sub(2));
    let rect = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(height + 2),
        width: area.width,
        height,
    };
    // Keep the selected suggestion in the window.
    let first = p
        .selected
        .map_or(0, |s| s.saturating_sub(MAX_SUGGESTIONS - 1));
    let mut lines: Vec<Line> = p
        .suggestions
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(n, s)| {
            let desc = PALETTE_COMMANDS
                .iter()
                .find(|(c, _, _)| !p.input.contains(' ') && c == s)
                .map(|(_, args, d)| format!("{args:<18} {d}"))
                .unwrap_or_default();
            let style = if p.selected == Some(n) {
                t.style(Role::Selection)
            } else {
                t.style(Role::Base)
            };
            Line::from(vec![
                Span::styled(format!(" {s:<16}"), style),
                Span::styled(desc, t.style(Role::Muted)),
            ])
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled(":", t.style(Role::Key)),
        Span::raw(p.input.clone()),
        Span::styled("▏", t.style(Role::Accent)),
    ]));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).style(t.style(Role::Base)).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.style(Role::Border))
                .title(Span::styled(
                    " Command · Tab completes · Enter runs · Esc closes ",
                    t.style(Role::Title),
                )),
        ),
        rect,
    );
}
