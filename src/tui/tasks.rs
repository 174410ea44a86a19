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
    pub fn load_cache(&self, key: CacheKey) {
        let Some(cache) = self.cache.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            if let Some(cached) = cache.load(&key) {
                let _ = tx.send(Action::CacheLoaded {
                    key,
                    cached: Box::new(cached),
                });
            }
        });
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
}

impl ShellLink {
    /// Keys for the session; held until it has started.
    pub fn send(&mut self, bytes: Vec<u8>) {
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
