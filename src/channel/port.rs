//! Port sessions (ssm-protocol.md §7) on top of the shell machinery in [`super::session`]:
//! StartSession with a port document, the handshake (our ClientVersion makes a current agent
//! choose mux mode and turn smux keepalive off), then, as the plugin decides from the agent's
//! version, an smux client whose streams carry one local connection each, or basic mode for
//! agents up to 3.0.196.0 (one connection at a time) ([`PortSession`]); or one raw byte stream
//! ([`RawSession`], AWS-StartSSHSession).
//! Reconnects (ResumeSession, redial) are the session task's; the smux streams survive them.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::ChannelError;
use super::message::flag;
use super::payloads::HandshakeRequest;
use super::session::{self, PortHooks, SessionEvent, SessionHandle, SessionState};
use super::smux::{Mux, MuxIo, Side};
use crate::aws::clients::Clients;

pub const PORT_DOCUMENT: &str = "AWS-StartPortForwardingSession";
pub const REMOTE_HOST_DOCUMENT: &str = "AWS-StartPortForwardingSessionToRemoteHost";
pub const SSH_DOCUMENT: &str = "AWS-StartSSHSession";
/// Agents newer than this speak mux mode (ssm-protocol.md §7).
const MUX_AGENT_VERSION: &str = "3.0.196.0";
const HANDSHAKE_WAIT: Duration = Duration::from_secs(30);

/// Where the agent should connect: `host` (through the instance) or the instance itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTarget {
    pub remote_port: u16,
    pub remote_host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortEvent {
    State(SessionState),
    /// The agent could not connect one stream to the destination port.
    ConnectToPortError,
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("the session ended before its handshake: {0}")]
    Handshake(String),
}

/// `a > b`, numerically per dot-separated part; a different part count is "not greater", as in
/// the plugin.
pub fn version_greater(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) if a.len() == b.len() => a > b,
        _ => false,
    }
}

/// How a port session carries connections, as the plugin decides from the agent's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMode {
    /// smux streams: many concurrent connections.
    Mux,
    /// One connection at a time as raw Output; Flag DisconnectToPort ends each.
    Basic,
}

impl PortMode {
    /// Mux when the agent is newer than 3.0.196.0 (numerically per part), as the plugin does.
    pub fn for_agent(agent_version: &str) -> PortMode {
        if version_greater(agent_version, MUX_AGENT_VERSION) {
            PortMode::Mux
        } else {
            PortMode::Basic
        }
    }
}

/// Where the destination's bytes go in basic mode: the connection being served, if any.
type BasicSink = std::sync::Arc<std::sync::Mutex<Option<mpsc::Sender<Bytes>>>>;

/// The transport of one port session.
#[derive(Clone)]
pub enum PortLink {
    Mux(Mux),
    Basic(BasicLink),
}

/// Basic mode's single connection: bytes for the agent, the sink for its replies, the flag.
#[derive(Clone)]
pub struct BasicLink {
    data: mpsc::Sender<Bytes>,
    sink: BasicSink,
    handle: SessionHandle,
}

impl BasicLink {
    /// Starts serving one connection: the destination's bytes go to the returned receiver.
    pub fn attach(&self) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(64);
        *self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        rx
    }

    /// Bytes from the local connection; false when the session has gone.
    pub async fn send(&self, bytes: Bytes) -> bool {
        self.data.send(bytes).await.is_ok()
    }

    /// The local connection ended: Flag DisconnectToPort (the agent closes its side and dials
    /// again on the next data), and replies are dropped until the next connection.
    pub fn detach(&self) {
        self.sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.handle.send_flag(flag::DISCONNECT_TO_PORT);
    }
}

/// A port session: StartSession, the handshake, then mux or basic mode by the agent's version.
pub struct PortSession {
    handle: SessionHandle,
    link: PortLink,
    agent_version: String,
    pub events: mpsc::Receiver<PortEvent>,
}

