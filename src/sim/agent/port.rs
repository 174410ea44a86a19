//! Port sessions of the simulated agent (ssm-protocol.md §5, §7): the handshake (SessionType
//! Port with the document's properties), then either mux mode (an smux server; each stream dials
//! the target and is copied both ways; a failed dial sends Flag ConnectToPortError and closes the
//! stream) or basic mode (one target connection at a time; Flag DisconnectToPort closes it and the
//! next data re-dials; SSH sessions end when the target closes). The simulator only dials
//! loopback addresses: anything else is refused as a denied address is by the real agent. The task
//! outlives WebSockets like the shell's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Faulty, Start, WINDOW, at, close_channel, next_frame};
use crate::channel::message::{ClientMessage, PayloadType, flag};
use crate::channel::payloads::{HandshakeComplete, HandshakeRequest, HandshakeResponse};
use crate::channel::reliable::{Reliable, Role};
use crate::channel::smux::{Mux, MuxIo, Side, Stream};
use crate::sim::gateway::Socket;
use crate::sim::sessions::{mark_connected, mark_terminated};
use crate::sim::state::SimState;

/// The version the simulated agent reports when the instance has none: new enough for mux mode
/// and keepalive off.
pub(crate) const AGENT_VERSION: &str = "3.3.987.0";
/// Agents up to this version know only basic mode (ssm-protocol.md §7).
const LAST_BASIC_ONLY_AGENT: &str = "3.0.196.0";
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Oldest client that speaks mux mode (ssm-protocol.md §7).
const MUX_CLIENT_VERSION: &str = "1.1.70";

/// What a port document asked for (its Parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSpec {
    /// `host` of AWS-StartPortForwardingSessionToRemoteHost; `localhost` otherwise.
    pub host: Option<String>,
    pub port: u16,
    pub local_port: Option<String>,
    /// `type: LocalPortForwarding` (the forwarding documents); false for AWS-StartSSHSession.
    pub forwarding: bool,
}

impl PortSpec {
    fn properties(&self) -> Value {
        let mut p = json!({"portNumber": self.port.to_string()});
        if self.forwarding {
            p["type"] = json!("LocalPortForwarding");
            p["localPortNumber"] = json!(self.local_port.clone().unwrap_or_default());
        }
        if let Some(host) = &self.host {
            p["host"] = json!(host);
        }
        p
    }
}

/// `version ≥ min`, numerically per dot-separated part (missing parts count as 0).
pub(crate) fn version_at_least(version: &str, min: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parts(version), parts(min));
    let n = a.len().max(b.len());
    let get = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| get(&a, i).cmp(&get(&b, i)))
        .find(|o| o.is_ne())
        .is_none_or(|o| o.is_gt())
}

