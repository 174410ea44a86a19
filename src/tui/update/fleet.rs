//! The fleet table: movement, filter focus, sort, detail pane.

use crate::tui::action::{Action, SortColumn};
use crate::tui::app::App;
use crate::tui::state::{Level, Overlay, Sort};

impl App {
    pub(super) fn movement(&mut self, action: &Action) {
        if let Some(Overlay::Help { scroll }) = self.state.overlays.last_mut() {
            let page = usize::from(self.state.size.1.saturating_sub(4)).max(1);
            *scroll = match action {
                Action::MoveDown => scroll.saturating_add(1),
                Action::MoveUp => scroll.saturating_sub(1),
                Action::PageDown | Action::HalfPageDown => scroll.saturating_add(page),
                Action::PageUp | Action::HalfPageUp => scroll.saturating_sub(page),
                Action::MoveTop => 0,
                _ => *scroll,
            };
            return;
        }
        let f = &mut self.state.fleet;
        let page = f.viewport.max(1) as isize;
        match action {
            Action::MoveDown => f.move_by(1),
            Action::MoveUp => f.move_by(-1),
            Action::PageDown => f.move_by(page),
            Action::PageUp => f.move_by(-page),
            Action::HalfPageDown => f.move_by((page / 2).max(1)),
            Action::HalfPageUp => f.move_by(-(page / 2).max(1)),
            Action::MoveTop => f.move_to(0),
            Action::MoveBottom => f.move_to(usize::MAX),
            _ => {}
        }
    }

    pub(super) fn fleet_action(&mut self, action: Action) {
        let f = &mut self.state.fleet;
        match action {
            Action::StartFilter => f.editing = true,
            Action::ClearFilter => {
                f.editing = false;
                if !f.input.is_empty() {
                    f.set_input(String::new());
                }
            }
            Action::CycleSort => {
                let next = match f.sort.column {
                    None => Some(SortColumn::ALL[0]),
                    Some(c) => SortColumn::ALL
                        .iter()
                        .position(|x| *x == c)
                        .and_then(|i| SortColumn::ALL.get(i + 1).copied()),
                };
                f.set_sort(Sort {
                    column: next,
                    reverse: false,
                });
                let text = match next {
                    Some(c) => format!("sorted by {}", c.as_str()),
                    None => "sorted by best match (or name without a filter)".to_owned(),
                };
                self.state.flash(Level::Info, text);
            }
            Action::ReverseSort => {
                let sort = Sort {
                    reverse: !f.sort.reverse,
                    ..f.sort
                };
                f.set_sort(sort);
            }
            Action::SortBy(column) => {
                f.set_sort(Sort {
                    column: Some(column),
                    reverse: false,
                });
                self.state
                    .flash(Level::Info, format!("sorted by {}", column.as_str()));
            }
            Action::ToggleDetail => {
                f.detail = !f.detail;
                self.relayout();
            }
            _ => {}
        }
    }
}
