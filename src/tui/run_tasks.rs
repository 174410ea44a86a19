//! Background work of the Runs tab: reading the run history (ListCommands across every
//! profile and region shown) and watching one past command in a run tab (`run::attach`). Each
//! task reports only through the `Action` channel.

use tokio::sync::mpsc::UnboundedSender;

use super::action::Action;
use crate::aws::Clients;
use crate::run::{self as bulk, Control, Plan};

/// Reads the run history; `who` comes from the local audit log for runs sent from here.
pub fn spawn_history(tx: UnboundedSender<Action>, clients: Vec<Clients>, generation: u64) {
    tokio::spawn(async move {
        let audit = bulk::audit_path();
        let (commands, problems) = bulk::history::list_commands(&clients, audit.as_deref()).await;
        let _ = tx.send(Action::RunsLoaded {
            generation,
            commands,
            problems,
        });
    });
}

/// Watches command `command_id` (sent earlier, by anyone) in run tab `run`: its hosts' status,
/// then the report with every host's output. Nothing is sent, so no audit line. Returns the
/// channel that cancels it (the whole command, or one host).
pub fn spawn_attach(
    tx: UnboundedSender<Action>,
    run: u64,
    plan: Plan,
    command_id: String,
    clients: Vec<Clients>,
) -> UnboundedSender<Control> {
    let (control, control_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (events, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
        let poll = bulk::PollOptions::default();
        let work = bulk::attach(&plan, &command_id, &clients, &poll, &events, control_rx);
        tokio::pin!(work);
        let report = loop {
            tokio::select! {
                report = &mut work => break report,
                Some(event) = events_rx.recv() => {
                    let _ = tx.send(Action::RunReported { run, event });
                }
            }
        };
        while let Ok(event) = events_rx.try_recv() {
            let _ = tx.send(Action::RunReported { run, event });
        }
        let _ = tx.send(Action::RunFinished {
            run,
            report: Box::new(report),
        });
    });
    control
}
