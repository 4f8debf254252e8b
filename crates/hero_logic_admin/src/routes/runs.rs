//! `GET /runs`: every Play across all Logics, filtered and paged by `play_search`; and
//! `GET /inbox`: every question waiting for a person, from `play_inbox`.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use hero_logic_api::methods::{PLAY_INBOX, PLAY_SEARCH};
use hero_logic_api::params::{Inbox, Page};
use hero_logic_api::{ClientError, Play, PlayStatus};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// Plays per page of the Runs table.
const RUNS_PAGE: u32 = 50;

/// The Runs page's filters, as the form sends them; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunsQuery {
    pub logic: String,
    pub status: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    pub from: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    pub to: String,
    pub q: String,
    /// `1` to list child Plays too.
    pub children: String,
    pub cursor: String,
}

struct RunRow {
    name: String,
    href: String,
    status: String,
    status_label: String,
    started: String,
    duration: String,
    is_child: bool,
    error: String,
}

struct StatusOption {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    logic: String,
    from: String,
    to: String,
    q: String,
    children: bool,
    statuses: Vec<StatusOption>,
    rows: Vec<RunRow>,
    /// A filter the daemon (or this page) refused, said plainly.
    problem: String,
    older_href: String,
}

pub async fn runs(State(state): State<AppState>, Query(query): Query<RunsQuery>) -> Result<Html<String>, AdminError> {
    let (rows, problem, next_cursor) = match search_params(&query) {
        Err(problem) => (Vec::new(), problem, String::new()),
        Ok(params) => match state.call::<Page<Play>>(PLAY_SEARCH, params).await {
            Ok(page) => (page.items.iter().map(run_row).collect(), String::new(), page.next_cursor),
            Err(AdminError::Daemon(err @ ClientError::Rpc { .. })) => (Vec::new(), refusal(&err), String::new()),
            Err(AdminError::NotFound(message)) => (Vec::new(), message, String::new()),
            Err(other) => return Err(other),
        },
    };
    let older_href = if next_cursor.is_empty() { String::new() } else { runs_href(&query, &next_cursor) };
    let statuses = PlayStatus::ALL
        .iter()
        .map(|s| StatusOption { value: s.as_str(), label: s.as_str().replace('_', " "), selected: query.status == s.as_str() })
        .collect();
    let page = RunsPage {
        logic: query.logic.trim().to_string(),
        from: query.from.trim().to_string(),
        to: query.to.trim().to_string(),
        q: query.q.trim().to_string(),
        children: query.children == "1",
        statuses,
        rows,
        problem,
        older_href,
    };
    Ok(Html(page.render()?))
}

/// The daemon's message and hint, for a filter it refused.
fn refusal(err: &ClientError) -> String {
    match err {
        ClientError::Rpc { message, data, .. } => match data.as_ref().map(|d| d.hint.as_str()).filter(|h| !h.is_empty()) {
            Some(hint) => format!("{message}. {hint}"),
            None => message.clone(),
        },
        other => other.to_string(),
    }
}

/// `play_search` parameters from the form; dates are checked here since the form sends text.
fn search_params(query: &RunsQuery) -> Result<Value, String> {
    let mut params = Map::new();
    let set = |params: &mut Map<String, Value>, key: &str, text: &str| {
        if !text.trim().is_empty() {
            params.insert(key.to_string(), json!(text.trim()));
        }
    };
    set(&mut params, "logic", &query.logic);
    set(&mut params, "status", &query.status);
    set(&mut params, "text", &query.q);
    set(&mut params, "cursor", &query.cursor);
    if !query.from.trim().is_empty() {
        params.insert("since".into(), json!(view::parse_day(query.from.trim()).map_err(|e| format!("from: {e}"))?));
    }
    if !query.to.trim().is_empty() {
        let day = view::parse_day(query.to.trim()).map_err(|e| format!("to: {e}"))?;
        params.insert("until".into(), json!(day + view::DAY_MS));
    }
    params.insert("top_level_only".into(), json!(query.children != "1"));
    params.insert("limit".into(), json!(RUNS_PAGE));
    Ok(Value::Object(params))
}

/// The same filters, one page further.
fn runs_href(query: &RunsQuery, cursor: &str) -> String {
    let pairs = [
        ("logic", query.logic.trim()),
        ("status", query.status.trim()),
        ("from", query.from.trim()),
        ("to", query.to.trim()),
        ("q", query.q.trim()),
        ("children", query.children.trim()),
        ("cursor", cursor),
    ];
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", view::encode_component(v))).collect();
    format!("/runs?{}", parts.join("&"))
}

fn run_row(play: &Play) -> RunRow {
    RunRow {
        name: play.name.clone(),
        // A child opens in its own Logic's view, as the Play tree links it.
        href: view::play_href(&play.logic_sid, &play.sid),
        status: play.status.as_str().to_string(),
        status_label: play.status.as_str().replace('_', " "),
        started: view::format_time(if play.started_at == 0 { play.created_at } else { play.started_at }),
        duration: if play.duration_ms == 0 { "—".into() } else { view::format_duration(play.duration_ms) },
        is_child: !play.parent_play_sid.is_empty(),
        error: play.error_message.lines().next().unwrap_or_default().to_string(),
    }
}

struct InboxRow {
    logic_name: String,
    play_href: String,
    play_sid: String,
    resume_id: String,
    prompt: String,
    kind: String,
    options: Vec<String>,
    asked: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    rows: Vec<InboxRow>,
}

pub async fn inbox(State(state): State<AppState>) -> Result<Html<String>, AdminError> {
    let inbox: Inbox = state.call(PLAY_INBOX, json!({})).await?;
    let rows = inbox
        .items
        .into_iter()
        .map(|item| InboxRow {
            play_href: view::play_href(&item.logic_sid, &item.root_play_sid),
            logic_name: item.logic_name,
            play_sid: item.play_sid,
            resume_id: item.request.id,
            prompt: if item.request.ui.prompt.is_empty() { item.request.name } else { item.request.ui.prompt },
            kind: item.request.ui.kind,
            options: item.request.ui.options,
            asked: view::format_time(item.request.asked_at),
        })
        .collect();
    Ok(Html(InboxPage { rows }.render()?))
}
