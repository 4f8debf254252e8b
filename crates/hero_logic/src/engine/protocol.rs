//! The runner protocol (docs/protocol.md) as types: what a runner may send (requests and
//! notifications) and what the daemon answers (replies and refusals). The JSON Schema of
//! `schemas/runner-protocol.json` is generated from these types, and the SDK's tests check
//! every line they send and receive against it, so both sides share one definition.

use hero_logic_api::LogicField;
use schemars::{JsonSchema, Schema, SchemaGenerator};

pub use crate::parse::RetryPolicy;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Number, Value};

/// Declares a message enum tagged by `op` (what is sent, and what the schema describes) and
/// an externally tagged twin it is decoded through, so that a decoding error can name the
/// field (serde loses the path inside an internally tagged enum).
macro_rules! runner_messages {
    ($(#[$meta:meta])* pub enum $name:ident via $wire:ident {
        $($(#[$vmeta:meta])* $variant:ident { $($field:ident: $ty:ty),* $(,)? }),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
        pub enum $name { $($(#[$vmeta])* $variant { $($field: $ty),* }),* }

        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        enum $wire { $($variant { $($field: $ty),* }),* }

        impl From<$wire> for $name {
            fn from(wire: $wire) -> $name {
                match wire { $($wire::$variant { $($field),* } => $name::$variant { $($field),* }),* }
            }
        }
    };
}

runner_messages! {
    /// A line the runner sends that expects exactly one reply with the same `id`.
    pub enum Request via RequestWire {
        /// The first line of every connection.
        Hello { id: u64, secret: String, pid: u32, python: String },
        /// A top-level import of a Logic by name.
        Resolve { id: u64, logic: String },
        /// A child call starts.
        /// `seq`: the call's place in the order the parent's body made its calls; or
        /// `unordered: true` for a call from a thread the SDK does not order (docs/protocol.md,
        /// "Step keys"); with neither, the daemon counts the parent's calls itself.
        /// `attempt`: which try of a retried call this is (1, 2, ...); absent for a plain call.
        /// `follow_policy: true` (a call by name without options of its own): when the
        /// callee's decorator gives a retry policy, this is its attempt 1, and the reply's
        /// `logic.retry` (or a `child_failed` refusal's `retry`) tells the runner the policy.
        InvokeStart {
            id: u64,
            parent: String,
            logic: String,
            args: Map<String, Value>,
            local: bool,
            seq: Option<u32>,
            unordered: Option<bool>,
            attempt: Option<u32>,
            follow_policy: Option<bool>,
        },
        /// A child call ended.
        InvokeEnd {
            id: u64,
            play_sid: String,
            status: Verdict,
            output: Map<String, Value>,
            error: String,
            traceback: String,
        },
        /// The top-level Play ended; the runner exits 0 after the reply.
        Finish { id: u64, status: Verdict, output: Map<String, Value>, error: String, traceback: String },
        /// A body asks a person.
        Pause { id: u64, play_sid: String, name: String, ui: Map<String, Value>, schema: Value },
        /// One chat completion, made by the daemon with its own key and recorded on
        /// `play_sid`. `model` "" means `[models] default_model`; the other OpenAI chat
        /// parameters are these and no others (null or absent: not sent; numbers are passed
        /// on as written).
        ModelCall {
            id: u64,
            play_sid: String,
            model: String,
            messages: Vec<Value>,
            temperature: Option<Number>,
            top_p: Option<Number>,
            max_tokens: Option<u64>,
            stop: Option<Value>,
            seed: Option<i64>,
            presence_penalty: Option<Number>,
            frequency_penalty: Option<Number>,
            response_format: Option<Map<String, Value>>,
            tools: Option<Vec<Value>>,
            tool_choice: Option<Value>,
        },
    }
}

runner_messages! {
    /// A line the runner sends that gets no reply; applied before any later request.
    pub enum Notification via NotificationWire {
        /// Complete lines of a Play's own body, each ending in `\n`.
        Log { play_sid: String, text: String },
        /// Merged into the Play's `output_data`.
        Output { play_sid: String, values: Map<String, Value> },
        /// Added to the Play's totals.
        Stats { play_sid: String, prompt_tokens: u64, completion_tokens: u64, cost_usd: f64 },
        /// Steps of `play_sid` the runner took from the `memo` it was sent (by their `seq`),
        /// instead of asking with `invoke_start`; sent before the runner's next line.
        Replayed { play_sid: String, seqs: Vec<u32> },
        /// `invoke_end` without an `id`: the same end of a child call, not answered (the
        /// runner goes on at once). Only for a child whose `invoke_start` reply did not say
        /// `bound: true`; a failure to record it ends the run.
        InvokeEnd { play_sid: String, status: Verdict, output: Map<String, Value>, error: String, traceback: String },
    }
}

impl Notification {
    pub const OPS: [&'static str; 4] = ["log", "output", "stats", "replayed"];

    /// Whether a line with this op (and, for `invoke_end`, no `id`) is a notification.
    fn is_one(op: &str, fields: &Map<String, Value>) -> bool {
        Notification::OPS.contains(&op) || (op == "invoke_end" && !fields.contains_key("id"))
    }
}

/// A step an earlier run of this Play finished: a call at `seq` of `logic` with exactly these
/// `args` (as recorded: compared as canonical JSON) has this `output`, and the runner may use
/// it without asking, saying so with a `replayed` notification. Any other call at `seq`
/// goes to the daemon with `invoke_start` as usual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Memo {
    pub seq: u32,
    pub logic: String,
    pub args: Map<String, Value>,
    pub output: Value,
}

/// How a body ended, as the runner reports it: nothing else is a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Success,
    Failed,
    /// A child the caller stopped waiting for at its `timeout_s` (never the top level: its
    /// wall clock is the daemon's to enforce).
    TimedOut,
}

/// What the runner needs to run one version of a Logic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogicSpec {
    pub name: String,
    pub logic_sid: String,
    pub version_sid: String,
    pub entry: String,
    /// `""` when this version's source already went to this runner.
    pub python_source: String,
    pub inputs: Vec<LogicField>,
    pub outputs: Vec<LogicField>,
    /// The decorator's retry policy, which a call by name (`follow_policy`) follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// The top-level Play as `hello` introduces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayIntro {
    pub sid: String,
    pub name: String,
    pub inputs: Map<String, Value>,
}

/// An accepted request's answer: `ok: true` and the fields of its op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    Hello {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        play: PlayIntro,
        logic: LogicSpec,
        /// The top-level Play's finished steps, on a replay.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        memo: Vec<Memo>,
    },
    Resolve {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        logic: LogicSpec,
    },
    /// `cached`: `output` is the memoized result and the callee is not run; otherwise
    /// `logic` is what to run and `args` the inputs as recorded (defaults applied).
    InvokeStart {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        play_sid: String,
        step_key: String,
        cached: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logic: Option<LogicSpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<Map<String, Value>>,
        /// The child is bound: its end must be an `invoke_end` request, whose answer carries
        /// the result its output mappings make.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bound: bool,
        /// A re-entered child's own finished steps.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        memo: Vec<Memo>,
    },
    /// Empty, or for a bound child the result as its output mappings made it.
    InvokeEnd {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<Verdict>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Map<String, Value>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// `answered: true` with the stored `payload`, or `answered: false` with the `resume_id`
    /// the question waits under (the runner then exits 75).
    Pause {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        answered: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_id: Option<String>,
    },
    Finish {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
    },
    /// `response`: the endpoint's answer as it sent it; `usage`: what the daemon recorded on
    /// the calling Play for it.
    ModelCall {
        id: u64,
        #[schemars(schema_with = "const_true")]
        ok: bool,
        response: Map<String, Value>,
        usage: ModelUsage,
    },
}

/// The tokens and cost of one model call, measured by the daemon from the endpoint's `usage`
/// and priced with its models table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelUsage {
    /// The name the call was priced under (the answer's model, else the requested one).
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// false: the models table has no price for `model`; the tokens count at cost 0.
    pub priced: bool,
}

/// A refused request: `ok: false` and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refused {
    pub id: u64,
    pub op: RequestOp,
    #[schemars(schema_with = "const_false")]
    pub ok: bool,
    pub error: RefusalBody,
}

/// The names of the requests, for a refusal's `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestOp {
    Hello,
    Resolve,
    InvokeStart,
    InvokeEnd,
    Finish,
    Pause,
    ModelCall,
}

