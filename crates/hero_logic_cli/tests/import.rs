//! `hero_logic import` end to end: the fixture records of the old OSIS store (every field
//! present, `""` for unset) through the real CLI into a real daemon, then run.
//!
//! Needs `hero_logic_server` built next to `hero_logic` (`cargo build --workspace`).

mod common;

use std::path::{Path, PathBuf};

use common::{describe, stdout, TestDaemon};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osis")
}

fn import_json(daemon: &TestDaemon, path: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let output = daemon.cli(&[&["import", &path.display().to_string(), "--json"], extra].concat());
    let report = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("a JSON report ({e}): {}", describe(&output)));
    (output.status.code(), report)
}

fn sids(report: &Value, list: &str) -> Vec<String> {
    let mut sids: Vec<String> = report[list].as_array().unwrap().iter().map(|i| i["sid"].as_str().unwrap().to_string()).collect();
    sids.sort();
    sids
}

fn item<'r>(report: &'r Value, list: &str, sid: &str) -> &'r Value {
    report[list].as_array().unwrap().iter().find(|i| i["sid"] == sid).unwrap_or_else(|| panic!("{sid} in {list}: {report}"))
}

fn notes(item: &Value) -> String {
    item["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["import", &fixtures().display().to_string(), "--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.contains("would be created: 7\n"), "{text}");
    assert!(text.contains("would be dropped: 1\n  benchmark w005"), "{text}");
    assert!(text.ends_with("dry run: nothing was written\n"), "{text}");
    let found = daemon.call("logic.find", json!({"name": "greeter"}));
    assert!(found["items"].as_array().unwrap().is_empty(), "nothing written: {found}");
}

