//! Static assets, compiled into the binary: the admin loads nothing from the internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const ADMIN_CSS: &str = include_str!("../../static/admin.css");

/// Short enough that a rebuilt binary's styles show up soon after a restart.
const CACHE: &str = "public, max-age=300";

pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "admin.css" => ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], ADMIN_CSS)
            .into_response(),
        _ => (StatusCode::NOT_FOUND, format!("no static asset named {name:?}")).into_response(),
    }
}
