//! The HTTP front: accepts connections, tells the services apart, checks the signature, applies
//! faults, counts calls, and renders replies and errors in each service's protocol.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::api::{ApiError, JsonInput, Service};
use super::auth::{self, AuthError};
use super::ec2::{self, Params};
use super::state::SimState;
use super::xml::escape;
use super::{commands, gateway, logs, sessions, ssm, sts};

/// PutLogEvents allows 1 MiB of messages plus JSON overhead; anything far beyond is not a client.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const XML_CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

pub(crate) async fn serve(listener: TcpListener, state: Arc<SimState>, cancel: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, state.clone(), cancel.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "simulator: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(stream: TcpStream, state: Arc<SimState>, cancel: CancellationToken) {
    let service = service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        async move {
            if req.uri().path().starts_with(gateway::PATH_PREFIX) {
                return Ok::<_, Infallible>(gateway::upgrade(req, state));
            }
            Ok::<_, Infallible>(handle(req, &state).await)
        }
    });
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "simulator: connection ended with an error");
            }
        }
        _ = cancel.cancelled() => {
            // Lets a request in flight finish, then closes; idle keep-alive connections close now.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Json,
    Ec2Query,
}

fn respond(status: u16, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn with_request_id(mut resp: Response<Full<Bytes>>, request_id: &str) -> Response<Full<Bytes>> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn error_response(protocol: Protocol, err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    match protocol {
        Protocol::Json => {
            let body = json!({"__type": err.code, "message": err.message}).to_string();
            with_request_id(respond(err.status, JSON_CONTENT_TYPE, body), request_id)
        }
        Protocol::Ec2Query => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code>\
                 <Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                escape(&err.code),
                escape(&err.message),
                escape(request_id)
            );
            respond(err.status, XML_CONTENT_TYPE, body)
        }
    }
}

fn auth_error(protocol: Protocol, err: &AuthError) -> ApiError {
    match (protocol, err) {
        (Protocol::Json, AuthError::Missing) => ApiError::client(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        (Protocol::Json, AuthError::Malformed(why)) => {
            ApiError::client("IncompleteSignatureException", why.clone())
        }
        (Protocol::Ec2Query, AuthError::Missing) => ApiError::client(
            "AuthFailure",
            "AWS was not able to validate the provided access credentials: the request is not \
             signed (missing Authorization header)",
        )
        .with_status(401),
        (Protocol::Ec2Query, AuthError::Malformed(why)) => ApiError::client(
            "AuthFailure",
            format!("AWS was not able to validate the provided access credentials: {why}"),
        )
        .with_status(401),
    }
}

fn unknown_region(protocol: Protocol, region: &str, state: &SimState) -> ApiError {
    let served = state.regions.join(", ");
    match protocol {
        Protocol::Json => ApiError::client(
            "UnrecognizedClientException",
            format!(
                "The security token included in the request is invalid: region '{region}' is not \
                 served by this endpoint (regions: {served})"
            ),
        ),
        Protocol::Ec2Query => ApiError::client(
            "AuthFailure",
            format!(
                "AWS was not able to validate the provided access credentials: region '{region}' \
                 is not served by this endpoint (regions: {served})"
            ),
        )
        .with_status(401),
    }
}

fn wrong_service(protocol: Protocol, service: Service) -> ApiError {
    let name = service.signing_name();
    match protocol {
        Protocol::Json => ApiError::client(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{name}'. "),
        ),
        Protocol::Ec2Query => ApiError::client(
            "AuthFailure",
            format!("Credential should be scoped to correct service: '{name}'."),
        )
        .with_status(401),
    }
}

fn throttle_error(protocol: Protocol) -> ApiError {
    match protocol {
        Protocol::Json => ApiError::client("ThrottlingException", "Rate exceeded"),
        Protocol::Ec2Query => {
            ApiError::client("RequestLimitExceeded", "Request limit exceeded.").with_status(503)
        }
    }
}

/// EC2 Query parameters come from the form body, and also from the query string (GET works too).
fn query_params(query: Option<&str>, body: &[u8]) -> Params {
    let mut params: Params = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    params.extend(form_urlencoded::parse(body).into_owned());
    params
}

async fn handle(req: Request<Incoming>, state: &Arc<SimState>) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/_sim/") {
        return sim_route(&parts.method, parts.uri.path(), state);
    }
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let protocol = if target.is_some() {
        Protocol::Json
    } else {
        Protocol::Ec2Query
    };
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let err = ApiError::client("RequestEntityTooLarge", "Request body too large")
                .with_status(413);
            return error_response(protocol, &err, &request_id);
        }
    };

    let scope = match auth::check(&parts.headers) {
        Ok(scope) => scope,
        Err(err) => return error_response(protocol, &auth_error(protocol, &err), &request_id),
    };
    if !state.has_region(&scope.region) {
        let err = unknown_region(protocol, &scope.region, state);
        return error_response(protocol, &err, &request_id);
    }
    let region = scope.region.as_str();

    let (service, operation, ec2_params) = match &target {
        Some(target) => {
            let (prefix, op) = target.split_once('.').unwrap_or((target.as_str(), ""));
            let service = match prefix {
                "AmazonSSM" => Service::Ssm,
                "Logs_20140328" => Service::Logs,
                _ => {
                    let err = ApiError::client(
                        "UnknownOperationException",
                        format!("X-Amz-Target '{target}' names no service the simulator answers"),
                    );
                    return error_response(protocol, &err, &request_id);
                }
            };
            (service, op.to_string(), None)
        }
        None => {
            let params = query_params(parts.uri.query(), &body);
            let action = params
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (Service::Ec2, action, Some(params))
        }
    };
    // STS speaks awsQuery like EC2's query protocol, told apart by the signing scope.
    if target.is_none() && scope.service == "sts" {
        state.lock().stats.record("sts", &operation, region, false);
        return match sts::handle(&operation, &scope.access_key, &request_id) {
            Ok(xml) => respond(200, XML_CONTENT_TYPE, xml),
            Err(err) => respond(
                err.status,
                XML_CONTENT_TYPE,
                sts::error_body(&err, &request_id),
            ),
        };
    }
    if scope.service != service.signing_name() {
        return error_response(protocol, &wrong_service(protocol, service), &request_id);
    }

    let delay = {
        let mut inner = state.lock();
        let delay = state.faults.draw_latency(&mut inner.rng);
        let throttled = state.faults.roll_throttle(&mut inner.rng);
        inner
            .stats
            .record(service.signing_name(), &operation, region, throttled);
        if throttled {
            drop(inner);
            return error_response(protocol, &throttle_error(protocol), &request_id);
        }
        delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let result = match (service, ec2_params) {
        (Service::Ec2, Some(params)) => {
            ec2::handle(&state.fleet, region, &operation, &params, &request_id)
                .map(|xml| respond(200, XML_CONTENT_TYPE, xml))
        }
        (Service::Ec2, None) => Err(ApiError::client("InvalidAction", "no EC2 parameters")),
        (json_service, _) => json_call(
            state,
            json_service,
            region,
            &scope.access_key,
            &operation,
            &body,
        )
        .map(|v| with_request_id(respond(200, JSON_CONTENT_TYPE, v.to_string()), &request_id)),
    };
    result.unwrap_or_else(|err| error_response(protocol, &err, &request_id))
}

