//! A shell session over the data channel: StartSession through the SDK, the WebSocket, and one
//! task that runs the reliability layer between the socket, the caller's input and resizes, and
//! the caller's event stream. A dropped socket is reconnected (ResumeSession for a new token, the
//! original StreamUrl, exponential retry as in ssm-protocol.md §4) with sequence numbers and
//! buffers kept, so nothing is lost or doubled.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::CLIENT_VERSION;
use super::message::{ClientMessage, PayloadType, types};
use super::payloads::{
    ChannelClosed, HandshakeComplete, HandshakeRequest, HandshakeResponse, ProcessedClientAction,
    Size,
};
use super::reliable::{RESEND_SCAN, Reliable, Role};
use super::ws::{self, Secret, Signer, Ws};
use crate::aws::clients::{Clients, Target};
use crate::aws::errors::AwsError;

/// Largest payload of one stream message (both AWS peers).
pub const MAX_PAYLOAD: usize = 1024;
const RECONNECT_ATTEMPTS: u32 = 5;
const FIRST_DELAY_MS: std::ops::Range<u64> = 100..200;
const MAX_DELAY: Duration = Duration::from_secs(5);
/// A WebSocket ping (payload `keepalive`) on open and then this often, as the plugin does
/// (ssm-protocol.md §2). It keeps NATs and proxies from dropping a quiet socket; it is not data,
/// so the service's idle-session timeout still ends a session nobody uses (tunnels then start a
/// new session and say so).
pub const KEEPALIVE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    Connecting,
    Live,
    Reconnecting,
    Closed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Bytes for the terminal, in order, each exactly once.
    Output(Bytes),
    State(SessionState),
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Dial(#[from] ws::DialError),
}

#[derive(Debug)]
enum Command {
    Input(Bytes),
    Flag(u32),
    Resize(Size),
    Terminate,
}

/// The caller's end of a running session. Dropping it terminates the session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    session_id: String,
    commands: mpsc::UnboundedSender<Command>,
    failed: Arc<AtomicBool>,
}

impl SessionHandle {
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Keystrokes or pasted bytes, sent verbatim (Ctrl-C is 0x03).
    pub fn send_input(&self, bytes: Bytes) {
        let _ = self.commands.send(Command::Input(bytes));
    }

    pub fn resize(&self, size: Size) {
        let _ = self.commands.send(Command::Resize(size));
    }

    /// A Flag message (ssm-protocol.md §7: DisconnectToPort, TerminateSession).
    pub fn send_flag(&self, flag: u32) {
        let _ = self.commands.send(Command::Flag(flag));
    }

    /// After `Closed`: true when the session ended by failure (the data channel could not be
    /// resumed, or the peer stopped acknowledging), not by either side ending it.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Ends the session (TerminateSession); a `Closed` state event follows.
    pub fn terminate(&self) {
        let _ = self.commands.send(Command::Terminate);
    }
}

/// One process-wide ClientId, as the plugin does.
fn client_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

pub struct ShellSession;

impl ShellSession {
    /// Starts a shell on `target` and returns its handle and event stream. The first events are
    /// `State(Connecting)` then `State(Live)`.
    pub async fn start(
        clients: &Clients,
        target: &str,
        size: Size,
    ) -> Result<(SessionHandle, mpsc::Receiver<SessionEvent>), ChannelError> {
        let (handle, events) = open(clients, target, None, Vec::new(), None).await?;
        let _ = handle.commands.send(Command::Resize(size));
        Ok((handle, events))
    }
}

/// What a port session adds to the shell machinery: its data source (raw bytes, ≤ 1024 per
/// message, held until the handshake completes), and where the handshake and flags go.
pub(crate) struct PortHooks {
    pub data: mpsc::Receiver<Bytes>,
    pub handshake: mpsc::UnboundedSender<HandshakeRequest>,
    pub flags: mpsc::UnboundedSender<u32>,
}

