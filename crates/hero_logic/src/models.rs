//! The models table and the model endpoint settings.
//!
//! Prices (US dollars per million prompt and completion tokens) and aliases come from the
//! shipped `models.toml` (compiled in) merged with the user's `<data dir>/models.toml`: a user
//! entry replaces the shipped entry of the same name, new names are added. The endpoint comes
//! from `[models]` in service.toml (overridable by environment); the API key is read from the
//! environment variable `[models] api_key_env` names and stays in the daemon: runners get
//! neither the key nor the endpoint, they ask the daemon to make model calls
//! (crate::model_call), which prices them with this table.
//!
//! Runners still get the table in `HERO_LOGIC_MODELS_JSON`, to price the `usage` of other JSON
//! answers they see (hero_tracing.pricing); `ModelTable::resolve` is the same lookup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hero_logic_api::params::{ModelEndpoint, ModelPrice, ModelsConfig};
use hero_logic_api::service::{ServiceConfig, ENV_CATALOG_SOCKETS, ENV_MODEL_BASE_URL, ENV_MODEL_DEFAULT};
use serde::Deserialize;

/// The shipped table, verbatim.
pub const SHIPPED_MODELS_TOML: &str = include_str!("../../../models.toml");
/// The user's override, in the data dir.
pub const OVERRIDE_FILE: &str = "models.toml";

/// Runner environment: the name of the daemon's variable holding the key, for messages.
pub const RUNNER_KEY_ENV: &str = "HERO_LOGIC_MODEL_KEY_ENV";
/// Runner environment: the default model.
pub const RUNNER_DEFAULT_MODEL: &str = ENV_MODEL_DEFAULT;
/// Runner environment: `{"models": {name: {prompt_per_million, completion_per_million}},
/// "aliases": {alias: name}}`.
pub const RUNNER_MODELS_JSON: &str = "HERO_LOGIC_MODELS_JSON";
/// Runner environment: extra JSON-RPC service sockets for `fetch_catalog`, `:`-separated.
pub const RUNNER_CATALOG_SOCKETS: &str = ENV_CATALOG_SOCKETS;

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot read {file}: {source}")]
    Read { file: String, source: std::io::Error },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(default)]
    models: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    prompt_per_million: f64,
    completion_per_million: f64,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Prices by model name and aliases by lowercase alias.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelTable {
    pub models: BTreeMap<String, ModelPrice>,
    pub aliases: BTreeMap<String, String>,
}

/// Parses one models.toml; `source` is `shipped` or `user`, `file` names it in errors.
pub fn parse_table(text: &str, source: &str, file: &str) -> Result<BTreeMap<String, ModelPrice>, ModelsError> {
    let invalid = |message: String| ModelsError::Invalid { file: file.to_string(), message };
    let parsed: TableFile = toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
    let mut models = BTreeMap::new();
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for (name, entry) in parsed.models {
        if name.trim().is_empty() || name.trim() != name {
            return Err(invalid(format!("model name {name:?} is empty or has surrounding spaces")));
        }
        for (field, value) in [("prompt_per_million", entry.prompt_per_million), ("completion_per_million", entry.completion_per_million)] {
            if !value.is_finite() || value < 0.0 {
                return Err(invalid(format!("models.{name:?}.{field} must be a number >= 0, got {value}")));
            }
        }
        for alias in &entry.aliases {
            let key = alias.trim().to_lowercase();
            if key.is_empty() {
                return Err(invalid(format!("models.{name:?} has an empty alias")));
            }
            if let Some(other) = claimed.insert(key, name.clone()) {
                if other != name {
                    return Err(invalid(format!("alias {alias:?} is claimed by both {other:?} and {name:?}")));
                }
            }
        }
        models.insert(
            name,
            ModelPrice {
                prompt_per_million: entry.prompt_per_million,
                completion_per_million: entry.completion_per_million,
                aliases: entry.aliases,
                source: source.to_string(),
            },
        );
    }
    Ok(models)
}

