//! Shared state of every handler: the daemon client and who may call the admin.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use hero_logic_api::RpcClient;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::watch;

use crate::access::Access;
use crate::error::AdminError;

/// Pages give up on a wedged daemon after this long instead of hanging the browser.
const PAGE_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// `/healthz` must answer fast even when the daemon does not.
const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct AppState {
    rpc: Arc<RpcClient>,
    access: Arc<Access>,
    /// Set when the admin stops, so long-lived responses (event streams) end and let it.
    closing: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// State for a daemon listening on `socket`, letting in only what `access` allows.
    /// Nothing is connected until a request needs it.
    pub fn new(socket: impl Into<PathBuf>, access: Access) -> Self {
        AppState {
            rpc: Arc::new(RpcClient::new(socket)),
            access: Arc::new(access),
            closing: Arc::new(watch::channel(false).0),
        }
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Tells every event stream to end: the admin is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once [`AppState::close`] was called.
    pub async fn closed(&self) {
        let mut closing = self.closing.subscribe();
        // An error means the sender is gone, which only happens when nothing can close any more.
        let _ = closing.wait_for(|closed| *closed).await;
    }

    pub fn socket(&self) -> &Path {
        self.rpc.socket()
    }

    /// Calls a daemon method for a page, bounded by [`PAGE_CALL_TIMEOUT`].
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, AdminError> {
        self.call_within(PAGE_CALL_TIMEOUT, method, params).await
    }

    /// Calls a daemon method, giving up after `limit` (for calls that wait on purpose, such
    /// as `play_watch`).
    pub async fn call_within<T: DeserializeOwned>(
        &self,
        limit: Duration,
        method: &str,
        params: Value,
    ) -> Result<T, AdminError> {
        match tokio::time::timeout(limit, self.rpc.call(method, params)).await {
            Ok(result) => result.map_err(AdminError::from),
            Err(_) => Err(AdminError::DaemonTimeout { socket: self.socket().to_path_buf(), secs: limit.as_secs() }),
        }
    }

    /// Forwards a raw JSON-RPC body. No timeout: `play_wait` legitimately blocks for as long
    /// as its caller asked.
    pub async fn forward(&self, body: Bytes) -> Result<Bytes, AdminError> {
        self.rpc.post(body).await.map_err(AdminError::from)
    }

    /// Whether the daemon answers HTTP on its socket at all; any JSON-RPC answer counts.
    pub async fn daemon_alive(&self) -> bool {
        let ping = Bytes::from_static(br#"{"jsonrpc":"2.0","id":0,"method":"logic.list","params":{"limit":1}}"#);
        matches!(tokio::time::timeout(HEALTH_PROBE_TIMEOUT, self.rpc.post(ping)).await, Ok(Ok(_)))
    }
}
