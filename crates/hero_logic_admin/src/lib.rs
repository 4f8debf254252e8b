//! The hero_logic web admin: HTML pages over the daemon's JSON-RPC, plus a `/rpc` proxy so the
//! browser can call the daemon, which only listens on a Unix socket.
//!
//! The admin holds no state of its own; every page is built from daemon calls.

pub mod access;
pub mod error;
pub mod routes;
pub mod state;
pub mod view;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use access::Access;
pub use error::AdminError;
pub use state::AppState;

/// Logic sources travel through `/rpc`; allow more than axum's 2 MiB default.
const RPC_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Every route of the admin.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(routes::dashboard::dashboard))
        .route("/logics", post(routes::new_logic::create_logic).layer(DefaultBodyLimit::max(RPC_BODY_LIMIT)))
        .route("/logics/new", get(routes::new_logic::new_logic_page))
        .route("/logics/{sid}", get(routes::logic::logic_page))
        .route("/runs", get(routes::runs::runs))
        .route("/inbox", get(routes::runs::inbox))
        .route("/api/plays/{sid}/overlay", get(routes::api::overlay))
        .route("/api/plays/{sid}/events", get(routes::api::events))
        .route("/rpc", post(routes::rpc_proxy::rpc_proxy).layer(DefaultBodyLimit::max(RPC_BODY_LIMIT)))
        .route("/healthz", get(routes::health::healthz))
        .route("/static/{*name}", get(routes::assets::asset))
        .route("/favicon.ico", get(routes::assets::favicon))
        .route("/workflows", get(routes::legacy::to_dashboard))
        .route("/workflows/{sid}", get(routes::legacy::workflow))
        .route("/workflows/{sid}/{*rest}", get(routes::legacy::workflow_page))
        .route("/plays", get(routes::legacy::to_dashboard))
        .route("/plays/{sid}", get(routes::legacy::play))
        .route("/examples", get(routes::legacy::to_dashboard))
        .fallback(not_found)
        // Outermost, so it also covers the fallback and every refusal gets the headers.
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> AdminError {
    AdminError::NotFound(format!("there is no page at {}", uri.path()))
}

/// Binds the listen address, with an error that says how to pick another one.
pub async fn bind(addr: &str) -> Result<TcpListener, AdminError> {
    TcpListener::bind(addr).await.map_err(|source| AdminError::Bind { addr: addr.to_string(), source })
}

/// Serves the admin on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AdminError> {
    let closing = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Open event streams would otherwise hold the graceful shutdown forever.
        closing.close();
    };
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await.map_err(AdminError::Serve)
}

/// Completes on SIGINT or SIGTERM, the two ways `hero_logic up` and a terminal stop the admin.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        // Without handlers the default actions still stop the process; just never finish here.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
