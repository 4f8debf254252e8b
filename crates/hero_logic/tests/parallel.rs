//! Parallel child Plays against a real daemon and real Python runners: fan-out from
//! `logic.map`, threads and asyncio that pauses in one branch and replays deterministically.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Daemon;
use serde_json::{json, Value};

/// A child that records every time it really runs, by appending its tag to a file; it asks
/// first when told to, so an asking branch records its tag only once answered.
const COUNTED: &str = r#"
import time
from hero_tracing import logic, ask_user

@logic(name="counted", inputs={"tag": "string", "file": "string", "ask": "boolean", "nap": "number",
                               "fail": "boolean"}, outputs={"tag": "string"})
def counted(tag, file, ask=False, nap=0.0, fail=False):
    if ask:
        if not ask_user.confirm(f"go on with {tag}?"):
            raise logic.Failed(f"{tag} was refused")
    time.sleep(nap)
    with open(file, "a") as f:
        f.write(tag + "\n")
    if fail:
        raise logic.Failed(f"branch {tag} failed")
    return {"tag": tag}
"#;

/// A daemon with `counted` and the logic `name` defined, and the path of the effects file.
async fn with_counted(dir: &Path, name: &str, source: &str) -> (Daemon, std::path::PathBuf) {
    let daemon = sharing_daemon(dir).await;
    daemon.define("counted", COUNTED).await;
    daemon.define(name, source).await;
    (daemon, shared(dir).join("effects"))
}

/// The directory beside the data dir where the tests' Plays write their side effects
/// (granted by `[sandbox] shared_dirs`; the sandbox hides everything else).
fn shared(dir: &Path) -> std::path::PathBuf {
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    shared
}

async fn sharing_daemon(dir: &Path) -> Daemon {
    Daemon::start_sharing(&dir.join("data"), &shared(dir)).await
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_string).collect()
}

fn path(file: &Path) -> &str {
    file.to_str().unwrap()
}

async fn tree(daemon: &Daemon, root: &Value) -> (Value, Vec<Value>) {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": root})).await;
    (tree["play"].clone(), tree["descendants"].as_array().unwrap().clone())
}

/// The Play of the tree that waits for a person, and its question's id.
async fn asker(daemon: &Daemon, root: &Value) -> (Value, Value) {
    let (play, descendants) = tree(daemon, root).await;
    let asker = std::iter::once(play)
        .chain(descendants)
        .find(|p| !p["pending_resumes"].as_array().unwrap().is_empty())
        .expect("a Play of the tree waits for an answer");
    let id = asker["pending_resumes"][0]["id"].clone();
    (asker, id)
}

async fn answer(daemon: &Daemon, play_sid: &Value, resume_id: &Value, payload: Value) {
    daemon.call("LogicService.play_resume", json!({"play_sid": play_sid, "resume_id": resume_id, "payload": payload})).await;
}

/// Waits until the effects file has `n` lines: the branches that run on after a question.
async fn until_lines(file: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines(file).len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} effects: {:?}", lines(file).len(), lines(file));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until no Play of the tree is `running`: the run has settled (ended or waits).
async fn settled(daemon: &Daemon, root: &Value) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, descendants) = tree(daemon, root).await;
        if descendants.iter().all(|d| d["status"] != "running") {
            return descendants;
        }
        assert!(Instant::now() < deadline, "children still running: {descendants:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const PAR_FAN: &str = r#"
from concurrent.futures import ThreadPoolExecutor
from hero_tracing import logic, ask_user

@logic(name="par_fan", inputs={"n": "integer", "file": "string"}, outputs={"r": "array"})
def par_fan(n, file):
    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(logic.invoke, "counted", tag=f"P{i}", file=file) for i in range(n)]
        r = [f.result()["tag"] for f in futs]
    ask_user.confirm("go?")
    return {"r": r}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_issue_repro_threads_then_a_question_resumes_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "par_fan", PAR_FAN).await;
    let waiting = daemon.run("par_fan", json!({"n": 6, "file": path(&file)})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    let (_, children) = tree(&daemon, &waiting["sid"]).await;
    assert_eq!(children.len(), 6);
    assert!(children.iter().all(|c| c["step_key"].as_str().unwrap().starts_with("counted:~0:")), "{children:?}");
    let (asker, id) = asker(&daemon, &waiting["sid"]).await;
    answer(&daemon, &asker["sid"], &id, json!(true)).await;
    let done = daemon.wait(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["r"], json!(["P0", "P1", "P2", "P3", "P4", "P5"]));
    let mut effects = lines(&file);
    effects.sort();
    assert_eq!(effects, ["P0", "P1", "P2", "P3", "P4", "P5"], "no child ran twice");
    let (_, children) = tree(&daemon, &waiting["sid"]).await;
    assert_eq!(children.len(), 6, "the replay made no new children");
    assert!(children.iter().all(|c| c["replayed"] == json!(true)));
}

