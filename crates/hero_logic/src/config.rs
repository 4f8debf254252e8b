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
    /// Where to keep everything: a PostgreSQL URL (`postgres://…`) or `sqlite` for the file in
    /// the data dir (`[store] url`). Env: HERO_LOGIC_STORE.
    #[arg(long, value_name = "URL", env = "HERO_LOGIC_STORE")]
    pub store: Option<String>,
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
    /// The PostgreSQL store's URL; None: the SQLite file at `database`.
    pub store_url: Option<String>,
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
    #[error("unknown store {0:?}; use a PostgreSQL URL (postgres://user@host/dbname) or `sqlite` (--store or [store] url)")]
    Store(String),
    #[error("store.lease_ms = {0} is too short; use {MIN_LEASE_MS} or more (service.toml): a daemon renews its lease every fifth of it, and one that misses a renewal would lose its Plays to the others")]
    Lease(u64),
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
        if let Some(store) = &flags.store {
            service.store.url = if store == "sqlite" { String::new() } else { store.clone() };
        }
        let store_url = store_url(&service.store.url)?;
        let seeds = match (&flags.seed_dir, flags.no_seed) {
            (_, true) => SeedSource::Off,
            (Some(dir), false) => SeedSource::Dir(dir.clone()),
            (None, false) => SeedSource::Embedded,
        };
        Ok(ServerConfig {
            service,
            data_dir,
            socket,
            database,
            synchronous,
            store_url,
            seeds,
            config_file: flags.config.clone(),
        })
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
        service.store.url = without_password(&service.store.url);
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
    if service.store.lease_ms < MIN_LEASE_MS {
        return Err(ConfigError::Lease(service.store.lease_ms));
    }
    Ok(())
}

/// The shortest daemon lease: renewed every 100 ms, anything shorter is lost to a pause.
const MIN_LEASE_MS: u64 = 500;

/// The PostgreSQL URL of `[store] url`, checked for its scheme (the driver checks the rest
/// when it connects); None for SQLite.
fn store_url(url: &str) -> Result<Option<String>, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::Store(url.to_string()));
    }
    Ok(Some(url.to_string()))
}

/// A URL as `--info` shows it: a password in it is replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<ServerConfig, ConfigError> {
        let mut argv = vec!["hero_logic_server", "--data-dir", "/nonexistent/hero"];
        argv.extend_from_slice(args);
        ServerConfig::resolve(&Flags::parse_from(argv))
    }

    #[test]
    fn the_store_is_sqlite_unless_a_postgres_url_is_given() {
        assert_eq!(resolve(&[]).unwrap().store_url, None);
        assert_eq!(resolve(&["--store", "sqlite"]).unwrap().store_url, None);
        let url = "postgres://hero@db/hero_logic";
        assert_eq!(resolve(&["--store", url]).unwrap().store_url.as_deref(), Some(url));
        let url = "postgresql:///hero_logic?host=/run/postgresql";
        assert_eq!(resolve(&["--store", url]).unwrap().store_url.as_deref(), Some(url));
    }

    #[test]
    fn a_lease_too_short_to_renew_says_the_shortest_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("service.toml");
        std::fs::write(&file, "[store]\nlease_ms = 100\n").unwrap();
        match resolve(&["--config", file.to_str().unwrap()]) {
            Err(e @ ConfigError::Lease(100)) => assert!(e.to_string().contains("use 500 or more"), "{e}"),
            other => panic!("expected a lease error, got {other:?}"),
        }
        std::fs::write(&file, "[store]\nlease_ms = 2000\n").unwrap();
        assert_eq!(resolve(&["--config", file.to_str().unwrap()]).unwrap().service.store.lease_ms, 2000);
    }

    #[test]
    fn an_unknown_store_says_what_is_accepted() {
        match resolve(&["--store", "mysql://db/x"]) {
            Err(e @ ConfigError::Store(_)) => {
                let message = e.to_string();
                assert!(message.contains("postgres://") && message.contains("sqlite"), "{message}");
            }
            other => panic!("expected a store error, got {other:?}"),
        }
    }

    #[test]
    fn info_hides_a_password_in_the_store_url() {
        let config = resolve(&["--store", "postgres://hero:s3cret@db/hero_logic"]).unwrap();
        let info = config.describe();
        assert!(!info.contains("s3cret"), "{info}");
        assert!(info.contains("postgres://hero:***@db/hero_logic"), "{info}");
    }
}