impl RequestOp {
    pub fn parse(op: &str) -> Option<RequestOp> {
        serde_json::from_value(Value::String(op.to_string())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RequestOp::Hello => "hello",
            RequestOp::Resolve => "resolve",
            RequestOp::InvokeStart => "invoke_start",
            RequestOp::InvokeEnd => "invoke_end",
            RequestOp::Finish => "finish",
            RequestOp::Pause => "pause",
            RequestOp::ModelCall => "model_call",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusalBody {
    pub kind: RefusalKind,
    pub message: String,
    /// With `child_failed`: the failed child's Play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_sid: Option<String>,
    /// With `model_error` when the endpoint answered: its HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With `model_error`: the start of what the endpoint answered (the key masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// With `child_failed` of a call that follows its callee's policy: that policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// What the runner raises: `not_found`, `validation`, ... become `ChildFailed` or
/// `PauseRefused` with that kind; `protocol` means the request itself was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    NotFound,
    Validation,
    Conflict,
    InvalidState,
    Source,
    Internal,
    ChildFailed,
    /// On a replay: the step timed out in an earlier run (the runner raises `TimedOut`).
    ChildTimedOut,
    Nondeterminism,
    Protocol,
    /// `model_call` without an endpoint or a model: the message names the setting.
    NotConfigured,
    /// `model_call`: the endpoint refused, failed, timed out or answered no completion.
    ModelError,
}

fn const_true(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"const": true})
}

fn const_false(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"const": false})
}

