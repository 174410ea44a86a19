//! Bulk runs: marking hosts, `:run` → plan → the confirm overlay (the guard), a run tab whose
//! task reports `RunEvent`s, cancel, re-run of the failed hosts. Nothing is sent except by
//! accepting the confirm overlay (`confirm_action`).

use std::sync::Arc;

use crate::aws::CallStats;
use crate::run::{self as bulk, Control, Plan, TargetSpec};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::state::run::{Selected, plural};
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
            Action::MarkAllFiltered if self.filter_does_not_parse("marked") => {}
            Action::MarkAllFiltered => {
                let n = self.state.fleet.toggle_mark_filtered();
                self.state.flash(
                    Level::Info,
                    format!("{n} host{} marked for :run", plural(n)),
                );
            }
            Action::RunCommand(script) => self.plan_run(script),
            Action::RunCancel => self.cancel_run(),
            Action::RunCancelHost => self.cancel_host(),
            Action::RunOutputScroll { down, page } => self.scroll_output(down, page),
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

    /// A filter that does not parse leaves the last good filter's rows on screen; a run (or a
    /// mark-all) on them would reach hosts the filter line no longer describes. Refuses, saying
    /// so, and returns true in that case.
    fn filter_does_not_parse(&mut self, what: &str) -> bool {
        let Some(error) = self.state.fleet.query_error.clone() else {
            return false;
        };
        self.state.flash(
            Level::Error,
            format!(
                "the filter does not parse ({error}): the rows shown are the last good filter's; \
                 fix it or clear it (Esc) first. Nothing was {what}"
            ),
        );
        true
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
        if self.state.fleet.marked.is_empty() && self.filter_does_not_parse("sent") {
            return;
        }
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
                let mut c = *c;
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
                        // Asked again, as the terminate confirm does: the plan stays on screen.
                        self.state.flash(
                            Level::Error,
                            format!(
                                "the confirmation did not match (type exactly {}); nothing was \
                                 sent: type it again, or Esc",
                                need.expected
                            ),
                        );
                        c.typed.clear();
                        self.state.overlays.push(Overlay::RunConfirm(Box::new(c)));
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
            // The run's own request counter, shown live in its tab.
            let stats = Arc::new(CallStats::default());
            let clients = self
                .services
                .clients
                .iter()
                .map(|c| c.counted(stats.clone()))
                .collect();
            let (audited, audit_done) = tokio::sync::oneshot::channel();
            let control = spawn_run(
                tx,
                id,
                plan.clone(),
                clients,
                confirmation.to_owned(),
                audited,
            );
            self.services.runs.controls.insert(id, control);
            self.services.runs.stats.insert(id, stats);
            self.services.runs.audits.push(audit_done);
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

    /// `x`: CancelCommand for the selected host only; the others go on.
    fn cancel_host(&mut self) {
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
        let Selected::Host(host) = run.selection() else {
            self.state.flash(
                Level::Warn,
                "select a host to cancel it alone (c cancels the run)",
            );
            return;
        };
        if host.status.is_terminal() {
            let text = format!("{} has already ended ({})", host.label, host.status);
            self.state.flash(Level::Warn, text);
            return;
        }
        let (instance, label) = (host.instance_id.clone(), host.label.clone());
        if let Some(h) = run.hosts.iter_mut().find(|h| h.instance_id == instance) {
            h.details = "cancel requested".into();
        }
        if let Some(control) = self.services.runs.controls.get(&id) {
            let _ = control.send(Control::CancelHost(instance));
        }
        self.state.flash(
            Level::Info,
            format!("cancelling {label} only (CancelCommand with its instance id) …"),
        );
    }

    /// `J`/`K`, Ctrl-D/Ctrl-U: scroll the output pane (opening it first).
    fn scroll_output(&mut self, down: bool, page: bool) {
        // The pane is 60% of the body below the run's header lines.
        let pane = usize::from(self.state.size.1.saturating_sub(12)) * 3 / 5;
        let step = if page { (pane / 2).max(1) } else { 1 };
        let Some(run) = self.state.active_run_mut() else {
            return;
        };
        if !run.output {
            run.output = true;
            return;
        }
        let last = run.output_lines().len().saturating_sub(1);
        run.output_scroll = if down {
            (run.output_scroll + step).min(last)
        } else {
            run.output_scroll.saturating_sub(step)
        };
    }

    /// On the frame tick: each running run's request count. Returns whether any changed.
    pub fn tick_runs(&mut self) -> bool {
        let mut changed = false;
        let runs = &mut self.state.runs;
        self.services.runs.stats.retain(|id, stats| {
            let Some(run) = runs.get_mut(id) else {
                return false;
            };
            let n = stats.attempts();
            if run.api_calls != n {
                run.api_calls = n;
                changed = true;
            }
            true
        });
        changed
    }

    /// Waits (a bounded time) for the audit line of every run started here: quitting right
    /// after accepting a run must not lose its record.
    pub async fn wait_for_audits(&mut self) {
        let pending = std::mem::take(&mut self.services.runs.audits);
        let all = futures_util::future::join_all(pending);
        // STS gets 5 s, then the credentials 5 s (audit::caller_identity); then give up.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(15), all).await;
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
        if run.plan.options.commands.is_empty() {
            self.state.flash(
                Level::Warn,
                "only AWS-RunShellScript and AWS-RunPowerShellScript runs can be re-run here",
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
        self.services.runs.stats.remove(&id);
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
            Action::MoveTop => run.move_by(isize::MIN),
            Action::MoveBottom => run.move_by(isize::MAX),
            _ => {}
        }
    }
}
