//! `App::update`: the only place state changes, one `Action` at a time. Handlers are split by
//! area: fleet (table, filter, sort), input (filter and palette text), tasks (inventory reports,
//! scope, theme).

mod fleet;
mod input;
mod quit;
mod recent;
mod run;
mod runs;
mod session_target;
mod sessions;
mod shell;
mod ssh;
mod tasks;
mod terminate;
mod tunnels;

use ratatui::layout::Rect;

use super::action::Action;
use super::app::App;
use super::keymap::Mode;
use super::state::{Level, Overlay, PaletteState};
use super::views::layout;

impl App {
    pub fn update(&mut self, action: Action) {
        self.mark_dirty();
        self.outdate_recent_sessions(&action);
        match action {
            Action::Quit => self.quit_or_ask(),
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
            Action::OpenTunnels
            | Action::OpenTunnelForm { .. }
            | Action::CloseTunnel
            | Action::RestartTunnel
            | Action::TunnelStarted { .. }
            | Action::TunnelStartFailed { .. }
            | Action::TunnelStateChanged { .. } => self.tunnel_action(action),
            Action::OpenSsh => self.open_ssh(),
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
            | Action::FormField { .. }
            | Action::TunnelPreset(_)
            | Action::TunnelPresetCycle { .. }
                if self.state.mode() == Mode::TunnelForm =>
            {
                self.tunnel_form_action(action)
            }
            Action::FormField { .. }
            | Action::TunnelPreset(_)
            | Action::TunnelPresetCycle { .. } => {}
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom
                if self.state.mode() == Mode::Tunnels =>
            {
                self.tunnels_movement(&action)
            }
            Action::OpenSessions => self.open_sessions(),
            Action::OpenReplay => self.open_replay(),
            Action::SessionsLoaded {
                generation,
                sessions,
                problems,
            } => self.sessions_loaded(generation, sessions, problems),
            Action::ReplayProgress { .. }
            | Action::ReplayLoaded { .. }
            | Action::ReplayKeyframes { .. }
            | Action::ReplayExported { .. } => self.replay_report(action),
            Action::ReplayPause
            | Action::ReplayFaster
            | Action::ReplaySlower
            | Action::ReplaySeek { .. }
            | Action::ReplayNextCommand
            | Action::ReplaySearch
            | Action::ReplayMatch { .. }
            | Action::ReplayExport => self.replay_action(action),
            Action::Refresh if self.on_sessions_tab() => self.load_sessions(),
            Action::SessionsCycleState | Action::SessionsCycleWindow if self.on_sessions_tab() => {
                self.sessions_action(action)
            }
            Action::SessionsTerminate if self.on_sessions_tab() => self.ask_terminate(),
            Action::SessionsCycleState
            | Action::SessionsCycleWindow
            | Action::SessionsTerminate => {}
            Action::OpenRuns => self.open_runs(),
            Action::OpenPastRun => self.open_past_run(),
            Action::RunsLoaded {
                generation,
                commands,
                problems,
            } => self.runs_loaded(generation, commands, problems),
            Action::Refresh if self.on_runs_tab() => self.load_runs(),
            // The Runs tab's table and filter.
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom
            | Action::StartFilter
            | Action::ClearFilter
                if self.state.mode() == Mode::Runs =>
            {
                self.runs_action(action)
            }
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
                if matches!(self.state.top_overlay(), Some(Overlay::TerminateConfirm(_))) =>
            {
                self.terminate_action(action)
            }
            Action::SessionTerminated {
                session_id,
                target,
                result,
            } => self.session_terminated(session_id, target, result),
            Action::HostSessions | Action::HostReplayNewest => self.host_action(action),
            Action::RecentSessionsLoaded { key, result } => self.recent_loaded(key, result),
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
                if self.state.mode() == Mode::Filter && self.on_runs_tab() =>
            {
                self.runs_action(action)
            }
            // The Sessions tab's table and filter, and a replay's search input.
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom
            | Action::StartFilter
            | Action::ClearFilter
                if self.state.mode() == Mode::Sessions =>
            {
                self.sessions_action(action)
            }
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
                if self.state.mode() == Mode::Filter && self.on_sessions_tab() =>
            {
                self.sessions_action(action)
            }
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
                if self.state.mode() == Mode::Filter && self.state.active_replay().is_some() =>
            {
                self.replay_action(action)
            }
            Action::OpenShell => self.open_shell(),
            Action::ToggleMark
            | Action::MarkAllFiltered
            | Action::RunCommand(_)
            | Action::RunCancel
            | Action::RunRerunFailed
            | Action::RunToggleOutput
            | Action::RunCancelHost
            | Action::RunOutputScroll { .. }
            | Action::RunReported { .. }
            | Action::RunFinished { .. } => self.run_action(action),
            Action::InsertChar(_)
            | Action::InsertText(_)
            | Action::Backspace
            | Action::DeleteWord
            | Action::ClearInput
            | Action::InputAccept
            | Action::InputCancel
            | Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
                if matches!(self.state.top_overlay(), Some(Overlay::RunConfirm(_))) =>
            {
                self.confirm_action(action)
            }
            Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::MoveTop
            | Action::MoveBottom
                if self.state.mode() == super::keymap::Mode::Run =>
            {
                self.run_movement(&action)
            }
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
                if self.state.mode() == Mode::Scroll =>
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
            // A read for a scope since left starts nothing.
            Action::CacheRead { key } if key == self.services.cache_key() => self.refresh(),
            Action::CacheRead { .. } => {}
            Action::InventoryFetched {
                generation,
                key,
                clients,
                inventory,
            } => {
                self.inventory_fetched(generation, key, clients, *inventory);
                self.show_notice();
            }
            Action::CacheWriteFailed(e) => self.state.flash(Level::Warn, e),
        }
        self.want_recent_sessions();
    }

    /// The table's height follows the terminal and the detail pane.
    pub(super) fn relayout(&mut self) {
        let (w, h) = self.state.size;
        let areas = layout::areas(Rect::new(0, 0, w, h), self.state.fleet.detail);
        self.state.fleet.set_viewport(areas.table_rows());
        self.resize_shells();
        self.relayout_sessions();
        self.relayout_runs();
    }
}