/// What a runner line turned out to be.
// One value per line, matched at once: `model_call`'s many optional fields make requests
// larger than notifications, and boxing them would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request(Request),
    Notification(Notification),
}

/// A line that does not fit the protocol. `id` is set when the line was a request that can
/// still be answered with a refusal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Malformed {
    pub id: Option<u64>,
    pub op: String,
    pub message: String,
}

/// Decodes one line the runner sent; a line that does not fit says which field is wrong.
pub fn decode(line: &str) -> Result<Incoming, Malformed> {
    let value: Value = serde_json::from_str(line).map_err(|e| Malformed {
        id: None,
        op: String::new(),
        message: format!("the runner sent a line that is not JSON ({e}): {}", line.chars().take(200).collect::<String>()),
    })?;
    let Value::Object(mut fields) = value else {
        return Err(Malformed { id: None, op: String::new(), message: "the runner sent a line that is not a JSON object".into() });
    };
    // The parsed line is moved into the typed message, never copied.
    let op = match fields.remove("op") {
        Some(Value::String(op)) => op,
        _ => String::new(),
    };
    let id = fields.get("id").and_then(Value::as_u64);
    let refuse = |message: String| Malformed { id, op: op.clone(), message };
    if op.is_empty() {
        return Err(refuse("the runner sent a line without a string field `op`".into()));
    }
    let external = Value::Object(Map::from_iter([(op.clone(), Value::Object(fields))]));
    if Notification::is_one(&op, external[&op].as_object().expect("made as an object above")) {
        return typed::<NotificationWire>(external)
            .map(|wire| Incoming::Notification(wire.into()))
            .map_err(|e| refuse(format!("{op}: {e}")));
    }
    if RequestOp::parse(&op).is_none() {
        return Err(refuse(format!("unknown op {op:?}; see docs/protocol.md")));
    }
    if id.is_none() {
        return Err(refuse(format!("{op}: a request needs an integer field `id`")));
    }
    typed::<RequestWire>(external).map(|wire| Incoming::Request(wire.into())).map_err(|e| refuse(format!("{op}: {e}")))
}

/// Deserializes with the path of the offending field in the message.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        // The first segment is the op itself.
        let path: Vec<String> = e.path().iter().skip(1).map(|segment| segment.to_string()).collect();
        if path.is_empty() {
            e.into_inner().to_string()
        } else {
            format!("field `{}`: {}", path.join("."), e.into_inner())
        }
    })
}

impl Request {
    pub fn id(&self) -> u64 {
        match self {
            Request::Hello { id, .. }
            | Request::Resolve { id, .. }
            | Request::InvokeStart { id, .. }
            | Request::InvokeEnd { id, .. }
            | Request::Finish { id, .. }
            | Request::Pause { id, .. }
            | Request::ModelCall { id, .. } => *id,
        }
    }

