//! The rootobjects of DESIGN.md §3 as they travel on the wire.
//!
//! Every struct accepts the field names older clients used (`workflow_sid`, ...) through serde
//! aliases, and every field has a default so that partial records (`logic.set` with only a
//! name) deserialize; validation decides what is really required.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// A named concept with versions; exactly one version is current.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Logic {
    pub sid: String,
    /// Unique, `[a-z][a-z0-9_]*`.
    pub name: String,
    pub description: String,
    #[serde(alias = "current_workflow_version_sid")]
    pub current_version_sid: String,
    /// Version sids, newest first. Derived by the store; ignored on write.
    pub versions: Vec<String>,
    pub tags: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A `Workflow` as older clients write it with `workflow.set`: a Logic that carried its source
/// and signature itself. With a `python_source`, the daemon stores them as a version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LegacyWorkflow {
    #[serde(flatten)]
    pub logic: Logic,
    pub python_source: String,
    pub inputs: Vec<LogicField>,
    pub outputs: Vec<LogicField>,
}

/// One immutable revision of a Logic: its signature and its body (source or binding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LogicVersion {
    pub sid: String,
    #[serde(alias = "workflow_sid")]
    pub logic_sid: String,
    /// Unique per Logic (e.g. `v1`).
    pub version_label: String,
    pub notes: String,
    pub inputs: Vec<LogicField>,
    pub outputs: Vec<LogicField>,
    pub python_source: String,
    /// Set instead of `python_source` when this version delegates to another Logic (§8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    /// The version's Plays may use the network (the decorator's `network=True`, read from the
    /// source on save; `play_start {limits: {network: true}}` grants it per Play). Without
    /// it a Play runs in a network namespace of its own with no way out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A declared input or output of a LogicVersion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LogicField {
    pub name: String,
    #[serde(alias = "type")]
    pub field_type: FieldType,
    pub description: String,
    pub required: bool,
    /// Used when the caller leaves the field out. Written by a client, `""` means "no default"
    /// (OSIS-style clients send every field), except on a `string` field that also says
    /// `keep_empty_default: true`; on a non-string field a string is read as JSON text
    /// (`"5"` is 5 on an integer field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// On a `string` field: `default: ""` is the empty string, not "no default". The daemon sets
    /// it on every stored string field whose default is `""`, so records read back and written
    /// again keep their default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_empty_default: bool,
    /// Allowed values for a string field (from `Literal[...]`), empty for any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Default for LogicField {
    fn default() -> Self {
        LogicField {
            name: String::new(),
            field_type: FieldType::Any,
            description: String::new(),
            required: true,
            default: None,
            keep_empty_default: false,
            options: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    // `""` (what OSIS-style clients send for an unset type) reads as `any`.
    #[default]
    #[serde(alias = "")]
    Any,
}

impl FieldType {
    pub const ALL: [FieldType; 7] = [
        FieldType::String,
        FieldType::Integer,
        FieldType::Number,
        FieldType::Boolean,
        FieldType::Object,
        FieldType::Array,
        FieldType::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Object => "object",
            FieldType::Array => "array",
            FieldType::Any => "any",
        }
    }

    pub fn parse(name: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether a JSON value has this type (`integer` accepts only whole numbers).
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            FieldType::String => value.is_string(),
            FieldType::Integer => value.is_i64() || value.is_u64(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::Object => value.is_object(),
            FieldType::Array => value.is_array(),
            FieldType::Any => true,
        }
    }
}

/// How a JSON value's kind reads in an error message (`an integer`, `a string`, ...).
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a JSON object, or a string holding one (`""` for an empty one).
pub fn object_or_json_text<'de, D>(deserializer: D) -> Result<serde_json::Map<String, Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(serde_json::Map::new()),
        Value::String(text) if text.trim().is_empty() => Ok(serde_json::Map::new()),
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(D::Error::custom(format!("expected a JSON object, the string holds {}", json_kind(&other)))),
            Err(e) => Err(D::Error::custom(format!("expected a JSON object, the string is not JSON ({e})"))),
        },
        other => Err(D::Error::custom(format!("expected a JSON object (or a string holding one), got {}", json_kind(&other)))),
    }
}

