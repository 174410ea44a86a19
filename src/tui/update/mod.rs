//! `App::update`: the only place state changes, one `Action` at a time. Handlers are split by
//! area: fleet (table, filter, sort), input (filter and palette text), tasks (inventory reports,
//! scope, theme).

mod fleet;
mod input;
mod shell;
mod tasks;

use ratatui::layout::Rect;

use super::action::Action;
use super::app::App;
use super::state::{Level, Overlay, PaletteState};
use super::views::layout;

impl App {
    pub fn update(&mut self, action: Action) {
        self.mark_dirty();
        match action {
            Action::Quit => self.state.quit = true,
            Action::Noop => {}
            Action::ShowHelp => {
                if matches!(self.state.top_overlay(), Some(Overlay::Help { .. })) {
                    self.state.overlays.pop();
                } else {
                    self.state.overlays.push(Overlay::Help { scroll: 0 });
                }
            }
            Action::OpenPalette => {
                let palette = PaletteState::new(&self.state.palette_context);
                self.state.overlays.push(Overlay::Palette(palette));
            }
            Action::CloseOverlay => {
                self.state.overlays.pop();
            }
            Action::Resize(w, h) => {
                self.state.size = (w, h);
                self.relayout();
            }
            Action::NextTab => self.state.tabs.next(),
            Action::PrevTab => self.state.tabs.prev(),
            Action::GotoTab(n) => {
                if let Err(e) = self.state.tabs.goto(n) {
                    self.state.flash(Level::Warn, e.to_string());
                }
            }
            Action::CloseTab => self.close_tab(),
            Action::OpenShell => self.open_shell(),
            Action::ShellKeys(_)
            | Action::StartScroll
            | Action::StopScroll
            | Action::ShellStarted { .. }
            | Action::ShellOutput { .. }
            | Action::ShellStateChanged { .. }
            | Action::ShellFailed { .. } => self.shell_action(action),
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom
                if self.state.mode() == super::keymap::Mode::Scroll =>
            {
                self.scroll(&action)
            }
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom => self.movement(&action),
            Action::StartFilter
            | Action::ClearFilter
            | Action::CycleSort
            | Action::ReverseSort
            | Action::SortBy(_)
            | Action::ToggleDetail => self.fleet_action(action),
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
            | Action::PaletteComplete
            | Action::PaletteNext
            | Action::PalettePrev => self.input_action(action),
            Action::Refresh => self.refresh(),
            Action::SetTheme(name) => self.set_theme(&name),
            Action::SetRegions(regions) => self.set_scope(None, Some(regions)),
            Action::SetProfiles(profiles) => self.set_scope(Some(profiles), None),
            Action::CacheLoaded { key, cached } => self.cache_loaded(key, *cached),
            Action::InventoryFetched {
                generation,
                key,
                clients,
                inventory,
            } => self.inventory_fetched(generation, key, clients, *inventory),
            Action::CacheWriteFailed(e) => self.state.flash(Level::Warn, e),
        }
    }

    /// The table's height follows the terminal and the detail pane.
    pub(super) fn relayout(&mut self) {
        let (w, h) = self.state.size;
        let areas = layout::areas(Rect::new(0, 0, w, h), self.state.fleet.detail);
        self.state.fleet.set_viewport(areas.table_rows());
        self.resize_shells();
    }
}
