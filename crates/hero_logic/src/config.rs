//! The daemon's resolved configuration: flags > environment > `service.toml` defaults.

use std::path::{Path, PathBuf};

use clap::Parser;
use hero_logic_api::service::ServiceConfig;

use crate::store::Synchronous;

pub const ENV_SEED_DIR: &str = "HERO_LOGIC_SEED_DIR";
pub const ENV_CONFIG: &str = "HERO_LOGIC_CONFIG";

/// Bounds of the engine settings: a pool of 0 would run nothing, and thousands of workers
/// or warm interpreters are a typo rather than a plan on one machine.
const MAX_POOL_SIZE: u32 = 1024;
const MAX_WARM_RUNNERS: u32 = 256;

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
    /// A service.toml whose settings override the built-in defaults (any subset of its
    /// sections and keys). Env: HERO_LOGIC_CONFIG.
    #[arg(long, value_name = "FILE", env = ENV_CONFIG)]
    pub config: Option<PathBuf>,
    /// Top-level Plays run at once (`engine.pool_size`).
    #[arg(long, value_name = "N")]
    pub pool_size: Option<u32>,
    /// Processes the fork server keeps made ahead of time, each in its own cgroup, waiting
    /// for one Play (`engine.warm_runners`, 0-256; 0 forks each Play when it starts).
    #[arg(long, value_name = "N")]
    pub warm_runners: Option<u32>,
    /// Plays a crash left running: `replay` or `fail` (`engine.recover`).
    #[arg(long, value_name = "MODE")]
    pub recover: Option<String>,
    /// Start-up replays one Play gets before it is failed (`engine.recover_attempts`).
    #[arg(long, value_name = "N")]
    pub recover_attempts: Option<u32>,
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
    /// The file given with `--config`, if any.
    pub config_file: Option<PathBuf>,
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
    #[error("unknown engine.recover {0:?}; use `replay` or `fail` (--recover or service.toml)")]
    Recover(String),
    #[error("engine.{name} = {value} is out of range; use {min} to {max} (--{flag} or service.toml)")]
    OutOfRange { name: &'static str, flag: &'static str, value: u32, min: u32, max: u32 },
    #[error("cannot read the config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the config file {0} is not valid: {1}")]
    Invalid(PathBuf, String),
}

impl ServerConfig {
    pub fn resolve(flags: &Flags) -> Result<ServerConfig, ConfigError> {
        let mut service = match &flags.config {
            Some(file) => with_overrides(file)?,
            None => ServiceConfig::defaults(),
        };
        apply_engine_flags(&mut service, flags);
        if let Some(on) = flags.fork_server {
            service.sandbox.fork_server = on;
        }
        if let Some(on) = flags.sandbox_allow_weaker {
            service.sandbox.allow_weaker = on;
        }
        if let Some(dirs) = &flags.sandbox_shared_dirs {
            service.sandbox.shared_dirs = dirs.iter().filter(|d| !d.is_empty()).cloned().collect();
        }
        check_engine(&service)?;
        let data_dir = service.data_dir(flags.data_dir.as_deref());
        let socket = service.socket(flags.socket.as_deref(), &data_dir);
        let database = data_dir.join(&service.paths.database);
        let mode = flags.synchronous.clone().unwrap_or_else(|| service.store.synchronous.clone());
        let synchronous = Synchronous::parse(&mode).ok_or(ConfigError::Synchronous(mode))?;
        let seeds = match (&flags.seed_dir, flags.no_seed) {
            (_, true) => SeedSource::Off,
            (Some(dir), false) => SeedSource::Dir(dir.clone()),
            (None, false) => SeedSource::Embedded,
        };
        Ok(ServerConfig { service, data_dir, socket, database, synchronous, seeds, config_file: flags.config.clone() })
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
        let file = self.config_file.as_deref().map(display).unwrap_or_else(|| "none".into());
        format!("# hero_logic_server {} (seeds: {seeds}, config file: {file})\n{body}", env!("CARGO_PKG_VERSION"))
    }
}

/// The built-in descriptor with the file's settings laid over it. A key the descriptor does
/// not have is refused by name, so a typo does not silently leave a default in place.
fn with_overrides(file: &Path) -> Result<ServiceConfig, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid(file.to_path_buf(), reason);
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Read(file.to_path_buf(), e))?;
    let overrides: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut merged: toml::Table =
        toml::from_str(hero_logic_api::service::SERVICE_TOML).expect("the checked-in service.toml parses");
    lay_over(&mut merged, overrides, "").map_err(invalid)?;
    merged.try_into().map_err(|e: toml::de::Error| invalid(e.to_string()))
}

fn lay_over(base: &mut toml::Table, overrides: toml::Table, prefix: &str) -> Result<(), String> {
    for (key, value) in overrides {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => lay_over(inner, value, &path)?,
            (Some(slot), value) => *slot = value,
            (None, _) => {
                let known: Vec<&str> = base.keys().map(String::as_str).collect();
                return Err(format!("unknown setting `{path}`; known here: {}", known.join(", ")));
            }
        }
    }
    Ok(())
}

fn apply_engine_flags(service: &mut ServiceConfig, flags: &Flags) {
    let engine = &mut service.engine;
    if let Some(n) = flags.pool_size {
        engine.pool_size = n;
    }
    if let Some(n) = flags.warm_runners {
        engine.warm_runners = n;
    }
    if let Some(mode) = &flags.recover {
        engine.recover = mode.clone();
    }
    if let Some(n) = flags.recover_attempts {
        engine.recover_attempts = n;
    }
}

fn check_engine(service: &ServiceConfig) -> Result<(), ConfigError> {
    let engine = &service.engine;
    if !matches!(engine.recover.as_str(), "replay" | "fail") {
        return Err(ConfigError::Recover(engine.recover.clone()));
    }
    let checks = [
        ("pool_size", "pool-size", engine.pool_size, 1, MAX_POOL_SIZE),
        ("warm_runners", "warm-runners", engine.warm_runners, 0, MAX_WARM_RUNNERS),
        ("recover_attempts", "recover-attempts", engine.recover_attempts, 1, u32::MAX),
    ];
    for (name, flag, value, min, max) in checks {
        if !(min..=max).contains(&value) {
            return Err(ConfigError::OutOfRange { name, flag, value, min, max });
        }
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
