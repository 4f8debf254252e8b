//! JSON-RPC against a real daemon on a temp data dir.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{code_and_field, Daemon};
use hero_logic_api::error::{CONFLICT, INVALID_PARAMS, METHOD_NOT_FOUND, NOT_FOUND, PARSE_ERROR, VALIDATION, INVALID_STATE};
use serde_json::{json, Value};

const GREETING: &str = r#"from hero_tracing import logic

@logic(name="hello", inputs={"name": "string"}, outputs={"message": "string"})
def hello(name):
    return {"message": f"hi {name}"}
"#;

async fn create_hello(daemon: &Daemon, name: &str) -> Value {
    daemon
        .call(
            "LogicService.logic_create",
            json!({"name": name, "description": "says hi", "tags": ["demo"], "python_source": GREETING}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn logic_crud_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let created = daemon.call("logic.set", json!({"object": {"name": "alpha", "description": "first", "tags": ["x", "x", " y "]}})).await;
    let sid = created["sid"].as_str().unwrap().to_string();
    assert_eq!(sid.len(), 4, "sids are padded base-36: {sid}");
    assert_eq!(created["tags"], json!(["x", "y"]));

    let fetched = daemon.call("logic.get", json!({"sid": sid})).await;
    assert_eq!(fetched["name"], "alpha");

    let mut changed = fetched.clone();
    changed["description"] = json!("renamed");
    let updated = daemon.call("logic.set", json!({"object": changed})).await;
    assert_eq!(updated["sid"], json!(sid));
    assert_eq!(updated["description"], "renamed");
    assert_eq!(updated["created_at"], fetched["created_at"]);

    let found = daemon.call("logic.find", json!({"name": "alpha"})).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let listed = daemon.call("logic.list", json!({})).await;
    assert_eq!(listed["items"][0]["sid"], json!(sid));

    assert_eq!(daemon.call("logic.delete", json!({"sid": sid})).await, json!({"deleted": true}));
    let gone = daemon.call_err("logic.get", json!({"sid": sid})).await;
    assert_eq!(gone.code(), Some(NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_are_created_listed_and_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let logic = create_hello(&daemon, "hello").await;
    let v1_sid = logic["current_version_sid"].as_str().unwrap().to_string();
    let v1 = daemon.call("logicversion.get", json!({"sid": v1_sid})).await;
    assert_eq!(v1["version_label"], "v1");
    assert_eq!(v1["logic_sid"], logic["sid"]);
    // Declared fields come from the @logic decorator when the client gives none.
    assert_eq!(v1["inputs"][0]["name"], "name");
    assert_eq!(v1["inputs"][0]["field_type"], "string");

    let v2 = daemon
        .call(
            "LogicService.logic_create_version",
            json!({"logic": "hello", "python_source": GREETING.replace("hi", "hey"), "notes": "friendlier"}),
        )
        .await;
    assert_eq!(v2["version_label"], "v2");
    let logic = daemon.call("logic.get", json!({"sid": logic["sid"]})).await;
    assert_eq!(logic["current_version_sid"], v2["sid"]);
    assert_eq!(logic["versions"], json!([v2["sid"], v1_sid]), "newest first");

    let back = daemon.call("LogicService.logic_set_current_version", json!({"logic": "hello", "version": "v1"})).await;
    assert_eq!(back["current_version_sid"], json!(v1_sid));

    let found = daemon.call("logicversion.find", json!({"logic_sid": logic["sid"]})).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 2);

    // Label and notes may change; the body may not.
    let mut relabel = v2.clone();
    relabel["notes"] = json!("kept");
    let relabelled = daemon.call("logicversion.set", json!({"object": relabel})).await;
    assert_eq!(relabelled["notes"], "kept");
    let mut rewrite = v2.clone();
    rewrite["python_source"] = json!("print('other')");
    let err = daemon.call_err("logicversion.set", json!({"object": rewrite})).await;
    assert_eq!(err.code(), Some(CONFLICT));
    assert!(err.data().unwrap().hint.contains("logic_create_version"), "{err}");

    // The current version cannot be deleted; another one can.
    let err = daemon.call_err("logicversion.delete", json!({"sid": v1_sid})).await;
    assert_eq!(err.code(), Some(CONFLICT));
    assert_eq!(daemon.call("logicversion.delete", json!({"sid": v2["sid"]})).await, json!({"deleted": true}));
}

#[tokio::test(flavor = "multi_thread")]
async fn examples_round_trip_and_scope_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let logic = create_hello(&daemon, "hello").await;
    let any = daemon
        .call("LogicService.logic_example_create", json!({"logic": "hello", "name": "ada", "input_values": {"name": "Ada"}}))
        .await;
    let v2 = daemon.call("LogicService.logic_create_version", json!({"logic": "hello", "python_source": GREETING, "version_label": "two", "make_current": false})).await;
    let scoped = daemon
        .call("LogicService.logic_example_create", json!({"logic": "hello", "version": "two", "name": "bob", "input_values": {"name": "Bob"}}))
        .await;
    assert_eq!(scoped["logic_version_sid"], v2["sid"]);

    let for_v1 = daemon.call("LogicService.logic_example_list", json!({"logic": "hello", "version": "v1"})).await;
    let names: Vec<&str> = for_v1.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ada"]);
    let for_v2 = daemon.call("LogicService.logic_example_list", json!({"logic": "hello", "version": "two"})).await;
    assert_eq!(for_v2.as_array().unwrap().len(), 2);

    let mut edited = any.clone();
    edited["description"] = json!("the classic");
    let updated = daemon.call("LogicService.logic_example_update", json!({"object": edited})).await;
    assert_eq!(updated["description"], "the classic");
    let fetched = daemon.call("logicexample.get", json!({"sid": any["sid"]})).await;
    assert_eq!(fetched["description"], "the classic");
    let found = daemon.call("logicexample.find", json!({"logic_sid": logic["sid"], "name": "bob"})).await;
    assert_eq!(found["items"][0]["sid"], scoped["sid"]);

    // Generic CRUD creates too, and checks the logic exists.
    let created = daemon.call("logicexample.set", json!({"object": {"logic_sid": logic["sid"], "name": "cy", "input_values": {"name": "Cy"}}})).await;
    let err = daemon.call_err("logicexample.set", json!({"object": {"logic_sid": "zzzz", "name": "x"}})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "logic_sid".to_string()));

    assert_eq!(daemon.call("LogicService.logic_example_delete", json!({"sid": any["sid"]})).await, json!({"deleted": true}));
    assert_eq!(daemon.call("logicexample.delete", json!({"sid": created["sid"]})).await, json!({"deleted": true}));
    let err = daemon.call_err("LogicService.logic_example_get", json!({"sid": any["sid"]})).await;
    assert_eq!(err.code(), Some(NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread")]
async fn example_names_are_unique_per_logic() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let hello = create_hello(&daemon, "hello").await;
    create_hello(&daemon, "other").await;
    let ada = daemon
        .call("LogicService.logic_example_create", json!({"logic": "hello", "name": "ada", "input_values": {"name": "Ada"}}))
        .await;

    // Every way of writing an example refuses a second "ada" of the same Logic, and says which.
    let again = json!({"logic": "hello", "name": "ada", "input_values": {"name": "Other"}});
    let err = daemon.call_err("LogicService.logic_example_create", again).await;
    assert_eq!(code_and_field(&err), (CONFLICT, "name".to_string()), "{err}");
    assert!(err.to_string().contains(ada["sid"].as_str().unwrap()), "{err}");
    assert!(err.data().unwrap().hint.contains("logic_example_update"), "{err}");
    let via_crud = json!({"object": {"logic_sid": hello["sid"], "name": "ada", "input_values": {}}});
    assert_eq!(daemon.call_err("logicexample.set", via_crud).await.code(), Some(CONFLICT));
    let bob = daemon
        .call("LogicService.logic_example_create", json!({"logic": "hello", "name": "bob", "input_values": {"name": "Bob"}}))
        .await;
    let mut renamed = bob.clone();
    renamed["name"] = json!("ada");
    assert_eq!(daemon.call_err("LogicService.logic_example_update", json!({"object": renamed})).await.code(), Some(CONFLICT));

    // Saving an example under its own name is no conflict; another Logic may use the name.
    let mut edited = ada.clone();
    edited["description"] = json!("edited");
    assert_eq!(daemon.call("LogicService.logic_example_update", json!({"object": edited})).await["description"], "edited");
    daemon.call("LogicService.logic_example_create", json!({"logic": "other", "name": "ada", "input_values": {}})).await;
    let listed = daemon.call("LogicService.logic_example_list", json!({"logic": "hello"})).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "nothing was lost: {listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn service_agent_is_seeded_with_the_specs_examples_once() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = common::repo_seed_dir();
    let seeds = seeds.to_str().unwrap();
    let names = |examples: &Value| -> Vec<String> {
        let mut names: Vec<String> = examples.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    let mut daemon = Daemon::start_with(dir.path(), &["--seed-dir", seeds]).await;
    let examples = daemon.call("LogicService.logic_example_list", json!({"logic": "service_agent"})).await;
    assert_eq!(names(&examples), ["Calendar event", "Find contact", "Marketplace tokens"]);
    let calendar = examples.as_array().unwrap().iter().find(|e| e["name"] == "Calendar event").unwrap();
    assert!(calendar["input_values"]["prompt"].as_str().unwrap().starts_with("Create a calendar event"), "{calendar}");
    assert_eq!(calendar["input_values"]["code_gen_model"], "");
    // Its inputs are ones service_agent takes: the example starts a Play.
    let play = daemon.call("LogicService.play_start", json!({"logic": "service_agent", "inputs": {}, "example": "Find contact"})).await;
    assert!(play["input_data"].to_string().contains("Ada Lovelace"), "{play}");
    daemon.stop();

    let daemon = Daemon::start_with(dir.path(), &["--seed-dir", seeds]).await;
    let examples = daemon.call("LogicService.logic_example_list", json!({"logic": "service_agent"})).await;
    assert_eq!(names(&examples).len(), 3, "a restart adds none: {examples}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plays_are_read_only_and_survive_restart() {
    use hero_logic::store::{SqliteStore, Store, Synchronous};
    use hero_logic_api::{Play, PlayStatus};

    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    let logic = create_hello(&daemon, "hello").await;
    let err = daemon.call_err("play.set", json!({"object": {}})).await;
    assert_eq!(err.code(), Some(METHOD_NOT_FOUND), "plays are written only by the engine");
    daemon.stop();

    // The engine is the only writer of Plays; write one through the store while the daemon is down.
    let root_sid;
    {
        let store = SqliteStore::open(&dir.path().join("hero_logic.db"), Synchronous::Full).unwrap();
        let root = store
            .play_insert(&Play {
                logic_sid: logic["sid"].as_str().unwrap().into(),
                logic_version_sid: logic["current_version_sid"].as_str().unwrap().into(),
                name: "hello".into(),
                status: PlayStatus::Success,
                ..Default::default()
            })
            .unwrap();
        let child = store.play_insert(&Play { parent_play_sid: root.sid.clone(), name: "hello".into(), ..Default::default() }).unwrap();
        store.play_append_child(&root.sid, &child.sid).unwrap();
        store.play_set_step_output(&root.sid, "hello:0:abc", &json!({"message": "hi"})).unwrap();
        root_sid = root.sid;
    }

    let daemon = Daemon::start(dir.path()).await;
    let play = daemon.call("play.get", json!({"sid": root_sid})).await;
    assert_eq!(play["status"], "success");
    assert_eq!(play["sub_play_sids"].as_array().unwrap().len(), 1);
    assert_eq!(play["step_outputs"]["hello:0:abc"]["message"], "hi");
    let by_logic = daemon.call("play.find", json!({"logic_sid": logic["sid"]})).await;
    assert_eq!(by_logic["items"][0]["sid"], json!(root_sid));
    let children = daemon.call("play.find", json!({"parent_play_sid": root_sid})).await;
    assert_eq!(children["items"].as_array().unwrap().len(), 1);
    let listed = daemon.call("play.list", json!({"limit": 1})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_ne!(listed["next_cursor"], "", "a second page exists");
    // The Logic written before the restart is still there.
    assert_eq!(daemon.call("logic.get", json!({"sid": logic["sid"]})).await["name"], "hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;

    let err = daemon.call_err("LogicService.logic_create", json!({"name": "Bad Name", "python_source": GREETING})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "name".into()));
    assert!(!err.data().unwrap().hint.is_empty(), "a fix hint is given");

    let err = daemon.call_err("LogicService.logic_create", json!({"description": "no name", "python_source": GREETING})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "name".into()), "a missing required name is named");

    create_hello(&daemon, "taken").await;
    let err = daemon.call_err("LogicService.logic_create", json!({"name": "taken", "python_source": GREETING})).await;
    assert_eq!(code_and_field(&err), (CONFLICT, "name".into()));
    let err = daemon.call_err("logic.set", json!({"object": {"name": "taken"}})).await;
    assert_eq!(code_and_field(&err), (CONFLICT, "name".into()));

    let err = daemon
        .call_err(
            "LogicService.logic_create",
            json!({"name": "typed", "python_source": GREETING, "inputs": [{"name": "a", "field_type": "string"}, {"name": "b", "field_type": "str"}]}),
        )
        .await;
    assert_eq!(code_and_field(&err), (INVALID_PARAMS, "inputs[1].field_type".into()));
    assert!(err.to_string().contains("str"), "{err}");

    let err = daemon.call_err("LogicService.logic_create", json!({"name": "empty"})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "python_source".into()));

    let err = daemon.call_err("LogicService.logic_create_version", json!({"logic": "taken", "python_source": GREETING, "version_label": "v1"})).await;
    assert_eq!(code_and_field(&err), (CONFLICT, "version_label".into()));

    let err = daemon.call_err("LogicService.logic_create_version", json!({"logic": "nope", "python_source": GREETING})).await;
    assert_eq!(err.code(), Some(NOT_FOUND));

    let err = daemon.call_err("logic.list", json!({"limit": 0})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "limit".into()));
    let err = daemon.call_err("logic.find", json!({"colour": "red"})).await;
    assert_eq!(code_and_field(&err), (INVALID_PARAMS, "colour".into()));
    let err = daemon.call_err("logic.get", json!(["0001"])).await;
    assert_eq!(err.code(), Some(INVALID_PARAMS));
    let err = daemon.call_err("LogicService.logic_create", json!({"name": "x", "python_source": GREETING, "bogus": 1})).await;
    assert_eq!(err.code(), Some(INVALID_PARAMS));
    assert!(err.to_string().contains("bogus"), "{err}");
    let _ = INVALID_STATE;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_syntax_error_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let source = GREETING.replace("def hello(name):", "def hello(name)");
    let err = daemon.call_err("LogicService.logic_create", json!({"name": "broken", "python_source": source})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "python_source".into()));
    let data = err.data().unwrap();
    assert_eq!(data.line, Some(4), "{err}");
    assert!(data.column.is_some());
    assert!(err.to_string().contains("syntax error"), "{err}");
    let listed = daemon.call("logic.list", json!({})).await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "nothing was stored");

    let undecorated = "def main(x):\n    return x\n";
    let err = daemon.call_err("LogicService.logic_create", json!({"name": "plain", "python_source": undecorated})).await;
    assert!(err.data().unwrap().hint.contains("@logic"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_errors_use_standard_codes() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let err = daemon.call_err("logic.frobnicate", json!({})).await;
    assert_eq!(err.code(), Some(METHOD_NOT_FOUND));

    let raw = daemon.client.post("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ".into()).await.unwrap();
    let answer: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(answer["error"]["code"], json!(PARSE_ERROR));

    let mode = std::fs::metadata(&daemon.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is private to its owner");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_sets_all_persist() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let calls = (0..50).map(|i| {
        let client = hero_logic_api::RpcClient::new(&daemon.socket);
        tokio::spawn(async move {
            client
                .call::<Value>("logic.set", json!({"object": {"name": format!("concurrent_{i}"), "description": format!("n{i}")}}))
                .await
        })
    });
    let results = futures_join(calls.collect()).await;
    let mut sids: Vec<String> = results.into_iter().map(|r| r["sid"].as_str().unwrap().to_string()).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 50, "every call got its own sid");
    let listed = daemon.call("logic.list", json!({"limit": 100})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 50);
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<Result<Value, hero_logic_api::ClientError>>>) -> Vec<Value> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_names_load() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let logic = create_hello(&daemon, "hello").await;
    let via_old_name = daemon.call("workflow.get", json!({"sid": logic["sid"]})).await;
    assert_eq!(via_old_name["name"], "hello");
    let version = daemon
        .call(
            "workflowversion.set",
            json!({"object": {"workflow_sid": logic["sid"], "version_label": "legacy", "python_source": GREETING}}),
        )
        .await;
    assert_eq!(version["logic_sid"], logic["sid"]);
    let example = daemon
        .call("example.set", json!({"object": {"workflow_sid": logic["sid"], "workflow_version_sid": version["sid"], "name": "old"}}))
        .await;
    assert_eq!(example["logic_version_sid"], version["sid"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn library_search_ranks_name_over_description() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    for (name, description, tags) in [
        ("summarize_text", "condenses a document", json!(["nlp"])),
        ("translate", "turns text into another language, then may summarize it", json!(["nlp"])),
        ("fetch_weather", "reads a forecast", json!(["http"])),
    ] {
        daemon.call("LogicService.logic_create", json!({"name": name, "description": description, "tags": tags, "python_source": GREETING})).await;
    }
    let hits = daemon.call("LogicService.logic_library_search", json!({"query": "summarize"})).await;
    let names: Vec<&str> = hits.as_array().unwrap().iter().map(|h| h["logic"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["summarize_text", "translate"]);
    assert_eq!(hits[0]["current_version_label"], "v1");
    let tagged = daemon.call("LogicService.logic_library_search", json!({"query": "", "tags": ["http"]})).await;
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    let all = daemon.call("LogicService.logic_library_search", json!({})).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_method_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let doc = daemon.call("rpc.discover", json!({})).await;
    assert_eq!(doc, hero_logic_api::openrpc::document());
    for name in hero_logic_api::openrpc::method_names() {
        if let Err(e) = daemon.client.call::<Value>(&name, json!({"sid": "zzzz"})).await {
            assert_ne!(e.code(), Some(METHOD_NOT_FOUND), "{name} is documented but not served");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_the_same_data_dir_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let out = std::process::Command::new(common::SERVER).arg("--data-dir").arg(dir.path()).arg("--no-seed").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
    // The first one still answers.
    daemon.call("logic.list", json!({})).await;
}

/// The interpreter the daemon resolves (`python3` on PATH, as the daemon does).
fn runtime_minor() -> u32 {
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.version_info[1])"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_the_runtime_cannot_run_is_refused_at_save() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let newer = GREETING.replace("@logic(", "type Name = str\n\n@logic(");
    let older = GREETING.replace("    return {\"message\": f\"hi {name}\"}", "    try:\n        pass\n    except ValueError, e:\n        pass\n    return {}");
    if runtime_minor() >= 12 {
        // The runtime runs 3.12 syntax: nothing to refuse (this machine's Python is newer).
        daemon.call("LogicService.logic_create", json!({"name": "newer", "python_source": newer})).await;
        return;
    }
    let err = daemon.call_err("LogicService.logic_create", json!({"name": "newer", "python_source": newer})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "python_source".into()));
    let data = err.data().unwrap();
    assert_eq!((data.line, data.column), (Some(3), Some(1)), "{err}");
    assert!(err.to_string().contains("Python 3.12") && err.to_string().contains("the daemon runs Python 3."), "{err}");

    let err = daemon.call_err("LogicService.logic_create", json!({"name": "older", "python_source": older})).await;
    let data = err.data().unwrap();
    assert_eq!(data.line, Some(7), "{err}");
    assert!(data.hint.contains("except X as e"), "{err}");
    assert!(daemon.call("logic.list", json!({})).await["items"].as_array().unwrap().is_empty(), "nothing was stored");
}
