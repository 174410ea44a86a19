//! The console's tunnels: each runs as a task the app owns ([`crate::tunnel::Tunnel`]) and
//! keeps running whatever tab is shown. The task reports start and state changes as actions;
//! counters are atomics the frame tick copies (`App::tick_tunnels`), so bytes move on screen
//! while connections are open without an action per chunk.

use std::collections::HashMap;

use tokio::sync::mpsc::UnboundedSender;

use super::action::Action;
use crate::aws::Clients;
use crate::tunnel::{Tunnel, TunnelSpec};

/// The app's end of one tunnel.
#[derive(Debug)]
pub struct TunnelLink {
    pub spec: TunnelSpec,
    pub clients: Option<Clients>,
    /// `None` until the listener is bound (or when it could not be).
    pub tunnel: Option<Tunnel>,
}

#[derive(Debug, Default)]
pub struct TunnelLinks {
    pub links: HashMap<u64, TunnelLink>,
    pub next: u64,
}

impl TunnelLinks {
    /// Closes every tunnel (on quit); returns how many were running.
    pub fn close_all(&mut self) -> usize {
        let mut n = 0;
        for (_, link) in self.links.drain() {
            if let Some(t) = link.tunnel {
                t.close();
                n += 1;
            }
        }
        n
    }
}

/// Binds the listener and starts the tunnel; reports `TunnelStarted` (or `TunnelStartFailed`),
/// then every state change until the tunnel's task ends.
pub fn spawn_tunnel(tx: UnboundedSender<Action>, clients: Clients, spec: TunnelSpec, id: u64) {
    tokio::spawn(async move {
        let addr = format!("{}:{}", spec.bind, spec.local_port);
        let (tunnel, mut states) = match Tunnel::start(clients, spec).await {
            Ok(t) => t,
            Err(e) => {
                let _ = tx.send(Action::TunnelStartFailed {
                    id,
                    error: format!("cannot listen on {addr}: {e}"),
                });
                return;
            }
        };
        if tx.send(Action::TunnelStarted { id, tunnel }).is_err() {
            return;
        }
        while let Some(state) = states.recv().await {
            let over = state.is_over();
            if tx.send(Action::TunnelStateChanged { id, state }).is_err() || over {
                return;
            }
        }
    });
}