    pub fn op(&self) -> RequestOp {
        match self {
            Request::Hello { .. } => RequestOp::Hello,
            Request::Resolve { .. } => RequestOp::Resolve,
            Request::InvokeStart { .. } => RequestOp::InvokeStart,
            Request::InvokeEnd { .. } => RequestOp::InvokeEnd,
            Request::Finish { .. } => RequestOp::Finish,
            Request::Pause { .. } => RequestOp::Pause,
            Request::ModelCall { .. } => RequestOp::ModelCall,
        }
    }
}

/// The JSON Schema of every line of the protocol, as checked in at
/// `schemas/runner-protocol.json`.
pub fn schema() -> Value {
    let mut generator = SchemaGenerator::default();
    let runner = json!({"oneOf": [generator.subschema_for::<Request>(), generator.subschema_for::<Notification>()]});
    let daemon = json!({"oneOf": [generator.subschema_for::<Reply>(), generator.subschema_for::<Refused>()]});
    let definitions: Map<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "hero_logic runner protocol",
        "description": "One JSON object per line over the per-Play socket (docs/protocol.md). \
            `runner_line`: what the runner sends; `daemon_line`: what the daemon answers.",
        "$defs": definitions,
        "properties": {"runner_line": runner, "daemon_line": daemon},
    })
}

/// The schema as the checked-in file's text.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("JSON values serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_request_decodes() {
        let line = r#"{"id": 3, "op": "invoke_start", "parent": "p0", "logic": "fib", "args": {"n": 2}, "local": false}"#;
        let Ok(Incoming::Request(Request::InvokeStart { id, logic, .. })) = decode(line) else { panic!("{:?}", decode(line)) };
        assert_eq!((id, logic.as_str()), (3, "fib"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = decode(r#"{"id": 1, "op": "invoke_start", "logic": "fib", "args": {}, "local": false}"#).unwrap_err();
        assert_eq!(error.id, Some(1));
        assert!(error.message.contains("`parent`"), "{}", error.message);
        let error = decode(r#"{"id": 1, "op": "invoke_start", "parent": "p0", "logic": "fib", "args": {}, "local": "yes"}"#).unwrap_err();
        assert!(error.message.contains("field `local`"), "{}", error.message);
    }

    #[test]
    fn a_status_other_than_success_or_failed_is_refused() {
        let line = r#"{"id": 9, "op": "finish", "status": "succes", "output": {}, "error": "", "traceback": ""}"#;
        let error = decode(line).unwrap_err();
        assert!(error.message.contains("status") && error.message.contains("succes"), "{}", error.message);
    }

    #[test]
    fn unknown_fields_and_ops_are_refused() {
        let error = decode(r#"{"op": "log", "play_sid": "p0", "text": "x\n", "colour": "red"}"#).unwrap_err();
        assert!(error.message.contains("colour"), "{}", error.message);
        assert_eq!(error.id, None);
        let error = decode(r#"{"id": 2, "op": "teleport"}"#).unwrap_err();
        assert!(error.message.contains("teleport"), "{}", error.message);
        let error = decode(r#"{"op": "pause", "play_sid": "p0", "name": "n", "ui": {}, "schema": {}}"#).unwrap_err();
        assert!(error.message.contains("`id`"), "{}", error.message);
        assert!(decode("[1]").is_err() && decode("{").is_err());
    }

    #[test]
    fn notifications_decode_without_id() {
        let line = r#"{"op": "stats", "play_sid": "p1", "prompt_tokens": 3, "completion_tokens": 4, "cost_usd": 0}"#;
        assert!(matches!(decode(line), Ok(Incoming::Notification(Notification::Stats { prompt_tokens: 3, .. }))));
    }

    #[test]
    fn replies_carry_their_op_and_round_trip() {
        let reply = Reply::Pause { id: 4, ok: true, answered: false, payload: None, resume_id: Some("a:b:0".into()) };
        let value = serde_json::to_value(&reply).unwrap();
        assert_eq!(value, json!({"id": 4, "op": "pause", "ok": true, "answered": false, "resume_id": "a:b:0"}));
        assert_eq!(serde_json::from_value::<Reply>(value).unwrap(), reply);
    }
}
