//! Chat completions the daemon makes on a runner's behalf (`model_call`, docs/protocol.md).
//!
//! The endpoint's key stays in the daemon: a runner sends the request over its channel, the
//! daemon adds the key, calls the OpenAI-compatible endpoint itself (blocking, on the worker
//! thread that serves the runner, with a timeout) and prices the answer's `usage` with its
//! models table, so what a call costs is measured here, never taken from the logic.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::engine::protocol::{ModelUsage, Request};
use crate::models::ModelSettings;

/// How long one model call may take, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// The most of an endpoint's answer that is read.
const MAX_ANSWER_BYTES: u64 = 16 << 20;
/// How much of an error answer a refusal quotes.
const EXCERPT_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ModelCallError {
    #[error(
        "no model endpoint is configured: set `base_url` under [models] in service.toml (an \
         OpenAI-compatible URL up to /v1, e.g. https://api.openai.com/v1), or \
         HERO_LOGIC_MODEL_BASE_URL in the daemon's environment, and restart the daemon; the API \
         key goes in the daemon's environment variable {key_env}"
    )]
    NoEndpoint { key_env: String },
    #[error(
        "no model given and no default model configured: pass a model, or set `default_model` \
         under [models] in service.toml (or HERO_LOGIC_MODEL_DEFAULT in the daemon's environment)"
    )]
    NoModel,
    #[error("messages must be a non-empty list of {{\"role\": ..., \"content\": ...}}")]
    NoMessages,
    #[error("the model endpoint answered HTTP {status} for model {model:?}: {detail}{hint}")]
    Status { status: u16, model: String, detail: String, excerpt: String, hint: String },
    #[error("cannot reach the model endpoint {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("the model endpoint's answer for model {model:?} {problem}")]
    BadAnswer { model: String, problem: String, excerpt: String },
}

impl ModelCallError {
    /// Whether a setting is missing (rather than the endpoint failing).
    pub fn is_configuration(&self) -> bool {
        matches!(self, ModelCallError::NoEndpoint { .. } | ModelCallError::NoModel)
    }

    /// The HTTP status and the start of the body, when the endpoint answered.
    pub fn answer(&self) -> (Option<u16>, Option<String>) {
        match self {
            ModelCallError::Status { status, excerpt, .. } => (Some(*status), Some(excerpt.clone())),
            ModelCallError::BadAnswer { excerpt, .. } => (None, Some(excerpt.clone())),
            _ => (None, None),
        }
    }
}

/// One chat completion to make: the model as the caller named it ("" for the default), the
/// messages, and the OpenAI chat parameters the protocol allows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Value>,
    pub options: Map<String, Value>,
}

impl ChatRequest {
    /// The request id, the calling Play and the chat of a `model_call` request.
    pub fn of(request: Request) -> Option<(u64, String, ChatRequest)> {
        let Request::ModelCall {
            id,
            play_sid,
            model,
            messages,
            temperature,
            top_p,
            max_tokens,
            stop,
            seed,
            presence_penalty,
            frequency_penalty,
            response_format,
            tools,
            tool_choice,
        } = request
        else {
            return None;
        };
        let options: Map<String, Value> = [
            ("temperature", temperature.map(Value::Number)),
            ("top_p", top_p.map(Value::Number)),
            ("max_tokens", max_tokens.map(Value::from)),
            ("stop", stop),
            ("seed", seed.map(Value::from)),
            ("presence_penalty", presence_penalty.map(Value::Number)),
            ("frequency_penalty", frequency_penalty.map(Value::Number)),
            ("response_format", response_format.map(Value::Object)),
            ("tools", tools.map(Value::Array)),
            ("tool_choice", tool_choice),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.filter(|v| !v.is_null()).map(|v| (name.to_string(), v)))
        .collect();
        Some((id, play_sid, ChatRequest { model: model.trim().to_string(), messages, options }))
    }
}

/// What the endpoint answered and what the daemon measured of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub response: Map<String, Value>,
    pub usage: ModelUsage,
}

