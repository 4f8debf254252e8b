//! `schemas/openrpc.json` must equal the document generated from the types.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p hero_logic_api --test openrpc_drift`.

use std::path::PathBuf;

#[test]
fn checked_in_openrpc_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openrpc.json");
    let generated = hero_logic_api::openrpc::document_text();
    let regenerate = "UPDATE_SCHEMAS=1 cargo test -p hero_logic_api --test openrpc_drift";
    hero_logic_api::schema_file::check_or_update(&path, &generated, regenerate);
}

#[test]
fn every_method_has_a_unique_name_and_object_params() {
    let doc = hero_logic_api::openrpc::document();
    let mut names = hero_logic_api::openrpc::method_names();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "method names are unique");
    for method in doc["methods"].as_array().unwrap() {
        assert_eq!(method["paramStructure"], "by-name");
        assert!(method["result"]["schema"].is_object(), "{}", method["name"]);
    }
    assert!(doc["components"]["schemas"]["Play"].is_object(), "wire types are in components");
}
