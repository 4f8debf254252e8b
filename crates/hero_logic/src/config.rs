//! The daemon's resolved configuration: flags > environment > `service.toml` defaults.

use std::path::{Path, PathBuf};

use clap::Parser;
use hero_logic_api::service::ServiceConfig;

use crate::store::Synchronous;

pub const ENV_SEED_DIR: &str = "HERO_LOGIC_SEED_DIR";

#[derive(Debug, Clone, Parser)]
#[command(name = "hero_logic_server", version, about = "The hero_logic daemon: stores versioned Python logics and runs them durably")]
pub struct Flags {
    /// Data directory (database, sockets). Env: HERO_LOGIC_HOME. Default: ~/.hero_logic.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// JSON-RPC Unix socket. Env: HERO_LOGIC_SOCKET. Default: <data dir>/hero_logic.sock.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Load seed logics from this directory instead of the ones built in. Env: HERO_LOGIC_SEED_DIR.
    #[arg(long, value_name = "DIR", env = ENV_SEED_DIR)]
    pub seed_dir: Option<PathBuf>,
    /// Do not load seed logics.
    #[arg(long)]
    pub no_seed: bool,
    /// SQLite durability: `full` or `normal`. Default from service.toml.
    #[arg(long, value_name = "MODE")]
    pub synchronous: Option<String>,
    /// Print the resolved service descriptor and the sandbox's protections, and exit.
    #[arg(long)]
    pub info: bool,
    /// Start Plays from the fork server (`[sandbox] fork_server`). Env: HERO_LOGIC_FORK_SERVER.
    #[arg(long, value_name = "BOOL", env = "HERO_LOGIC_FORK_SERVER", value_parser = clap::builder::BoolishValueParser::new())]
    pub fork_server: Option<bool>,
    /// Run Plays when the kernel lacks a sandbox protection (`[sandbox] allow_weaker`).
    /// Env: HERO_LOGIC_SANDBOX_ALLOW_WEAKER.
    #[arg(long, value_name = "BOOL", env = "HERO_LOGIC_SANDBOX_ALLOW_WEAKER", value_parser = clap::builder::BoolishValueParser::new())]
    pub sandbox_allow_weaker: Option<bool>,
    /// Directories every Play may read and write (`[sandbox] shared_dirs`), `:`-separated.
    /// Env: HERO_LOGIC_SANDBOX_SHARED_DIRS.
    #[arg(long, value_name = "DIRS", env = "HERO_LOGIC_SANDBOX_SHARED_DIRS", value_delimiter = ':')]
    pub sandbox_shared_dirs: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub service: ServiceConfig,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub database: PathBuf,
    pub synchronous: Synchronous,
    pub seeds: SeedSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SeedSource {
    Embedded,
    Dir(PathBuf),
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown synchronous mode {0:?}; use `full` or `normal`")]
    Synchronous(String),
    #[error("unknown engine.recover {0:?} in service.toml; use `replay` or `fail`")]
    Recover(String),
}

impl ServerConfig {
    pub fn resolve(flags: &Flags) -> Result<ServerConfig, ConfigError> {
        let mut service = ServiceConfig::defaults();
        if let Some(on) = flags.fork_server {
            service.sandbox.fork_server = on;
        }
        if let Some(on) = flags.sandbox_allow_weaker {
            service.sandbox.allow_weaker = on;
        }
        if let Some(dirs) = &flags.sandbox_shared_dirs {
            service.sandbox.shared_dirs = dirs.iter().filter(|d| !d.is_empty()).cloned().collect();
        }
        let data_dir = service.data_dir(flags.data_dir.as_deref());
        let socket = service.socket(flags.socket.as_deref(), &data_dir);
        let database = data_dir.join(&service.paths.database);
        let mode = flags.synchronous.clone().unwrap_or_else(|| service.store.synchronous.clone());
        let synchronous = Synchronous::parse(&mode).ok_or(ConfigError::Synchronous(mode))?;
        if !matches!(service.engine.recover.as_str(), "replay" | "fail") {
            return Err(ConfigError::Recover(service.engine.recover.clone()));
        }
        let seeds = match (&flags.seed_dir, flags.no_seed) {
            (_, true) => SeedSource::Off,
            (Some(dir), false) => SeedSource::Dir(dir.clone()),
            (None, false) => SeedSource::Embedded,
        };
        Ok(ServerConfig { service, data_dir, socket, database, synchronous, seeds })
    }

    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("hero_logic.lock")
    }

    /// The descriptor with every path resolved, as `--info` prints it.
    pub fn describe(&self) -> String {
        let mut service = self.service.clone();
        service.paths.data_dir = display(&self.data_dir);
        service.paths.socket = display(&self.socket);
        service.paths.database = display(&self.database);
        service.store.synchronous = format!("{:?}", self.synchronous).to_lowercase();
        let seeds = match &self.seeds {
            SeedSource::Embedded => "built-in".to_string(),
            SeedSource::Dir(dir) => display(dir),
            SeedSource::Off => "off".to_string(),
        };
        let body = toml::to_string_pretty(&service).unwrap_or_else(|e| format!("# cannot render: {e}\n"));
        format!("# hero_logic_server {} (seeds: {seeds})\n{body}", env!("CARGO_PKG_VERSION"))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
