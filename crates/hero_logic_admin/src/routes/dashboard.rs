//! `GET /`: the Logics table, searchable by text and filterable by one tag.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use hero_logic_api::methods::LOGIC_LIBRARY_SEARCH;
use hero_logic_api::params::LibraryHit;
use serde::Deserialize;
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// The dashboard shows at most this many Logics; the search box narrows the rest.
const DASHBOARD_LIMIT: u32 = 500;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    /// Search text.
    pub q: String,
    /// Only Logics carrying this tag.
    pub tag: String,
}

/// One table row, with every link already built.
struct Row {
    name: String,
    href: String,
    description: String,
    version_label: String,
    tags: Vec<TagLink>,
}

struct TagLink {
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    query: String,
    tag: String,
    /// The same search without the tag filter.
    clear_tag_href: String,
    rows: Vec<Row>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    Query(params): Query<DashboardQuery>,
) -> Result<Html<String>, AdminError> {
    let query = params.q.trim().to_string();
    let tag = params.tag.trim().to_string();
    let tags: Vec<&str> = if tag.is_empty() { Vec::new() } else { vec![&tag] };
    let params = json!({"query": query, "tags": tags, "limit": DASHBOARD_LIMIT});
    let hits: Vec<LibraryHit> = state.call(LOGIC_LIBRARY_SEARCH, params).await?;
    let rows = hits.into_iter().map(|hit| row(hit, &query)).collect();
    let page = DashboardPage { clear_tag_href: view::dashboard_href(&query, ""), query, tag, rows };
    Ok(Html(page.render()?))
}

fn row(hit: LibraryHit, query: &str) -> Row {
    let logic = hit.logic;
    Row {
        href: view::logic_href(&logic.sid),
        tags: logic
            .tags
            .into_iter()
            .map(|tag| TagLink { href: view::dashboard_href(query, &tag), name: tag })
            .collect(),
        name: logic.name,
        description: logic.description,
        version_label: hit.current_version_label,
    }
}