/// A saved set of inputs for a Logic, optionally tied to one version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LogicExample {
    pub sid: String,
    #[serde(alias = "workflow_sid")]
    pub logic_sid: String,
    /// `""` means the example applies to every version.
    #[serde(alias = "workflow_version_sid")]
    pub logic_version_sid: String,
    pub name: String,
    pub description: String,
    /// A JSON object; a string holding one (as OSIS stored it) is accepted, `""` is `{}`.
    #[serde(deserialize_with = "object_or_json_text")]
    pub input_values: serde_json::Map<String, Value>,
    pub tags: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One run of one LogicVersion; child Plays form the invocation tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Play {
    pub sid: String,
    #[serde(alias = "workflow_sid")]
    pub logic_sid: String,
    #[serde(alias = "workflow_version_sid")]
    pub logic_version_sid: String,
    pub name: String,
    /// `""` for a top-level Play.
    pub parent_play_sid: String,
    /// Child Play sids in invocation order.
    pub sub_play_sids: Vec<String>,
    pub step_key: String,
    pub status: PlayStatus,
    pub input_data: serde_json::Map<String, Value>,
    pub output_data: serde_json::Map<String, Value>,
    pub error_message: String,
    pub started_at: Millis,
    pub completed_at: Millis,
    pub duration_ms: u64,
    pub logs: String,
    pub pending_resumes: Vec<ResumeRequest>,
    pub received_resumes: BTreeMap<String, Value>,
    pub step_outputs: BTreeMap<String, Value>,
    pub total_tokens_prompt: u64,
    pub total_tokens_completion: u64,
    pub total_cost_usd: f64,
    /// True when the Play's output came from a memoized step during replay.
    pub replayed: bool,
    /// Which attempt of a retried call this child is (1, 2, ...); 0 for a call without a
    /// retry policy and for a top-level Play.
    pub attempt: u32,
    pub created_at: Millis,
    /// This Play's totals with all its descendants' added (computed on read, never stored),
    /// so a root never shows $0 when its children spent.
    pub subtree: PlayTotals,
}

/// Tokens and cost of a Play and its descendants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PlayTotals {
    pub tokens_prompt: u64,
    pub tokens_completion: u64,
    pub cost_usd: f64,
    /// Descendant Plays (children, grandchildren, ...).
    pub descendants: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlayStatus {
    #[default]
    Pending,
    Running,
    AwaitingResume,
    Success,
    Failed,
    Cancelled,
    TimedOut,
}

impl PlayStatus {
    pub const ALL: [PlayStatus; 7] = [
        PlayStatus::Pending,
        PlayStatus::Running,
        PlayStatus::AwaitingResume,
        PlayStatus::Success,
        PlayStatus::Failed,
        PlayStatus::Cancelled,
        PlayStatus::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlayStatus::Pending => "pending",
            PlayStatus::Running => "running",
            PlayStatus::AwaitingResume => "awaiting_resume",
            PlayStatus::Success => "success",
            PlayStatus::Failed => "failed",
            PlayStatus::Cancelled => "cancelled",
            PlayStatus::TimedOut => "timed_out",
        }
    }

    pub fn parse(name: &str) -> Option<PlayStatus> {
        PlayStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PlayStatus::Success | PlayStatus::Failed | PlayStatus::Cancelled | PlayStatus::TimedOut
        )
    }
}

/// A question a Play asks a person; answered through `play_resume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ResumeRequest {
    pub id: String,
    pub name: String,
    /// JSON Schema of the expected answer.
    pub schema: Value,
    pub ui: ResumeUi,
    pub asked_at: Millis,
    /// The answer, once given.
    pub payload: Value,
    pub resumed_at: Millis,
}

/// How a pause form is drawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ResumeUi {
    /// `text`, `number`, `choice`, `multi_choice` or `confirm`; or `timer`, a durable sleep
    /// (`logic.sleep`) that the daemon answers itself at `wake_at` (ms since the epoch).
    pub kind: String,
    pub prompt: String,
    pub options: Vec<String>,
    /// Any further hints (placeholder, min, max, default, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// A version bound to another Logic instead of carrying Python source (§8).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Binding {
    /// The target Logic, by name or sid.
    pub target: String,
    /// Produce the target's inputs; empty means identity.
    pub input_mappings: Vec<Mapping>,
    /// Produce this version's outputs; empty means identity.
    pub output_mappings: Vec<Mapping>,
}

/// One row of a mapping table: `target <- source`.
///
/// Source grammar: `inputs.<path>`, `outputs.<path>` (output mappings only),
/// `literal:<text>`, `literal_json:<json>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Mapping {
    pub target: String,
    pub source: String,
}

/// Legacy names of the rootobjects; records written by older clients keep loading.
pub type Workflow = Logic;
pub type WorkflowVersion = LogicVersion;
pub type Example = LogicExample;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_field_names_load() {
        let version: LogicVersion =
            serde_json::from_value(json!({"workflow_sid": "00a1", "version_label": "v1"})).unwrap();
        assert_eq!(version.logic_sid, "00a1");
        let play: Play = serde_json::from_value(
            json!({"workflow_sid": "0001", "workflow_version_sid": "0002", "status": "awaiting_resume"}),
        )
        .unwrap();
        assert_eq!(play.logic_sid, "0001");
        assert_eq!(play.logic_version_sid, "0002");
        assert_eq!(play.status, PlayStatus::AwaitingResume);
        let example: Example =
            serde_json::from_value(json!({"workflow_version_sid": "0003"})).unwrap();
        assert_eq!(example.logic_version_sid, "0003");
    }

    #[test]
    fn field_type_names_round_trip() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(FieldType::parse("str"), None);
    }

    #[test]
    fn integer_rejects_fractions() {
        assert!(FieldType::Integer.accepts(&json!(3)));
        assert!(!FieldType::Integer.accepts(&json!(3.5)));
        assert!(FieldType::Number.accepts(&json!(3.5)));
    }
}
