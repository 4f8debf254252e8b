//! Retries and per-call timeouts against a real daemon and real Python runners: every
//! attempt is a child Play of its own with its number recorded, the wait between attempts is
//! a durable sleep (the daemon may be killed during it), `logic.Failed` is not retried unless
//! asked, and a child past its `timeout_s` is ended `timed_out` while its caller goes on.

mod common;

use std::path::Path;

use common::{Daemon, Sharing};
use serde_json::{json, Value};

/// Appends a line to `file`; fails (a ValueError, or `logic.Failed` when `politely`) until
/// it has been called `succeed_on` times.
const FLAKY: &str = r#"
from hero_tracing import logic

@logic(name="flaky", inputs={"file": "string", "succeed_on": "integer", "politely": "boolean"})
def flaky(file, succeed_on, politely=False):
    with open(file, "a") as f:
        f.write("attempt\n")
    with open(file) as f:
        calls = len(f.read().splitlines())
    if calls < succeed_on:
        if politely:
            raise logic.Failed(f"not yet ({calls})")
        raise ValueError(f"not yet ({calls})")
    return {"calls": calls}
"#;

/// Calls `flaky` with the retry options it is given; a failure that gets through is caught
/// and reported, so the test reads how it ended from the output.
const CALLER: &str = r#"
from hero_tracing import logic

@logic(name="caller", inputs={"file": "string", "succeed_on": "integer", "politely": "boolean",
                              "options": "object"})
def caller(file, succeed_on, options, politely=False):
    if options.pop("retry_on_failed", False):
        options["retry_on"] = [logic.Failed]
    try:
        out = logic.invoke("flaky", file=file, succeed_on=succeed_on, politely=politely, **options)
    except logic.ChildFailed as exc:
        return {"ok": False, "error": exc.message}
    return {"ok": True, "calls": out["calls"]}
"#;

/// A retry policy on a `@logic` function, used by a call of that function.
const DECORATED: &str = r#"
from hero_tracing import logic

@logic(name="bump", retries=2, backoff_s=0)
def bump(file):
    with open(file, "a") as f:
        f.write("bump\n")
    with open(file) as f:
        calls = len(f.read().splitlines())
    if calls < 3:
        raise RuntimeError("too early")
    return {"calls": calls}

@logic(name="decorated", inputs={"file": "string"})
def decorated(file):
    return bump(file=file)
"#;

/// A child that spins in pure Python for `seconds`, then writes "finished"; its caller gives
/// it `timeout_s` and reports whether it caught the timeout.
const TIMEOUTS: &str = r#"
import time
from hero_tracing import logic