const FAN_50: &str = r#"
from hero_tracing import logic

@logic(name="fan50", inputs={"file": "string"}, outputs={"tags": "array"})
def fan50(file):
    calls = [{"tag": f"b{i}", "file": file, "ask": i == 17, "nap": 0.002 * (50 - i)} for i in range(50)]
    return {"tags": [out["tag"] for out in logic.map("counted", calls)]}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_of_50_with_a_question_in_branch_17_replays_the_other_49() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "fan50", FAN_50).await;
    let waiting = daemon.run("fan50", json!({"file": path(&file)})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");

    // The other branches run on to their end after the question; their results are recorded.
    until_lines(&file, 49).await;
    let children = settled(&daemon, &waiting["sid"]).await;
    assert_eq!(children.len(), 50);
    let statuses: Vec<&str> = children.iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "success").count(), 49, "{statuses:?}");
    let (asker, id) = asker(&daemon, &waiting["sid"]).await;
    assert_eq!(asker["input_data"]["tag"], "b17");
    assert_eq!(asker["status"], "awaiting_resume");

    // Siblings in call order, whatever order they finished in (later ones nap less).
    let root = daemon.call("LogicService.play_status", json!({"play_sid": waiting["sid"]})).await;
    let by_sid: std::collections::HashMap<&str, &Value> = children.iter().map(|c| (c["sid"].as_str().unwrap(), c)).collect();
    let order: Vec<String> = root["sub_play_sids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sid| by_sid[sid.as_str().unwrap()]["input_data"]["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, (0..50).map(|i| format!("b{i}")).collect::<Vec<_>>());
    for (i, sid) in root["sub_play_sids"].as_array().unwrap().iter().enumerate() {
        let key = by_sid[sid.as_str().unwrap()]["step_key"].as_str().unwrap();
        assert!(key.starts_with(&format!("counted:{i}:")), "{key}");
    }

    answer(&daemon, &asker["sid"], &id, json!(true)).await;
    let done = daemon.wait(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    let expected: Vec<String> = (0..50).map(|i| format!("b{i}")).collect();
    assert_eq!(done["output_data"]["tags"], json!(expected));
    let mut effects = lines(&file);
    effects.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(effects, sorted, "every branch ran exactly once across the run and its replay");
    let (_, children) = tree(&daemon, &waiting["sid"]).await;
    assert_eq!(children.len(), 50);
    let replayed: Vec<&str> =
        children.iter().filter(|c| c["replayed"] == json!(true)).map(|c| c["input_data"]["tag"].as_str().unwrap()).collect();
    assert_eq!(replayed.len(), 49, "{replayed:?}");
    assert!(!replayed.contains(&"b17"), "the asking branch continued instead of replaying");
}

const ASYNC_NEST: &str = r#"
import asyncio
from hero_tracing import logic, ask_user

@logic(name="a_leaf", inputs={"x": "integer", "file": "string"})
async def a_leaf(x, file):
    await asyncio.sleep(0.05)
    if x == 2:
        ask_user.confirm("leaf 2 may go on?")
    with open(file, "a") as f:
        f.write(f"leaf{x}\n")
    return {"x": x, "loop": id(asyncio.get_running_loop())}

