//! `schemas/runner-protocol.json` must equal the schema generated from the protocol types.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p hero_logic --test protocol_drift`.

use std::path::PathBuf;

#[test]
fn checked_in_runner_protocol_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/runner-protocol.json");
    let generated = hero_logic::engine::protocol::schema_text();
    let regenerate = "UPDATE_SCHEMAS=1 cargo test -p hero_logic --test protocol_drift";
    hero_logic_api::schema_file::check_or_update(&path, &generated, regenerate);
}

#[test]
fn every_line_kind_is_in_the_schema() {
    let schema = hero_logic::engine::protocol::schema();
    let defs = schema["$defs"].as_object().expect("definitions");
    for name in ["Request", "Notification", "Reply", "Refused", "LogicSpec"] {
        assert!(defs.contains_key(name), "{name} is defined: {:?}", defs.keys().collect::<Vec<_>>());
    }
    let ops: Vec<&str> = defs["Request"]["oneOf"]
        .as_array()
        .expect("requests are a tagged union")
        .iter()
        .filter_map(|v| v["properties"]["op"]["const"].as_str())
        .collect();
    assert_eq!(ops, ["hello", "resolve", "invoke_start", "invoke_end", "finish", "pause", "model_call"]);
}
