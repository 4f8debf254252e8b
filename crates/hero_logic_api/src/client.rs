//! A small async JSON-RPC client over the daemon's Unix socket (HTTP/1.1, one connection per call).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::net::UnixStream;

use crate::error::ErrorData;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the hero_logic daemon at {path}: {source} (is it running? start it with `hero_logic up`)")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("HTTP exchange with the daemon failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the daemon answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the daemon's answer is not valid JSON-RPC: {0}")]
    Decode(String),
    #[error("{message} (code {code})")]
    Rpc { code: i32, message: String, data: Option<ErrorData> },
}

impl ClientError {
    /// The JSON-RPC error code, when the daemon answered with an error.
    pub fn code(&self) -> Option<i32> {
        match self {
            ClientError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn data(&self) -> Option<&ErrorData> {
        match self {
            ClientError::Rpc { data, .. } => data.as_ref(),
            _ => None,
        }
    }
}

/// Speaks JSON-RPC 2.0 to the daemon over its Unix socket.
#[derive(Debug)]
pub struct RpcClient {
    socket: PathBuf,
    next_id: AtomicU64,
}

impl RpcClient {
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        RpcClient { socket: socket.into(), next_id: AtomicU64::new(1) }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Calls `method` with by-name `params` and decodes the result.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let body = self.post(Bytes::from(request.to_string())).await?;
        let response: Value = serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))?;
        if let Some(error) = response.get("error") {
            return Err(ClientError::Rpc {
                code: error["code"].as_i64().unwrap_or(0) as i32,
                message: error["message"].as_str().unwrap_or_default().to_string(),
                data: error.get("data").and_then(|d| serde_json::from_value(d.clone()).ok()),
            });
        }
        let result = response.get("result").cloned().ok_or_else(|| ClientError::Decode("no result".into()))?;
        serde_json::from_value(result).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Posts a raw JSON-RPC body and returns the raw answer (the admin's `/rpc` proxy uses this).
    pub async fn post(&self, body: Bytes) -> Result<Bytes, ClientError> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|source| ClientError::Connect { path: self.socket.clone(), source })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = Request::post("/")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(body))
            .expect("a static request always builds");
        let response = sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() && bytes.is_empty() {
            return Err(ClientError::Status { status: status.as_u16(), body: String::new() });
        }
        Ok(bytes)
    }
}
