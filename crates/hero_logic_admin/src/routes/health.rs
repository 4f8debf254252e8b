//! `GET /healthz`: the admin is up; whether the daemon answers is reported, not required,
//! so a supervisor can tell "admin down" from "daemon down".

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"ok": true, "daemon": state.daemon_alive().await}))
}
