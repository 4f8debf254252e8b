//! Redirects (301) from the URLs older versions of the admin used, so bookmarks keep working.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hero_logic_api::methods::PLAY;
use hero_logic_api::Play;
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

fn moved(target: &str) -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, target)]).into_response()
}

/// `/workflows/{sid}` -> `/logics/{sid}` (query string kept).
pub async fn workflow(Path(sid): Path<String>, RawQuery(query): RawQuery) -> Response {
    let mut target = view::logic_href(&sid);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(&query);
    }
    moved(&target)
}

/// `/workflows/{sid}/<anything>` (the old editor's sub-pages) -> `/logics/{sid}`.
pub async fn workflow_page(Path((sid, _rest)): Path<(String, String)>) -> Response {
    moved(&view::logic_href(&sid))
}

/// `/workflows`, `/plays`, `/examples` -> `/`.
pub async fn to_dashboard() -> Response {
    moved("/")
}

/// `/plays/{sid}` -> `/logics/{logic_sid}?play={sid}`: the logic view with that Play overlaid.
pub async fn play(State(state): State<AppState>, Path(sid): Path<String>) -> Result<Response, AdminError> {
    let play: Play = state.call(PLAY.get, json!({"sid": sid})).await?;
    Ok(moved(&view::play_href(&play.logic_sid, &play.sid)))
}
