//! `GET /logics/{sid}` (and `?play={play_sid}`): the logic view. The page carries the Logic's
//! info, versions, stats, examples and recent Plays; `logic.js` draws the play bar, the Play
//! tree and the stats from them, and overlays a Play from `/api/plays/{sid}/overlay` and its
//! event stream.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hero_logic_api::methods::{LOGIC, LOGIC_EXAMPLE_LIST, LOGIC_STATS, LOGIC_VERSION, PLAY_LIST_FOR_LOGIC};
use hero_logic_api::params::Page;
use hero_logic_api::{Logic, LogicExample, LogicField, LogicVersion, Play};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// More versions than this are not listed; the page is a summary, not an archive.
const VERSION_LIMIT: u32 = 200;
/// Recent Plays fetched for the play bar's list (any depth; the page shows top-level first).
const RECENT_PLAYS: u32 = 50;

/// A version as the page needs it: its signature, not its source.
#[derive(Debug, Serialize)]
struct VersionInfo {
    sid: String,
    label: String,
    notes: String,
    created_at: u64,
    created: String,
    current: bool,
    /// `python` or `bound to <target>`.
    kind: String,
    inputs: Vec<LogicField>,
    outputs: Vec<LogicField>,
    /// The declared fields as the sidebar lists them; the page carries every version's list
    /// (in `<template>`s) so picking a version shows the server's rendering, not a JS copy.
    #[serde(skip)]
    input_rows: Vec<FieldRow>,
    #[serde(skip)]
    output_rows: Vec<FieldRow>,
    /// Its Plays may use the network (`@logic(network=True)`).
    network: bool,
}

/// A recent Play, without its logs and outputs.
#[derive(Debug, Serialize)]
struct PlaySummary {
    sid: String,
    name: String,
    logic_sid: String,
    logic_version_sid: String,
    parent_play_sid: String,
    status: String,
    created_at: u64,
    started_at: u64,
    completed_at: u64,
    duration_ms: u64,
    /// Of the outputs only the Play's own verdict, `ok`, when it declares one as a boolean:
    /// the Plays menu shows `returned ok: false` for it.
    output_data: serde_json::Map<String, serde_json::Value>,
}

impl From<Play> for PlaySummary {
    fn from(p: Play) -> Self {
        let verdict = p.output_data.get("ok").filter(|ok| ok.is_boolean()).cloned();
        PlaySummary {
            output_data: verdict.map(|ok| serde_json::Map::from_iter([("ok".to_string(), ok)])).unwrap_or_default(),
            status: p.status.as_str().to_string(),
            sid: p.sid,
            name: p.name,
            logic_sid: p.logic_sid,
            logic_version_sid: p.logic_version_sid,
            parent_play_sid: p.parent_play_sid,
            created_at: p.created_at,
            started_at: p.started_at,
            completed_at: p.completed_at,
            duration_ms: p.duration_ms,
        }
    }
}

/// Everything the page's script starts from.
#[derive(Debug, Serialize)]
struct Boot<'a> {
    logic: &'a Logic,
    versions: &'a [VersionInfo],
    /// `logic_stats` as the daemon sent it (passed through, so new figures need no admin change).
    stats: Option<Value>,
    examples: Vec<LogicExample>,
    plays: Vec<PlaySummary>,
}

#[derive(Debug)]
struct FieldRow {
    name: String,
    field_type: &'static str,
    required: bool,
    description: String,
    /// The default as JSON text, empty when there is none.
    default: String,
}

#[derive(Template)]
#[template(path = "logic.html")]
struct LogicPage {
    logic: Logic,
    current_label: String,
    versions: Vec<VersionInfo>,
    inputs: Vec<FieldRow>,
    outputs: Vec<FieldRow>,
    source: String,
    /// `bound to <target>` for a bound current version, else empty.
    binding: String,
    boot_json: String,
}

