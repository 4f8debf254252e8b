//! Start-up and shutdown of the daemon process.

use std::sync::Arc;

use anyhow::Context;

use crate::config::ServerConfig;
use crate::library::Library;
use crate::store::{SqliteStore, Store};
use crate::{rpc, seed};

/// Opens the store, loads seeds and serves JSON-RPC until SIGINT or SIGTERM.
pub async fn run(config: ServerConfig) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.database, config.synchronous)?);
    let library = Library::new(store);
    let seeds = seed::collect(&config.seeds).context("reading seed logics")?;
    let report = tokio::task::block_in_place(|| seed::load(&library, &seeds));
    tracing::info!(
        created = report.created.len(),
        updated = report.updated.len(),
        unchanged = report.unchanged,
        failed = report.failed.len(),
        "seed logics loaded"
    );
    for (file, error) in &report.failed {
        tracing::error!(%file, %error, "seed logic not loaded");
    }
    let module = rpc::module(library);
    tracing::info!(socket = %config.socket.display(), data_dir = %config.data_dir.display(), "hero_logic_server listening");
    rpc::serve(&config.socket, module, shutdown_signal())
        .await
        .with_context(|| format!("serving JSON-RPC on {}", config.socket.display()))?;
    tracing::info!("hero_logic_server stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