/// Starts a session of `document` (the shell when `None`) with its Parameters; the task, its
/// reconnects and the event stream are the same for every kind.
pub(crate) async fn open(
    clients: &Clients,
    target: &str,
    document: Option<&str>,
    parameters: Vec<(String, Vec<String>)>,
    port: Option<PortHooks>,
) -> Result<(SessionHandle, mpsc::Receiver<SessionEvent>), ChannelError> {
    {
        let (events_tx, events) = mpsc::channel(256);
        let _ = events_tx
            .send(SessionEvent::State(SessionState::Connecting))
            .await;
        let out = clients
            .ssm
            .start_session()
            .target(target)
            .set_document_name(document.map(str::to_string))
            .set_parameters((!parameters.is_empty()).then(|| parameters.into_iter().collect()))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    e,
                    &clients.target,
                    "ssm:StartSession",
                    clients.endpoint_for("ssm"),
                )
            })?;
        let session_id = out.session_id().unwrap_or_default().to_string();
        let url = Secret::new(out.stream_url().unwrap_or_default());
        let token = Secret::new(out.token_value().unwrap_or_default());
        let signing = clients
            .credentials
            .clone()
            .map(|provider| (provider, clients.target.region.clone()));
        let (data, hooks) = match port {
            Some(PortHooks {
                data,
                handshake,
                flags,
            }) => (Some(data), Some((handshake, flags))),
            None => (None, None),
        };
        let failed = Arc::new(AtomicBool::new(false));
        let mut task = Task {
            instance: target.to_string(),
            failed: failed.clone(),
            ssm: clients.ssm.clone(),
            target: clients.target.clone(),
            endpoint: clients.endpoint_for("ssm"),
            session_id: session_id.clone(),
            url,
            signing,
            reliable: Reliable::new(Role::Client),
            events: events_tx,
            held_input: VecDeque::new(),
            ready: hooks.is_none(),
            hooks,
        };
        let ws = match task.dial(&token).await {
            Ok(ws) => ws,
            Err(first) => match task.retry(Some(token)).await {
                Some(ws) => ws,
                None => {
                    task.terminate().await;
                    return Err(first.into());
                }
            },
        };
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(task.run(ws, rx, data));
        Ok((
            SessionHandle {
                session_id,
                commands,
                failed,
            },
            events,
        ))
    }
}

/// Credentials for signing a dial, asked of the provider each time: it caches them and
/// refreshes expiring ones (SSO, assumed roles), and a tunnel redials for hours.
async fn signer(provider: &SharedCredentialsProvider, region: &str) -> Option<Signer> {
    match provider.provide_credentials().await {
        Ok(credentials) => Some(Signer {
            credentials,
            region: region.to_owned(),
        }),
        Err(error) => {
            tracing::warn!(%error, "data channel: no credentials to sign the upgrade with");
            None
        }
    }
}

enum Ended {
    Closed(String),
    /// Ended by a failure the caller should report (the peer stopped acknowledging).
    Failed(String),
    Dropped,
}

struct Task {
    /// The instance id the session runs on.
    instance: String,
    /// Set before `Closed` when the session ended by failure ([`SessionHandle::failed`]).
    failed: Arc<AtomicBool>,
    ssm: aws_sdk_ssm::Client,
    target: Target,
    endpoint: String,
    session_id: String,
    url: Secret,
    /// The clients' credentials provider and region, for signing each dial.
    signing: Option<(SharedCredentialsProvider, String)>,
    reliable: Reliable,
    events: mpsc::Sender<SessionEvent>,
    held_input: VecDeque<(PayloadType, Bytes)>,
    /// Port sessions: the data source waits for HandshakeComplete.
    ready: bool,
    hooks: Option<(
        mpsc::UnboundedSender<HandshakeRequest>,
        mpsc::UnboundedSender<u32>,
    )>,
}

/// Outgoing port data stops while this many messages wait for acks (the plugin's buffer holds
/// 10,000 and evicts the oldest when full).
const DATA_WINDOW: usize = 2048;