pub async fn logic_page(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AdminError> {
    let logic: Logic = match state.call(LOGIC.get, json!({"sid": sid})).await {
        Ok(logic) => logic,
        // `/logics/greeting` is a handy URL to type: find the Logic by name and go to its sid.
        Err(AdminError::NotFound(message)) => {
            let found: Page<Logic> = state.call(LOGIC.find, json!({"name": sid, "limit": 1})).await?;
            return match found.items.into_iter().next() {
                Some(logic) => {
                    let mut target = view::logic_href(&logic.sid);
                    if let Some(query) = query.filter(|q| !q.is_empty()) {
                        target.push('?');
                        target.push_str(&query);
                    }
                    Ok(Redirect::to(&target).into_response())
                }
                None => Err(AdminError::NotFound(message)),
            };
        }
        Err(other) => return Err(other),
    };
    let by_sid = json!({"logic": logic.sid});
    let (versions, stats, examples, plays) = tokio::join!(
        state.call::<Page<LogicVersion>>(LOGIC_VERSION.find, json!({"logic_sid": logic.sid, "limit": VERSION_LIMIT})),
        state.call::<Value>(LOGIC_STATS, by_sid.clone()),
        state.call::<Vec<LogicExample>>(LOGIC_EXAMPLE_LIST, by_sid.clone()),
        state.call::<Page<Play>>(PLAY_LIST_FOR_LOGIC, json!({"logic": logic.sid, "limit": RECENT_PLAYS})),
    );
    let versions = versions?.items;
    // The side parts are worth showing the page without; the Logic and its versions are not.
    let stats = stats.map_err(|e| tracing::warn!("logic_stats for {}: {e}", logic.sid)).ok();
    let examples = examples.map_err(|e| tracing::warn!("examples of {}: {e}", logic.sid)).unwrap_or_default();
    let plays = plays.map_err(|e| tracing::warn!("plays of {}: {e}", logic.sid)).map(|p| p.items).unwrap_or_default();
    Ok(Html(page(logic, versions, stats, examples, plays).render()?).into_response())
}

fn page(
    logic: Logic,
    versions: Vec<LogicVersion>,
    stats: Option<Value>,
    examples: Vec<LogicExample>,
    plays: Vec<Play>,
) -> LogicPage {
    let current = versions.iter().find(|v| v.sid == logic.current_version_sid).or(versions.first());
    let (current_label, inputs, outputs, source, binding) = match current {
        Some(v) => (
            v.version_label.clone(),
            fields(&v.inputs),
            fields(&v.outputs),
            v.python_source.clone(),
            v.binding.as_ref().map(|b| format!("bound to {}", b.target)).unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let infos: Vec<VersionInfo> = versions.into_iter().map(|v| version_info(v, &logic.current_version_sid)).collect();
    let boot = Boot {
        logic: &logic,
        versions: &infos,
        stats,
        examples,
        plays: plays.into_iter().map(PlaySummary::from).collect(),
    };
    let boot_json = view::script_json(&boot);
    LogicPage { current_label, versions: infos, inputs, outputs, source, binding, boot_json, logic }
}

fn version_info(version: LogicVersion, current_sid: &str) -> VersionInfo {
    VersionInfo {
        current: version.sid == current_sid,
        kind: match &version.binding {
            Some(binding) => format!("bound to {}", binding.target),
            None => "python".to_string(),
        },
        created: view::format_time(version.created_at),
        input_rows: fields(&version.inputs),
        output_rows: fields(&version.outputs),
        sid: version.sid,
        label: version.version_label,
        notes: version.notes,
        created_at: version.created_at,
        inputs: version.inputs,
        outputs: version.outputs,
        network: version.network,
    }
}

fn fields(declared: &[LogicField]) -> Vec<FieldRow> {
    declared
        .iter()
        .map(|f| FieldRow {
            name: f.name.clone(),
            field_type: f.field_type.as_str(),
            required: f.required && f.default.is_none(),
            description: f.description.clone(),
            default: f.default.as_ref().map(default_text).unwrap_or_default(),
        })
        .collect()
}

fn default_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}
