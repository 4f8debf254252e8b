//! `GET /logics/{sid}`: one Logic with its versions. A first, read-only view; the full logic
//! view (flow, code editor, stats, play bar) replaces it later.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use hero_logic_api::methods::{LOGIC, LOGIC_VERSION};
use hero_logic_api::params::Page;
use hero_logic_api::{Logic, LogicField, LogicVersion};
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// More versions than this are not listed; the page is a summary, not an archive.
const VERSION_LIMIT: u32 = 200;

struct VersionRow {
    sid: String,
    label: String,
    notes: String,
    created: String,
    is_current: bool,
    /// `python` or `bound to <target>`.
    kind: String,
}

struct FieldRow {
    name: String,
    field_type: &'static str,
    required: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "logic.html")]
struct LogicPage {
    logic: Logic,
    created: String,
    updated: String,
    current_label: String,
    versions: Vec<VersionRow>,
    inputs: Vec<FieldRow>,
    outputs: Vec<FieldRow>,
    source: String,
}

pub async fn logic_page(State(state): State<AppState>, Path(sid): Path<String>) -> Result<Html<String>, AdminError> {
    let logic: Logic = state.call(LOGIC.get, json!({"sid": sid})).await?;
    let versions: Page<LogicVersion> =
        state.call(LOGIC_VERSION.find, json!({"logic_sid": logic.sid, "limit": VERSION_LIMIT})).await?;
    Ok(Html(page(logic, versions.items).render()?))
}

fn page(logic: Logic, versions: Vec<LogicVersion>) -> LogicPage {
    let current = versions.iter().find(|v| v.sid == logic.current_version_sid);
    let (current_label, inputs, outputs, source) = match current {
        Some(v) => (v.version_label.clone(), fields(&v.inputs), fields(&v.outputs), v.python_source.clone()),
        None => (String::new(), Vec::new(), Vec::new(), String::new()),
    };
    let rows = versions.iter().map(|v| version_row(v, &logic.current_version_sid)).collect();
    LogicPage {
        created: view::format_time(logic.created_at),
        updated: view::format_time(logic.updated_at),
        current_label,
        versions: rows,
        inputs,
        outputs,
        source,
        logic,
    }
}

fn version_row(version: &LogicVersion, current_sid: &str) -> VersionRow {
    VersionRow {
        sid: version.sid.clone(),
        label: version.version_label.clone(),
        notes: version.notes.clone(),
        created: view::format_time(version.created_at),
        is_current: version.sid == current_sid,
        kind: match &version.binding {
            Some(binding) => format!("bound to {}", binding.target),
            None => "python".to_string(),
        },
    }
}

fn fields(declared: &[LogicField]) -> Vec<FieldRow> {
    declared
        .iter()
        .map(|f| FieldRow {
            name: f.name.clone(),
            field_type: f.field_type.as_str(),
            required: f.required,
            description: f.description.clone(),
        })
        .collect()
}
