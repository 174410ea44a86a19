//! The simulated SSM agent: one task per session owns the reliability layer and the shell, and
//! outlives WebSockets (the gateway hands it each new one). Shell sessions need no handshake
//! without KMS (ssm-protocol.md §5), so output streams from the start; Size messages resize the
//! PTY; input bytes go to it verbatim. When the shell exits, the agent waits for its output to be
//! acknowledged, sends `channel_closed`, uploads the transcript to CloudWatch Logs (group
//! [`LOG_GROUP`], stream = SessionId, plain-text events, CRLF → LF) and moves the session to
//! History.

mod logging;
pub(crate) mod port;
mod pty;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::faults::FaultSpec;
use super::gateway::Socket;
use super::sessions::{LOG_GROUP, mark_connected, mark_terminated};
use super::state::SimState;
use crate::channel::message::{ClientMessage, PayloadType, now_millis, types};
use crate::channel::payloads::{ChannelClosed, Size};
use crate::channel::reliable::{Reliable, Role};

/// Stop reading the shell while this many frames wait for acks: bounds the client's reorder
/// buffer (10,000) and our memory when the client is slow or away.
const WINDOW: usize = 2048;
/// How long an exited shell's last output may wait for acks before the channel closes anyway.
const FLUSH_LIMIT: Duration = Duration::from_secs(20);
/// Transcript bytes kept for the session log.
const TRANSCRIPT_CAP: usize = 32 * 1024 * 1024;
/// CloudWatch Logs accepts events up to 256 KB; keep well below.
const EVENT_CHUNK: usize = 200 * 1024;

pub(crate) struct Start {
    pub session_id: String,
    pub region: String,
    pub target: String,
    pub cancel: CancellationToken,
    /// The agent lost its connection: end without `channel_closed` or a transcript upload.
    pub lost: CancellationToken,
    /// Set for port documents (forwarding, SSH): the session is served by [`port::run`].
    pub port: Option<port::PortSpec>,
}

/// Applies the data-channel faults to frames leaving the agent.
struct Faulty {
    spec: FaultSpec,
    rng: StdRng,
    held: Option<Bytes>,
}

impl Faulty {
    /// The simulator's data-channel faults, with a random stream of the session's own (drawn
    /// from the simulator's seeded generator).
    fn for_session(state: &SimState) -> Faulty {
        let seed = {
            use rand::Rng;
            state.lock().rng.random::<u64>()
        };
        Faulty {
            spec: state.faults.clone(),
            rng: StdRng::seed_from_u64(seed),
            held: None,
        }
    }

    async fn transmit(&mut self, ws: &mut Option<Socket>, frame: Bytes) {
        if FaultSpec::roll(self.spec.frame_loss, &mut self.rng) {
            return;
        }
        if self.held.is_none() && FaultSpec::roll(self.spec.frame_reorder, &mut self.rng) {
            self.held = Some(frame);
            return;
        }
        let twice = FaultSpec::roll(self.spec.frame_dup, &mut self.rng);
        send(ws, frame.clone()).await;
        if twice {
            send(ws, frame).await;
        }
        if let Some(held) = self.held.take() {
            send(ws, held).await;
        }
    }

    /// Control frames (channel_closed) are not subject to faults.
    async fn flush(&mut self, ws: &mut Option<Socket>) {
        if let Some(held) = self.held.take() {
            send(ws, held).await;
        }
    }
}

async fn send(ws: &mut Option<Socket>, frame: Bytes) {
    if let Some(socket) = ws
        && socket.send(Message::Binary(frame)).await.is_err()
    {
        *ws = None;
    }
}

async fn next_frame(
    ws: &mut Option<Socket>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}