/// Makes the call with the daemon's endpoint and key; the answer's usage priced.
pub fn call(settings: &ModelSettings, request: ChatRequest) -> Result<Completion, ModelCallError> {
    let endpoint = &settings.config.endpoint;
    if endpoint.base_url.is_empty() {
        return Err(ModelCallError::NoEndpoint { key_env: endpoint.api_key_env.clone() });
    }
    if request.messages.is_empty() {
        return Err(ModelCallError::NoMessages);
    }
    let model = if request.model.is_empty() { endpoint.default_model.clone() } else { request.model.clone() };
    if model.is_empty() {
        return Err(ModelCallError::NoModel);
    }
    let key = settings.key();
    let mut body = request.options;
    body.insert("model".into(), Value::String(model.clone()));
    body.insert("messages".into(), Value::Array(request.messages));
    let url = format!("{}/chat/completions", endpoint.base_url);
    let (status, text) = post(&url, key, &Value::Object(body)).map_err(|reason| ModelCallError::Transport {
        url: url.clone(),
        reason: mask(&reason, key),
    })?;
    let text = mask(&text, key);
    if !(200..300).contains(&status) {
        let hint = if matches!(status, 401 | 403) && key.is_none() {
            format!(" (no API key was sent: set {} in the daemon's environment and restart it)", endpoint.api_key_env)
        } else {
            String::new()
        };
        return Err(ModelCallError::Status { status, model, detail: error_detail(&text), excerpt: excerpt(&text), hint });
    }
    let bad = |problem: String| ModelCallError::BadAnswer { model: model.clone(), problem, excerpt: excerpt(&text) };
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(response)) => response,
        Ok(_) => return Err(bad("is not a JSON object".into())),
        Err(e) => return Err(bad(format!("is not JSON ({e})"))),
    };
    let has_choices = response.get("choices").and_then(Value::as_array).is_some_and(|c| !c.is_empty());
    if !has_choices {
        let detail = response.get("error").map(|e| e.get("message").unwrap_or(e)).map(plain).unwrap_or_default();
        let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        return Err(bad(format!("has no choices{detail}")));
    }
    let usage = measure(settings, &response, &model);
    Ok(Completion { response, usage })
}

/// The tokens of an answer's `usage`, priced by the answer's model, else the requested one.
pub fn measure(settings: &ModelSettings, response: &Map<String, Value>, requested: &str) -> ModelUsage {
    let usage = response.get("usage");
    let count = |field: &str| usage.and_then(|u| u.get(field)).map(tokens).unwrap_or(0);
    let (prompt_tokens, completion_tokens) = (count("prompt_tokens"), count("completion_tokens"));
    let answered = response.get("model").and_then(Value::as_str).unwrap_or_default();
    for name in [answered, requested].into_iter().filter(|n| !n.is_empty()) {
        if let Some(cost_usd) = settings.table.cost(name, prompt_tokens, completion_tokens) {
            return ModelUsage { model: name.to_string(), prompt_tokens, completion_tokens, cost_usd, priced: true };
        }
    }
    let model = if answered.is_empty() { requested } else { answered };
    ModelUsage { model: model.to_string(), prompt_tokens, completion_tokens, cost_usd: 0.0, priced: false }
}

/// A token count as an endpoint may write it (a whole number, sometimes as a float).
fn tokens(value: &Value) -> u64 {
    value.as_u64().or_else(|| value.as_f64().filter(|f| f.is_finite() && *f > 0.0).map(|f| f as u64)).unwrap_or(0)
}

/// One line for the calling Play's logs: what the daemon recorded for this call.
pub fn log_line(usage: &ModelUsage, at_ms: u64) -> String {
    let counted = format!("{} prompt + {} completion tokens", usage.prompt_tokens, usage.completion_tokens);
    if usage.priced {
        format!("[{}] model {:?} (called by the daemon): {counted}, ${:.6}\n", timestamp(at_ms), usage.model, usage.cost_usd)
    } else {
        let shown = if usage.model.is_empty() { "(the answer names no model)".to_string() } else { format!("'{}'", usage.model) };
        format!(
            "[{}] model {shown} has no price in the models table: its tokens are counted ({counted}) at cost 0; \
             add it to <data dir>/models.toml to price it\n",
            timestamp(at_ms)
        )
    }
}

/// The blocking client: one per daemon, proxies from the environment as usual.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into()
    })
}

/// POSTs `body` as JSON; the status and the answer's text, or why there is none.
fn post(url: &str, key: Option<&str>, body: &Value) -> Result<(u16, String), String> {
    let mut request = agent().post(url).header("Content-Type", "application/json");
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut response = request.send(&bytes[..]).map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_string().map_err(|e| describe(&e))?;
    Ok((status, text))
}

fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => format!("no answer within {} s", TIMEOUT.as_secs()),
        other => other.to_string(),
    }
}

/// `text` with the key replaced by `***` (a provider may echo it in an error).
fn mask(text: &str, key: Option<&str>) -> String {
    match key {
        Some(key) if !key.is_empty() => text.replace(key, "***"),
        _ => text.to_string(),
    }
}