@logic(name="a_mid", inputs={"x": "integer", "file": "string"})
async def a_mid(x, file):
    inner = await a_leaf(x=x, file=file)
    return {"x": inner["x"] * 10, "same_loop": inner["loop"] == id(asyncio.get_running_loop())}

@logic(name="a_top", inputs={"file": "string"})
async def a_top(file):
    results = await asyncio.gather(*(logic.ainvoke("a_mid", x=x, file=file) for x in range(4)))
    return {"xs": [r["x"] for r in results], "same_loop": all(r["same_loop"] for r in results)}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn nested_async_logics_share_a_loop_pause_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = sharing_daemon(dir.path()).await;
    for name in ["a_leaf", "a_mid", "a_top"] {
        daemon.define(name, ASYNC_NEST).await;
    }
    let file = shared(dir.path()).join("effects");
    let waiting = daemon.run("a_top", json!({"file": path(&file)})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    // The question blocks the loop the branches share: those not done yet wait with it.
    settled(&daemon, &waiting["sid"]).await;
    let (asker, id) = asker(&daemon, &waiting["sid"]).await;
    assert_eq!(asker["input_data"]["x"], 2);
    answer(&daemon, &asker["sid"], &id, json!(true)).await;
    let done = daemon.wait(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"xs": [0, 10, 20, 30], "same_loop": true}));
    let mut effects = lines(&file);
    effects.sort();
    assert_eq!(effects, ["leaf0", "leaf1", "leaf2", "leaf3"]);
    let (_, plays) = tree(&daemon, &waiting["sid"]).await;
    assert_eq!(plays.iter().filter(|p| p["name"] == "a_mid").count(), 4);
    assert_eq!(plays.iter().filter(|p| p["name"] == "a_leaf").count(), 4);
}

const THREADS_AND_PAUSE: &str = r#"
import threading
from hero_tracing import logic, ask_user