pub(crate) async fn run(
    state: Arc<SimState>,
    start: Start,
    first: Socket,
    mut attach: mpsc::Receiver<Socket>,
) {
    if let Some(spec) = start.port.clone() {
        return port::run(state, start, spec, first, attach).await;
    }
    let Start {
        session_id,
        region,
        target,
        cancel,
        lost,
        ..
    } = start;
    let Some(inst) = state
        .fleet
        .iter()
        .find(|i| i.id == target && i.region == region)
        .cloned()
    else {
        return;
    };
    let mut ws = Some(first);
    let mut shell = match pty::Shell::spawn(&state.sandbox_root, &inst) {
        Ok(shell) => shell,
        Err(error) => {
            tracing::warn!(%error, "sim agent: cannot start a shell");
            close_channel(
                &mut ws,
                &session_id,
                &format!("cannot start a shell: {error}"),
            )
            .await;
            state.live.lock().remove(&session_id);
            mark_terminated(&state, &session_id, None);
            return;
        }
    };
    mark_connected(&state, &session_id);
    let mut faults = Faulty::for_session(&state);
    let drop_every = state.faults.ws_drop;
    let mut drop_at = drop_every.map(|d| Instant::now() + d);
    let mut reliable = Reliable::new(Role::Agent);
    let mut transcript: Vec<u8> = Vec::new();
    let mut shell_open = true;
    let mut flush_until: Option<Instant> = None;
    let mut reason = String::new();
    let mut streaming = state
        .session_logs_streamed()
        .then(|| logging::StreamLogger::new(&state, &region, &session_id, &target));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        if !shell_open && reliable.unacked() == 0 {
            break;
        }
        let window_open = reliable.unacked() < WINDOW && ws.is_some();
        tokio::select! {
            _ = cancel.cancelled() => {
                reason = "Session terminated".into();
                break;
            }
            _ = lost.cancelled() => {
                // The socket breaks: nothing more reaches the client, not even channel_closed.
                ws = None;
                break;
            }
            Some(socket) = attach.recv() => {
                tracing::debug!(session = %session_id, "sim agent: data channel reattached");
                ws = Some(socket);
                drop_at = drop_every.map(|d| Instant::now() + d);
                for frame in reliable.resend_all(Instant::now()) {
                    faults.transmit(&mut ws, frame).await;
                }
            }
            frame = next_frame(&mut ws) => match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    let Ok(message) = ClientMessage::decode_as_agent(&bytes) else {
                        tracing::debug!("sim agent: dropping an undecodable frame");
                        continue;
                    };
                    let got = reliable.receive(message, Instant::now());
                    for reply in got.replies {
                        faults.transmit(&mut ws, reply).await;
                    }
                    for m in got.delivered {
                        match m.payload_type {
                            PayloadType::Output => shell.write(&m.payload),
                            PayloadType::Size => {
                                if let Ok(size) = serde_json::from_slice::<Size>(&m.payload) {
                                    let cols = u16::try_from(size.cols).unwrap_or(u16::MAX).max(1);
                                    let rows = u16::try_from(size.rows).unwrap_or(u16::MAX).max(1);
                                    shell.resize(cols, rows);
                                }
                            }
                            other => tracing::debug!(?other, "sim agent: ignoring a payload type"),
                        }
                    }
                    for m in got.control {
                        tracing::debug!(kind = %m.message_type, "sim agent: ignoring a message type");
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => ws = None,
                // The client's keepalive: counted, so tests (and /_sim/stats) can see it.
                Some(Ok(Message::Ping(_))) => {
                    state.lock().stats.record("ssmmessages", "WebSocketPing", &region, false);
                }
                Some(Ok(_)) => {}
            },
            chunk = shell.output.recv(), if shell_open && window_open => match chunk {
                Some(bytes) => {
                    if let Some(logger) = streaming.as_mut() {
                        logger.push(&bytes);
                    } else if transcript.len() < TRANSCRIPT_CAP {
                        transcript.extend_from_slice(&bytes);
                    }
                    for piece in bytes.chunks(1024) {
                        let frame = reliable.send(
                            PayloadType::Output,
                            Bytes::copy_from_slice(piece),
                            Instant::now(),
                        );
                        faults.transmit(&mut ws, frame).await;
                    }
                }
                None => {
                    shell_open = false;
                    flush_until = Some(Instant::now() + FLUSH_LIMIT);
                }
            },
            _ = at(reliable.next_deadline_any()), if ws.is_some() => {
                faults.flush(&mut ws).await;
                for frame in reliable.due_all(Instant::now()) {
                    faults.transmit(&mut ws, frame).await;
                }
            }
            _ = at(drop_at), if ws.is_some() => {
                tracing::debug!(session = %session_id, "sim agent: injected WebSocket drop");
                ws = None;
                drop_at = None;
            }
            _ = at(flush_until) => break,
            _ = tick.tick(), if streaming.is_some() => {
                if let Some(logger) = streaming.as_mut() {
                    logger.flush(&state, false);
                }
            }
        }
    }

    faults.flush(&mut ws).await;
    state.live.lock().remove(&session_id);
    close_channel(&mut ws, &session_id, &reason).await;
    // Drain anything the shell still holds so the reader thread can finish, then reap it.
    shell.output.close();
    shell.finish().await;
    let logged = match streaming.as_mut() {
        _ if lost.is_cancelled() => false,
        Some(logger) => {
            logger.flush(&state, true);
            logger.wrote
        }
        None => upload_transcript(&state, &region, &session_id, &transcript),
    };
    mark_terminated(&state, &session_id, logged.then_some(region.as_str()));
    tracing::debug!(session = %session_id, "sim agent: session over");
}

async fn close_channel(ws: &mut Option<Socket>, session_id: &str, reason: &str) {
    let body = ChannelClosed {
        message_id: uuid::Uuid::new_v4().to_string(),
        created_date: now_millis().to_string(),
        destination_id: session_id.to_string(),
        session_id: session_id.to_string(),
        message_type: types::CHANNEL_CLOSED.to_string(),
        schema_version: 1,
        output: reason.to_string(),
    };
    let payload = serde_json::to_vec(&body).unwrap_or_default();
    let frame = ClientMessage::new(types::CHANNEL_CLOSED, 0, 3, PayloadType::Output, payload);
    send(ws, frame.encode().into()).await;
    if let Some(socket) = ws.as_mut() {
        let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
    }
}

/// The transcript as CloudWatch Logs events: CRLF → LF, one event per line, long lines split.
pub(crate) fn transcript_events(transcript: &[u8], timestamp: i64) -> Vec<(i64, String)> {
    let text = String::from_utf8_lossy(transcript).replace("\r\n", "\n");
    let mut events = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        let mut rest = line;
        while !rest.is_empty() {
            let mut cut = rest.len().min(EVENT_CHUNK);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            events.push((timestamp, rest[..cut].to_string()));
            rest = &rest[cut..];
        }
    }
    events
}

fn upload_transcript(state: &SimState, region: &str, session_id: &str, transcript: &[u8]) -> bool {
    let events = transcript_events(transcript, chrono::Utc::now().timestamp_millis());
    if events.is_empty() {
        return false;
    }
    state.append_session_log(region, LOG_GROUP, session_id, &events);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_becomes_lf_lines() {
        let ev = transcript_events(b"$ echo hi\r\nhi\r\n\r\n$ exit\r\n", 5);
        let lines: Vec<&str> = ev.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(lines, ["$ echo hi", "hi", "$ exit"]);
        let long = vec![b'x'; EVENT_CHUNK + 10];
        assert_eq!(transcript_events(&long, 0).len(), 2);
    }
}