async fn next_data(data: &mut Option<mpsc::Receiver<Bytes>>) -> Option<Bytes> {
    match data {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// One WebSocket with its writes decoupled from its reads: frames queue for a writer task, so
/// the session task keeps reading (and acking) while a write waits for the peer. Awaiting
/// `send` in the read loop deadlocks as soon as both peers do it with full socket buffers:
/// each blocks in a write that only the other's (blocked) read loop would drain. The queue is
/// bounded in practice: data waits for acks at [`DATA_WINDOW`], acks answer the peer's frames.
struct Link {
    reader: SplitStream<Ws>,
    writer: mpsc::UnboundedSender<Message>,
    done: tokio::task::JoinHandle<()>,
}

impl Link {
    fn new(ws: Ws) -> Link {
        let (mut sink, reader) = ws.split();
        let (writer, mut queue) = mpsc::unbounded_channel::<Message>();
        let done = tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                let close = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        Link {
            reader,
            writer,
            done,
        }
    }

    /// A WebSocket ping with the plugin's payload; false when the socket's writer has failed.
    fn ping(&self) -> bool {
        self.writer
            .send(Message::Ping(Bytes::from_static(b"keepalive")))
            .is_ok()
    }

    /// Queues one frame; false when the socket's writer has failed.
    fn send(&self, frame: Bytes) -> bool {
        self.writer.send(Message::Binary(frame)).is_ok()
    }

    async fn next(&mut self) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
        self.reader.next().await
    }

    /// Sends what is queued, then a Close frame (bounded wait).
    async fn close(self) {
        let _ = self.writer.send(Message::Close(None));
        drop(self.writer);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.done).await;
    }
}

impl Task {
    async fn dial(&self, token: &Secret) -> Result<Ws, ws::DialError> {
        let signer = match &self.signing {
            Some((provider, region)) => signer(provider, region).await,
            None => None,
        };
        ws::open(&self.url, token, client_id(), signer.as_ref()).await
    }

    async fn state(&self, state: SessionState) {
        let _ = self.events.send(SessionEvent::State(state)).await;
    }

    async fn terminate(&self) {
        if let Err(error) = self
            .ssm
            .terminate_session()
            .session_id(&self.session_id)
            .send()
            .await
        {
            let error = AwsError::from_sdk(
                error,
                &self.target,
                "ssm:TerminateSession",
                self.endpoint.clone(),
            );
            tracing::warn!(%error, "TerminateSession failed");
        }
    }

