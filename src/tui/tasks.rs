//! Background work for the console. Each task owns what it needs, holds a child of the app's
//! root cancellation token, and reports only through the `Action` channel.

use std::sync::Arc;

use bytes::Bytes;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::action::Action;
use crate::aws::{self, CallStats, ClientOptions, Clients, Target};
use crate::cache::{Cache, CacheKey};
use crate::channel::{SessionEvent, SessionHandle, SessionState, ShellSession, Size};

/// Reads the inventory off the render path. A newer refresh cancels a pending one, so only
/// the latest request ever reports (gitui's single-job queue).
pub struct InventoryWorker {
    tx: UnboundedSender<Action>,
    options: ClientOptions,
    stats: Arc<CallStats>,
    cache: Option<Cache>,
    root: CancellationToken,
    current: Option<CancellationToken>,
    generation: u64,
}

impl InventoryWorker {
    pub fn new(
        tx: UnboundedSender<Action>,
        options: ClientOptions,
        stats: Arc<CallStats>,
        cache: Option<Cache>,
        root: CancellationToken,
    ) -> Self {
        InventoryWorker {
            tx,
            options,
            stats,
            cache,
            root,
            current: None,
            generation: 0,
        }
    }

    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// Starts reading `wanted`, reusing the clients in `have`; returns the refresh's generation.
    pub fn refresh(&mut self, have: Vec<Clients>, wanted: Vec<Target>, key: CacheKey) -> u64 {
        if let Some(previous) = self.current.take() {
            previous.cancel();
        }
        self.generation += 1;
        let generation = self.generation;
        let token = self.root.child_token();
        self.current = Some(token.clone());
        let tx = self.tx.clone();
        let options = self.options.clone();
        let stats = self.stats.clone();
        let cache = self.cache.clone();
        tokio::spawn(async move {
            let work = async {
                let clients = clients_for(have, &wanted, &options, stats).await;
                let inventory = aws::inventory::fetch(&clients).await;
                (clients, inventory)
            };
            let (clients, mut inventory) = tokio::select! {
                _ = token.cancelled() => return,
                done = work => done,
            };
            // Keep what was read, even partly: the next start shows it at once.
            if let Some(cache) = cache
                && !inventory.instances.is_empty()
            {
                let at = inventory.fetched_at.unwrap_or_else(chrono::Utc::now);
                let instances = std::mem::take(&mut inventory.instances);
                let key = key.clone();
                let stored = tokio::task::spawn_blocking(move || {
                    let result = cache.store(&key, at, &instances);
                    (instances, result)
                })
                .await;
                match stored {
                    Ok((instances, result)) => {
                        inventory.instances = instances;
                        if let Err(e) = result {
                            let _ = tx.send(Action::CacheWriteFailed(e.to_string()));
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Action::CacheWriteFailed(e.to_string()));
                        return;
                    }
                }
            }
            if token.is_cancelled() {
                return;
            }
            let _ = tx.send(Action::InventoryFetched {
                generation,
                key,
                clients,
                inventory: Box::new(inventory),
            });
        });
        generation
    }

    /// Reads the disk cache for `key` off the async threads; reports only if there is one.
    /// Reads the cache off the event loop and reports `CacheLoaded` (if found), then
    /// `CacheRead`. Returns false when there is no cache to read (nothing will be reported).
    pub fn load_cache(&self, key: CacheKey) -> bool {
        let Some(cache) = self.cache.clone() else {
            return false;
        };
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(cached) = cache.load(&key) {
                let _ = tx.send(Action::CacheLoaded {
                    key: key.clone(),
                    cached: Box::new(cached),
                });
            }
            let _ = tx.send(Action::CacheRead { key });
        });
        true
    }
}

/// Clients for each wanted target: reused when already built, else built now.
async fn clients_for(
    mut have: Vec<Clients>,
    wanted: &[Target],
    options: &ClientOptions,
    stats: Arc<CallStats>,
) -> Vec<Clients> {
    let mut out = Vec::with_capacity(wanted.len());
    for target in wanted {
        match have.iter().position(|c| c.target == *target) {
            Some(i) => out.push(have.swap_remove(i)),
            None => out.push(Clients::new(target.clone(), options, stats.clone()).await),
        }
    }
    out
}

/// The app's end of a shell tab's task: keys typed before the session is live wait here.
#[derive(Debug)]
pub struct ShellLink {
    pub handle: Option<SessionHandle>,
    pub cancel: CancellationToken,
    pub held_input: Vec<u8>,
    /// An ssh tab's PTY instead of a session (`tui::ssh`).
    pub pty: Option<super::ssh::PtyLink>,
}

impl ShellLink {
    /// Keys for the session; held until it has started.
    pub fn send(&mut self, bytes: Vec<u8>) {
        if let Some(pty) = &self.pty {
            return pty.send(bytes);
        }
        match &self.handle {
            Some(h) => h.send_input(Bytes::from(bytes)),
            None => self.held_input.extend(bytes),
        }
    }