impl ModelTable {
    /// The shipped table with `user` entries over it.
    pub fn merge(shipped: BTreeMap<String, ModelPrice>, user: BTreeMap<String, ModelPrice>) -> ModelTable {
        let mut models = shipped;
        for (name, price) in user {
            models.insert(name, price);
        }
        // A user entry's aliases win over shipped ones; among equals, the first name wins.
        let mut aliases = BTreeMap::new();
        for pass in ["user", "shipped"] {
            for (name, price) in models.iter().filter(|(_, p)| p.source == pass) {
                for alias in &price.aliases {
                    aliases.entry(alias.trim().to_lowercase()).or_insert_with(|| name.clone());
                }
            }
        }
        ModelTable { models, aliases }
    }

    /// The shipped table alone.
    pub fn shipped() -> ModelTable {
        let shipped = parse_table(SHIPPED_MODELS_TOML, "shipped", "models.toml (shipped)")
            .expect("the shipped models.toml parses (guarded by a test)");
        ModelTable::merge(shipped, BTreeMap::new())
    }

    /// The model a name stands for: the exact name, then an alias, then the name without a
    /// date suffix (`-2024-07-18`, `-20240718`), each case-insensitively.
    pub fn resolve(&self, name: &str) -> Option<(&str, &ModelPrice)> {
        let wanted = name.trim().to_lowercase();
        if wanted.is_empty() {
            return None;
        }
        let find = |key: &str| -> Option<(&str, &ModelPrice)> {
            if let Some((name, price)) = self.models.get_key_value(key) {
                return Some((name.as_str(), price));
            }
            if let Some((name, price)) = self.models.iter().find(|(n, _)| n.to_lowercase() == key) {
                return Some((name.as_str(), price));
            }
            let target = self.aliases.get(key)?;
            self.models.get_key_value(target).map(|(n, p)| (n.as_str(), p))
        };
        find(&wanted).or_else(|| strip_date(&wanted).and_then(find))
    }

    /// What `prompt` and `completion` tokens of `model` cost, or None for an unknown model.
    pub fn cost(&self, model: &str, prompt: u64, completion: u64) -> Option<f64> {
        let (_, price) = self.resolve(model)?;
        Some((prompt as f64 * price.prompt_per_million + completion as f64 * price.completion_per_million) / 1_000_000.0)
    }

    /// The compact table runners get in `HERO_LOGIC_MODELS_JSON`.
    pub fn runner_json(&self) -> String {
        let models: serde_json::Map<String, serde_json::Value> = self
            .models
            .iter()
            .map(|(name, p)| {
                let price = serde_json::json!({"prompt_per_million": p.prompt_per_million, "completion_per_million": p.completion_per_million});
                (name.clone(), price)
            })
            .collect();
        serde_json::json!({"models": models, "aliases": self.aliases}).to_string()
    }
}

/// `name` without a trailing `-YYYY-MM-DD` or `-YYYYMMDD`.
fn strip_date(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let n = bytes.len();
    if n > 11 && bytes[n - 11] == b'-' && bytes[n - 3] == b'-' && bytes[n - 6] == b'-' && digits(&bytes[n - 10..n - 6]) && digits(&bytes[n - 5..n - 3]) && digits(&bytes[n - 2..]) {
        return Some(&name[..n - 11]);
    }
    if n > 9 && bytes[n - 9] == b'-' && digits(&bytes[n - 8..]) {
        return Some(&name[..n - 9]);
    }
    None
}

/// The table, the endpoint and the key, resolved once when the daemon starts.
#[derive(Clone)]
pub struct ModelSettings {
    pub table: ModelTable,
    pub config: ModelsConfig,
    pub catalog_sockets: Vec<String>,
    key: Option<String>,
}