    /// Exponential retry: ResumeSession (unless a fresh `token` is given) and a new dial of the
    /// original StreamUrl. `None` when every attempt failed or the session is gone.
    async fn retry(&mut self, mut token: Option<Secret>) -> Option<Ws> {
        let first = Duration::from_millis(rand::rng().random_range(FIRST_DELAY_MS));
        let mut delay = first;
        for attempt in 0..RECONNECT_ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
            if delay > MAX_DELAY {
                delay = first;
            }
            let fresh = match token.take() {
                Some(t) => t,
                None => match self
                    .ssm
                    .resume_session()
                    .session_id(&self.session_id)
                    .send()
                    .await
                {
                    Ok(out) => match out.token_value() {
                        Some(t) if !t.is_empty() => Secret::new(t),
                        _ => return None,
                    },
                    Err(error) => {
                        let gone = error
                            .as_service_error()
                            .is_some_and(|e| e.is_does_not_exist_exception());
                        let error = AwsError::from_sdk(
                            error,
                            &self.target,
                            "ssm:ResumeSession",
                            self.endpoint.clone(),
                        );
                        tracing::debug!(attempt, %error, "ResumeSession failed");
                        if gone {
                            return None;
                        }
                        continue;
                    }
                },
            };
            match self.dial(&fresh).await {
                Ok(ws) => return Some(ws),
                Err(error) => tracing::debug!(attempt, %error, "data channel: redial failed"),
            }
        }
        None
    }

    async fn run(
        mut self,
        ws: Ws,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut data: Option<mpsc::Receiver<Bytes>>,
    ) {
        self.state(SessionState::Live).await;
        let mut ws = Link::new(ws);
        loop {
            match self.pump(&mut ws, &mut commands, &mut data).await {
                Ended::Closed(reason) => {
                    ws.close().await;
                    self.state(SessionState::Closed { reason }).await;
                    return;
                }
                Ended::Failed(reason) => {
                    ws.close().await;
                    self.failed.store(true, Ordering::Relaxed);
                    self.state(SessionState::Closed { reason }).await;
                    return;
                }
                Ended::Dropped => {
                    self.state(SessionState::Reconnecting).await;
                    match self.retry(None).await {
                        Some(new_ws) => {
                            ws = Link::new(new_ws);
                            for frame in self.reliable.resend_all(Instant::now()) {
                                if !ws.send(frame) {
                                    break;
                                }
                            }
                            self.state(SessionState::Live).await;
                        }
                        None => {
                            let reason = super::lost::unresumable_reason(
                                &self.ssm,
                                &self.instance,
                                &self.session_id,
                            )
                            .await;
                            self.failed.store(true, Ordering::Relaxed);
                            self.state(SessionState::Closed { reason }).await;
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Queues or sends one stream message; false when the socket failed.
    async fn send_stream(&mut self, ws: &mut Link, kind: PayloadType, payload: Bytes) -> bool {
        if self.reliable.is_paused() {
            self.held_input.push_back((kind, payload));
            return true;
        }
        let frame = self.reliable.send(kind, payload, Instant::now());
        ws.send(frame)
    }

    async fn flush_held(&mut self, ws: &mut Link) -> bool {
        while !self.reliable.is_paused()
            && let Some((kind, payload)) = self.held_input.pop_front()
        {
            if !self.send_stream(ws, kind, payload).await {
                return false;
            }
        }
        true
    }

    async fn pump(
        &mut self,
        ws: &mut Link,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        data: &mut Option<mpsc::Receiver<Bytes>>,
    ) -> Ended {
        let mut scan = tokio::time::interval(RESEND_SCAN);
        scan.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // The first tick is immediate: one ping on open (and after each redial), as the plugin.
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Resolves when the writer task has stopped (the socket failed).
        let writer = ws.writer.clone();
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Some(end) = self.on_frame(ws, &bytes).await {
                            return end;
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ended::Dropped,
                    Some(Ok(_)) => {}
                },
                chunk = next_data(data), if self.ready
                    && self.reliable.unacked() < DATA_WINDOW
                    && self.held_input.is_empty() => match chunk {
                    Some(bytes) => {
                        for piece in bytes.chunks(MAX_PAYLOAD) {
                            let piece = Bytes::copy_from_slice(piece);
                            if !self.send_stream(ws, PayloadType::Output, piece).await {
                                return Ended::Dropped;
                            }
                        }
                    }
                    None => *data = None,
                },
                command = commands.recv() => match command {
                    Some(Command::Flag(code)) => {
                        let payload = Bytes::copy_from_slice(&code.to_be_bytes());
                        if !self.send_stream(ws, PayloadType::Flag, payload).await {
                            return Ended::Dropped;
                        }
                    }
                    Some(Command::Input(bytes)) => {
                        for chunk in input_chunks(&bytes) {
                            if !self.send_stream(ws, PayloadType::Output, chunk).await {
                                return Ended::Dropped;
                            }
                        }
                    }
                    Some(Command::Resize(size)) => {
                        let json = serde_json::to_vec(&size).unwrap_or_default();
                        if !self.send_stream(ws, PayloadType::Size, json.into()).await {
                            return Ended::Dropped;
                        }
                    }
                    Some(Command::Terminate) | None => {
                        self.terminate().await;
                        return Ended::Closed(format!("Session {} terminated.", self.session_id));
                    }
                },
                _ = writer.closed() => return Ended::Dropped,
                _ = keepalive.tick() => {
                    if !ws.ping() {
                        return Ended::Dropped;
                    }
                }
                _ = scan.tick() => {
                    match self.reliable.due(Instant::now()) {
                        Ok(Some(frame)) => {
                            if !ws.send(frame) {
                                return Ended::Dropped;
                            }
                        }
                        Ok(None) => {}
                        Err(error) => {
                            self.terminate().await;
                            return Ended::Failed(error.to_string());
                        }
                    }
                }
            }
            if !self.held_input.is_empty() && !self.flush_held(ws).await {
                return Ended::Dropped;
            }
        }
    }

    async fn on_frame(&mut self, ws: &mut Link, bytes: &[u8]) -> Option<Ended> {
        let message = match ClientMessage::decode(bytes) {
            Ok(m) => m,
            Err(error) => {
                tracing::debug!(%error, "data channel: dropping a frame");
                return None;
            }
        };
        let got = self.reliable.receive(message, Instant::now());
        // `receive` has already taken these messages in sequence: every one of them must reach
        // the user even if the socket fails half-way, or its bytes would be lost for good.
        let mut dropped = false;
        for reply in got.replies {
            if !dropped && !ws.send(reply) {
                dropped = true;
            }
        }
        for m in got.delivered {
            match m.payload_type {
                PayloadType::Output | PayloadType::StdErr | PayloadType::ExitCode => {
                    let _ = self.events.send(SessionEvent::Output(m.payload)).await;
                }
                PayloadType::Flag => {
                    if let (Some((_, flags)), Some(code)) = (&self.hooks, m.payload.get(..4)) {
                        let _ =
                            flags.send(u32::from_be_bytes([code[0], code[1], code[2], code[3]]));
                    }
                }
                PayloadType::HandshakeRequest => {
                    if let (Some((handshake, _)), Ok(request)) = (
                        &self.hooks,
                        serde_json::from_slice::<HandshakeRequest>(&m.payload),
                    ) {
                        let _ = handshake.send(request);
                    }
                    // Buffered by the reliability layer even when the send fails: resent later.
                    if let Some(reply) = handshake_response(&m.payload)
                        && !self
                            .send_stream(ws, PayloadType::HandshakeResponse, reply)
                            .await
                    {
                        dropped = true;
                    }
                }
                PayloadType::HandshakeComplete => {
                    self.ready = true;
                    if let Ok(done) = serde_json::from_slice::<HandshakeComplete>(&m.payload)
                        && !done.customer_message.is_empty()
                    {
                        let text = format!("{}\r\n", done.customer_message);
                        let _ = self.events.send(SessionEvent::Output(text.into())).await;
                    }
                }
                other => tracing::debug!(?other, "data channel: ignoring a payload type"),
            }
        }
        for m in got.control {
            if m.message_type == types::CHANNEL_CLOSED {
                let closed: Option<ChannelClosed> = serde_json::from_slice(&m.payload).ok();
                let reason = match closed.map(|c| c.output).filter(|o| !o.is_empty()) {
                    Some(output) => format!("SessionId: {} : {output}", self.session_id),
                    None => format!("Exiting session with sessionId: {}.", self.session_id),
                };
                return Some(Ended::Closed(reason));
            }
            tracing::debug!(kind = %m.message_type, "data channel: ignoring a message type");
        }
        dropped.then_some(Ended::Dropped)
    }
}

/// Input split into ≤ 1024-byte payloads; a payload that is exactly `\n` becomes `\r`, as the
/// plugin sends it (ssm-protocol.md §6).
pub fn input_chunks(bytes: &[u8]) -> Vec<Bytes> {
    bytes
        .chunks(MAX_PAYLOAD)
        .map(|c| {
            if c == b"\n" {
                Bytes::from_static(b"\r")
            } else {
                Bytes::copy_from_slice(c)
            }
        })
        .collect()
}

/// Accepts the SessionType action (shell and interactive commands need nothing more); anything
/// else is Unsupported, which makes the agent end the session with a reason.
fn handshake_response(payload: &[u8]) -> Option<Bytes> {
    let request: HandshakeRequest = serde_json::from_slice(payload).ok()?;
    let actions = request
        .requested_client_actions
        .iter()
        .map(|a| {
            let supported = a.action_type == "SessionType";
            ProcessedClientAction {
                action_type: a.action_type.clone(),
                action_status: if supported { 1 } else { 3 },
                action_result: serde_json::Value::Null,
                error: if supported {
                    String::new()
                } else {
                    format!("{} is not supported by fleetdeck", a.action_type)
                },
            }
        })
        .collect();
    let response = HandshakeResponse {
        client_version: CLIENT_VERSION.to_string(),
        processed_client_actions: actions,
        errors: None,
    };
    serde_json::to_vec(&response).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_chunked_and_lone_newline_becomes_cr() {
        let big = vec![b'a'; 2500];
        let chunks = input_chunks(&big);
        assert_eq!(
            chunks.iter().map(Bytes::len).collect::<Vec<_>>(),
            [1024, 1024, 452]
        );
        assert_eq!(input_chunks(b"\n"), [Bytes::from_static(b"\r")]);
        assert_eq!(input_chunks(b"ls\n"), [Bytes::from_static(b"ls\n")]);
    }

    #[test]
    fn handshake_accepts_session_type_only() {
        let req = br#"{"AgentVersion":"3.3.987.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"Standard_Stream","Properties":null}},{"ActionType":"KMSEncryption","ActionParameters":{}}]}"#;
        let reply: HandshakeResponse =
            serde_json::from_slice(&handshake_response(req).expect("reply")).expect("json");
        assert_eq!(reply.client_version, CLIENT_VERSION);
        assert_eq!(reply.processed_client_actions[0].action_status, 1);
        assert_eq!(reply.processed_client_actions[1].action_status, 3);
    }
}
