//! Static assets, compiled into the binary: the admin loads nothing from the internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `(name, content type, body)` of every asset.
const ASSETS: [(&str, &str, &str); 5] = [
    ("admin.css", "text/css; charset=utf-8", include_str!("../../static/admin.css")),
    ("logic.js", "text/javascript; charset=utf-8", include_str!("../../static/logic.js")),
    ("new_logic.js", "text/javascript; charset=utf-8", include_str!("../../static/new_logic.js")),
    // CodeMirror 6 bundled by esbuild (see build.rs): a stub when the bundle was not built.
    ("editor.js", "text/javascript; charset=utf-8", include_str!(concat!(env!("OUT_DIR"), "/editor.js"))),
    ("favicon.svg", "image/svg+xml", include_str!("../../static/favicon.svg")),
];

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
