//! The service descriptor (`service.toml`) and the path conventions every binary shares.
//!
//! Precedence everywhere: command-line flags > environment > `service.toml` defaults. The
//! descriptor is compiled in, so a binary copied anywhere still knows its defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The checked-in descriptor, verbatim.
pub const SERVICE_TOML: &str = include_str!("../../../service.toml");

pub const ENV_HOME: &str = "HERO_LOGIC_HOME";
pub const ENV_SOCKET: &str = "HERO_LOGIC_SOCKET";
pub const ENV_ADMIN_ADDR: &str = "HERO_LOGIC_ADMIN_ADDR";
/// Overrides where the admin's access token is kept (`admin.token_file`).
pub const ENV_ADMIN_TOKEN_FILE: &str = "HERO_LOGIC_ADMIN_TOKEN_FILE";
/// Overrides `[models] base_url` (the daemon's environment; runners never get it: the daemon
/// makes their model calls).
pub const ENV_MODEL_BASE_URL: &str = "HERO_LOGIC_MODEL_BASE_URL";
/// Overrides `[models] default_model`.
pub const ENV_MODEL_DEFAULT: &str = "HERO_LOGIC_MODEL_DEFAULT";
/// Overrides `[catalog] sockets`: paths separated by `:`.
pub const ENV_CATALOG_SOCKETS: &str = "HERO_LOGIC_CATALOG_SOCKETS";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub service: ServiceSection,
    pub binaries: BinariesSection,
    pub paths: PathsSection,
    pub admin: AdminSection,
    pub store: StoreSection,
    pub engine: EngineSection,
    pub sandbox: SandboxSection,
    #[serde(default)]
    pub models: ModelsSection,
    #[serde(default)]
    pub catalog: CatalogSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSection {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinariesSection {
    pub server: String,
    pub admin: String,
    pub cli: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathsSection {
    pub data_dir: String,
    pub socket: String,
    pub database: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminSection {
    pub listen: String,
    /// The admin's access token file, relative to the data dir unless absolute.
    #[serde(default = "default_token_file")]
    pub token_file: String,
}

fn default_token_file() -> String {
    "admin.token".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreSection {
    pub synchronous: String,
    /// A PostgreSQL URL (`postgres://…`) to keep everything there instead of the SQLite file;
    /// empty: SQLite.
    #[serde(default)]
    pub url: String,
    /// With several daemons on one PostgreSQL database: how long a daemon's lease lasts
    /// after each renewal (it renews every fifth of it). A daemon silent for longer is
    /// taken for dead and its Plays are replayed by the others.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_lease_ms() -> u64 {
    5000
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSection {
    pub pool_size: u32,
    pub recover: String,
    /// Start-up recoveries a Play gets before it is failed instead (descriptors written
    /// before the setting existed get the default).
    #[serde(default = "default_recover_attempts")]
    pub recover_attempts: u32,
    pub warm_runners: u32,
    /// Longest log line a Play keeps; a longer one is cut, and says so.
    #[serde(default = "default_max_log_line_bytes")]
    pub max_log_line_bytes: u64,
    /// Most log bytes one Play keeps; later lines are dropped, and the log says so once.
    #[serde(default = "default_max_log_bytes")]
    pub max_log_bytes: u64,
    /// Largest output (JSON) a Play may end with; a larger one fails the Play.
    #[serde(default = "default_max_output_bytes")]
    pub max_output_bytes: u64,
    /// Longest line a runner may send over its socket; a longer one fails the Play.
    #[serde(default = "default_max_protocol_line_bytes")]
    pub max_protocol_line_bytes: u64,
}

fn default_max_log_line_bytes() -> u64 {
    64 * 1024
}

fn default_max_log_bytes() -> u64 {
    4 * 1024 * 1024
}

fn default_max_output_bytes() -> u64 {
    8 * 1024 * 1024
}

fn default_max_protocol_line_bytes() -> u64 {
    32 * 1024 * 1024
}

fn default_recover_attempts() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxSection {
    pub wall_clock_ms: u64,
    pub memory_mb: u64,
    pub max_open_files: u64,
    pub env_allow: Vec<String>,
    /// Most processes a Play may have at once (cgroup pids.max, else the PID namespace's
    /// pid_max and RLIMIT_NPROC).
    #[serde(default = "default_max_processes")]
    pub max_processes: u64,
    /// Run Plays even when the kernel lacks a protection (the daemon says which at start).
    #[serde(default)]
    pub allow_weaker: bool,
    /// Start Plays from a fork server (SDK imported once); false starts every Play cold.
    #[serde(default = "default_true")]
    pub fork_server: bool,
    /// Directories every Play may also read and write (none by default). Never inside the
    /// data dir; one that contains it needs the data dir hidden.
    #[serde(default)]
    pub shared_dirs: Vec<String>,
}

fn default_max_processes() -> u64 {
    256
}

fn default_true() -> bool {
    true
}

/// The OpenAI-compatible endpoint the `model_call` logic and `hero_tracing.llm` talk to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelsSection {
    /// Base URL up to `/v1` (e.g. `https://api.openai.com/v1`); "" = no endpoint configured.
    pub base_url: String,
    /// Name of the environment variable the daemon reads the API key from. The key itself is
    /// never written to a file, a Play, a log or this descriptor.
    pub api_key_env: String,
    /// Model used when a caller names none; "" = callers must name one.
    pub default_model: String,
}

impl Default for ModelsSection {
    fn default() -> Self {
        ModelsSection { base_url: String::new(), api_key_env: "OPENAI_API_KEY".into(), default_model: String::new() }
    }
}

/// JSON-RPC services the `fetch_catalog` logic describes, besides the daemon itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogSection {
    /// Unix socket paths of services that answer `rpc.discover` (JSON-RPC over HTTP).
    pub sockets: Vec<String>,
}

impl ServiceConfig {
    /// The compiled-in defaults.
    pub fn defaults() -> ServiceConfig {
        toml::from_str(SERVICE_TOML).expect("the checked-in service.toml parses (guarded by a test)")
    }

    /// The data dir: `flag`, else `$HERO_LOGIC_HOME`, else `paths.data_dir` (with `~` expanded).
    pub fn data_dir(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(dir) = flag {
            return dir.to_path_buf();
        }
        match std::env::var_os(ENV_HOME) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => expand_home(&self.paths.data_dir),
        }
    }

    /// The JSON-RPC socket: `flag`, else `$HERO_LOGIC_SOCKET`, else `paths.socket` in the data dir.
    pub fn socket(&self, flag: Option<&Path>, data_dir: &Path) -> PathBuf {
        if let Some(path) = flag {
            return path.to_path_buf();
        }
        match std::env::var_os(ENV_SOCKET) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => data_dir.join(expand_home(&self.paths.socket)),
        }
    }

    /// The admin's listen address: `flag`, else `$HERO_LOGIC_ADMIN_ADDR`, else `admin.listen`.
    pub fn admin_listen(&self, flag: Option<&str>) -> String {
        if let Some(addr) = flag {
            return addr.to_string();
        }
        match std::env::var(ENV_ADMIN_ADDR) {
            Ok(addr) if !addr.is_empty() => addr,
            _ => self.admin.listen.clone(),
        }
    }
}

impl ServiceConfig {
    /// The admin's token file: `flag`, else `$HERO_LOGIC_ADMIN_TOKEN_FILE`, else
    /// `admin.token_file` in the data dir.
    pub fn admin_token_file(&self, flag: Option<&Path>, data_dir: &Path) -> PathBuf {
        if let Some(path) = flag {
            return path.to_path_buf();
        }
        match std::env::var_os(ENV_ADMIN_TOKEN_FILE) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => data_dir.join(expand_home(&self.admin.token_file)),
        }
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/")).join(rest),
        None => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_descriptor_parses() {
        let config = ServiceConfig::defaults();
        assert_eq!(config.admin.listen, "127.0.0.1:9820");
        assert_eq!(config.admin.token_file, "admin.token");
        assert_eq!(config.binaries.server, "hero_logic_server");
        assert_eq!(config.models.api_key_env, "OPENAI_API_KEY");
    }

    #[test]
    fn a_descriptor_without_models_or_catalog_still_loads() {
        let text: String = SERVICE_TOML
            .split("\n[models]")
            .next()
            .unwrap()
            .to_string();
        let config: ServiceConfig = toml::from_str(&text).unwrap();
        assert_eq!(config.models, ModelsSection::default());
        assert!(config.catalog.sockets.is_empty());
    }

    #[test]
    fn flag_wins_over_defaults() {
        let config = ServiceConfig::defaults();
        let dir = PathBuf::from("/tmp/x");
        assert_eq!(config.data_dir(Some(&dir)), dir);
        let socket = PathBuf::from("/tmp/y.sock");
        assert_eq!(config.socket(Some(&socket), &dir), socket);
        assert_eq!(config.admin_listen(Some("127.0.0.1:1")), "127.0.0.1:1");
        let token = PathBuf::from("/tmp/t");
        assert_eq!(config.admin_token_file(Some(&token), &dir), token);
    }
}
