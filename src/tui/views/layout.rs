//! Where each part of the screen goes. Shared by the views and by `update` (which needs the
//! table's height to page and scroll), so both agree.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Below this the console shows a message instead of a squashed table.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// From this width the detail pane goes beside the table, else below it.
const SIDE_DETAIL_WIDTH: u16 = 140;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub tabs: Rect,
    pub filter: Rect,
    pub table: Rect,
    pub detail: Option<Rect>,
    pub hints: Rect,
    pub message: Rect,
}

impl Areas {
    /// Data rows the table can show (its first line is the column header).
    pub fn table_rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1)).max(1)
    }
}

pub fn is_tiny(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub fn areas(area: Rect, detail: bool) -> Areas {
    let [header, tabs, filter, main, hints, message] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
    let (table, detail) = if !detail {
        (main, None)
    } else if area.width >= SIDE_DETAIL_WIDTH {
        let [t, d] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(main);
        (t, Some(d))
    } else {
        let [t, d] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(main);
        (t, Some(d))
    };
    Areas {
        header,
        tabs,
        filter,
        table,
        detail,
        hints,
        message,
    }
}

/// A shell tab's screen: header, tab bar, the terminal, hints, message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShellAreas {
    pub header: Rect,
    pub tabs: Rect,
    pub terminal: Rect,
    pub hints: Rect,
    pub message: Rect,
}

pub fn shell_areas(area: Rect) -> ShellAreas {
    let [header, tabs, terminal, hints, message] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
    ShellAreas {
        header,
        tabs,
        terminal,
        hints,
        message,
    }
}
