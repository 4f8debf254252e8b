//! `GET /healthz`: the admin is up; whether the daemon answers is reported, not required,
//! so a supervisor can tell "admin down" from "daemon down".

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let alive = state.daemon_alive().await;
    // What a Play's process gets (namespaces, Landlock, bounds), as the daemon probed it.
    let sandbox = match alive {
        true => state.call::<Value>("LogicService.sandbox_info", json!({})).await.ok(),
        false => None,
    };
    let sandbox = sandbox.map(|s| json!({"summary": s["summary"], "missing": s["missing"], "refusal": s["refusal"]}));
    Json(json!({"ok": true, "daemon": alive, "sandbox": sandbox}))
}