@logic(name="spin", inputs={"file": "string", "seconds": "number"})
def spin(file, seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass
    with open(file, "a") as f:
        f.write("finished\n")
    return {"spun": True}

@logic(name="patient", inputs={"file": "string", "seconds": "number", "timeout_s": "number"})
def patient(file, seconds, timeout_s):
    started = time.time()
    try:
        logic.invoke("spin", file=file, seconds=seconds, timeout_s=timeout_s)
    except logic.TimedOut as exc:
        waited = time.time() - started
        # Give an unstopped child the time to finish, so the test would see its line.
        time.sleep(seconds)
        return {"caught": True, "waited": waited, "error": exc.message}
    return {"caught": False}

@logic(name="retried", inputs={"file": "string"})
def retried(file):
    # Two attempts that both run out of time, a durable wait between them; the replays after
    # each wait meet the timed-out attempts again and must raise TimedOut as the first run did.
    try:
        logic.invoke("spin", file=file, seconds=3, timeout_s=0.3, retries=1, backoff_s=0.2)
    except logic.TimedOut as exc:
        logic.sleep(0.2)
        return {"caught": exc.logic_name}
    return {"caught": ""}
"#;

async fn setup() -> Sharing {
    let setup = Sharing::start("calls").await;
    setup.daemon.define("flaky", FLAKY).await;
    setup.daemon.define("caller", CALLER).await;
    setup
}

fn lines(file: &Path) -> usize {
    std::fs::read_to_string(file).unwrap_or_default().lines().count()
}

/// The children of a Play in call order.
async fn children(daemon: &Daemon, root: &Value) -> Vec<Value> {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": root})).await;
    let mut kids: Vec<Value> =
        tree["descendants"].as_array().unwrap().iter().filter(|p| p["parent_play_sid"] == *root).cloned().collect();
    kids.sort_by_key(|p| p["created_at"].as_u64());
    kids
}

fn caller_inputs(file: &Path, succeed_on: u32, options: Value) -> Value {
    json!({"file": file, "succeed_on": succeed_on, "options": options})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_call_makes_one_child_per_attempt_with_growing_durable_waits() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    let options = json!({"retries": 3, "backoff_s": 1, "backoff_factor": 2});
    let play = daemon.call("LogicService.play_start", json!({"logic": "caller", "inputs": caller_inputs(&file, 3, options)})).await;
    let done = daemon.until_ended(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"ok": true, "calls": 3}));
    assert_eq!(lines(&file), 3, "exactly three attempts ran");

    let attempts = children(&daemon, &play["sid"]).await;
    let numbers: Vec<u64> = attempts.iter().map(|p| p["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let statuses: Vec<&str> = attempts.iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "failed", "success"]);
    let keys: std::collections::HashSet<&str> = attempts.iter().map(|p| p["step_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 3, "each attempt is a step of its own: {attempts:?}");
    // The waits, from the recorded times: 1 s after the first failure, 2 s after the second.
    let gap = |i: usize| attempts[i + 1]["started_at"].as_u64().unwrap() - attempts[i]["completed_at"].as_u64().unwrap();
    assert!(gap(0) >= 1000, "first backoff {} ms", gap(0));
    assert!(gap(1) >= 2000, "second backoff {} ms", gap(1));
    println!("backoffs observed: {} ms, {} ms (asked 1000, 2000)", gap(0), gap(1));
    // Each wait was a timer question on the caller, answered by the daemon.
    assert_eq!(done["received_resumes"].as_object().unwrap().len(), 2, "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_run_out_and_logic_failed_is_retried_only_when_asked() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    let exhausted = daemon.run("caller", caller_inputs(&file, 100, json!({"retries": 2}))).await;
    assert_eq!(exhausted["output_data"]["ok"], false, "{exhausted}");
    assert!(exhausted["output_data"]["error"].as_str().unwrap().contains("ValueError: not yet (3)"), "{exhausted}");
    assert_eq!(lines(&file), 3, "one attempt and two retries");

    std::fs::remove_file(&file).unwrap();
    let mut polite = caller_inputs(&file, 2, json!({"retries": 3}));
    polite["politely"] = json!(true);
    let once = daemon.run("caller", polite.clone()).await;
    assert_eq!(once["output_data"]["ok"], false, "{once}");
    assert_eq!(lines(&file), 1, "logic.Failed is not retried by default");

    std::fs::remove_file(&file).unwrap();
    polite["options"] = json!({"retries": 3, "retry_on_failed": true});
    let retried = daemon.run("caller", polite).await;
    assert_eq!(retried["output_data"], json!({"ok": true, "calls": 2}), "{retried}");

    // A policy given to @logic applies to calls of that function.
    std::fs::remove_file(&file).unwrap();
    daemon.define("decorated", DECORATED).await;
    let decorated = daemon.run("decorated", json!({"file": file})).await;
    assert_eq!(decorated["status"], "success", "{decorated}");
    assert_eq!(decorated["output_data"]["calls"], 3);
    let attempts = children(&daemon, &decorated["sid"]).await;
    assert_eq!(attempts.iter().map(|p| p["attempt"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);

    // A bad option fails the call where it is made and says what to write instead.
    let bad = daemon.run("caller", caller_inputs(&file, 1, json!({"retries": -1}))).await;
    assert_eq!(bad["status"], "failed", "{bad}");
    assert!(bad["error_message"].as_str().unwrap().contains("retries must be a whole number >= 0"), "{bad}");
    let bad = daemon.run("caller", caller_inputs(&file, 1, json!({"timeout_s": 0}))).await;
    assert!(bad["error_message"].as_str().unwrap().contains("timeout_s must be > 0"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backoff_survives_a_sigkill_of_the_daemon() {
    let mut setup = setup().await;
    let (daemon, file) = (&mut setup.daemon, setup.file.clone());
    let options = json!({"retries": 2, "backoff_s": 2});
    let play = daemon.call("LogicService.play_start", json!({"logic": "caller", "inputs": caller_inputs(&file, 2, options)})).await;
    let waiting = daemon.call("LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 30000})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "the caller waits out its backoff: {waiting}");
    assert_eq!(waiting["pending_resumes"][0]["ui"]["kind"], "timer", "{waiting}");
    assert_eq!(lines(&file), 1);
    daemon.kill9();

    let daemon = setup.restart().await;
    let done = daemon.until_ended(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"ok": true, "calls": 2}));
    assert_eq!(lines(&file), 2, "the first attempt was not run again after the restart");
    let attempts = children(&daemon, &play["sid"]).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let gap = attempts[1]["started_at"].as_u64().unwrap() - attempts[0]["completed_at"].as_u64().unwrap();
    assert!(gap >= 2000, "the backoff was kept across the restart: {gap} ms");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_child_past_its_timeout_is_timed_out_and_the_caller_catches_it() {
    let Sharing { daemon, file, dir: _dir } = setup().await;
    daemon.define("spin", TIMEOUTS).await;
    daemon.define("patient", TIMEOUTS).await;
    let play = daemon.run("patient", json!({"file": file, "seconds": 3, "timeout_s": 0.5})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["caught"], true, "{play}");
    let waited = play["output_data"]["waited"].as_f64().unwrap();
    assert!((0.5..2.5).contains(&waited), "the caller got TimedOut at the deadline, not at the child's end: {waited}");
    assert!(play["output_data"]["error"].as_str().unwrap().contains("timed out after 0.5 s"), "{play}");
    let kids = children(&daemon, &play["sid"]).await;
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0]["status"], "timed_out", "{:?}", kids[0]);
    assert_eq!(lines(&file), 0, "the spinning child was stopped, it never wrote its line");

    // Retried after a timeout, across replays (each wait ends the process).
    let retried = daemon.define("retried", TIMEOUTS).await;
    assert!(retried["sid"].is_string());
    let play = daemon.run("retried", json!({"file": file})).await;
    let play = daemon.until_ended(&play["sid"]).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["caught"], "spin", "{play}");
    let kids = children(&daemon, &play["sid"]).await;
    let seen: Vec<(u64, &str)> = kids.iter().map(|k| (k["attempt"].as_u64().unwrap(), k["status"].as_str().unwrap())).collect();
    assert_eq!(seen, [(1, "timed_out"), (2, "timed_out")]);
    assert_eq!(lines(&file), 0);

    // Within its time the child's result comes back as usual.
    let quick = daemon.run("patient", json!({"file": file, "seconds": 0.1, "timeout_s": 20})).await;
    assert_eq!(quick["output_data"]["caught"], false, "{quick}");
    assert_eq!(lines(&file), 1);
}

/// A stored Logic with a retry policy on its decorator, and a caller that calls it by name,
/// with the options it is given (none: the callee's policy applies).
const STURDY: &str = r#"
from hero_tracing import logic

@logic(name="sturdy", inputs={"file": "string"}, retries=2, backoff_s=0.3, retry_on=[ValueError])
def sturdy(file):
    with open(file, "a") as f:
        f.write("sturdy\n")
    with open(file) as f:
        calls = len(f.read().splitlines())
    if calls < 3:
        raise ValueError(f"not yet ({calls})")
    return {"calls": calls}
"#;

const BY_NAME: &str = r#"
from hero_tracing import logic

@logic(name="by_name", inputs={"file": "string", "options": "object"})
def by_name(file, options):
    try:
        out = logic.invoke("sturdy", file=file, **options)
    except logic.ChildFailed as exc:
        return {"ok": False, "error": exc.message}
    return {"ok": True, "calls": out["calls"]}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_call_by_name_follows_the_callees_decorator_policy_unless_it_gives_its_own() {
    let Sharing { daemon, file, dir: _dir } = Sharing::start("calls").await;
    daemon.define("sturdy", STURDY).await;
    daemon.define("by_name", BY_NAME).await;
    let done = daemon.run("by_name", json!({"file": file, "options": {}})).await;
    let done = daemon.until_ended(&done["sid"]).await;
    assert_eq!(done["output_data"], json!({"ok": true, "calls": 3}), "{done}");
    assert_eq!(lines(&file), 3, "each attempt ran once, also across the replays after each backoff");
    let attempts = children(&daemon, &done["sid"]).await;
    assert_eq!(attempts.iter().map(|p| p["attempt"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(done["received_resumes"].as_object().unwrap().len(), 2, "two durable backoffs: {done}");

    // The call's own options win: retries=0 is one attempt, a plain call.
    std::fs::remove_file(&file).unwrap();
    let once = daemon.run("by_name", json!({"file": file, "options": {"retries": 0}})).await;
    assert_eq!(once["output_data"]["ok"], false, "{once}");
    assert_eq!(lines(&file), 1);
    let attempts = children(&daemon, &once["sid"]).await;
    assert_eq!(attempts.iter().map(|p| p["attempt"].as_u64().unwrap()).collect::<Vec<_>>(), [0]);
}
