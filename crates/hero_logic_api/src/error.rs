//! JSON-RPC error codes and the `data` payload every hero_logic error carries.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;

/// The named object does not exist.
pub const NOT_FOUND: i32 = -32004;
/// The write clashes with existing state (duplicate name, duplicate version label, ...).
pub const CONFLICT: i32 = -32009;
/// A field has a bad value; `data.field` names it.
pub const VALIDATION: i32 = -32022;
/// The object exists but is in a state that does not allow the call.
pub const INVALID_STATE: i32 = -32010;
/// The daemon has as many requests waiting as it queues; nothing was done, retry shortly.
pub const BUSY: i32 = -32029;

/// The `data` member of an error response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ErrorData {
    /// Short machine-readable kind: `not_found`, `conflict`, `validation`, `invalid_state`, ...
    pub kind: String,
    /// Path of the offending field (`inputs[2].field_type`), empty when not about one field.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    /// 1-based line in the Python source, for errors about a source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column (in characters) in the Python source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}
