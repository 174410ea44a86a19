//! Opening the data channel's WebSocket (ssm-protocol.md §2): dial the StreamUrl, SigV4-sign the
//! upgrade for `ssmmessages` unless the URL is presigned (a signing failure is logged and the dial
//! goes on unsigned), then send the OpenDataChannel text frame.

use std::fmt;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use futures_util::SinkExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::CLIENT_VERSION;
use super::payloads::OpenDataChannel;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A session token or a StreamUrl: credentials. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("the StreamUrl is not a WebSocket URL")]
    BadUrl,
    #[error("cannot open the data channel WebSocket: {0}")]
    Connect(String),
}

/// What SigV4 needs for the upgrade: the session's credentials and region.
#[derive(Clone)]
pub struct Signer {
    pub credentials: Credentials,
    pub region: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// A URL that carries its own SigV4 authorisation in the query string.
pub fn is_presigned(url: &str) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    query.split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or_default();
        matches!(
            key,
            "X-Amz-Signature" | "X-Amz-Credential" | "X-Amz-Algorithm" | "X-Amz-Security-Token"
        )
    })
}

fn sign(
    request: &mut tokio_tungstenite::tungstenite::http::Request<()>,
    url: &str,
    signer: &Signer,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = signer.credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signer.region)
        .name("ssmmessages")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// Dials `url` (signed when `signer` is given and the URL is not presigned) and sends
/// OpenDataChannel with `token`.
pub async fn open(
    url: &Secret,
    token: &Secret,
    client_id: &str,
    signer: Option<&Signer>,
) -> Result<Ws, DialError> {
    let mut request = url
        .expose()
        .into_client_request()
        .map_err(|_| DialError::BadUrl)?;
    if let Some(signer) = signer
        && !is_presigned(url.expose())
        && let Err(error) = sign(&mut request, url.expose(), signer)
    {
        tracing::warn!(%error, "data channel: signing the upgrade failed; dialling unsigned");
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| DialError::Connect(e.to_string()))?;
    let open = OpenDataChannel {
        message_schema_version: "1.0".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        token_value: token.expose().to_string(),
        client_id: Some(client_id.to_string()),
        client_version: Some(CLIENT_VERSION.to_string()),
    };
    let text = serde_json::to_string(&open).map_err(|e| DialError::Connect(e.to_string()))?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| DialError::Connect(e.to_string()))?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real StreamUrls are wss://: the TLS stack must be compiled in and get as far as a
    /// handshake (here with a peer that does not speak TLS).
    #[tokio::test]
    async fn wss_urls_reach_a_tls_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = sock.write_all(b"HTTP/1.1 400 not tls\r\n\r\n").await;
            }
        });
        let url = Secret::new(format!("wss://127.0.0.1:{port}/v1/data-channel/s"));
        let err = open(&url, &Secret::new("t"), "c", None)
            .await
            .expect_err("not a TLS server");
        let text = err.to_string().to_lowercase();
        assert!(
            !text.contains("not enabled") && !text.contains("not compiled"),
            "{text}"
        );
        assert!(
            text.contains("tls")
                || text.contains("io error")
                || text.contains("handshake")
                || text.contains("certificate")
                || text.contains("corrupt"),
            "{text}"
        );
    }

    /// A dial that fails (nothing listening, or a peer that answers HTTP 403) reports why
    /// without the StreamUrl: the error is shown on screen and logged.
    #[tokio::test]
    async fn dial_errors_do_not_carry_the_stream_url() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let forbidding = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = forbidding.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = forbidding.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        for port in [closed, port] {
            let url = Secret::new(format!(
                "ws://127.0.0.1:{port}/v1/data-channel/s-1?role=publish_subscribe&cell-number=CELLSECRET"
            ));
            let err = open(&url, &Secret::new("TOKENSECRET"), "c", None)
                .await
                .expect_err("nothing to dial");
            let text = format!("{err} {err:?}");
            assert!(
                !text.contains("CELLSECRET") && !text.contains("TOKENSECRET"),
                "{text}"
            );
        }
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("wss://x/v1/data-channel/a?token=SECRET");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert!(s.expose().contains("SECRET"));
    }

    #[test]
    fn presigned_urls_are_recognised() {
        assert!(!is_presigned(
            "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/a?role=publish_subscribe&cell-number=x"
        ));
        assert!(is_presigned(
            "wss://h/v1/data-channel/a?role=publish_subscribe&X-Amz-Signature=abc"
        ));
    }

    #[test]
    fn signing_adds_sigv4_headers() {
        let url = "ws://127.0.0.1:9/v1/data-channel/a?role=publish_subscribe";
        let mut req = url.into_client_request().expect("request");
        let signer = Signer {
            credentials: Credentials::new("AKID", "secret", Some("tok".into()), None, "test"),
            region: "eu-west-1".into(),
        };
        sign(&mut req, url, &signer).expect("signs");
        let auth = req.headers()["authorization"].to_str().expect("ascii");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
            "{auth}"
        );
        assert!(
            auth.contains("/eu-west-1/ssmmessages/aws4_request"),
            "{auth}"
        );
        assert!(req.headers().contains_key("x-amz-date"));
        assert!(req.headers().contains_key("x-amz-security-token"));
        // The WebSocket handshake headers survive signing.
        assert!(req.headers().contains_key("sec-websocket-key"));
    }
}
