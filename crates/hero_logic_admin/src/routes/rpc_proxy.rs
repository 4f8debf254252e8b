//! `POST /rpc`: the browser's JSON-RPC door to the daemon. Bodies pass through verbatim so
//! the admin never has to know the API; only transport failures are answered here.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{AdminError, DAEMON_UNREACHABLE};
use crate::state::AppState;

const JSON: &str = "application/json";

pub async fn rpc_proxy(State(state): State<AppState>, body: Bytes) -> Response {
    match state.forward(body.clone()).await {
        // A notification gets no answer from the daemon; say so without inventing a body.
        Ok(answer) if answer.is_empty() => StatusCode::NO_CONTENT.into_response(),
        Ok(answer) => ([(header::CONTENT_TYPE, JSON)], answer).into_response(),
        Err(err) => transport_error(&err, request_id(&body)),
    }
}

/// The request's `id`, so the client can match the error to its call; `null` when the body
/// is not a single JSON-RPC request.
fn request_id(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body).ok().and_then(|request| request.get("id").cloned()).unwrap_or(Value::Null)
}

fn transport_error(err: &AdminError, id: Value) -> Response {
    tracing::warn!("/rpc: {err}");
    let kind = match err {
        AdminError::DaemonUnreachable { .. } => "daemon_unreachable",
        _ => "daemon_transport",
    };
    let hint = match err.hint() {
        hint if hint.is_empty() => "Check the daemon's log; it may have crashed.".to_string(),
        hint => hint,
    };
    let answer = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": DAEMON_UNREACHABLE,
            "message": err.to_string(),
            "data": {"kind": kind, "hint": hint},
        },
    });
    (StatusCode::BAD_GATEWAY, [(header::CONTENT_TYPE, JSON)], answer.to_string()).into_response()
}