impl std::fmt::Debug for ModelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSettings")
            .field("config", &self.config)
            .field("catalog_sockets", &self.catalog_sockets)
            .field("key", &self.key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl ModelSettings {
    /// Reads the user's models.toml in `data_dir` (a missing file is fine, a bad one is an
    /// error naming it), and the endpoint from `service` and the environment.
    pub fn resolve(service: &ServiceConfig, data_dir: &Path) -> Result<ModelSettings, ModelsError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self::resolve_with(service, data_dir, &env)
    }

    /// `resolve` with the environment given as a function (for tests).
    pub fn resolve_with(service: &ServiceConfig, data_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<ModelSettings, ModelsError> {
        let override_path: PathBuf = data_dir.join(OVERRIDE_FILE);
        let shipped = parse_table(SHIPPED_MODELS_TOML, "shipped", "models.toml (shipped)")?;
        let (user, override_found) = match std::fs::read_to_string(&override_path) {
            Ok(text) => (parse_table(&text, "user", &override_path.display().to_string())?, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), false),
            Err(source) => return Err(ModelsError::Read { file: override_path.display().to_string(), source }),
        };
        let table = ModelTable::merge(shipped, user);
        let section = &service.models;
        let base_url = env(ENV_MODEL_BASE_URL).unwrap_or_else(|| section.base_url.clone()).trim().trim_end_matches('/').to_string();
        let default_model = env(ENV_MODEL_DEFAULT).unwrap_or_else(|| section.default_model.clone()).trim().to_string();
        let api_key_env = section.api_key_env.trim().to_string();
        let key = if api_key_env.is_empty() { None } else { env(&api_key_env).map(|k| k.trim().to_string()) };
        let catalog_sockets = match env(ENV_CATALOG_SOCKETS) {
            Some(list) => list.split(':').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
            None => service.catalog.sockets.clone(),
        };
        let config = ModelsConfig {
            models: table.models.clone(),
            aliases: table.aliases.clone(),
            override_path: override_path.display().to_string(),
            override_found,
            endpoint: ModelEndpoint { base_url, api_key_env, key_set: key.is_some(), default_model },
        };
        Ok(ModelSettings { table, config, catalog_sockets, key })
    }

    /// No endpoint, no key, the shipped table (an engine started without a daemon's config).
    pub fn unconfigured() -> ModelSettings {
        let table = ModelTable::shipped();
        let endpoint = ModelEndpoint { api_key_env: ServiceConfig::defaults().models.api_key_env, ..Default::default() };
        let config = ModelsConfig { models: table.models.clone(), aliases: table.aliases.clone(), endpoint, ..Default::default() };
        ModelSettings { table, config, catalog_sockets: Vec::new(), key: None }
    }

    /// The endpoint's API key, for the daemon's own model calls only.
    pub(crate) fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The variables a runner gets: the default model, the table, catalog sockets, and the
    /// name of the key's variable (for messages). Never the key, nor the endpoint: model calls
    /// go through the daemon (`model_call`), which also works where a runner has no network.
    pub fn runner_vars(&self) -> Vec<(String, String)> {
        let endpoint = &self.config.endpoint;
        let mut vars = vec![
            (RUNNER_KEY_ENV.to_string(), endpoint.api_key_env.clone()),
            (RUNNER_MODELS_JSON.to_string(), self.table.runner_json()),
        ];
        if !endpoint.default_model.is_empty() {
            vars.push((RUNNER_DEFAULT_MODEL.to_string(), endpoint.default_model.clone()));
        }
        if !self.catalog_sockets.is_empty() {
            vars.push((RUNNER_CATALOG_SOCKETS.to_string(), self.catalog_sockets.join(":")));
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_shipped_table_parses_and_resolves_names_aliases_and_dated_names() {
        let table = ModelTable::shipped();
        assert!(table.models.len() >= 10);
        assert_eq!(table.resolve("gpt-4o-mini").unwrap().0, "gpt-4o-mini");
        assert_eq!(table.resolve("GPT-4o-Mini").unwrap().0, "gpt-4o-mini");
        assert_eq!(table.resolve("openai/gpt-4o-mini").unwrap().0, "gpt-4o-mini");
        assert_eq!(table.resolve("gpt-4o-mini-2024-07-18").unwrap().0, "gpt-4o-mini");
        assert_eq!(table.resolve("claude-3-5-haiku-20241022").unwrap().0, "claude-3-5-haiku");
        assert!(table.resolve("no-such-model").is_none());
        assert!(table.resolve("").is_none());
        let cost = table.cost("gpt-4o-mini", 1_000_000, 1_000_000).unwrap();
        assert!((cost - 0.75).abs() < 1e-12, "{cost}");
        assert!(table.models.values().all(|p| p.source == "shipped"));
    }

    #[test]
    fn a_user_file_overrides_and_adds_entries_and_aliases() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(OVERRIDE_FILE),
            "[models.\"gpt-4o-mini\"]\nprompt_per_million = 1.0\ncompletion_per_million = 2.0\n\n\
             [models.house-model]\nprompt_per_million = 0.5\ncompletion_per_million = 0.25\naliases = [\"house\", \"openai/gpt-4o\"]\n",
        )
        .unwrap();
        let settings = ModelSettings::resolve_with(&ServiceConfig::defaults(), dir.path(), &no_env).unwrap();
        let table = &settings.table;
        assert_eq!(table.models["gpt-4o-mini"].prompt_per_million, 1.0);
        assert_eq!(table.models["gpt-4o-mini"].source, "user");
        assert!(table.models["gpt-4o-mini"].aliases.is_empty(), "a user entry replaces the shipped one whole");
        assert!(table.resolve("openai/gpt-4o-mini").is_none());
        assert_eq!(table.resolve("HOUSE").unwrap().0, "house-model");
        assert_eq!(table.resolve("openai/gpt-4o").unwrap().0, "house-model", "a user alias wins over a shipped one");
        assert_eq!(table.resolve("gpt-4o").unwrap().0, "gpt-4o");
        assert!(settings.config.override_found);
        assert_eq!(settings.config.models.len(), table.models.len());
    }

    #[test]
    fn bad_user_files_are_refused_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("[models.x]\nprompt_per_million = -1\ncompletion_per_million = 1\n", "prompt_per_million"),
            ("[models.x]\nprompt_per_million = 1\n", "completion_per_million"),
            ("[models.x]\nprompt_per_million = 1\ncompletion_per_million = 1\nprice = 3\n", "price"),
            ("[models.a]\nprompt_per_million = 1\ncompletion_per_million = 1\naliases = [\"z\"]\n[models.b]\nprompt_per_million = 1\ncompletion_per_million = 1\naliases = [\"Z\"]\n", "claimed by both"),
            ("not toml [", "models.toml"),
        ];
        for (text, expected) in cases {
            std::fs::write(dir.path().join(OVERRIDE_FILE), text).unwrap();
            let error = ModelSettings::resolve_with(&ServiceConfig::defaults(), dir.path(), &no_env).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.contains("models.toml"), "{error}");
        }
    }

    #[test]
    fn endpoint_and_key_come_from_the_environment_and_the_key_stays_out_of_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let env = |name: &str| match name {
            "OPENAI_API_KEY" => Some("sk-very-secret".to_string()),
            ENV_MODEL_BASE_URL => Some("http://127.0.0.1:9/v1/".to_string()),
            ENV_CATALOG_SOCKETS => Some("/a.sock::/b.sock".to_string()),
            _ => None,
        };
        let settings = ModelSettings::resolve_with(&ServiceConfig::defaults(), dir.path(), &env).unwrap();
        assert_eq!(settings.config.endpoint.base_url, "http://127.0.0.1:9/v1");
        assert!(settings.config.endpoint.key_set);
        assert!(!serde_json::to_string(&settings.config).unwrap().contains("sk-very-secret"));
        assert!(!format!("{settings:?}").contains("sk-very-secret"));
        assert_eq!(settings.key(), Some("sk-very-secret"));
        let vars = settings.runner_vars();
        assert!(!format!("{vars:?}").contains("sk-very-secret"), "the key stays in the daemon: {vars:?}");
        assert!(vars.iter().all(|(k, _)| k != ENV_MODEL_BASE_URL), "runners call models through the daemon");
        assert!(vars.contains(&(RUNNER_CATALOG_SOCKETS.to_string(), "/a.sock:/b.sock".to_string())));
        let json: serde_json::Value = serde_json::from_str(&vars.iter().find(|(k, _)| k == RUNNER_MODELS_JSON).unwrap().1).unwrap();
        assert_eq!(json["aliases"]["openai/gpt-4o-mini"], "gpt-4o-mini");

        let unset = ModelSettings::resolve_with(&ServiceConfig::defaults(), dir.path(), &no_env).unwrap();
        assert!(!unset.config.endpoint.key_set);
        assert_eq!(unset.key(), None);
    }

    #[test]
    fn dates_are_stripped_only_when_they_look_like_dates() {
        assert_eq!(strip_date("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(strip_date("claude-3-5-haiku-20241022"), Some("claude-3-5-haiku"));
        assert_eq!(strip_date("gpt-4o"), None);
        assert_eq!(strip_date("model-2024-8-6"), None);
    }
}
