//! Tunnels: a local TCP listener (127.0.0.1 unless asked otherwise) whose every accepted
//! connection becomes one smux stream of a port session. The tunnel outlives its sessions: a
//! dropped data channel is resumed by the session task; a session that ends (the service's idle
//! timeout, a token that can no longer be resumed) is replaced by a new StartSession with
//! backoff, and the listener stays open throughout. State changes arrive as [`TunnelState`]
//! events; counters are live atomics read with [`Tunnel::stats`] (`stats.rs`).

mod stats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::aws::clients::Clients;
use crate::channel::SessionState;
use crate::channel::port::{BasicLink, PortEvent, PortLink, PortSession, PortTarget};
use stats::{Counters, OpenConnection};

pub use stats::TunnelStats;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    /// Instance id.
    pub target: String,
    pub remote_port: u16,
    pub remote_host: Option<String>,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub local_port: u16,
}

impl TunnelSpec {
    pub fn new(target: impl Into<String>, remote_port: u16) -> TunnelSpec {
        TunnelSpec {
            target: target.into(),
            remote_port,
            remote_host: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: 0,
        }
    }

    /// `host:port` as the agent dials it (`localhost` is the instance itself).
    pub fn destination(&self) -> String {
        format!(
            "{}:{}",
            self.remote_host.as_deref().unwrap_or("localhost"),
            self.remote_port
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelState {
    /// The listener is open; the first session is starting.
    Starting,
    /// A session is live: connections go through.
    Listening,
    /// The data channel dropped or the session ended; the listener stays open while the tunnel
    /// resumes or starts a new session. `attempt` counts new sessions tried since the last live one.
    Reconnecting { attempt: u32, why: String },
    /// The tunnel has given up: the first session could not start, or the agent cannot forward.
    Failed { why: String },
    /// Closed by its owner.
    Closed,
}

impl TunnelState {
    /// Whether the tunnel's task has ended (a restart needs a new tunnel).
    pub fn is_over(&self) -> bool {
        matches!(self, TunnelState::Failed { .. } | TunnelState::Closed)
    }
}

/// What the tunnel's owner and its supervisor share.
#[derive(Debug)]
struct Shared {
    counters: Counters,
    cancel: CancellationToken,
    restart: Notify,
}

/// A running tunnel. Dropping it does not stop it: call [`Tunnel::close`].
#[derive(Debug, Clone)]
pub struct Tunnel {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Tunnel {
    /// Binds the listener and starts the supervisor; the first event is `Starting`.
    pub async fn start(
        clients: Clients,
        spec: TunnelSpec,
    ) -> std::io::Result<(Tunnel, mpsc::UnboundedReceiver<TunnelState>)> {
        let listener = TcpListener::bind((spec.bind, spec.local_port)).await?;
        let tunnel = Tunnel {
            local_addr: listener.local_addr()?,
            shared: Arc::new(Shared {
                counters: Counters::new(),
                cancel: CancellationToken::new(),
                restart: Notify::new(),
            }),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(
            clients,
            spec,
            listener,
            tunnel.shared.clone(),
            tx,
        ));
        Ok((tunnel, rx))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters now; bytes count as they flow.
    pub fn stats(&self) -> TunnelStats {
        self.shared.counters.snapshot()
    }

    /// Stops listening and terminates the session; the last event is `Closed`.
    pub fn close(&self) {
        self.shared.cancel.cancel();
    }

    /// Replaces the session with a new one now (the listener stays). Open connections end.
    pub fn restart(&self) {
        self.shared.restart.notify_one();
    }
}

async fn supervise(
    clients: Clients,
    spec: TunnelSpec,
    listener: TcpListener,
    shared: Arc<Shared>,
    states: mpsc::UnboundedSender<TunnelState>,
) {
    let target = PortTarget {
        remote_port: spec.remote_port,
        remote_host: spec.remote_host.clone(),
    };
    let send = |s: TunnelState| {
        let _ = states.send(s);
    };
    let counters = &shared.counters;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0u32;
    let mut started_once = false;
    send(TunnelState::Starting);
    loop {
        let session = tokio::select! {
            _ = shared.cancel.cancelled() => return send(TunnelState::Closed),
            s = PortSession::start(&clients, &spec.target, &target) => s,
        };
        let mut session = match session {
            Ok(s) => s,
            Err(error) => {
                let why = error.to_string();
                counters.set_error(why.clone());
                if !started_once {
                    return send(TunnelState::Failed { why });
                }
                attempt += 1;
                send(TunnelState::Reconnecting {
                    attempt,
                    why: format!("a new session failed: {why}"),
                });
                tokio::select! {
                    _ = shared.cancel.cancelled() => return send(TunnelState::Closed),
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shared.restart.notified() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if started_once {
            Counters::add(&counters.restarts, 1);
        }
        counters.set_session(session.session_id());
        started_once = true;
        backoff = FIRST_BACKOFF;
        send(TunnelState::Listening);
        if session.mode() == crate::channel::port::PortMode::Basic {
            tracing::info!(
                agent = session.agent_version(),
                "tunnel: the agent is too old to multiplex: one connection at a time"
            );
        }
        // Basic mode serves one connection at a time; the next waits in the listen backlog.
        let mut serving: Option<oneshot::Receiver<()>> = None;
        let mut dropped = false;
        let why = loop {
            tokio::select! {
                _ = shared.cancel.cancelled() => {
                    session.terminate();
                    return send(TunnelState::Closed);
                }
                _ = shared.restart.notified() => {
                    session.terminate();
                    break "restart asked".to_owned();
                }
                _ = async { serving.as_mut().expect("guarded").await }, if serving.is_some() => {
                    serving = None;
                }
                accepted = listener.accept(), if serving.is_none() => match accepted {
                    Ok((tcp, _)) => match session.link() {
                        PortLink::Mux(mux) => {
                            tokio::spawn(forward(tcp, mux, shared.clone()));
                        }
                        PortLink::Basic(link) => {
                            let (done, wait) = oneshot::channel();
                            serving = Some(wait);
                            tokio::spawn(forward_basic(tcp, link, shared.clone(), done));
                        }
                    },
                    Err(error) => tracing::debug!(%error, "tunnel: accept failed"),
                },
                ev = session.events.recv() => match ev {
                    Some(PortEvent::ConnectToPortError) => {
                        Counters::add(&counters.connect_errors, 1);
                        counters.set_error(format!(
                            "the agent could not connect to {}",
                            spec.destination()
                        ));
                    }
                    Some(PortEvent::State(SessionState::Reconnecting)) => {
                        let why = "the data channel dropped; resuming the session";
                        counters.set_error(why);
                        dropped = true;
                        send(TunnelState::Reconnecting {
                            attempt: 0,
                            why: why.into(),
                        });
                    }
                    Some(PortEvent::State(SessionState::Live)) => {
                        // Kept as the last error, so a healed drop stays visible.
                        if std::mem::take(&mut dropped) {
                            counters.set_error("the data channel dropped and was resumed");
                        }
                        send(TunnelState::Listening);
                    }
                    Some(PortEvent::State(SessionState::Closed { reason })) => {
                        counters.set_error(reason.clone());
                        break reason;
                    }
                    Some(PortEvent::State(SessionState::Connecting)) => {}
                    None => break "the session task ended".to_owned(),
                },
            }
        };
        attempt = 1;
        send(TunnelState::Reconnecting {
            attempt,
            why: format!("the session ended ({why}); starting a new one"),
        });
    }
}

async fn forward(tcp: TcpStream, mux: crate::channel::smux::Mux, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let counters = &shared.counters;
    let _open = OpenConnection::new(counters);
    if let Ok(stream) = mux.open().await {
        stream
            .splice_metered(
                tcp,
                |n| Counters::add(&counters.bytes_out, n),
                |n| Counters::add(&counters.bytes_in, n),
            )
            .await;
    }
}

/// Basic mode: this connection's bytes as the session's data until the local side closes, the
/// agent's replies back to it; then Flag DisconnectToPort, and `done` lets the next one in.
async fn forward_basic(
    tcp: TcpStream,
    link: BasicLink,
    shared: Arc<Shared>,
    done: oneshot::Sender<()>,
) {
    let _ = tcp.set_nodelay(true);
    let counters = &shared.counters;
    let _open = OpenConnection::new(counters);
    let mut replies = link.attach();
    let (mut read, mut write) = tcp.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !link.send(bytes::Bytes::copy_from_slice(&buf[..n])).await {
                        break;
                    }
                    Counters::add(&counters.bytes_out, n as u64);
                }
            }
        }
    };
    let down = async {
        while let Some(bytes) = replies.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
            Counters::add(&counters.bytes_in, bytes.len() as u64);
        }
    };
    // The agent never says its side closed in basic mode: the connection lasts until the local
    // client closes (or the session goes).
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
    link.detach();
    let _ = write.shutdown().await;
    let _ = done.send(());
}
