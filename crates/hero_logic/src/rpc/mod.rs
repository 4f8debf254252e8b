//! JSON-RPC 2.0 over HTTP on a Unix socket.

mod admission;
mod conformance;
mod crud;
mod error;
mod graph;
mod logics;
mod models;
mod params;
mod plays;
mod runs;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use hero_logic_api::{methods, openrpc};
use jsonrpsee::server::{serve_with_graceful_shutdown, stop_channel, Server, ServerConfig};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{Methods, RpcModule};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::UnixListener;

use crate::engine::Engine;
use crate::error::ServiceResult;
use crate::library::Library;

/// What every method handler can reach.
pub struct Ctx {
    pub library: Library,
    pub engine: Arc<Engine>,
    /// The models table and endpoint settings (`LogicService.models_config`).
    pub models: Arc<hero_logic_api::params::ModelsConfig>,
}

/// Largest request accepted (sources and example inputs can be large).
const MAX_REQUEST_BYTES: u32 = 32 * 1024 * 1024;
/// Pause after a failed accept (e.g. EMFILE) before the next one.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Registers a method that decodes by-name params `P`, runs `handler` on a blocking thread
/// (the store is synchronous) and answers its result.
pub(crate) fn register<P, R, F>(module: &mut RpcModule<Ctx>, name: &'static str, handler: F)
where
    P: DeserializeOwned,
    R: Serialize + Clone + 'static,
    F: Fn(&Ctx, P) -> ServiceResult<R> + Clone + Send + Sync + 'static,
{
    module
        .register_blocking_method(name, move |raw, ctx, _| -> Result<R, ErrorObjectOwned> {
            let p = params::decode::<P>(&raw)?;
            Ok(handler(&ctx, p)?)
        })
        .unwrap_or_else(|e| panic!("method {name} registered twice: {e}"));
}

/// Every method the daemon serves.
pub fn module(ctx: Ctx) -> RpcModule<Ctx> {
    let mut module = RpcModule::new(ctx);
    crud::register_all(&mut module);
    logics::register_all(&mut module);
    graph::register_all(&mut module);
    plays::register_all(&mut module);
    runs::register_all(&mut module);
    models::register_all(&mut module);
    module
        .register_method(methods::DISCOVER, |_, _, _| -> serde_json::Value { discover_document().clone() })
        .expect("rpc.discover is registered once");
    module
}

fn discover_document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(openrpc::document)
}

/// Binds `socket` (mode 0600) and serves `module` until `shutdown` resolves.
pub async fn serve(
    socket: &Path,
    module: RpcModule<Ctx>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // A socket file left by a crashed daemon would make bind fail; the caller holds the
    // data dir's lock, so no live daemon owns it.
    match std::fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    // jsonrpsee's own limit answers the request over it with a bare HTTP 429; the admission
    // gate in front of it queues instead, so it is set out of the gate's way.
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(u32::MAX)
        .max_connections(admission::JSONRPSEE_LIMIT)
        .http_only()
        .build();
    let gate = admission::Admission::new(admission::MAX_IN_FLIGHT, admission::MAX_WAITING);
    let builder = Server::builder()
        .set_config(config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(admission::AdmissionLayer::new(gate)))
        .to_service_builder();
    let methods: Methods = module.into();
    let (stop_handle, server_handle) = stop_channel();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors, typically: let answered requests free some
                        // rather than spin on the same error.
                        tracing::warn!(error = %e, "accept on the RPC socket failed; retrying shortly");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                        continue;
                    }
                };
                let service = conformance::Conformant::new(builder.clone().build(methods.clone(), stop_handle.clone()), MAX_REQUEST_BYTES);
                let stopped = stop_handle.clone().shutdown();
                tokio::spawn(async move {
                    if let Err(e) = serve_with_graceful_shutdown(stream, service, stopped).await {
                        tracing::debug!(error = %e, "RPC connection ended with an error");
                    }
                });
            }
        }
    }
    let _ = server_handle.stop();
    let _ = std::fs::remove_file(socket);
    Ok(())
}
