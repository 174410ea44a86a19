//! Bulk runs: marking hosts, `:run` → plan → the confirm overlay (the guard), a run tab whose
//! task reports `RunEvent`s, cancel, re-run of the failed hosts. Nothing is sent except by
//! accepting the confirm overlay (`confirm_action`).

use crate::run::{self as bulk, Control, Plan, TargetSpec};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::run::plural;
use crate::tui::state::tabs::{Tab, TabKind, TabStatus};
use crate::tui::state::{Level, Overlay, RunConfirm, RunTab};
use crate::tui::tasks::spawn_run;
use crate::tui::views::fit;

impl App {
    pub(super) fn run_action(&mut self, action: Action) {
        match action {
            Action::ToggleMark if self.state.fleet.toggle_mark().is_some() => {
                self.state.fleet.move_by(1);
            }
            Action::MarkAllFiltered => {
                let n = self.state.fleet.toggle_mark_filtered();
                self.state.flash(
                    Level::Info,
                    format!("{n} host{} marked for :run", plural(n)),
                );
            }
            Action::RunCommand(script) => self.plan_run(script),
            Action::RunCancel => self.cancel_run(),
            Action::RunRerunFailed => self.rerun_failed(),
            Action::RunToggleOutput => {
                if let Some(run) = self.state.active_run_mut() {
                    run.output = !run.output;
                }
            }
            Action::RunReported { run, event } => {
                if let bulk::RunEvent::Note(n) = &event {
                    self.state.flash(Level::Warn, n.clone());
                }
                if let Some(tab) = self.state.runs.get_mut(&run) {
                    tab.on_event(event);
                }
            }
            Action::RunFinished { run, report } => self.run_finished(run, *report),
            _ => {}
        }
    }

    /// `:run [OPTIONS] -- COMMAND`: the marked hosts, else the filtered ones, planned and shown
    /// for confirmation. Bad options are refused here, with the CLI's sentences. Nothing is sent.
    fn plan_run(&mut self, line: String) {
        let options = match bulk::parse_run_line(&line) {
            Ok(options) => options,
            Err(e) => {
                self.state
                    .flash(Level::Error, format!("{e}; nothing was sent"));
                return;
            }
        };
        let ids = self.state.fleet.run_targets();
        if ids.is_empty() {
            self.state
                .flash(Level::Warn, "no host to run on: the filter matches none");
            return;
        }
        match bulk::plan(
            self.state.fleet.instances(),
            &TargetSpec::InstanceIds(ids),
            &options,
        ) {
            Ok(plan) => self.confirm(plan, None),
            Err(e) => self.state.flash(Level::Error, e.to_string()),
        }
    }

    fn confirm(&mut self, plan: Plan, rerun_of: Option<u64>) {
        let confirmation = bulk::needs_confirmation(&plan, &self.services.runs.policy);
        self.state
            .overlays
            .push(Overlay::RunConfirm(Box::new(RunConfirm::new(
                plan,
                confirmation,
                rerun_of,
            ))));
    }

    /// Keys in the confirm overlay: typing the count, scrolling the list, Enter, Esc.
    pub(super) fn confirm_action(&mut self, action: Action) {
        let page = usize::from(self.state.size.1.saturating_sub(16)).max(1);
        let Some(Overlay::RunConfirm(c)) = self.state.overlays.last_mut() else {
            return;
        };
        let last = c.lines.len().saturating_sub(1);
        match action {
            Action::InsertChar(ch) if !ch.is_control() => c.typed.push(ch),
            Action::InsertText(t) => c.typed.extend(t.chars().filter(|ch| !ch.is_control())),
            Action::Backspace => {
                c.typed.pop();
            }
            Action::DeleteWord | Action::ClearInput => c.typed.clear(),
            Action::MoveDown => c.scroll = (c.scroll + 1).min(last),
            Action::MoveUp => c.scroll = c.scroll.saturating_sub(1),
            Action::PageDown => c.scroll = (c.scroll + page).min(last),
            Action::PageUp => c.scroll = c.scroll.saturating_sub(page),
            Action::InputCancel => {
                self.state.overlays.pop();
                self.state
                    .flash(Level::Info, "run cancelled: nothing was sent");
            }
            Action::InputAccept => {
                let Some(Overlay::RunConfirm(c)) = self.state.overlays.pop() else {
                    return;
                };
                let c = *c;
                if c.plan.target_count == 0 {
                    self.state.flash(
                        Level::Error,
                        format!(
                            "none of the {} matching host{} can take the command; nothing was sent",
                            c.plan.skipped.len(),
                            plural(c.plan.skipped.len())
                        ),
                    );
                    return;
                }
                let how = match &c.confirmation {
                    None => "not-needed",
                    Some(need) if bulk::confirmation_accepted(need, &c.typed) => "typed",
                    Some(need) => {
                        self.state.flash(
                            Level::Error,
                            format!(
                                "the confirmation did not match (type exactly {}); nothing was sent",
                                need.expected
                            ),
                        );
                        return;
                    }
                };
                self.start_run(c.plan, how);
            }
            _ => {}
        }
    }