impl PortSession {
    pub async fn start(
        clients: &Clients,
        target: &str,
        port: &PortTarget,
    ) -> Result<PortSession, PortError> {
        // The session's data source is fed by the mode chosen after the handshake.
        let (data_tx, data_rx) = mpsc::channel::<Bytes>(64);
        let (hs_tx, mut hs_rx) = mpsc::unbounded_channel();
        let (flag_tx, mut flag_rx) = mpsc::unbounded_channel();
        let (document, mut params) = match &port.remote_host {
            Some(host) => (
                REMOTE_HOST_DOCUMENT,
                vec![("host".into(), vec![host.clone()])],
            ),
            None => (PORT_DOCUMENT, Vec::new()),
        };
        params.push(("portNumber".into(), vec![port.remote_port.to_string()]));
        params.push(("localPortNumber".into(), vec!["0".into()]));
        let hooks = PortHooks {
            data: data_rx,
            handshake: hs_tx,
            flags: flag_tx,
        };
        let (handle, mut raw) =
            session::open(clients, target, Some(document), params, Some(hooks)).await?;
        // The handshake request arrives first; anything else before it means the session failed.
        let request = match wait_handshake(&mut hs_rx, &mut raw).await {
            Ok(r) => r,
            Err(e) => {
                handle.terminate();
                return Err(e);
            }
        };
        let (incoming, link) = match PortMode::for_agent(&request.agent_version) {
            PortMode::Mux => {
                let (mux, io, _accept) = Mux::new(Side::Client);
                let MuxIo {
                    incoming,
                    mut outgoing,
                } = io;
                let data = data_tx;
                tokio::spawn(async move {
                    while let Some(bytes) = outgoing.recv().await {
                        if data.send(bytes).await.is_err() {
                            break;
                        }
                    }
                });
                (Some(incoming), PortLink::Mux(mux))
            }
            PortMode::Basic => (
                None,
                PortLink::Basic(BasicLink {
                    data: data_tx,
                    sink: BasicSink::default(),
                    handle: handle.clone(),
                }),
            ),
        };
        let sink = match &link {
            PortLink::Basic(b) => Some(b.sink.clone()),
            PortLink::Mux(_) => None,
        };
        let (events_tx, events) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = raw.recv() => match ev {
                        Some(SessionEvent::Output(bytes)) => {
                            if let Some(incoming) = &incoming {
                                let _ = incoming.send(bytes).await;
                            } else if let Some(sink) = &sink {
                                let to = sink
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .clone();
                                if let Some(to) = to {
                                    let _ = to.send(bytes).await;
                                }
                            }
                        }
                        Some(SessionEvent::State(state)) => {
                            let closed = matches!(state, SessionState::Closed { .. });
                            let _ = events_tx.send(PortEvent::State(state)).await;
                            if closed {
                                return;
                            }
                        }
                        None => return,
                    },
                    Some(code) = flag_rx.recv() => {
                        if code == flag::CONNECT_TO_PORT_ERROR {
                            let _ = events_tx.send(PortEvent::ConnectToPortError).await;
                        }
                    }
                }
            }
        });
        Ok(PortSession {
            handle,
            link,
            agent_version: request.agent_version,
            events,
        })
    }

    pub fn session_id(&self) -> &str {
        self.handle.session_id()
    }

    pub fn agent_version(&self) -> &str {
        &self.agent_version
    }

    pub fn mode(&self) -> PortMode {
        match self.link {
            PortLink::Mux(_) => PortMode::Mux,
            PortLink::Basic(_) => PortMode::Basic,
        }
    }

    pub fn link(&self) -> PortLink {
        self.link.clone()
    }

    /// Flag TerminateSession, then the TerminateSession API.
    pub fn terminate(&self) {
        self.handle.send_flag(flag::TERMINATE_SESSION);
        self.handle.terminate();
    }
}

async fn wait_handshake(
    hs: &mut mpsc::UnboundedReceiver<HandshakeRequest>,
    raw: &mut mpsc::Receiver<SessionEvent>,
) -> Result<HandshakeRequest, PortError> {
    let wait = async {
        loop {
            tokio::select! {
                Some(r) = hs.recv() => return Ok(r),
                ev = raw.recv() => match ev {
                    Some(SessionEvent::State(SessionState::Closed { reason })) => {
                        return Err(PortError::Handshake(reason));
                    }
                    None => return Err(PortError::Handshake("session task ended".into())),
                    Some(_) => {}
                },
            }
        }
    };
    tokio::time::timeout(HANDSHAKE_WAIT, wait)
        .await
        .unwrap_or_else(|_| Err(PortError::Handshake("no handshake from the agent".into())))
}

/// One raw byte stream to `port` on the instance (AWS-StartSSHSession; basic mode).
pub struct RawSession {
    pub handle: SessionHandle,
    /// Bytes for the destination; dropping it stops sending.
    pub input: mpsc::Sender<Bytes>,
    /// The destination's bytes as `Output`, then `State(Closed)` when it ends.
    pub events: mpsc::Receiver<SessionEvent>,
}

impl RawSession {
    pub async fn start_ssh(clients: &Clients, target: &str, port: u16) -> Result<Self, PortError> {
        let (input, data) = mpsc::channel(64);
        let (hs_tx, _hs_rx) = mpsc::unbounded_channel();
        let (flag_tx, _flag_rx) = mpsc::unbounded_channel();
        let hooks = PortHooks {
            data,
            handshake: hs_tx,
            flags: flag_tx,
        };
        let params = vec![("portNumber".into(), vec![port.to_string()])];
        let (handle, events) =
            session::open(clients, target, Some(SSH_DOCUMENT), params, Some(hooks)).await?;
        Ok(RawSession {
            handle,
            input,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_like_the_plugin() {
        assert!(version_greater("3.3.987.0", MUX_AGENT_VERSION));
        assert!(!version_greater("3.0.196.0", MUX_AGENT_VERSION));
        assert!(!version_greater("3.0.196", MUX_AGENT_VERSION));
        assert!(version_greater("3.0.1000.0", "3.0.196.0"));
    }

    #[test]
    fn old_agents_get_basic_mode_like_the_plugin_gives_them() {
        assert_eq!(PortMode::for_agent("3.3.987.0"), PortMode::Mux);
        assert_eq!(PortMode::for_agent("3.0.197.0"), PortMode::Mux);
        assert_eq!(PortMode::for_agent("3.0.196.0"), PortMode::Basic);
        assert_eq!(PortMode::for_agent("2.3.1644.0"), PortMode::Basic);
        // A version the plugin cannot compare (other part count) is not "greater": basic.
        assert_eq!(PortMode::for_agent("3.1"), PortMode::Basic);
    }
}
