//! Start-up and shutdown of the daemon process.

use std::sync::Arc;

use anyhow::Context;

use crate::config::ServerConfig;
use crate::engine::python::PythonRuntime;
use crate::engine::sandbox::Budget;
use crate::engine::{Caps, Engine, EngineSettings};
use crate::library::Library;
use crate::models::ModelSettings;
use crate::store::{PgStore, SqliteStore, Store};
use crate::{rpc, seed};

/// Opens the store, loads seeds and serves JSON-RPC until SIGINT or SIGTERM.
pub async fn run(config: ServerConfig) -> anyhow::Result<()> {
    for dir in ["", "run", "work", "sdk"].map(|name| config.data_dir.join(name)) {
        crate::private::dir(&dir).with_context(|| format!("making {} private", dir.display()))?;
    }
    let (store, shared) = open_store(&config)?;
    // Resolved once: the engine runs Plays on it and saves are checked against its grammar.
    let python = PythonRuntime::prepare(&config.data_dir);
    let library = Library::new(store).with_runtime(grammar_of(&python));
    let seeds = seed::collect(&config.seeds).context("reading seed logics")?;
    let report = tokio::task::block_in_place(|| seed::load(&library, &seeds));
    tracing::info!(
        created = report.created.len(),
        updated = report.updated.len(),
        unchanged = report.unchanged,
        examples_created = report.examples_created.len(),
        failed = report.failed.len(),
        "seed logics loaded"
    );
    for (file, error) in &report.failed {
        tracing::error!(%file, %error, "seed logic not loaded");
    }
    let models = ModelSettings::resolve(&config.service, &config.data_dir).context("reading the models table")?;
    let mut settings = engine_settings(&config);
    settings.runner_vars = models.runner_vars();
    settings.models = Arc::new(models.clone());
    let engine = Engine::start(library.clone(), settings, python);
    let module = rpc::module(rpc::Ctx { library, engine: Arc::clone(&engine), models: Arc::new(models.config) });
    tracing::info!(socket = %config.socket.display(), data_dir = %config.data_dir.display(), "hero_logic_server listening");
    let served = rpc::serve(&config.socket, module, shutdown_signal())
        .await
        .with_context(|| format!("serving JSON-RPC on {}", config.socket.display()));
    tokio::task::block_in_place(|| {
        engine.shutdown();
        if let Some(shared) = &shared {
            shared.leave();
        }
    });
    served?;
    tracing::info!("hero_logic_server stopped");
    Ok(())
}

/// The store, and the PostgreSQL one again when it is shared with other daemons.
type OpenedStore = (Arc<dyn Store>, Option<Arc<PgStore>>);

/// Opens the configured store; a shared PostgreSQL one is also returned as such, since the
/// daemon gives its lease up at a clean stop.
fn open_store(config: &ServerConfig) -> anyhow::Result<OpenedStore> {
    Ok(match &config.store_url {
        Some(url) => {
            let connections = config.service.engine.pool_size as usize + crate::store::pg::DEFAULT_CONNECTIONS;
            let store = Arc::new(PgStore::open(url, connections)?);
            join_daemons(&store, config)?;
            (Arc::clone(&store) as Arc<dyn Store>, Some(store))
        }
        None => (Arc::new(SqliteStore::open(&config.database, config.synchronous)?), None),
    })
}

/// Takes a lease among the daemons on the database, succeeding the one this data dir had
/// before (its id is kept in the data dir), so that a restarted daemon resumes its own
/// Plays at once.
fn join_daemons(store: &PgStore, config: &ServerConfig) -> anyhow::Result<()> {
    let id_file = config.data_dir.join("daemon.id");
    let previous = std::fs::read_to_string(&id_file).ok().and_then(|text| text.trim().parse::<i64>().ok());
    let lease = std::time::Duration::from_millis(config.service.store.lease_ms);
    let id = store.join(lease, previous)?;
    std::fs::write(&id_file, id.to_string()).with_context(|| format!("writing {}", id_file.display()))?;
    tracing::info!(daemon = id, lease_ms = config.service.store.lease_ms, "joined the daemons on the database");
    Ok(())
}

/// The interpreter's grammar, for save-time checks: known before the seeds load, which are
/// checked like any other save.
fn grammar_of(python: &Result<PythonRuntime, String>) -> Option<crate::parse::Runtime> {
    match python {
        Ok(python) => crate::parse::Runtime::from_version(&python.version),
        Err(e) => {
            tracing::warn!(error = %e, "no Python found; sources are checked against the parser's grammar only");
            None
        }
    }
}

fn engine_settings(config: &ServerConfig) -> EngineSettings {
    EngineSettings {
        data_dir: config.data_dir.clone(),
        rpc_socket: config.socket.clone(),
        pool_size: config.service.engine.pool_size as usize,
        defaults: Budget::defaults(&config.service.sandbox),
        env_allow: config.service.sandbox.env_allow.clone(),
        recover_by_replay: config.service.engine.recover != "fail",
        recover_attempts: config.service.engine.recover_attempts,
        allow_weaker: config.service.sandbox.allow_weaker,
        fork_server: config.service.sandbox.fork_server,
        warm_runners: config.service.engine.warm_runners as usize,
        shared_dirs: config.service.sandbox.shared_dirs.iter().map(std::path::PathBuf::from).collect(),
        caps: Caps::of(&config.service.engine),
        runner_vars: Vec::new(),
        models: Arc::new(ModelSettings::unconfigured()),
    }
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