fn json_call(
    state: &Arc<SimState>,
    service: Service,
    region: &str,
    caller: &str,
    operation: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::client(
                "SerializationException",
                format!("Malformed JSON body: {e}"),
            )
        })?
    };
    let Some(obj) = value.as_object() else {
        return Err(ApiError::client(
            "SerializationException",
            "The request body must be a JSON object",
        ));
    };
    let input = JsonInput::new(obj);
    match service {
        Service::Ssm if commands::is_command_operation(operation) => {
            commands::handle(state, region, operation, &input)
        }
        Service::Ssm
            if matches!(
                operation,
                "StartSession" | "ResumeSession" | "TerminateSession"
            ) =>
        {
            sessions::handle(state, region, caller, operation, &input)
        }
        Service::Ssm => {
            let inner = state.lock();
            ssm::handle(
                &state.fleet,
                &inner.sessions,
                &inner.lost_agents,
                region,
                operation,
                &input,
            )
        }
        Service::Logs => {
            let now = chrono::Utc::now().timestamp_millis();
            logs::handle(&mut state.lock().logs, region, operation, &input, now)
        }
        Service::Ec2 => Err(ApiError::client("InvalidAction", "EC2 does not speak JSON")),
    }
}

/// The simulator's own endpoints; only these paths are not AWS.
fn sim_route(method: &Method, path: &str, state: &SimState) -> Response<Full<Bytes>> {
    if method == Method::POST
        && let Some(instance) = lost_agent_path(path)
    {
        return lose_agent(state, instance);
    }
    match (method, path) {
        (&Method::GET, "/_sim/stats") => {
            let stats = state.lock().stats.snapshot();
            let body = serde_json::to_string(&stats).unwrap_or_else(|_| "{}".into());
            respond(200, "application/json", body)
        }
        _ => respond(
            404,
            "application/json",
            json!({"error": format!("no simulator endpoint {method} {path}")}).to_string(),
        ),
    }
}

fn lose_agent(state: &SimState, instance: &str) -> Response<Full<Bytes>> {
    match sessions::lose_agent(state, instance) {
        Some(open) => {
            let body = json!({
                "instance_id": instance,
                "ping_status": "ConnectionLost",
                "sessions_dropped": open,
            });
            respond(200, "application/json", body.to_string())
        }
        None => {
            let body = json!({"error": format!("SSM does not know an instance {instance}")});
            respond(404, "application/json", body.to_string())
        }
    }
}

/// The instance id in `/_sim/agents/<id>/connection-lost`.
fn lost_agent_path(path: &str) -> Option<&str> {
    path.strip_prefix("/_sim/agents/")?
        .strip_suffix("/connection-lost")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}
