//! Records as OSIS-style clients write them (every field present, `""` for unset), against a
//! real daemon: the value rule of the README's "OSIS-style values".

mod common;

use common::{code_and_field, Daemon};
use hero_logic_api::error::{INVALID_PARAMS, VALIDATION};
use serde_json::{json, Value};

const ECHO: &str = r#"from hero_tracing import logic

@logic(name="echo", inputs={"text": "string"}, outputs={"text": "string"})
def echo(text="", n=0):
    return {"text": text}
"#;

fn osis_field(name: &str, field_type: &str, default: &str) -> Value {
    json!({"name": name, "field_type": field_type, "description": "", "required": false, "default": default})
}

async fn stored_inputs(daemon: &Daemon, logic: &Value) -> Vec<Value> {
    let version = daemon.call("logicversion.get", json!({"sid": logic["current_version_sid"]})).await;
    version["inputs"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_default_on_a_non_string_field_means_no_default() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let types = ["integer", "number", "boolean", "object", "array", "any"];
    let inputs: Vec<Value> = types.iter().map(|t| osis_field(&format!("f_{t}"), t, "")).collect();
    let logic = daemon.call("LogicService.logic_create", json!({"name": "echo", "python_source": ECHO, "inputs": inputs, "outputs": []})).await;
    for (field, t) in stored_inputs(&daemon, &logic).await.iter().zip(types) {
        assert_eq!(field["field_type"], t);
        assert!(field.get("default").is_none(), "no default for {t}: {field}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_field_type_means_any_and_string_defaults_are_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let inputs = json!([osis_field("text", "", ""), osis_field("n", "integer", "5"), osis_field("flags", "array", "[\"a\"]")]);
    let logic = daemon.call("LogicService.logic_create", json!({"name": "echo", "python_source": ECHO, "inputs": inputs})).await;
    let stored = stored_inputs(&daemon, &logic).await;
    assert_eq!(stored[0]["field_type"], "any");
    assert_eq!(stored[1]["default"], 5);
    assert_eq!(stored[2]["default"], json!(["a"]));

    // Text that is not JSON of the declared type is still refused, naming the field.
    let bad = json!([osis_field("n", "integer", "five")]);
    let err = daemon.call_err("LogicService.logic_create_version", json!({"logic": "echo", "python_source": ECHO, "inputs": bad})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "inputs[0].default".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_string_default_is_kept_only_when_the_client_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let mut kept = osis_field("text", "string", "");
    kept["keep_empty_default"] = json!(true);
    let inputs = json!([osis_field("unset", "string", ""), kept]);
    let logic = daemon.call("LogicService.logic_create", json!({"name": "echo", "python_source": ECHO, "inputs": inputs})).await;
    let stored = stored_inputs(&daemon, &logic).await;
    assert!(stored[0].get("default").is_none(), "{}", stored[0]);
    assert_eq!((stored[1]["default"].clone(), stored[1]["keep_empty_default"].clone()), (json!(""), json!(true)));

    // What a client reads and writes back keeps the default.
    let version = daemon.call("logicversion.get", json!({"sid": logic["current_version_sid"]})).await;
    let again = daemon
        .call("LogicService.logic_create_version", json!({"logic": "echo", "python_source": ECHO, "inputs": version["inputs"]}))
        .await;
    assert_eq!(again["inputs"][1]["default"], "");

    // And the default is used: the Play runs with text = "".
    let play = daemon.run("echo", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["text"], "");
}

#[tokio::test(flavor = "multi_thread")]
async fn input_values_may_be_a_json_string() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let logic = daemon.call("LogicService.logic_create", json!({"name": "echo", "python_source": ECHO})).await;
    let created = daemon
        .call("LogicService.logic_example_create", json!({"logic": "echo", "name": "hi", "input_values": "{\"text\": \"hi\"}"}))
        .await;
    assert_eq!(created["input_values"], json!({"text": "hi"}));
    let set = daemon
        .call("example.set", json!({"object": {"workflow_sid": logic["sid"], "workflow_version_sid": "", "name": "empty", "description": "", "input_values": "", "tags": []}}))
        .await;
    assert_eq!(set["input_values"], json!({}));

    let err = daemon.call_err("LogicService.logic_example_create", json!({"logic": "echo", "name": "bad", "input_values": "[1]"})).await;
    assert_eq!(code_and_field(&err), (INVALID_PARAMS, "input_values".into()));
    assert!(err.to_string().contains("an array"), "{err}");

    let play = daemon.run_with(json!({"logic": "echo", "inputs": {}, "example": "hi"})).await;
    assert_eq!(play["output_data"]["text"], "hi", "{play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_workflow_set_with_source_creates_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let workflow = json!({
        "sid": "", "name": "echo", "description": "old style", "current_version_sid": "", "versions": [], "tags": [],
        "python_source": ECHO,
        "inputs": [osis_field("text", "string", "")],
        "outputs": [osis_field("text", "string", "")],
        "created_at": 0, "updated_at": 0
    });
    let logic = daemon.call("workflow.set", json!({"object": workflow})).await;
    assert_ne!(logic["current_version_sid"], "", "the source became the current version: {logic}");
    let version = daemon.call("logicversion.get", json!({"sid": logic["current_version_sid"]})).await;
    assert_eq!(version["python_source"], ECHO);
    assert_eq!(version["inputs"][0]["name"], "text");
    let play = daemon.run("echo", json!({"text": "old"})).await;
    assert_eq!(play["output_data"]["text"], "old", "{play}");

    // The same record again adds nothing; a new source adds a version.
    let mut again = workflow.clone();
    again["sid"] = logic["sid"].clone();
    let same = daemon.call("workflow.set", json!({"object": again})).await;
    assert_eq!(same["versions"].as_array().unwrap().len(), 1);
    again["python_source"] = json!(ECHO.replace("{\"text\": text}", "{\"text\": text.upper()}"));
    let changed = daemon.call("workflow.set", json!({"object": again})).await;
    assert_eq!(changed["versions"].as_array().unwrap().len(), 2);

    // A source that does not parse stores nothing.
    let broken = json!({"name": "broken", "python_source": "def broken(:\n"});
    let err = daemon.call_err("workflow.set", json!({"object": broken})).await;
    assert_eq!(code_and_field(&err).1, "python_source");
    assert!(daemon.call("logic.find", json!({"name": "broken"})).await["items"].as_array().unwrap().is_empty());
}