    /// The session started: its handle, and any keys typed meanwhile.
    pub fn started(&mut self, handle: SessionHandle) {
        if !self.held_input.is_empty() {
            handle.send_input(Bytes::from(std::mem::take(&mut self.held_input)));
        }
        self.handle = Some(handle);
    }

    /// Ends the session (TerminateSession) and the task.
    pub fn terminate(&mut self) {
        if let Some(pty) = self.pty.take() {
            pty.kill();
        }
        if let Some(h) = self.handle.take() {
            h.terminate();
        }
        self.cancel.cancel();
    }
}

/// Runs a shell session for tab `tab` and reports its output and states as actions. Nothing
/// here touches the app's state; the update loop never waits on the network.
pub fn spawn_shell(
    tx: UnboundedSender<Action>,
    clients: Clients,
    instance_id: String,
    size: Size,
    tab: u64,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let started = tokio::select! {
            _ = cancel.cancelled() => return,
            r = ShellSession::start(&clients, &instance_id, size) => r,
        };
        let (handle, mut events) = match started {
            Ok(x) => x,
            Err(e) => {
                let _ = tx.send(Action::ShellFailed {
                    tab,
                    error: e.to_string(),
                });
                return;
            }
        };
        let _ = tx.send(Action::ShellStarted {
            tab,
            handle: handle.clone(),
        });
        loop {
            let event = tokio::select! {
                _ = cancel.cancelled() => {
                    handle.terminate();
                    return;
                }
                e = events.recv() => e,
            };
            let action = match event {
                Some(SessionEvent::Output(bytes)) => Action::ShellOutput { tab, bytes },
                Some(SessionEvent::State(state)) => Action::ShellStateChanged { tab, state },
                None => Action::ShellStateChanged {
                    tab,
                    state: SessionState::Closed {
                        reason: "the session ended".into(),
                    },
                },
            };
            let end = matches!(
                &action,
                Action::ShellStateChanged {
                    state: SessionState::Closed { .. },
                    ..
                }
            );
            if tx.send(action).is_err() || end {
                return;
            }
        }
    });
}

/// Reads the session history of every target shown and names the hosts from the inventory;
/// reports `SessionsLoaded` (problems of single targets inside).
pub fn spawn_sessions(
    tx: UnboundedSender<Action>,
    clients: Vec<Clients>,
    instances: Vec<crate::model::Instance>,
    generation: u64,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let filter = crate::replay::HistoryFilter::default();
        let mut history = tokio::select! {
            _ = cancel.cancelled() => return,
            h = crate::replay::history::fetch(&clients, &filter) => h,
        };
        history.join_host_names(&instances);
        let problems = history
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.target, p.error))
            .collect();
        let _ = tx.send(Action::SessionsLoaded {
            generation,
            sessions: history.sessions,
            problems,
        });
    });
}

/// Reads a session's log into a timeline for replay tab `tab`, reporting the events read as
/// pages arrive, then the timeline (or why not); then builds keyframes over the whole log for a
/// screen of `size` on a blocking thread, so that seeking anywhere is cheap.
pub fn spawn_replay(
    tx: UnboundedSender<Action>,
    clients: Clients,
    source: crate::replay::LogSource,
    tab: u64,
    size: (u16, u16),
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let progress_tx = tx.clone();
        let read = crate::replay::read_timeline(&clients, source, move |events| {
            let _ = progress_tx.send(Action::ReplayProgress { tab, events });
        });
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = read => r,
        };
        let timeline = match result {
            Ok(t) => Arc::new(t),
            Err(e) => {
                let result = Err(e.to_string());
                let _ = tx.send(Action::ReplayLoaded { tab, result });
                return;
            }
        };
        let result = Ok(timeline.clone());
        let _ = tx.send(Action::ReplayLoaded { tab, result });
        let built = tokio::task::spawn_blocking(move || {
            use crate::tui::state::keyframes::{FIRST_EVERY, Keyframes};
            Keyframes::build(&timeline, size, FIRST_EVERY, || cancel.is_cancelled())
        })
        .await;
        if let Ok(Some(keyframes)) = built {
            let keyframes = Box::new(keyframes);
            let _ = tx.send(Action::ReplayKeyframes {
                tab,
                size,
                keyframes,
            });
        }
    });
}

/// Reads one host's sessions (Active and History) for the detail pane, newest first, named from
/// the inventory; reports `RecentSessionsLoaded`.
pub fn spawn_recent_sessions(
    tx: UnboundedSender<Action>,
    clients: Clients,
    key: crate::tui::state::HostKey,
    instances: Vec<crate::model::Instance>,
) {
    tokio::spawn(async move {
        let filter = crate::replay::HistoryFilter {
            target: Some(key.instance_id.clone()),
            ..Default::default()
        };
        let clients = [clients];
        let mut history = crate::replay::history::fetch(&clients, &filter).await;
        history.join_host_names(&instances);
        let result = match history.problems.first() {
            Some(p) => Err(p.error.to_string()),
            None => Ok(history.sessions),
        };
        let _ = tx.send(Action::RecentSessionsLoaded { key, result });
    });
}

