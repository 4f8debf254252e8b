//! Bound logics: a version that calls another Logic through input and output mappings.

mod common;

use common::{code_and_field, Daemon};
use hero_logic_api::error::VALIDATION;
use serde_json::{json, Value};

const SHOUT: &str = r#"
from hero_tracing import logic

@logic(name="shout", inputs={"text": "string", "times": {"type": "integer", "default": 1}},
       outputs={"text": "string", "items": "array"})
def shout(text, times=1):
    loud = text.upper() * times
    return {"text": loud, "items": [{"name": w} for w in loud.split()]}
"#;

async fn bind(daemon: &Daemon, name: &str, input_mappings: Value, output_mappings: Value) -> Result<Value, hero_logic_api::ClientError> {
    daemon
        .client
        .call(
            "LogicService.logic_create",
            json!({"name": name, "binding": {"target": "shout", "input_mappings": input_mappings, "output_mappings": output_mappings}}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn renames_literals_and_selections_run() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("shout", SHOUT).await;
    bind(
        &daemon,
        "yell",
        json!([{"target": "text", "source": "inputs.message"}, {"target": "times", "source": "literal_json:2"}]),
        json!([
            {"target": "result", "source": "outputs.text"},
            {"target": "first", "source": "outputs.items.0.name"},
            {"target": "echo", "source": "inputs.message"},
            {"target": "label", "source": "literal:done"},
        ]),
    )
    .await
    .unwrap();
    let version = daemon.call("logicversion.find", json!({"logic_sid": daemon.call("logic.find", json!({"name": "yell"})).await["items"][0]["sid"]})).await;
    assert_eq!(version["items"][0]["inputs"][0]["name"], "message", "a bound version declares the inputs its mappings read");
    assert_eq!(version["items"][0]["inputs"][0]["field_type"], "string", "message takes the type of shout's text");
    let outputs: Vec<(&str, &str)> = version["items"][0]["outputs"].as_array().unwrap().iter()
        .map(|f| (f["name"].as_str().unwrap(), f["field_type"].as_str().unwrap())).collect();
    assert_eq!(outputs, [("result", "string"), ("first", "any"), ("echo", "any"), ("label", "any")], "whole outputs keep their declared type");
    let play = daemon.run("yell", json!({"message": "hi there "})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(
        play["output_data"],
        json!({"result": "HI THERE HI THERE ", "first": "HI", "echo": "hi there ", "label": "done"})
    );
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    let target = &tree["descendants"][0];
    assert_eq!(target["name"], "shout", "the target runs as a child Play");
    assert_eq!(target["input_data"], json!({"text": "hi there ", "times": 2}), "the input mappings fed the target");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_tables_pass_everything_through_and_python_can_invoke_a_bound_logic() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("shout", SHOUT).await;
    bind(&daemon, "alias", json!([]), json!([])).await.unwrap();
    let play = daemon.run("alias", json!({"text": "ok"})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["text"], "OK");
    bind(&daemon, "pick", json!([]), json!([{"target": "word", "source": "outputs.items.1.name"}])).await.unwrap();
    let caller = r#"
from hero_tracing import logic

@logic(name="caller", inputs={}, outputs={"got": "object"})
def caller():
    return {"got": logic.invoke("pick", text="one two")}
"#;
    daemon.define("caller", caller).await;
    let play = daemon.run("caller", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["got"], json!({"word": "TWO"}), "the caller receives the mapped output");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_path_at_run_time_fails_naming_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("shout", SHOUT).await;
    bind(&daemon, "too_far", json!([]), json!([{"target": "x", "source": "outputs.items.5.name"}])).await.unwrap();
    let play = daemon.run("too_far", json!({"text": "a b"})).await;
    assert_eq!(play["status"], "failed");
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("output_mappings") && message.contains("row 1:") && message.contains("items.5"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tables_are_refused_at_save_with_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("shout", SHOUT).await;
    let cases = [
        (json!([{"target": "text", "source": "input.x"}]), json!([]), "binding.input_mappings[0].source"),
        (json!([{"target": "text", "source": "outputs.text"}]), json!([]), "binding.input_mappings[0].source"),
        (json!([]), json!([{"target": "a", "source": "outputs.text"}, {"target": "b", "source": "literal_json:{bad"}]), "binding.output_mappings[1].source"),
        (json!([{"target": "text", "source": "inputs.a"}, {"target": "text", "source": "inputs.b"}]), json!([]), "binding.input_mappings[1].target"),
    ];
    for (inputs, outputs, field) in cases {
        let err = bind(&daemon, "bad", inputs.clone(), outputs.clone()).await.unwrap_err();
        assert_eq!(code_and_field(&err), (VALIDATION, field.to_string()), "{inputs} {outputs}: {err}");
        // The message counts rows as a person does: the field path's [1] is row 2.
        let index: usize = field.split('[').nth(1).unwrap().split(']').next().unwrap().parse().unwrap();
        assert!(err.to_string().contains(&format!("row {}:", index + 1)), "{field}: {err}");
    }
    let err = daemon
        .client
        .call::<Value>("LogicService.logic_create", json!({"name": "orphan", "binding": {"target": "nowhere"}}))
        .await
        .unwrap_err();
    assert_eq!(code_and_field(&err), (VALIDATION, "binding.target".into()));
    let listed = daemon.call("logic.list", json!({})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_rows_for_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("shout", SHOUT).await;
    let identity = daemon.call("LogicService.logic_binding_identity", json!({"target": "shout"})).await;
    assert_eq!(identity["target"], "shout");
    assert_eq!(
        identity["input_mappings"],
        json!([{"target": "text", "source": "inputs.text"}, {"target": "times", "source": "inputs.times"}])
    );
    assert_eq!(
        identity["output_mappings"],
        json!([{"target": "text", "source": "outputs.text"}, {"target": "items", "source": "outputs.items"}])
    );
}