/// Resolves and dials `host:port`, loopback addresses only. The demo database's name resolves
/// to 127.0.0.1, as a VPC's private DNS resolves a database's name for a real agent.
pub(crate) async fn dial(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let host = if host.eq_ignore_ascii_case(crate::sim::demo_db::DEMO_DB_HOST) {
        "127.0.0.1"
    } else {
        host
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    let mut last = std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!("{host}: only loopback addresses may be forwarded in the simulator"),
    );
    for addr in addrs.into_iter().filter(|a| a.ip().is_loopback()) {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

enum Mode {
    Handshake { deadline: Instant },
    Mux { incoming: mpsc::Sender<Bytes> },
    Basic { conn: Option<OwnedWriteHalf> },
}

pub(super) async fn run(
    state: Arc<SimState>,
    start: Start,
    spec: PortSpec,
    first: Socket,
    mut attach: mpsc::Receiver<Socket>,
) {
    let host = spec.host.clone().unwrap_or_else(|| "localhost".into());
    // The instance's own agent version: an old agent cannot multiplex, whatever the client.
    let agent_version = state
        .fleet
        .iter()
        .find(|i| i.id == start.target && i.region == start.region)
        .and_then(|i| i.ssm.as_ref())
        .map(|ssm| ssm.agent_version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| AGENT_VERSION.to_owned());
    // agent > 3.0.196.0, i.e. not (3.0.196.0 ≥ agent).
    let mux_capable = !version_at_least(LAST_BASIC_ONLY_AGENT, &agent_version);
    let Start {
        session_id,
        cancel,
        lost,
        region,
        ..
    } = start;
    let mut ws = Some(first);
    mark_connected(&state, &session_id);
    let mut faults = Faulty::for_session(&state);
    let drop_every = state.faults.ws_drop;
    let mut drop_at = drop_every.map(|d| Instant::now() + d);
    let mut reliable = Reliable::new(Role::Agent);
    // The service's idle session timeout (a fault to inject): data either way restarts it.
    let idle_after = state.faults.idle_timeout;
    let mut idle_at = idle_after.map(|d| Instant::now() + d);

    // Bytes for the client (smux output or the basic-mode target's data), flags, target EOFs.
    let (data_tx, mut data_rx) = mpsc::channel::<Bytes>(64);
    let (flag_tx, mut flag_rx) = mpsc::unbounded_channel::<u32>();
    let (eof_tx, mut eof_rx) = mpsc::unbounded_channel::<()>();

    let request = HandshakeRequest {
        agent_version: agent_version.clone(),
        requested_client_actions: vec![crate::channel::payloads::RequestedClientAction {
            action_type: "SessionType".into(),
            action_parameters: json!({"SessionType": "Port", "Properties": spec.properties()}),
        }],
    };
    let started = Instant::now();
    let frame = reliable.send(
        PayloadType::HandshakeRequest,
        Bytes::from(serde_json::to_vec(&request).unwrap_or_default()),
        Instant::now(),
    );
    faults.transmit(&mut ws, frame).await;
    let mut mode = Mode::Handshake {
        deadline: started + HANDSHAKE_TIMEOUT,
    };
    let reason: String;

    'session: loop {
        let window_open = reliable.unacked() < WINDOW && ws.is_some();
        let handshake_deadline = match mode {
            Mode::Handshake { deadline } => Some(deadline),
            _ => None,
        };
        tokio::select! {
            _ = cancel.cancelled() => {
                reason = "Session terminated".into();
                break;
            }
            _ = lost.cancelled() => {
                // The socket breaks: nothing more reaches the client, not even channel_closed.
                ws = None;
                reason = String::new();
                break;
            }
            Some(socket) = attach.recv() => {
                ws = Some(socket);
                drop_at = drop_every.map(|d| Instant::now() + d);
                for frame in reliable.resend_all(Instant::now()) {
                    faults.transmit(&mut ws, frame).await;
                }
            }
            frame = next_frame(&mut ws) => match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(message) = ClientMessage::decode_as_agent(&bytes) else { continue };
                    let got = reliable.receive(message, Instant::now());
                    for reply in got.replies {
                        faults.transmit(&mut ws, reply).await;
                    }
                    for m in got.delivered {
                        if m.payload_type == PayloadType::Output {
                            idle_at = idle_after.map(|d| Instant::now() + d);
                        }
                        match (m.payload_type, &mut mode) {
                            (PayloadType::HandshakeResponse, Mode::Handshake { .. }) => {
                                let Ok(resp) = serde_json::from_slice::<HandshakeResponse>(&m.payload) else {
                                    reason = "Handshake response is not valid".into();
                                    break 'session;
                                };
                                if let Some(a) = resp.processed_client_actions.iter().find(|a| a.action_status != 1) {
                                    reason = format!("Handshake failed: {} {}", a.action_type, a.error);
                                    break 'session;
                                }
                                let done = HandshakeComplete {
                                    handshake_time_to_complete: i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
                                    customer_message: String::new(),
                                };
                                let frame = reliable.send(
                                    PayloadType::HandshakeComplete,
                                    Bytes::from(serde_json::to_vec(&done).unwrap_or_default()),
                                    Instant::now(),
                                );
                                faults.transmit(&mut ws, frame).await;
                                mode = if spec.forwarding && mux_capable && version_at_least(&resp.client_version, MUX_CLIENT_VERSION) {
                                    start_mux(&host, spec.port, data_tx.clone(), flag_tx.clone())
                                } else {
                                    Mode::Basic { conn: None }
                                };
                            }
                            (PayloadType::Output, Mode::Mux { incoming }) => {
                                let _ = incoming.send(m.payload).await;
                            }
                            (PayloadType::Output, Mode::Basic { conn }) => {
                                if conn.is_none() {
                                    match dial(&host, spec.port).await {
                                        Ok(stream) => {
                                            *conn = Some(basic_reader(stream, data_tx.clone(), eof_tx.clone()));
                                        }
                                        Err(error) => {
                                            tracing::debug!(%error, "sim agent: cannot reach the port");
                                            if !spec.forwarding {
                                                reason = format!("Unable to start command: failed to connect to {host}:{}", spec.port);
                                                break 'session;
                                            }
                                            continue;
                                        }
                                    }
                                }
                                if let Some(w) = conn
                                    && w.write_all(&m.payload).await.is_err()
                                {
                                    *conn = None;
                                }
                            }
                            (PayloadType::Flag, mode) => match flag_value(&m.payload) {
                                Some(flag::TERMINATE_SESSION) => {
                                    reason = "Session terminated by the client".into();
                                    break 'session;
                                }
                                Some(flag::DISCONNECT_TO_PORT) => {
                                    if let Mode::Basic { conn } = mode {
                                        *conn = None;
                                    }
                                }
                                _ => {}
                            },
                            // Client data before the handshake completes is acked and dropped.
                            (other, _) => tracing::trace!(?other, "sim agent: port session ignores a payload"),
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => ws = None,
                // The client's keepalive: counted, so tests (and /_sim/stats) can see it.
                Some(Ok(Message::Ping(_))) => {
                    state.lock().stats.record("ssmmessages", "WebSocketPing", &region, false);
                }
                Some(Ok(_)) => {}
            },
            chunk = data_rx.recv(), if window_open => {
                if let Some(bytes) = chunk {
                    idle_at = idle_after.map(|d| Instant::now() + d);
                    for piece in bytes.chunks(1024) {
                        let frame = reliable.send(PayloadType::Output, Bytes::copy_from_slice(piece), Instant::now());
                        faults.transmit(&mut ws, frame).await;
                    }
                }
            }
            Some(code) = flag_rx.recv(), if window_open => {
                let frame = reliable.send(PayloadType::Flag, Bytes::copy_from_slice(&code.to_be_bytes()), Instant::now());
                faults.transmit(&mut ws, frame).await;
            }
            Some(()) = eof_rx.recv() => {
                if let Mode::Basic { conn } = &mut mode {
                    *conn = None;
                    if !spec.forwarding {
                        // SSH sessions end with their target connection, once its bytes are out.
                        while let Ok(bytes) = data_rx.try_recv() {
                            for piece in bytes.chunks(1024) {
                                let frame = reliable.send(PayloadType::Output, Bytes::copy_from_slice(piece), Instant::now());
                                faults.transmit(&mut ws, frame).await;
                            }
                        }
                        reason = String::new();
                        break;
                    }
                }
            }
            // Only the head is resent, as the real agent does (ssm-protocol.md §4). Resending every
            // expired frame (`due_all`) turns a slow client into a livelock: with 2048 frames in
            // flight and the RTO capped at 1 s, the whole window goes out again every RTO, the
            // client spends its time checking and acking duplicates, acks fall further behind, and
            // the tunnel's goodput drops to nothing (observed: 150k frames resent in 70 s).
            _ = at(reliable.next_deadline()), if ws.is_some() => {
                faults.flush(&mut ws).await;
                if let Ok(Some(frame)) = reliable.due(Instant::now()) {
                    faults.transmit(&mut ws, frame).await;
                }
            }
            _ = at(drop_at), if ws.is_some() => {
                tracing::debug!(session = %session_id, "sim agent: injected WebSocket drop");
                ws = None;
                drop_at = None;
            }
            _ = at(idle_at) => {
                reason = "Session terminated: no data for longer than the idle session timeout".into();
                break;
            }
            _ = at(handshake_deadline) => {
                reason = "Handshake timed out. Please ensure that you are using the latest session manager plugin version.".into();
                break;
            }
        }
    }

    // Let the last output reach the client before the channel closes (bounded).
    let flush_until = Instant::now() + Duration::from_secs(5);
    while reliable.unacked() > 0
        && ws.is_some()
        && Instant::now() < flush_until
        && !cancel.is_cancelled()
    {
        tokio::select! {
            frame = next_frame(&mut ws) => match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Ok(message) = ClientMessage::decode_as_agent(&bytes) {
                        for reply in reliable.receive(message, Instant::now()).replies {
                            faults.transmit(&mut ws, reply).await;
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => ws = None,
            },
            _ = at(reliable.next_deadline()) => {
                faults.flush(&mut ws).await;
                if let Ok(Some(frame)) = reliable.due(Instant::now()) {
                    faults.transmit(&mut ws, frame).await;
                }
            }
            _ = tokio::time::sleep_until(flush_until) => {}
        }
    }
    faults.flush(&mut ws).await;
    state.live.lock().remove(&session_id);
    close_channel(&mut ws, &session_id, &reason).await;
    mark_terminated(&state, &session_id, None);
    tracing::debug!(session = %session_id, "sim agent: port session over");
}

fn flag_value(payload: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

fn start_mux(
    host: &str,
    port: u16,
    data: mpsc::Sender<Bytes>,
    flags: mpsc::UnboundedSender<u32>,
) -> Mode {
    let (_mux, io, mut accept) = Mux::new(Side::Server);
    let MuxIo {
        incoming,
        mut outgoing,
    } = io;
    tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if data.send(bytes).await.is_err() {
                break;
            }
        }
    });
    let host = host.to_string();
    tokio::spawn(async move {
        while let Some(stream) = accept.recv().await {
            tokio::spawn(serve_stream(stream, host.clone(), port, flags.clone()));
        }
    });
    Mode::Mux { incoming }
}

async fn serve_stream(
    mut stream: Stream,
    host: String,
    port: u16,
    flags: mpsc::UnboundedSender<u32>,
) {
    match dial(&host, port).await {
        Ok(target) => {
            let _ = target.set_nodelay(true);
            stream.splice(target).await;
        }
        Err(error) => {
            tracing::debug!(%error, host, port, "sim agent: connection to the port failed");
            let _ = flags.send(flag::CONNECT_TO_PORT_ERROR);
            stream.close().await;
        }
    }
}

fn basic_reader(
    stream: TcpStream,
    data: mpsc::Sender<Bytes>,
    eof: mpsc::UnboundedSender<()>,
) -> OwnedWriteHalf {
    let _ = stream.set_nodelay(true);
    let (mut read, write) = stream.into_split();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if data.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = eof.send(());
    });
    write
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("1.2.764.0", "1.1.70"));
        assert!(version_at_least("1.1.70", "1.1.70"));
        assert!(!version_at_least("1.1.69.9", "1.1.70"));
        assert!(!version_at_least("1.0.999", "1.1.70"));
        assert!(version_at_least("1.10.0", "1.9.0"));
    }

    #[tokio::test]
    async fn dial_refuses_non_loopback() {
        let e = dial("192.0.2.1", 80)
            .await
            .expect_err("non-loopback is refused");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    }
}
