//! The Runs tab: reading the run history, its table and filter, and opening a past run in a
//! run tab that watches it (`run_tasks::spawn_attach`), so runs sent by `fleetdeck run` or by
//! anyone else can be inspected, cancelled and re-run here.

use ratatui::layout::Rect;

use super::input::edited;
use crate::run as bulk;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::run_tasks::{spawn_attach, spawn_history};
use crate::tui::state::tabs::{Tab, TabKind, TabStatus};
use crate::tui::state::{Level, RunTab};
use crate::tui::views::{fit, layout};

impl App {
    pub fn on_runs_tab(&self) -> bool {
        self.state.tabs.active_kind() == &TabKind::Runs
    }

    /// `:runs`: focus the Runs tab (opening it first) and read the history again, since runs
    /// may have been sent since (unless a read is in flight).
    pub(super) fn open_runs(&mut self) {
        if !self.state.tabs.focus(&TabKind::Runs) {
            self.state.tabs.open(Tab {
                kind: TabKind::Runs,
                title: "runs".into(),
                status: TabStatus::Idle,
            });
        }
        self.relayout_runs();
        if self.state.run_history.loading.is_none() {
            self.load_runs();
        }
    }

    /// Reads the history again; a newer read supersedes one in flight (its answer is ignored).
    pub(super) fn load_runs(&mut self) {
        let h = &mut self.state.run_history;
        h.generation += 1;
        h.loading = Some(h.generation);
        let generation = h.generation;
        self.set_runs_status(TabStatus::Busy);
        if let Some(tx) = self.services.tx.clone() {
            spawn_history(tx, self.services.clients.clone(), generation);
        }
    }

    fn set_runs_status(&mut self, status: TabStatus) {
        if let Some(tab) = self.state.tabs.find_mut(&TabKind::Runs) {
            tab.status = status;
        }
    }

    pub(super) fn runs_loaded(
        &mut self,
        generation: u64,
        commands: Vec<bulk::CommandSummary>,
        problems: Vec<String>,
    ) {
        let h = &mut self.state.run_history;
        if generation != h.generation {
            return;
        }
        h.loading = None;
        let n = commands.len();
        h.replace(commands);
        let (level, text) = match problems.first() {
            Some(p) => (Level::Warn, p.clone()),
            None => (Level::Info, format!("{n} runs")),
        };
        h.problems = problems;
        self.set_runs_status(TabStatus::Idle);
        self.state.flash(level, text);
    }

    pub(super) fn runs_action(&mut self, action: Action) {
        let h = &mut self.state.run_history;
        let page = isize::try_from(h.cursor.viewport).unwrap_or(1).max(1);
        match action {
            Action::MoveDown => h.move_by(1),
            Action::MoveUp => h.move_by(-1),
            Action::PageDown => h.move_by(page),
            Action::PageUp => h.move_by(-page),
            Action::HalfPageDown => h.move_by(page / 2),
            Action::HalfPageUp => h.move_by(-page / 2),
            Action::MoveTop => h.move_to(0),
            Action::MoveBottom => h.move_to(usize::MAX),
            Action::StartFilter => h.editing = true,
            Action::ClearFilter => h.set_input(String::new()),
            Action::InputAccept => h.editing = false,
            Action::InputCancel => {
                h.editing = false;
                h.set_input(String::new());
            }
            other => {
                if let Some(input) = edited(&h.input, &other) {
                    h.set_input(input);
                }
            }
        }
    }

    /// The table's height follows the terminal, like the fleet's.
    pub(super) fn relayout_runs(&mut self) {
        let (w, h) = self.state.size;
        let areas = layout::areas(Rect::new(0, 0, w, h), false);
        self.state.run_history.set_viewport(areas.table_rows());
    }

    /// Enter on a past run: focus its run tab if one is open, else open one that watches the
    /// command (live if it is still running, else straight to its hosts and grouped output).
    pub(super) fn open_past_run(&mut self) {
        let Some(c) = self.state.run_history.selected_command().cloned() else {
            self.state.flash(Level::Warn, "no run selected");
            return;
        };
        if let Some(id) = self
            .state
            .runs
            .values()
            .find(|r| r.command_ids().iter().any(|id| *id == c.command_id))
            .map(|r| r.id)
        {
            self.state.tabs.focus(&TabKind::Run(id));
            return;
        }
        let clients = self.clients_of(&c.profile, &c.region);
        if clients.is_none() && self.services.tx.is_some() {
            self.state.flash(
                Level::Error,
                format!("no clients for profile {} in {}", c.profile, c.region),
            );
            return;
        }
        let plan = bulk::history::plan_for(&c, self.state.fleet.instances());
        self.services.runs.next += 1;
        let id = self.services.runs.next;
        if let (Some(tx), Some(clients)) = (self.services.tx.clone(), clients) {
            let stats = std::sync::Arc::new(crate::aws::CallStats::default());
            let counted = vec![clients.counted(stats.clone())];
            let control = spawn_attach(tx, id, plan.clone(), c.command_id.clone(), counted);
            self.services.runs.controls.insert(id, control);
            self.services.runs.stats.insert(id, stats);
        }
        self.state
            .runs
            .insert(id, RunTab::past(id, plan, c.command_id.clone()));
        self.state.tabs.open(Tab {
            kind: TabKind::Run(id),
            title: format!("run {} (past)", fit(&c.script().replace('\n', "; "), 20)),
            status: TabStatus::Busy,
        });
        self.state.flash(
            Level::Info,
            format!("reading command {} in {}", c.command_id, c.region),
        );
    }
}