/// An error answer's `error.message` when it has one, else its start.
fn error_detail(text: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let message = parsed.as_ref().and_then(|v| v.get("error")).map(|e| e.get("message").unwrap_or(e)).map(plain);
    match message {
        Some(message) if !message.is_empty() => message,
        _ => excerpt(text),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form `logic.log` lines carry.
fn timestamp(ms: u64) -> String {
    let t = hero_logic_api::time::UtcTime::from_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::service::ServiceConfig;
    use serde_json::json;

    fn settings(env: &[(&str, &str)]) -> ModelSettings {
        let dir = tempfile::tempdir().unwrap();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        ModelSettings::resolve_with(&ServiceConfig::defaults(), dir.path(), &lookup).unwrap()
    }

    fn chat(model: &str) -> ChatRequest {
        ChatRequest { model: model.into(), messages: vec![json!({"role": "user", "content": "hi"})], options: Map::new() }
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn usage_is_priced_by_the_answer_then_the_request_and_counted_when_unknown() {
        let settings = settings(&[]);
        let answer = json!({"model": "gpt-4o-mini-2024-07-18", "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}});
        let usage = measure(&settings, answer.as_object().unwrap(), "whatever");
        assert_eq!((usage.model.as_str(), usage.priced), ("gpt-4o-mini-2024-07-18", true));
        assert!((usage.cost_usd - 0.75).abs() < 1e-12, "{usage:?}");
        let answer = json!({"model": "house-x", "usage": {"prompt_tokens": 7.0, "completion_tokens": 3}});
        let usage = measure(&settings, answer.as_object().unwrap(), "gpt-4o-mini");
        assert_eq!((usage.model.as_str(), usage.prompt_tokens, usage.priced), ("gpt-4o-mini", 7, true));
        let usage = measure(&settings, json!({"usage": {"prompt_tokens": 5}}).as_object().unwrap(), "mystery");
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.cost_usd, usage.priced), (5, 0, 0.0, false));
        assert!(log_line(&usage, 0).contains("model 'mystery' has no price in the models table"));
    }

    #[test]
    fn missing_settings_are_named_before_anything_is_sent() {
        let error = call(&settings(&[]), chat("gpt-4o-mini")).unwrap_err();
        assert!(error.is_configuration());
        assert!(error.to_string().contains("`base_url` under [models]") && error.to_string().contains("OPENAI_API_KEY"), "{error}");
        let configured = settings(&[("HERO_LOGIC_MODEL_BASE_URL", "http://127.0.0.1:9/v1")]);
        let error = call(&configured, chat("")).unwrap_err();
        assert!(error.to_string().contains("`default_model` under [models]"), "{error}");
        let error = call(&configured, ChatRequest { messages: vec![], ..chat("m") }).unwrap_err();
        assert!(matches!(error, ModelCallError::NoMessages));
    }

    #[test]
    fn only_the_allowed_parameters_are_sent_and_nulls_are_left_out() {
        let line = r#"{"id": 5, "op": "model_call", "play_sid": "p1", "model": " m ", "messages": [{"role": "user", "content": "x"}], "temperature": 0, "max_tokens": 9, "stop": null}"#;
        let Ok(crate::engine::protocol::Incoming::Request(request)) = crate::engine::protocol::decode(line) else { panic!() };
        let (id, play_sid, chat) = ChatRequest::of(request).unwrap();
        assert_eq!((id, play_sid.as_str(), chat.model.as_str()), (5, "p1", "m"));
        assert_eq!(Value::Object(chat.options), json!({"temperature": 0, "max_tokens": 9}), "numbers go on as written");
        let streamed = r#"{"id": 5, "op": "model_call", "play_sid": "p1", "model": "m", "messages": [], "stream": true}"#;
        let error = crate::engine::protocol::decode(streamed).unwrap_err();
        assert!(error.message.contains("stream"), "{}", error.message);
    }

    #[test]
    fn https_endpoints_are_dialled_like_http_ones() {
        // Nothing listens on port 9: both schemes get as far as connecting, so TLS is built in.
        for scheme in ["http", "https"] {
            let configured = settings(&[("HERO_LOGIC_MODEL_BASE_URL", &format!("{scheme}://127.0.0.1:9/v1"))]);
            let error = call(&configured, chat("m")).unwrap_err();
            let ModelCallError::Transport { url, reason } = &error else { panic!("{scheme}: {error}") };
            assert_eq!(url, &format!("{scheme}://127.0.0.1:9/v1/chat/completions"));
            assert!(reason.to_lowercase().contains("connect") || reason.to_lowercase().contains("refused"), "{scheme}: {reason}");
        }
    }

    #[test]
    fn the_key_is_masked_in_what_an_endpoint_echoes() {
        assert_eq!(mask("bad key Bearer sk-1", Some("sk-1")), "bad key Bearer ***");
        assert_eq!(error_detail(r#"{"error": {"message": "nope"}}"#), "nope");
        assert_eq!(error_detail("<html>down</html>"), "<html>down</html>");
        assert!(excerpt(&"x".repeat(2000)).len() < 600);
    }
}
