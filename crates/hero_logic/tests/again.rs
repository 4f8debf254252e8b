//! Re-run and fork from a step, against a real daemon and real Python runners: a fork takes
//! the recorded results of the steps before the one named (their side effects are not run
//! again) and runs the rest fresh, on the same version or another one.

mod common;

use std::path::Path;

use common::{code_and_field, Daemon, Sharing};
use hero_logic_api::error::{NOT_FOUND, VALIDATION};
use serde_json::{json, Value};

/// One step: appends its tag to the effects file, and returns how many effects there were
/// then, so a replayed result (the recorded count) differs from a fresh one.
const STEP: &str = r#"
from hero_tracing import logic

@logic(name="step", inputs={"tag": "string", "file": "string"}, outputs={"tag": "string", "seen": "integer"})
def step(tag, file):
    with open(file, "a") as f:
        f.write(tag + "\n")
    with open(file) as f:
        seen = len(f.read().splitlines())
    return {"tag": tag, "seen": seen}
"#;

/// Five steps in a row; `prefix` names the tags of steps 3 to 5, so a second version of the
/// logic can change them and keep steps 1 and 2 as they were.
fn five(prefix: &str) -> String {
    format!(
        r#"
from hero_tracing import logic

@logic(name="five", inputs={{"file": "string"}}, outputs={{"steps": "array"}})
def five(file):
    steps = []
    for i in range(5):
        tag = f"s{{i}}" if i < 2 else f"{prefix}{{i}}"
        steps.append(logic.invoke("step", tag=tag, file=file))
    return {{"steps": steps}}
"#
    )
}

/// A daemon whose Plays may write the effects file, with `step` and `five` defined.
async fn setup() -> Sharing {
    let setup = Sharing::start("effects").await;
    setup.daemon.define("step", STEP).await;
    setup.daemon.define("five", &five("s")).await;
    setup
}

fn effects(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_string).collect()
}

