//! Tunnels: a local TCP listener (127.0.0.1 unless asked otherwise) whose every accepted
//! connection becomes one smux stream of a port session. The tunnel outlives its sessions: a
//! dropped data channel is resumed by the session task; a session that cannot be resumed is
//! replaced by a new StartSession with backoff, and the listener stays open throughout. State
//! changes arrive as [`TunnelState`] events; counters are plain data ([`TunnelStats`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::aws::clients::Clients;
use crate::channel::SessionState;
use crate::channel::port::{MuxSession, PortError, PortEvent, PortTarget};

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelState {
    Connecting,
    Listening,
    Reconnecting,
    /// The tunnel has given up (the first session could not start) or was closed.
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// Bytes from local clients to the destination (counted when a connection ends).
    pub bytes_out: u64,
    /// Bytes from the destination to local clients (counted when a connection ends).
    pub bytes_in: u64,
    pub connections_total: u64,
    pub connections_open: u64,
    /// Streams the agent could not connect (Flag ConnectToPortError).
    pub connect_errors: u64,
    /// New sessions started after the first.
    pub restarts: u64,
    pub session_id: Option<String>,
    pub last_error: Option<String>,
}

/// A running tunnel. Dropping it does not stop it: call [`Tunnel::close`].
#[derive(Debug, Clone)]
pub struct Tunnel {
    local_addr: SocketAddr,
    stats: Arc<Mutex<TunnelStats>>,
    cancel: CancellationToken,
}

impl Tunnel {
    /// Binds the listener and starts the supervisor; the first event is `Connecting`.
    pub async fn start(
        clients: Clients,
        spec: TunnelSpec,
    ) -> std::io::Result<(Tunnel, mpsc::UnboundedReceiver<TunnelState>)> {
        let listener = TcpListener::bind((spec.bind, spec.local_port)).await?;
        let tunnel = Tunnel {
            local_addr: listener.local_addr()?,
            stats: Arc::default(),
            cancel: CancellationToken::new(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(clients, spec, listener, tunnel.clone(), tx));
        Ok((tunnel, rx))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> TunnelStats {
        self.lock().clone()
    }

    /// Stops listening and terminates the session.
    pub fn close(&self) {
        self.cancel.cancel();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TunnelStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn supervise(
    clients: Clients,
    spec: TunnelSpec,
    listener: TcpListener,
    tunnel: Tunnel,
    states: mpsc::UnboundedSender<TunnelState>,
) {
    let target = PortTarget {
        remote_port: spec.remote_port,
        remote_host: spec.remote_host.clone(),
    };
    let mut backoff = FIRST_BACKOFF;
    let mut started_once = false;
    let _ = states.send(TunnelState::Connecting);
    loop {
        let session = tokio::select! {
            _ = tunnel.cancel.cancelled() => return,
            s = MuxSession::start(&clients, &spec.target, &target) => s,
        };
        let mut session = match session {
            Ok(s) => s,
            Err(error) => {
                let reason = error.to_string();
                tunnel.lock().last_error = Some(reason.clone());
                if !started_once || matches!(error, PortError::OldAgent(_)) {
                    let _ = states.send(TunnelState::Failed { reason });
                    return;
                }
                tracing::debug!(%reason, "tunnel: new session failed; retrying");
                tokio::select! {
                    _ = tunnel.cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        {
            let mut stats = tunnel.lock();
            if started_once {
                stats.restarts += 1;
            }
            stats.session_id = Some(session.session_id().to_string());
        }
        started_once = true;
        backoff = FIRST_BACKOFF;
        let _ = states.send(TunnelState::Listening);
        loop {
            tokio::select! {
                _ = tunnel.cancel.cancelled() => {
                    session.terminate();
                    let _ = states.send(TunnelState::Failed { reason: "closed".into() });
                    return;
                }
                accepted = listener.accept() => match accepted {
                    Ok((tcp, _)) => {
                        tokio::spawn(forward(tcp, session.mux(), tunnel.clone()));
                    }
                    Err(error) => tracing::debug!(%error, "tunnel: accept failed"),
                },
                ev = session.events.recv() => match ev {
                    Some(PortEvent::ConnectToPortError) => {
                        let mut stats = tunnel.lock();
                        stats.connect_errors += 1;
                        stats.last_error =
                            Some("Connection to destination port failed".into());
                    }
                    Some(PortEvent::State(SessionState::Reconnecting)) => {
                        let _ = states.send(TunnelState::Reconnecting);
                    }
                    Some(PortEvent::State(SessionState::Live)) => {
                        let _ = states.send(TunnelState::Listening);
                    }
                    Some(PortEvent::State(SessionState::Closed { reason })) => {
                        tunnel.lock().last_error = Some(reason);
                        break;
                    }
                    Some(PortEvent::State(SessionState::Connecting)) => {}
                    None => break,
                },
            }
        }
        let _ = states.send(TunnelState::Reconnecting);
    }
}

async fn forward(tcp: TcpStream, mux: crate::channel::smux::Mux, tunnel: Tunnel) {
    let _ = tcp.set_nodelay(true);
    {
        let mut stats = tunnel.lock();
        stats.connections_total += 1;
        stats.connections_open += 1;
    }
    let (out, inn) = match mux.open().await {
        Ok(stream) => stream.splice(tcp).await,
        Err(_) => (0, 0),
    };
    let mut stats = tunnel.lock();
    stats.connections_open -= 1;
    stats.bytes_out += out;
    stats.bytes_in += inn;
}
