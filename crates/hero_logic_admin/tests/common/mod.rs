//! A stand-in for the daemon's transport, for admin unit tests only: an HTTP server on a temp
//! Unix socket that records every JSON-RPC request and answers from a closure. Tests against
//! the real daemon live with the daemon.

// Each test file uses a part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hero_logic_admin::{router, Access, AppState};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

type Answer = Arc<dyn Fn(&str, &Value) -> Value + Send + Sync>;

#[derive(Clone)]
struct FakeState {
    requests: Arc<Mutex<Vec<Value>>>,
    answer: Answer,
}

pub struct FakeDaemon {
    pub socket: PathBuf,
    requests: Arc<Mutex<Vec<Value>>>,
    _dir: TempDir,
}

impl FakeDaemon {
    /// Starts a fake daemon; `answer(method, params)` returns the JSON-RPC `result`, or a
    /// value `{"__error": {...}}` to answer with that error object instead.
    pub async fn start(answer: impl Fn(&str, &Value) -> Value + Send + Sync + 'static) -> FakeDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("fake.sock");
        let listener = tokio::net::UnixListener::bind(&socket).expect("bind fake socket");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState { requests: requests.clone(), answer: Arc::new(answer) };
        let app = Router::new().route("/", post(handle)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeDaemon { socket, requests, _dir: dir }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn handle(State(state): State<FakeState>, Json(request): Json<Value>) -> Json<Value> {
    state.requests.lock().expect("lock").push(request.clone());
    let method = request["method"].as_str().unwrap_or_default();
    let result = (state.answer)(method, &request["params"]);
    let id = request["id"].clone();
    Json(match result.get("__error") {
        Some(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        None => json!({"jsonrpc": "2.0", "id": id, "result": result}),
    })
}

/// A socket path in a fresh temp dir where nothing listens.
pub fn absent_socket() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("nobody-here.sock");
    (dir, socket)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// The access token of every admin the tests build.
pub const TOKEN: &str = "5e1f0c0ffee5e1f0c0ffee5e1f0c0ffee5e1f0c0ffee5e1f0c0ffee5e1f0c0ff";
/// The port the tests' admin believes it listens on, and the `Host` a browser would send.
pub const PORT: u16 = 9820;
pub const HOST: &str = "127.0.0.1:9820";

/// What the tests' admin lets in: [`TOKEN`], under the loopback names on [`PORT`].
pub fn access() -> Access {
    Access::new(TOKEN.to_string(), std::path::Path::new("/data/admin.token"), HOST, PORT)
}

/// The state of an admin in front of the daemon at `socket`, with the tests' [`access`].
pub fn state(socket: &std::path::Path) -> AppState {
    AppState::new(socket, access())
}

/// The state of an admin really listening on 127.0.0.1:`port`.
pub fn state_on(socket: &std::path::Path, port: u16) -> AppState {
    let access = Access::new(TOKEN.to_string(), std::path::Path::new("/data/admin.token"), "127.0.0.1:0", port);
    AppState::new(socket, access)
}

/// Sends one request through the admin router as a logged-in browser would: with the right
/// `Host` and the token, unless the request carries its own.
pub async fn send(socket: &std::path::Path, mut request: Request<Body>) -> Reply {
    let headers = request.headers_mut();
    if !headers.contains_key(header::HOST) {
        headers.insert(header::HOST, HOST.parse().expect("host"));
    }
    if !headers.contains_key(header::AUTHORIZATION) && !headers.contains_key(header::COOKIE) {
        headers.insert(header::AUTHORIZATION, format!("Bearer {TOKEN}").parse().expect("bearer"));
    }
    send_as_is(socket, request).await
}

/// Sends one request through the admin router exactly as given.
pub async fn send_as_is(socket: &std::path::Path, request: Request<Body>) -> Reply {
    let response = router(state(socket)).oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).expect("utf-8 body") }
}

pub async fn get(socket: &std::path::Path, uri: &str) -> Reply {
    send(socket, Request::get(uri).body(Body::empty()).expect("request")).await
}

/// No `style="..."`, no `on...=` handler, and every `<script>` either loads a file or is a
/// JSON data block (not executed, so CSP lets it be).
pub fn assert_csp_clean(what: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains(" style="), "{what}: inline style attribute in {html}");
    for handler in [" onclick=", " onload=", " onsubmit=", " onchange=", " oninput=", " onerror="] {
        assert!(!lower.contains(handler), "{what}: inline handler {handler} in {html}");
    }
    assert!(!lower.contains("<style"), "{what}: inline <style> in {html}");
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
        assert!(tag.contains(" src=") || tag.contains(r#"type="application/json""#), "{what}: inline script {tag}");
    }
}