    /// Opens the run tab and, with a live console, starts the run's task.
    pub fn start_run(&mut self, plan: Plan, confirmation: &str) -> u64 {
        self.services.runs.next += 1;
        let id = self.services.runs.next;
        let n = plan.target_count;
        let title = format!("run {}", fit(&plan.script().replace('\n', "; "), 20));
        if let Some(tx) = self.services.tx.clone() {
            let control = spawn_run(
                tx,
                id,
                plan.clone(),
                self.services.clients.clone(),
                confirmation.to_owned(),
            );
            self.services.runs.controls.insert(id, control);
        }
        self.state
            .runs
            .insert(id, RunTab::new(id, plan, confirmation));
        self.state.tabs.open(Tab {
            kind: TabKind::Run(id),
            title,
            status: TabStatus::Busy,
        });
        self.state
            .flash(Level::Info, format!("sending to {n} host{}", plural(n)));
        id
    }

    fn cancel_run(&mut self) {
        let Some(id) = self.state.tabs.active_run() else {
            return;
        };
        let Some(run) = self.state.runs.get_mut(&id) else {
            return;
        };
        if run.done() {
            self.state.flash(Level::Warn, "the run has finished");
            return;
        }
        run.cancelling = true;
        if let Some(control) = self.services.runs.controls.get(&id) {
            let _ = control.send(Control::CancelAll);
        }
        self.state
            .flash(Level::Info, "cancelling the run (CancelCommand) …");
    }

    fn rerun_failed(&mut self) {
        let Some(id) = self.state.tabs.active_run() else {
            return;
        };
        let Some(run) = self.state.runs.get(&id) else {
            return;
        };
        if !run.done() {
            self.state.flash(
                Level::Warn,
                "the run is still going: re-run once it has finished",
            );
            return;
        }
        let failed = run.failed_ids();
        match bulk::rerun_failed(&run.plan, &failed) {
            Some(plan) => self.confirm(plan, Some(id)),
            None => self
                .state
                .flash(Level::Info, "no host failed: nothing to re-run"),
        }
    }

    fn run_finished(&mut self, id: u64, report: bulk::RunReport) {
        self.services.runs.controls.remove(&id);
        let Some(run) = self.state.runs.get_mut(&id) else {
            return;
        };
        run.finish(report);
        let c = run.counts;
        let failed = c.total - c.success;
        let status = if failed == 0 {
            TabStatus::Idle
        } else {
            TabStatus::Failed(format!("{failed} did not succeed"))
        };
        if let Some(tab) = self
            .state
            .tabs
            .tabs()
            .iter()
            .position(|t| t.kind == TabKind::Run(id))
        {
            self.state.tabs.set_status(tab, status);
        }
        self.state.flash(
            if failed == 0 {
                Level::Info
            } else {
                Level::Warn
            },
            format!(
                "run finished: {} ok, {} failed, {} cancelled of {}",
                c.success, c.failed, c.cancelled, c.total
            ),
        );
    }

    pub(super) fn run_movement(&mut self, action: &Action) {
        let page = isize::try_from(self.state.size.1.saturating_sub(10))
            .unwrap_or(1)
            .max(1);
        let Some(run) = self.state.active_run_mut() else {
            return;
        };
        match action {
            Action::MoveDown => run.move_by(1),
            Action::MoveUp => run.move_by(-1),
            Action::PageDown => run.move_by(page),
            Action::PageUp => run.move_by(-page),
            Action::HalfPageDown => run.move_by(page / 2),
            Action::HalfPageUp => run.move_by(-page / 2),
            Action::MoveTop => run.selected = 0,
            Action::MoveBottom => run.move_by(isize::MAX),
            _ => {}
        }
    }
}
