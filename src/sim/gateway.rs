//! The data-channel gateway (MGS in AWS): `GET /v1/data-channel/<SessionId>` upgraded to a
//! WebSocket, signed or not (ssm-protocol.md §2). The first text frame must be OpenDataChannel
//! with the session's current token; the socket then belongs to the session's agent task, which
//! outlives it (a later socket with a resumed token continues the same session).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::agent;
use super::state::SimState;
use crate::channel::payloads::OpenDataChannel;

pub(crate) type Socket = WebSocketStream<TokioIo<Upgraded>>;

pub(crate) const PATH_PREFIX: &str = "/v1/data-channel/";
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(text.to_string())));
    *resp.status_mut() = status;
    resp
}

/// Answers the upgrade request and hands the socket to a task once hyper has switched protocols.
pub(crate) fn upgrade(mut req: Request<Incoming>, state: Arc<SimState>) -> Response<Full<Bytes>> {
    let session_id = req
        .uri()
        .path()
        .strip_prefix(PATH_PREFIX)
        .unwrap_or_default()
        .to_string();
    let is_upgrade = req
        .headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
        return plain(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade");
    };
    if !is_upgrade || session_id.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade");
    }
    // Signed upgrades (SigV4 for ssmmessages) and unsigned ones are both accepted; the token in
    // OpenDataChannel is what authorises the channel.
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                open(socket, session_id, state).await;
            }
            Err(error) => tracing::debug!(%error, "gateway: upgrade failed"),
        }
    });
    let mut resp = plain(StatusCode::SWITCHING_PROTOCOLS, "");
    let headers = resp.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    resp
}

async fn refuse(mut socket: Socket, code: CloseCode, reason: &str) {
    tracing::debug!(reason, "gateway: refusing a data channel");
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
}

async fn open(mut socket: Socket, session_id: String, state: Arc<SimState>) {
    let first = match tokio::time::timeout(OPEN_TIMEOUT, socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(Some(Ok(_))) => {
            return refuse(
                socket,
                CloseCode::Unsupported,
                "the first frame must be an OpenDataChannel text frame",
            )
            .await;
        }
        _ => return,
    };
    let Ok(request) = serde_json::from_str::<OpenDataChannel>(first.as_str()) else {
        return refuse(
            socket,
            CloseCode::Unsupported,
            "request to open data channel is not valid JSON",
        )
        .await;
    };
    if request.token_value.is_empty() {
        return refuse(
            socket,
            CloseCode::Unsupported,
            "request to open data channel does not contain token",
        )
        .await;
    }
    // Decide under the lock, act after it: sending to the agent awaits.
    enum Next {
        Refuse(&'static str),
        Attach(mpsc::Sender<Socket>),
        Spawn(mpsc::Receiver<Socket>, agent::Start),
    }
    let next = {
        let mut live = state.live.lock();
        match live.get_mut(&session_id) {
            None => Next::Refuse("Session is already terminated"),
            Some(l) if l.cancel.is_cancelled() || l.lost.is_cancelled() => {
                Next::Refuse("Session is already terminated")
            }
            Some(l) if l.token != request.token_value => {
                Next::Refuse("the token is not valid for this session")
            }
            Some(l) => match &l.attach {
                Some(tx) => Next::Attach(tx.clone()),
                None => {
                    let (tx, rx) = mpsc::channel(4);
                    l.attach = Some(tx);
                    Next::Spawn(
                        rx,
                        agent::Start {
                            session_id: session_id.clone(),
                            region: l.region.clone(),
                            target: l.target.clone(),
                            cancel: l.cancel.clone(),
                            lost: l.lost.clone(),
                            port: l.port.clone(),
                        },
                    )
                }
            },
        }
    };
    match next {
        Next::Refuse(why) => refuse(socket, CloseCode::Policy, why).await,
        Next::Attach(tx) => {
            if let Err(mpsc::error::SendError(socket)) = tx.send(socket).await {
                refuse(socket, CloseCode::Policy, "Session is already terminated").await;
            }
        }
        Next::Spawn(rx, start) => {
            tokio::spawn(agent::run(state, start, socket, rx));
        }
    }
}