#[test]
fn old_records_import_with_their_sids_and_run() {
    let daemon = TestDaemon::start();
    let (code, report) = import_json(&daemon, &fixtures(), &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(sids(&report, "created"), ["w001", "w002", "w003", "w004", "w006", "w007", "w008"]);
    assert_eq!(sids(&report, "dropped"), ["w005"]);
    assert!(report["refused"].as_array().unwrap().is_empty(), "{report}");

    // Workflow -> Logic, same sid; its name made valid, its unmapped member reported.
    let logic = daemon.call("logic.get", json!({"sid": "w001"}));
    assert_eq!((logic["name"].clone(), logic["current_version_sid"].clone()), (json!("greeter"), json!("w003")));
    assert_eq!(logic["versions"], json!(["w003", "w002"]));
    assert_eq!(logic["tags"], json!(["demo"]));
    assert_eq!(logic["created_at"], json!(1_700_000_000_000u64), "seconds became milliseconds");
    let workflow_notes = notes(item(&report, "created", "w001"));
    assert!(workflow_notes.contains("\"owner\"") && workflow_notes.contains("\"Greeter\" became \"greeter\""), "{workflow_notes}");

    // The Workflow's fields went to the current version (OSIS "" defaults read as none) ...
    let current = daemon.call("logicversion.get", json!({"sid": "w003"}));
    let names: Vec<&str> = current["inputs"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["name", "greeting", "times"]);
    assert!(current["inputs"][1].get("default").is_none() && current["inputs"][2].get("default").is_none(), "{current}");
    assert_eq!(current["outputs"][0]["field_type"], "any", "field_type \"\" is any");
    // ... the older one took its fields from its own decorator.
    let older = daemon.call("logicversion.get", json!({"sid": "w002"}));
    assert_eq!(older["inputs"][0]["name"], "name");
    assert_eq!(older["version_label"], "v1");

    // Example -> LogicExample with its JSON-text inputs; Benchmark dropped with the reason.
    let example = daemon.call("logicexample.get", json!({"sid": "w004"}));
    assert_eq!((example["logic_sid"].clone(), example["input_values"].clone()), (json!("w001"), json!({"name": "Ada"})));
    assert!(notes(item(&report, "dropped", "w005")).contains("derive from Plays"));

    // Plays: spans flattened; parent_span_id of another Play's span -> that Play is the parent;
    // of its own span -> top level; an unfinished run became a terminal record.
    let parent = daemon.call("play.get", json!({"sid": "w006"}));
    assert_eq!(parent["status"], "success");
    assert_eq!(parent["output_data"], json!({"message": "Hello, Ada!"}));
    assert_eq!(parent["sub_play_sids"], json!(["w007"]));
    assert!(notes(item(&report, "created", "w006")).contains("2 spans flattened"));
    let child = daemon.call("play.get", json!({"sid": "w007"}));
    assert_eq!((child["parent_play_sid"].clone(), child["total_tokens_prompt"].clone()), (json!("w006"), json!(10)));
    let own = daemon.call("play.get", json!({"sid": "w008"}));
    assert_eq!((own["parent_play_sid"].clone(), own["status"].clone()), (json!(""), json!("failed")));
    assert!(own["error_message"].as_str().unwrap().contains("cannot continue"), "{own}");

    // The imported Logic runs, with its imported example.
    let output = daemon.cli(&["run", "greeter", "-i", "name=Ada"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).ends_with("message: Hello, Ada!\n"), "{}", describe(&output));

    // Importing again changes nothing.
    let (code, again) = import_json(&daemon, &fixtures(), &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(again["created"].as_array().unwrap().is_empty() && again["updated"].as_array().unwrap().is_empty(), "{again}");
    assert_eq!(sids(&again, "unchanged"), ["w001", "w002", "w003", "w004", "w006", "w007", "w008"]);
}

#[test]
fn records_that_cannot_be_imported_are_refused_with_the_reason() {
    let daemon = TestDaemon::start();
    let dir = tempfile::tempdir().unwrap();
    let versions = dir.path().join("workflowversion");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(dir.path().join("workflow.json"), r#"{"_type": "workflow", "sid": "x001", "name": "broken", "current_version_sid": "x002"}"#).unwrap();
    std::fs::write(versions.join("x002.json"), r#"{"sid": "x002", "workflow_sid": "x001", "version_label": "v1", "python_source": "def broken(:\n"}"#).unwrap();
    std::fs::write(versions.join("x003.json"), r#"{"sid": "x003", "workflow_sid": "nope", "python_source": "x = 1\n"}"#).unwrap();
    std::fs::write(dir.path().join("mystery.json"), r#"{"sid": "x004", "colour": "red"}"#).unwrap();
    let (code, report) = import_json(&daemon, dir.path(), &[]);
    assert_eq!(code, Some(2), "{report}");
    assert!(notes(item(&report, "refused", "x002")).contains("syntax error at line 1"), "{report}");
    assert!(notes(item(&report, "refused", "x003")).contains("\"nope\" is neither in the import nor in the store"), "{report}");
    assert!(notes(item(&report, "refused", "x004")).contains("_type"), "{report}");
    assert_eq!(sids(&report, "created"), ["x001"], "the Logic itself is fine");
}

fn service_agent_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/service_agent")
}

#[test]
fn a_multi_flow_workflow_is_split_into_logics_and_runs() {
    let daemon = TestDaemon::start_with(&["--no-seed".as_ref()]);
    let (code, report) = import_json(&daemon, &service_agent_fixture(), &[]);
    assert_eq!(code, Some(0), "{report}");
    let created: Vec<&str> = report["created"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    for name in ["service_agent", "fetch_catalog", "select_services", "compile_stubs", "service_code_gen", "script_execution", "debug_feedback", "summarize"] {
        assert!(created.contains(&name), "{name} created: {report}");
    }
    // The parent keeps its sid; its source calls the others by name, the rest byte for byte.
    let parent = daemon.call("logicversion.get", json!({"sid": "0a02"}));
    let source = parent["python_source"].as_str().unwrap();
    assert!(source.contains("flow.invoke(\"select_services\", prompt=prompt, services=services)"), "{source}");
    assert!(!source.contains("def fetch_catalog"), "{source}");
    assert!(source.contains("def _words(text):") && source.contains("MAX_ATTEMPTS = 3"), "{source}");
    assert_eq!(parent["inputs"][0]["name"], "prompt", "the Workflow's inputs are on the parent");

    // Each part runs on its own ...
    let output = daemon.cli(&["run", "select_services", "-i", "prompt=book a calendar slot", "-i", r#"services=["calendar","contacts"]"#, "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // ... and the parent runs them as child Plays: a failing first attempt, feedback, a second.
    let output = daemon.cli(&["run", "service_agent", "-i", "prompt=book a calendar slot", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let play: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(play["output_data"]["summary"], "book a calendar slot -> calendar", "{play}");
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]}));
    let names: Vec<&str> = tree["descendants"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| **n == "service_code_gen").count(), 2, "{names:?}");
    assert!(names.contains(&"debug_feedback"), "{names:?}");

    // Idempotent: importing again creates nothing.
    let (_, again) = import_json(&daemon, &service_agent_fixture(), &[]);
    assert!(again["created"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn split_writes_one_file_per_logic() {
    let daemon = TestDaemon::start_with(&["--no-seed".as_ref()]);
    let record: Value = serde_json::from_str(&std::fs::read_to_string(service_agent_fixture().join("workflowversion/0a02.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.py");
    std::fs::write(&file, record["python_source"].as_str().unwrap()).unwrap();
    let out = dir.path().join("parts");
    let output = daemon.cli(&["split", &file.display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let mut written: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written.len(), 8, "{written:?}");
    assert!(stdout(&output).contains("service_agent.py (entry)"), "{}", describe(&output));
    let summarize = std::fs::read_to_string(out.join("summarize.py")).unwrap();
    assert!(summarize.contains("def summarize(prompt, output):") && !summarize.contains("def service_agent"), "{summarize}");
}
