//! `hero_logic rerun` and `hero_logic fork` end to end, against a real daemon with real
//! Python runners.
//!
//! Needs `hero_logic_server` built next to `hero_logic` (`cargo build --workspace`).

mod common;

use common::{describe, stderr, stdout, TestDaemon};
use serde_json::{json, Value};

const DOUBLE: &str = r#"from hero_tracing import logic


@logic(name="double", inputs={"n": "integer"}, outputs={"n": "integer"})
def double(n):
    return {"n": n * 2}
"#;

const THREE: &str = r#"from hero_tracing import logic


@logic(name="three", inputs={"n": "integer"}, outputs={"total": "integer"})
def three(n):
    return {"total": sum(logic.invoke("double", n=n + i)["n"] for i in range(3))}
"#;

fn daemon_with_three() -> TestDaemon {
    let daemon = TestDaemon::start_with(&["--no-seed".as_ref()]);
    daemon.define("double", DOUBLE);
    daemon.define("three", THREE);
    daemon
}

fn play_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// Whether each step of the top-level Play took a recorded result, in call order.
fn replayed(daemon: &TestDaemon, sid: &str) -> Vec<bool> {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": sid}));
    let steps = tree["descendants"].as_array().unwrap();
    tree["play"]["sub_play_sids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sid| steps.iter().find(|s| &s["sid"] == sid).unwrap()["replayed"].as_bool().unwrap())
        .collect()
}

#[test]
fn rerun_and_fork_start_new_plays_and_report_them() {
    let daemon = daemon_with_three();
    let first = daemon.cli(&["run", "three", "-i", "n=1", "--json"]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let first = play_of(&first);
    let sid = first["sid"].as_str().unwrap();
    assert_eq!(first["output_data"]["total"], 12);

    // Without --wait: the new Play's sid on stdout.
    let queued = daemon.cli(&["rerun", sid]);
    assert_eq!(queued.status.code(), Some(0), "{}", describe(&queued));
    let new_sid = stdout(&queued).trim().to_string();
    assert_ne!(new_sid, sid);
    assert!(stderr(&queued).contains("re-run of"), "{}", describe(&queued));

    let again = daemon.cli(&["rerun", sid, "--wait", "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    let again = play_of(&again);
    assert_eq!((again["status"].clone(), again["input_data"].clone()), (json!("success"), first["input_data"].clone()));
    assert_eq!(replayed(&daemon, again["sid"].as_str().unwrap()), [false, false, false]);

    let fork = daemon.cli(&["fork", sid, "--from", "2", "--wait"]);
    assert_eq!(fork.status.code(), Some(0), "{}", describe(&fork));
    assert!(stdout(&fork).contains("12"), "the output is reported as `run` does: {}", describe(&fork));
    let forks = daemon.call("LogicService.play_list_for_logic", json!({"logic": "three", "limit": 1}));
    let fork_sid = forks["items"][0]["sid"].as_str().unwrap();
    assert_eq!(replayed(&daemon, fork_sid), [true, true, false]);

    // A step that does not exist: the caller's mistake (exit 2), saying how many there are.
    let bad = daemon.cli(&["fork", sid, "--from", "7"]);
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    assert!(stderr(&bad).contains("has 3 steps"), "{}", describe(&bad));
}