async fn children(daemon: &Daemon, root: &Value) -> Vec<Value> {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": root})).await;
    let by_sid: std::collections::HashMap<String, Value> = tree["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sid"].as_str().unwrap().to_string(), p.clone()))
        .collect();
    tree["play"]["sub_play_sids"].as_array().unwrap().iter().map(|sid| by_sid[sid.as_str().unwrap()].clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_runs_the_same_inputs_and_limits_again_as_a_new_play() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    let first = daemon.run("five", json!({"file": file})).await;
    assert_eq!(first["status"], "success", "{first}");
    let again = daemon.call("LogicService.play_rerun", json!({"play_sid": first["sid"]})).await;
    assert_eq!(again["status"], "pending");
    assert_ne!(again["sid"], first["sid"]);
    assert_eq!(again["parent_play_sid"], "");
    for field in ["logic_sid", "logic_version_sid", "input_data"] {
        assert_eq!(again[field], first[field], "{field}");
    }
    let again = daemon.wait(&again["sid"]).await;
    assert_eq!(again["status"], "success", "{again}");
    assert_eq!(effects(&file).len(), 10, "every step ran again");
    assert_eq!(again["output_data"]["steps"][4]["seen"], 10);

    // The stored limits come along: a Play timed out by its own budget times out again.
    daemon.define("slow", "import time\nfrom hero_tracing import logic\n\n@logic(name=\"slow\")\ndef slow():\n    time.sleep(30)\n    return {}\n").await;
    let slow = daemon.run_with(json!({"logic": "slow", "limits": {"wall_clock_ms": 1500}})).await;
    assert_eq!(slow["status"], "timed_out", "{slow}");
    let again = daemon.call("LogicService.play_rerun", json!({"play_sid": slow["sid"]})).await;
    let again = daemon.wait(&again["sid"]).await;
    assert_eq!(again["status"], "timed_out", "the re-run kept the 1.5 s budget: {again}");

    // A step is not a top-level Play: the error names the one to re-run.
    let step = &children(&daemon, &first["sid"]).await[0];
    let err = daemon.call_err("LogicService.play_rerun", json!({"play_sid": step["sid"]})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "play_sid".into()));
    assert!(err.to_string().contains(first["sid"].as_str().unwrap()), "{err}");
    let err = daemon.call_err("LogicService.play_rerun", json!({"play_sid": "zzzzzz"})).await;
    assert_eq!(err.code(), Some(NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_from_the_third_step_replays_two_and_runs_three_fresh() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    let first = daemon.run("five", json!({"file": file})).await;
    assert_eq!(first["status"], "success", "{first}");
    assert_eq!(effects(&file), ["s0", "s1", "s2", "s3", "s4"]);

    let fork = daemon.call("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": 2})).await;
    assert_eq!(fork["status"], "pending");
    let fork = daemon.wait(&fork["sid"]).await;
    assert_eq!(fork["status"], "success", "{fork}");
    // Steps 1 and 2 did not run again (no new effect) and returned what they returned then.
    assert_eq!(effects(&file), ["s0", "s1", "s2", "s3", "s4", "s2", "s3", "s4"]);
    let (old, new) = (&first["output_data"]["steps"], &fork["output_data"]["steps"]);
    assert_eq!(new[0], old[0]);
    assert_eq!(new[1], old[1]);
    assert_eq!(new[2], json!({"tag": "s2", "seen": 6}));
    assert_eq!(new[4], json!({"tag": "s4", "seen": 8}));
    let steps = children(&daemon, &fork["sid"]).await;
    assert_eq!(steps.len(), 5);
    let replayed: Vec<bool> = steps.iter().map(|s| s["replayed"].as_bool().unwrap()).collect();
    assert_eq!(replayed, [true, true, false, false, false]);
    let originals = children(&daemon, &first["sid"]).await;
    assert_eq!(steps[0]["step_key"], originals[0]["step_key"]);
    assert_ne!(steps[0]["sid"], originals[0]["sid"], "the fork has copies of its own");

    // Named by its step key, on a new version whose steps 3 to 5 differ.
    let v2 = daemon.call("LogicService.logic_create_version", json!({"logic": "five", "python_source": five("v2-")})).await;
    let key = &originals[2]["step_key"];
    let forked = daemon
        .call("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": key, "version": "v2"}))
        .await;
    assert_eq!(forked["logic_version_sid"], v2["sid"]);
    let forked = daemon.wait(&forked["sid"]).await;
    assert_eq!(forked["status"], "success", "{forked}");
    assert_eq!(effects(&file)[8..], ["v2-2", "v2-3", "v2-4"]);
    assert_eq!(forked["output_data"]["steps"][1], old[1]);
    assert_eq!(forked["output_data"]["steps"][2]["tag"], "v2-2");

    // From step 0 nothing is replayed; past the last step everything is.
    let all = daemon.call("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": 5})).await;
    let all = daemon.wait(&all["sid"]).await;
    assert_eq!(all["output_data"], first["output_data"], "{all}");
    assert_eq!(effects(&file).len(), 11, "a fork past the last step runs no step");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_refuses_what_it_cannot_do_and_says_why() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    let first = daemon.run("five", json!({"file": file})).await;
    let err = daemon.call_err("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": 9})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "from_step".into()));
    assert!(err.to_string().contains("has 5 steps"), "{err}");
    let err = daemon.call_err("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": "nope:0:00"})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "from_step".into()));
    assert!(err.data().unwrap().hint.contains("step:0:"), "the hint lists the step keys: {err:?}");
    let err = daemon.call_err("LogicService.play_fork", json!({"play_sid": first["sid"], "from_step": 1, "version": "v9"})).await;
    assert_eq!(err.code(), Some(NOT_FOUND), "{err}");
    let step = &children(&daemon, &first["sid"]).await[0];
    let err = daemon.call_err("LogicService.play_fork", json!({"play_sid": step["sid"], "from_step": 0})).await;
    assert_eq!(code_and_field(&err), (VALIDATION, "play_sid".into()));
    assert_eq!(effects(&file).len(), 5, "nothing ran");
}
