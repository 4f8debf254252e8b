//! Static assets, compiled into the binary: the admin loads nothing from the internet.
//! The table holds every file under `static/` (the logic view's modules in `static/logic/`)
//! and the editor bundle; build.rs writes it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Short enough that a rebuilt binary's assets show up soon after a restart.
const CACHE: &str = "public, max-age=300";

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, CACHE)], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("no static asset named {name:?}")).into_response(),
    }
}

/// Browsers ask for `/favicon.ico` on their own; answer with the SVG icon rather than a 404.
pub async fn favicon() -> Response {
    asset(Path("favicon.svg".to_string())).await
}