/// How long a termination waits for the history to show the session ended.
const TERMINATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// TerminateSession for a confirmed session; reports `SessionTerminated`.
pub fn spawn_terminate(
    tx: UnboundedSender<Action>,
    clients: Clients,
    session_id: String,
    target: String,
) {
    tokio::spawn(async move {
        let result = crate::replay::history::terminate(&clients, &session_id, TERMINATE_WAIT).await;
        let _ = tx.send(Action::SessionTerminated {
            session_id,
            target,
            result: result.map_err(|e| e.to_string()),
        });
    });
}

/// Writes `timeline` as asciicast v2 to `path`; returns the path written, or why not.
pub fn export_cast(
    timeline: &crate::replay::Timeline,
    path: &std::path::Path,
    options: &crate::replay::CastOptions,
) -> Result<String, String> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    crate::replay::write_cast(&mut out, timeline, options)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}
/// What the app keeps of its bulk runs besides their tabs: the guard's policy and each running
/// run's control channel (cancel).
#[derive(Debug, Default)]
pub struct RunLinks {
    pub policy: crate::run::GuardPolicy,
    pub controls: std::collections::HashMap<u64, UnboundedSender<crate::run::Control>>,
    pub next: u64,
    /// Each run's own count of AWS requests (retries included), read on the frame tick.
    pub stats: std::collections::HashMap<u64, Arc<CallStats>>,
    /// One per run started here: resolves once its audit line is written (or can no longer
    /// be). Quitting waits for them, so a run sent just before `q` is still recorded.
    pub audits: Vec<tokio::sync::oneshot::Receiver<()>>,
}

/// Runs an accepted plan: `run::execute` in a task, each `RunEvent` reported as an action, the
/// audit line written once every SendCommand is out (as `fleetdeck run` does), and the report
/// at the end. Returns the channel that cancels it.
pub fn spawn_run(
    tx: UnboundedSender<Action>,
    run: u64,
    plan: crate::run::Plan,
    clients: Vec<Clients>,
    confirmation: String,
    audited: tokio::sync::oneshot::Sender<()>,
) -> UnboundedSender<crate::run::Control> {
    use crate::run::{self as bulk, RunEvent};
    let (control, control_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let started = chrono::Utc::now();
        // Who is asking, for the audit line: looked up beside the run, never before it.
        let who = {
            let first = plan.sends.first();
            let c = clients
                .iter()
                .find(|c| {
                    first.is_some_and(|s| {
                        c.target.profile_label() == s.profile && c.target.region == s.region
                    })
                })
                .or(clients.first())
                .cloned();
            tokio::spawn(async move {
                match c {
                    Some(c) => bulk::audit::caller_identity(&c).await,
                    None => ("unknown".into(), "none".into()),
                }
            })
        };
        let (events, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
        let poll = bulk::PollOptions::default();
        let work = bulk::execute(&plan, &clients, &poll, &events, control_rx);
        tokio::pin!(work);
        let mut sent = Vec::new();
        let mut who = Some(who);
        let mut audited = Some(audited);
        let forward = |event: RunEvent, sent: &mut Vec<bulk::SentCommand>| {
            if let RunEvent::Sent(s) = &event {
                sent.push(s.clone());
            }
            let _ = tx.send(Action::RunReported { run, event });
        };
        let report = loop {
            tokio::select! {
                report = &mut work => break report,
                Some(event) = events_rx.recv() => {
                    forward(event, &mut sent);
                    if sent.len() == plan.sends.len() && let Some(who) = who.take() {
                        let done = audited.take();
                        spawn_audit(&tx, run, &plan, sent.clone(), started, who, &confirmation, done);
                    }
                }
            }
        };
        while let Ok(event) = events_rx.try_recv() {
            forward(event, &mut sent);
        }
        if let Some(who) = who.take() {
            spawn_audit(
                &tx,
                run,
                &plan,
                report.sends.clone(),
                started,
                who,
                &confirmation,
                audited.take(),
            );
        }
        let _ = tx.send(Action::RunFinished {
            run,
            report: Box::new(report),
        });
    });
    control
}

/// Writes the run's audit line once the caller's identity is known, off the run's own task;
/// `done` is dropped once it is written (what quitting waits for).
#[allow(clippy::too_many_arguments)]
fn spawn_audit(
    tx: &UnboundedSender<Action>,
    run: u64,
    plan: &crate::run::Plan,
    sends: Vec<crate::run::SentCommand>,
    when: chrono::DateTime<chrono::Utc>,
    who: tokio::task::JoinHandle<(String, String)>,
    confirmation: &str,
    done: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let (tx, plan, confirmation) = (tx.clone(), plan.clone(), confirmation.to_owned());
    tokio::spawn(async move {
        let who = who
            .await
            .unwrap_or_else(|_| ("unknown".into(), "none".into()));
        let record = crate::run::AuditRecord::new(&plan, &sends, when, who, &confirmation);
        if let Err(e) = crate::run::audit::write(&record) {
            let _ = tx.send(Action::RunReported {
                run,
                event: crate::run::RunEvent::Note(format!("audit log: {e}")),
            });
        }
        drop(done);
    });
}
