//! Redirects from the URLs older versions of the admin used, so bookmarks keep working.

use axum::extract::{Path, RawQuery};
use axum::response::Redirect;

use crate::view;

/// `/workflows/{sid}` -> `/logics/{sid}` (308, query string kept).
pub async fn workflow(Path(sid): Path<String>, RawQuery(query): RawQuery) -> Redirect {
    let mut target = view::logic_href(&sid);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(&query);
    }
    Redirect::permanent(&target)
}

/// `/workflows` -> `/`.
pub async fn workflows() -> Redirect {
    Redirect::permanent("/")
}
