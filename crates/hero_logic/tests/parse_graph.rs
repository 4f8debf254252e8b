//! `LogicService.logic_parse_graph` against a real daemon: the graph, its cache in the store,
//! bound versions and unknown sids; and the declared signature a save fills from the source.

mod common;

use common::{code_and_field, Daemon};
use hero_logic::store::{SqliteStore, Store, Synchronous};
use hero_logic_api::error::NOT_FOUND;
use serde_json::{json, Value};

const PARSE_GRAPH: &str = "LogicService.logic_parse_graph";

const ORDER: &str = r#"
import requests
from hero_tracing import ask_user, logic

def fetch(sku):
    return requests.get(f"https://shop.example.com/items/{sku}").json()

@logic(name="order", inputs={"skus": "array"})
def order(skus):
    items = []
    for sku in skus:
        items.append(fetch(sku))
    if ask_user.confirm("Order them?"):
        return logic.invoke("place_order", items=items)
    return {"placed": False}
"#;

fn kinds(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .map(|a| a.iter().map(|n| n["kind"].as_str().unwrap_or("?").to_owned()).collect())
        .unwrap_or_default()
}

async fn current_version(daemon: &Daemon, name: &str, source: &str) -> String {
    let logic = daemon.define(name, source).await;
    logic["current_version_sid"].as_str().expect("a current version").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_graph_is_served_then_cached_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    let sid = current_version(&daemon, "order", ORDER).await;

    let first = daemon.call(PARSE_GRAPH, json!({"version_sid": sid})).await;
    assert_eq!(first["version_sid"], sid.as_str());
    assert_eq!(first["cached"], false, "the first request parses");
    assert_eq!(first["error"], Value::Null);
    assert_eq!(first["entry"]["function"], "order");
    assert_eq!(first["entry"]["logic"], "order");
    assert_eq!(kinds(&first["nodes"]), ["loop", "pause", "if", "return"]);

    let lp = &first["nodes"][0];
    assert_eq!((lp["line"].as_u64(), lp["column"].as_u64()), (Some(11), Some(5)));
    assert_eq!(lp["header"], "for sku in skus");
    let http = &lp["children"][0];
    assert_eq!(http["kind"], "rpc");
    assert_eq!(http["label"], "HTTP GET shop.example.com");
    assert_eq!(http["helper"], "fetch", "helper steps show where the helper is called");
    let branch = &first["nodes"][2]["branches"][0];
    assert_eq!(branch["condition"], "ask_user.confirm(\"Order them?\")");
    assert_eq!(branch["children"][0]["target"], "place_order");
    assert_eq!(branch["children"][0]["via"], "logic.invoke");

    let second = daemon.call(PARSE_GRAPH, json!({"version_sid": sid})).await;
    assert_eq!(second["cached"], true, "the second request is served from the store");
    let strip = |mut v: Value| {
        v.as_object_mut().map(|o| o.remove("cached"));
        v
    };
    assert_eq!(strip(second), strip(first));

    daemon.stop();
    let store = SqliteStore::open(&dir.path().join("hero_logic.db"), Synchronous::Normal).unwrap();
    let row = store.graph_get(&sid).unwrap().expect("a cached row for the version");
    assert_eq!(row["graph"]["version_sid"], sid.as_str());
    assert!(row["format"].is_u64());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_versions_are_not_found_and_bindings_invoke_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    for sid in ["zzzz", "", "not a sid"] {
        let err = daemon.call_err(PARSE_GRAPH, json!({"version_sid": sid})).await;
        assert_eq!(code_and_field(&err).0, NOT_FOUND, "{sid:?}: {err}");
    }

    let greeting = std::fs::read_to_string(common::repo_seed_dir().join("greeting.py")).unwrap();
    daemon.define("greeting", &greeting).await;
    let bound = daemon
        .call(
            "LogicService.logic_create",
            json!({"name": "hello", "description": "greets", "binding": {"target": "greeting"}}),
        )
        .await;
    let graph = daemon.call(PARSE_GRAPH, json!({"version_sid": bound["current_version_sid"]})).await;
    assert_eq!(graph["entry"], Value::Null);
    assert_eq!(kinds(&graph["nodes"]), ["invoke"]);
    assert_eq!(graph["nodes"][0]["target"], "greeting");
    assert_eq!(graph["nodes"][0]["via"], "binding");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_graph_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let source = std::fs::read_to_string(common::repo_seed_dir().join("survey_loop.py")).unwrap();
    let sid = current_version(&daemon, "survey_loop", &source).await;
    let mut graph = daemon.call(PARSE_GRAPH, json!({"version_sid": sid})).await;
    let golden_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/parse/testdata/seeds/survey_loop.json");
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(golden_path).unwrap()).unwrap();
    let object = graph.as_object_mut().unwrap();
    object.remove("version_sid");
    object.remove("cached");
    assert_eq!(graph, golden, "the RPC serves what the parser draws");
}

const DERIVED: &str = r#"
from typing import Literal, Optional, TypedDict
from hero_tracing import logic

class Result(TypedDict):
    total: float
    """The total."""

@logic(name="derived")
def derived(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    meta: dict,
    tags: list[str],
    mode: Literal["fast", "slow"] = "fast",
    note: Optional[str] = None,
    limit: int | None = None,
    scale: float = 1.5,
) -> Result:
    """Derives a signature.

    Args:
        text: The text.
        count: How many.
    """
    return {"total": 1.0}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_save_fills_the_signature_but_never_overwrites_declared_fields() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;

    let logic = daemon.define("derived", DERIVED).await;
    let version = daemon.call("logicversion.get", json!({"sid": logic["current_version_sid"]})).await;
    let inputs = version["inputs"].as_array().unwrap();
    let field = |name: &str| inputs.iter().find(|f| f["name"] == name).cloned().unwrap_or_default();
    for (name, field_type, required) in [
        ("text", "string", true),
        ("count", "integer", true),
        ("ratio", "number", true),
        ("flag", "boolean", true),
        ("meta", "object", true),
        ("tags", "array", true),
        ("mode", "string", false),
        ("note", "string", false),
        ("limit", "integer", false),
        ("scale", "number", false),
    ] {
        let f = field(name);
        assert_eq!((f["field_type"].as_str(), f["required"].as_bool()), (Some(field_type), Some(required)), "{name}");
    }
    assert_eq!(field("mode")["options"], json!(["fast", "slow"]));
    assert_eq!(field("mode")["default"], "fast");
    assert_eq!(field("scale")["default"], 1.5);
    assert_eq!(field("text")["description"], "The text.");
    assert_eq!(version["outputs"][0]["name"], "total");
    assert_eq!(version["outputs"][0]["description"], "The total.");

    // Declared by the client: kept as given, even where the source says otherwise; what the
    // client left out still comes from the source.
    let given = json!([{"name": "text", "field_type": "any", "description": "Mine.", "required": false}]);
    let v2 = daemon
        .call(
            "LogicService.logic_create_version",
            json!({"logic": "derived", "python_source": DERIVED, "inputs": given}),
        )
        .await;
    assert_eq!(v2["inputs"].as_array().map(Vec::len), Some(1));
    assert_eq!(v2["inputs"][0]["field_type"], "any");
    assert_eq!(v2["inputs"][0]["description"], "Mine.");
    assert_eq!(v2["inputs"][0]["required"], false);
    assert_eq!(v2["outputs"][0]["name"], "total", "outputs were not given: filled from the source");
}
