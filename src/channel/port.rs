//! Port sessions (ssm-protocol.md §7) on top of the shell machinery in [`super::session`]:
//! StartSession with a port document, the handshake (our ClientVersion makes the agent choose mux
//! mode and turn smux keepalive off), then either an smux client whose streams carry one local
//! connection each ([`MuxSession`]), or one raw byte stream ([`RawSession`], AWS-StartSSHSession).
//! Reconnects (ResumeSession, redial) are the session task's; the smux streams survive them.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::message::flag;
use super::payloads::HandshakeRequest;
use super::session::{self, PortHooks, SessionEvent, SessionHandle, SessionState};
use super::smux::{Mux, MuxIo, Side, SmuxError, Stream};
use super::{CLIENT_VERSION, ChannelError};
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
    #[error("agent {0} is too old for multiplexed port forwarding (needs > {MUX_AGENT_VERSION})")]
    OldAgent(String),
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

/// A mux-mode port session: open a stream per local connection.
pub struct MuxSession {
    handle: SessionHandle,
    mux: Mux,
    pub events: mpsc::Receiver<PortEvent>,
}

impl MuxSession {
    pub async fn start(
        clients: &Clients,
        target: &str,
        port: &PortTarget,
    ) -> Result<MuxSession, PortError> {
        let (mux, io, _accept) = Mux::new(Side::Client);
        let MuxIo { incoming, outgoing } = io;
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
            data: outgoing,
            handshake: hs_tx,
            flags: flag_tx,
        };
        let (handle, mut raw) =
            session::open(clients, target, Some(document), params, Some(hooks)).await?;
        // The handshake request arrives first; anything else before it means the session failed.
        let request = wait_handshake(&mut hs_rx, &mut raw).await;
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                handle.terminate();
                return Err(e);
            }
        };
        if !version_greater(&request.agent_version, MUX_AGENT_VERSION) {
            handle.terminate();
            return Err(PortError::OldAgent(request.agent_version));
        }
        let (events_tx, events) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = raw.recv() => match ev {
                        Some(SessionEvent::Output(bytes)) => {
                            let _ = incoming.send(bytes).await;
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
        Ok(MuxSession {
            handle,
            mux,
            events,
        })
    }

    pub fn session_id(&self) -> &str {
        self.handle.session_id()
    }

    /// A new stream to the destination (the agent dials it on SYN).
    pub async fn open(&self) -> Result<Stream, SmuxError> {
        self.mux.open().await
    }

    pub fn mux(&self) -> Mux {
        self.mux.clone()
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

/// The version sent in handshake replies (mux mode and keepalive off on every current agent).
pub fn client_version() -> &'static str {
    CLIENT_VERSION
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
}