@logic(name="mixed", inputs={"file": "string"}, outputs={"tags": "array", "ok": "boolean"})
def mixed(file):
    tags = {}
    def branch(i):
        tags[i] = logic.invoke("counted", tag=f"t{i}", file=file, ask=(i == 1), nap=0.1)["tag"]
    threads = [threading.Thread(target=branch, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    ok = ask_user.confirm("the body asks too")
    for t in threads:
        t.join()
    return {"tags": [tags[i] for i in range(3)], "ok": ok}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn threads_and_two_questions_finish_their_branches_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "mixed", THREADS_AND_PAUSE).await;
    let root = daemon.run("mixed", json!({"file": path(&file)})).await;
    assert_eq!(root["status"], "awaiting_resume", "{root}");
    until_lines(&file, 2).await;
    settled(&daemon, &root["sid"]).await;
    for _ in 0..2 {
        let (asker, id) = asker(&daemon, &root["sid"]).await;
        answer(&daemon, &asker["sid"], &id, json!(true)).await;
        let now = daemon.wait(&root["sid"]).await;
        if now["status"] == "success" {
            break;
        }
        assert_eq!(now["status"], "awaiting_resume", "{now}");
        settled(&daemon, &root["sid"]).await;
    }
    let done = daemon.wait(&root["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"tags": ["t0", "t1", "t2"], "ok": true}));
    let mut effects = lines(&file);
    effects.sort();
    assert_eq!(effects, ["t0", "t1", "t2"], "no branch ran twice");
}

const ONE_FAILS: &str = r#"
from hero_tracing import logic, ChildFailed

@logic(name="one_fails", inputs={"file": "string", "catch": "boolean"})
def one_fails(file, catch):
    calls = [{"tag": f"f{i}", "file": file, "fail": i in (1, 3), "nap": 0.3 if i == 1 else 0.0} for i in range(5)]
    if not catch:
        return {"out": logic.map("counted", calls)}
    try:
        logic.map("counted", calls)
    except ChildFailed as exc:
        return {"caught": exc.message}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_branch_lets_the_others_finish_and_the_first_failure_in_call_order_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "one_fails", ONE_FAILS).await;
    let caught = daemon.run("one_fails", json!({"file": path(&file), "catch": true})).await;
    assert_eq!(caught["status"], "success", "{caught}");
    assert_eq!(caught["output_data"]["caught"], "branch f1 failed", "the first in call order, though f3 failed first");
    let (_, children) = tree(&daemon, &caught["sid"]).await;
    let mut statuses: Vec<(String, String)> = children
        .iter()
        .map(|c| (c["input_data"]["tag"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
        .collect();
    statuses.sort();
    let expected: Vec<(String, String)> = [("f0", "success"), ("f1", "failed"), ("f2", "success"), ("f3", "failed"), ("f4", "success")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(statuses, expected);
    assert_eq!(lines(&file).len(), 5, "every branch ran to its end");

    let file = shared(dir.path()).join("uncaught");
    let failed = daemon.run("one_fails", json!({"file": path(&file), "catch": false})).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error_message"].as_str().unwrap().contains("branch f1 failed"), "{failed}");
    assert_eq!(lines(&file).len(), 5);
}

const SPAWNED: &str = r#"
from hero_tracing import logic

@logic(name="spawned", inputs={"file": "string"})
def spawned(file):
    first = logic.invoke("counted", tag="seq0", file=file)
    handles = [logic.spawn("counted", tag=f"s{i}", file=file, nap=0.05 * (4 - i)) for i in range(4)]
    spawned = [h.result()["tag"] for h in handles]
    last = logic.invoke("counted", tag="seq5", file=file)
    return {"tags": [first["tag"]] + spawned + [last["tag"]]}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn spawned_siblings_keep_call_order_in_sub_play_sids_and_step_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "spawned", SPAWNED).await;
    let done = daemon.run("spawned", json!({"file": path(&file)})).await;
    assert_eq!(done["status"], "success", "{done}");
    let tags = ["seq0", "s0", "s1", "s2", "s3", "seq5"];
    assert_eq!(done["output_data"]["tags"], json!(tags));
    let (root, children) = tree(&daemon, &done["sid"]).await;
    let by_sid: std::collections::HashMap<&str, &Value> = children.iter().map(|c| (c["sid"].as_str().unwrap(), c)).collect();
    let in_order: Vec<(&str, &str)> = root["sub_play_sids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sid| {
            let child = by_sid[sid.as_str().unwrap()];
            (child["input_data"]["tag"].as_str().unwrap(), child["step_key"].as_str().unwrap())
        })
        .collect();
    for (i, (tag, key)) in in_order.iter().enumerate() {
        assert_eq!(*tag, tags[i]);
        assert!(key.starts_with(&format!("counted:{i}:")), "{key}");
    }
    // The spawned ones overlapped: the last one called ended first.
    assert_eq!(lines(&file), ["seq0", "s3", "s2", "s1", "s0", "seq5"]);
}

const DIVERGES: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="diverges", inputs={"file": "string", "flag": "string"})
def diverges(file, flag):
    word = open(flag).read().strip()
    logic.map("counted", [{"tag": f"{word}{i}", "file": file} for i in range(3)])
    ask_user.confirm("go on?")
    return {}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_that_changes_its_calls_on_replay_fails_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, file) = with_counted(dir.path(), "diverges", DIVERGES).await;
    let flag = shared(dir.path()).join("flag");
    std::fs::write(&flag, "first").unwrap();
    let waiting = daemon.run("diverges", json!({"file": path(&file), "flag": path(&flag)})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    std::fs::write(&flag, "second").unwrap();
    let (asker, id) = asker(&daemon, &waiting["sid"]).await;
    answer(&daemon, &asker["sid"], &id, json!(true)).await;
    let done = daemon.wait(&waiting["sid"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["error_message"].as_str().unwrap();
    assert!(message.contains("non-deterministic replay") && message.contains("step 0"), "{message}");
    let mut effects = lines(&file);
    effects.sort();
    assert_eq!(effects, ["first0", "first1", "first2"], "the changed calls did not run");
}
