//! Background work for the console. Each task owns what it needs, holds a child of the app's
//! root cancellation token, and reports only through the `Action` channel.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::action::Action;
use crate::aws::{self, CallStats, ClientOptions, Clients, Target};
use crate::cache::{Cache, CacheKey};

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
