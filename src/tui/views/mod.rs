//! Views are functions of state: they borrow `AppState`, the theme and the keymap, and draw.
//! They never change state, do I/O or send actions.

mod chrome;
mod columns;
mod detail;
mod fleet;
mod help;
pub mod layout;
mod palette;
mod recent;
mod run;
mod runs;
mod sessions;
mod shell;
mod tabstrip;
mod text;
mod tunnels;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::keymap::Keymap;
use super::state::{AppState, Overlay};
use super::theme::{Role, Theme};

pub use help::help_lines;

/// Everything a view may read.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

pub fn draw(frame: &mut Frame, state: &AppState, theme: &Theme, keymap: &Keymap) {
    let ctx = Ctx {
        state,
        theme,
        keymap,
    };
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.style(Role::Base)), area);
    if layout::is_tiny(area) {
        tiny(frame, area, &ctx);
        return;
    }
    if let Some(shell) = state.active_shell() {
        let areas = layout::shell_areas(area);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        shell::terminal(frame, areas.terminal, shell, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }
    if let Some(r) = state.active_replay() {
        let areas = layout::shell_areas(area);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        sessions::replay(frame, areas.terminal, r, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }
    if state.tabs.active_kind() == &super::state::TabKind::Sessions {
        let areas = layout::areas(area, false);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        sessions::filter_line(frame, areas.filter, &ctx);
        sessions::table(frame, areas.table, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }
    if state.tabs.active_kind() == &super::state::TabKind::Runs {
        let areas = layout::areas(area, false);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        runs::filter_line(frame, areas.filter, &ctx);
        runs::table(frame, areas.table, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }

    if state.tabs.active_kind() == &super::state::TabKind::Tunnels {
        let areas = layout::areas(area, false);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        tunnels::summary_line(frame, areas.filter, &ctx);
        tunnels::table(frame, areas.table, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }
    if let Some(r) = state.active_run() {
        let areas = layout::shell_areas(area);
        chrome::header(frame, areas.header, &ctx);
        chrome::tab_bar(frame, areas.tabs, &ctx);
        run::tab(frame, areas.terminal, r, &ctx);
        chrome::hints(frame, areas.hints, &ctx);
        chrome::message(frame, areas.message, &ctx);
        overlays(frame, area, &ctx);
        return;
    }
    let areas = layout::areas(area, state.fleet.detail);
    chrome::header(frame, areas.header, &ctx);
    chrome::tab_bar(frame, areas.tabs, &ctx);
    chrome::filter_line(frame, areas.filter, &ctx);
    fleet::table(frame, areas.table, &ctx);
    if let Some(d) = areas.detail {
        detail::pane(frame, d, &ctx);
    }
    chrome::hints(frame, areas.hints, &ctx);
    chrome::message(frame, areas.message, &ctx);
    overlays(frame, area, &ctx);
}

fn overlays(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    for overlay in &ctx.state.overlays {
        match overlay {
            Overlay::Help { scroll } => help::overlay(frame, area, *scroll, ctx),
            Overlay::Palette(p) => palette::overlay(frame, area, p, ctx),
            Overlay::RunConfirm(c) => run::confirm(frame, area, c, ctx),
            Overlay::TerminateConfirm(c) => sessions::terminate_confirm(frame, area, c, ctx),
            Overlay::TunnelForm(f) => tunnels::form(frame, area, f, ctx),
        }
    }
}

fn tiny(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let quit = ctx
        .keymap
        .key_for(super::keymap::Mode::Global, "quit")
        .unwrap_or_else(|| "q".into());
    let text = vec![
        Line::from(Span::styled("fleetdeck", ctx.theme.style(Role::Title))),
        Line::from(format!(
            "needs at least {}x{}; this is {}x{}.",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            area.width,
            area.height
        )),
        Line::from("Enlarge the window,"),
        Line::from(format!("or press {quit} to quit.")),
    ];
    let top = area.height.saturating_sub(text.len() as u16) / 2;
    let inner = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .style(ctx.theme.style(Role::Base)),
        inner,
    );
}

/// Spans of `text` with the characters at `positions` (char indices, sorted) in `hl`.
pub fn highlighted<'a>(text: &str, positions: &[u32], base: Style, hl: Style) -> Vec<Span<'a>> {
    if positions.is_empty() {
        return vec![Span::styled(text.to_owned(), base)];
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_hl = false;
    let mut next = positions.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        let is_hl = next.peek().is_some_and(|&&p| p as usize == i);
        if is_hl {
            next.next();
        }
        if is_hl != run_hl && !run.is_empty() {
            spans.push(Span::styled(
                std::mem::take(&mut run),
                if run_hl { base.patch(hl) } else { base },
            ));
        }
        run_hl = is_hl;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(
            run,
            if run_hl { base.patch(hl) } else { base },
        ));
    }
    spans
}

/// Cuts `text` to `width` characters with an ellipsis.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
