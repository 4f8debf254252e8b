//! `GET /`: the Logics table (latest run, success rate, runs) from one `logic_dashboard` call,
//! searchable by text and filterable by one tag.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use hero_logic_api::methods::{LOGIC_DASHBOARD, LOGIC_LIBRARY_SEARCH};
use hero_logic_api::params::{DashboardRow, LibraryHit};
use serde::Deserialize;
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// A search shows at most this many Logics, best first.
const SEARCH_LIMIT: u32 = 1000;

/// `logic_dashboard` looks at the last 50 Plays of each Logic.
const RECENT_WINDOW: u64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    /// Search text.
    pub q: String,
    /// Only Logics carrying this tag.
    pub tag: String,
}

/// One table row, with every link and figure already formatted.
struct Row {
    name: String,
    href: String,
    description: String,
    version_label: String,
    tags: Vec<TagLink>,
    /// `success`, `failed`, ... or empty when it never ran.
    latest_status: String,
    latest_status_label: String,
    latest_relative: String,
    latest_absolute: String,
    /// Whole percent, for the bar width; empty text when nothing finished.
    success_percent: u32,
    success_text: String,
    runs_text: String,
}

struct TagLink {
    name: String,
    href: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    query: String,
    tag: String,
    /// The same search without the tag filter.
    clear_tag_href: String,
    /// Every tag of the listed Logics, to filter by.
    all_tags: Vec<TagLink>,
    rows: Vec<Row>,
    total: usize,
}

pub async fn dashboard(
    State(state): State<AppState>,
    Query(params): Query<DashboardQuery>,
) -> Result<Html<String>, AdminError> {
    let query = params.q.trim().to_string();
    let tag = params.tag.trim().to_string();
    let board = state.call::<Vec<DashboardRow>>(LOGIC_DASHBOARD, json!({}));
    let (board, order) = if query.is_empty() && tag.is_empty() {
        (board.await?, None)
    } else {
        let tags: Vec<&str> = if tag.is_empty() { Vec::new() } else { vec![&tag] };
        let search = state.call::<Vec<LibraryHit>>(
            LOGIC_LIBRARY_SEARCH,
            json!({"query": query, "tags": tags, "limit": SEARCH_LIMIT}),
        );
        let (board, hits) = tokio::join!(board, search);
        (board?, Some(hits?))
    };
    let total = board.len();
    let now = view::now_millis();
    let all_tags = board
        .iter()
        .flat_map(|r| r.logic.tags.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|t| TagLink {
            href: view::dashboard_href(&query, if t == tag { "" } else { &t }),
            active: t == tag,
            name: t,
        })
        .collect();
    let rows: Vec<DashboardRow> = match order {
        None => board,
        // The search decides which Logics and in what order; the dashboard call has their figures.
        Some(hits) => {
            let mut by_sid: HashMap<String, DashboardRow> =
                board.into_iter().map(|r| (r.logic.sid.clone(), r)).collect();
            hits.into_iter().filter_map(|hit| by_sid.remove(&hit.logic.sid)).collect()
        }
    };
    let rows = rows.into_iter().map(|r| row(r, &query, &tag, now)).collect();
    let page = DashboardPage { clear_tag_href: view::dashboard_href(&query, ""), query, tag, all_tags, rows, total };
    Ok(Html(page.render()?))
}

fn row(r: DashboardRow, query: &str, active_tag: &str, now: u64) -> Row {
    let logic = r.logic;
    let never_ran = r.latest_status.is_empty();
    Row {
        href: view::logic_href(&logic.sid),
        tags: logic
            .tags
            .into_iter()
            .map(|tag| TagLink { href: view::dashboard_href(query, &tag), active: tag == active_tag, name: tag })
            .collect(),
        name: logic.name,
        description: logic.description,
        version_label: r.current_version_label,
        latest_status_label: r.latest_status.replace('_', " "),
        latest_status: r.latest_status,
        latest_relative: if never_ran { "never run".to_string() } else { view::relative_time(r.latest_run_at, now) },
        latest_absolute: view::format_time(r.latest_run_at),
        success_percent: if r.recent_runs == 0 { 0 } else { (r.success_rate.clamp(0.0, 1.0) * 100.0).round() as u32 },
        success_text: if r.recent_runs == 0 { "—".to_string() } else { view::percent(r.success_rate) },
        runs_text: if r.recent_runs >= RECENT_WINDOW { format!("{RECENT_WINDOW}+") } else { r.recent_runs.to_string() },
    }
}
