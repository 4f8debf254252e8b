//! Durable sleep against a real daemon and real Python runners: a sleeping Play waits with
//! no process held, is woken by the daemon on time (also after a restart), early by
//! `play_resume`, and can be cancelled.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;
use serde_json::{json, Value};

const NAP: &str = r#"
from hero_tracing import logic

@logic(name="nap", inputs={"seconds": "number"}, outputs={"slept": "boolean"})
def nap(seconds):
    logic.sleep(seconds)
    return {"slept": True}
"#;

const UNTIL: &str = r#"
from hero_tracing import logic

@logic(name="until", inputs={"at": "integer"}, outputs={"done": "boolean"})
def until(at):
    logic.sleep_until(at)
    return {"done": True}
"#;

async fn napping(daemon: &Daemon, seconds: f64) -> Value {
    let play = daemon.call("LogicService.play_start", json!({"logic": "nap", "inputs": {"seconds": seconds}})).await;
    let waiting = daemon.call("LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 30000})).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    waiting
}

/// The sleep's question: kind `timer`, with the time it is due.
fn timer(play: &Value) -> (Value, u64) {
    let request = &play["pending_resumes"][0];
    assert_eq!(request["ui"]["kind"], "timer", "{play}");
    (request["id"].clone(), request["ui"]["wake_at"].as_u64().expect("a wake_at"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sleeping_play_holds_no_process_and_wakes_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", NAP).await;
    let waiting = napping(&daemon, 3.0).await;
    let (_, wake_at) = timer(&waiting);
    // The runner that asked exits right after the question is written; then none is held.
    let deadline = Instant::now() + Duration::from_secs(2);
    while daemon.call("LogicService.engine_info", json!({})).await["running"] != 0 {
        assert!(Instant::now() < deadline, "a runner is still held while the Play sleeps");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let still = daemon.call("LogicService.play_status", json!({"play_sid": waiting["sid"]})).await;
    assert_eq!(still["status"], "awaiting_resume", "it sleeps on with no process: {still}");
    let done = daemon.until_ended(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["slept"], true);
    assert!(done["completed_at"].as_u64().unwrap() >= wake_at, "woken before it was due: {done}");
    let asked_at = done["received_resumes"].as_object().map(|r| r.len());
    assert_eq!(asked_at, Some(1), "the wake-up is recorded as the sleep's answer: {done}");

    daemon.define("until", UNTIL).await;
    let at = done["completed_at"].as_u64().unwrap() + 1000;
    let play = daemon.run("until", json!({"at": at})).await;
    assert_eq!(timer(&play).1, at);
    let done = daemon.until_ended(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sleep_survives_a_daemon_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", NAP).await;
    let waiting = napping(&daemon, 2.0).await;
    let (_, wake_at) = timer(&waiting);
    daemon.kill9();
    let daemon = Daemon::start(dir.path()).await;
    let done = daemon.until_ended(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert!(done["completed_at"].as_u64().unwrap() >= wake_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sleep_can_be_woken_early_or_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", NAP).await;
    let waiting = napping(&daemon, 600.0).await;
    let (id, _) = timer(&waiting);
    daemon.call("LogicService.play_resume", json!({"play_sid": waiting["sid"], "resume_id": id, "payload": null})).await;
    let done = daemon.until_ended(&waiting["sid"]).await;
    assert_eq!(done["status"], "success", "woken long before its 600 s: {done}");

    let waiting = napping(&daemon, 600.0).await;
    let cancelled = daemon.call("LogicService.play_cancel", json!({"play_sid": waiting["sid"]})).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    // A sleep of a bad amount fails where it was called.
    let play = daemon.run("nap", json!({"seconds": -1})).await;
    assert_eq!(play["status"], "failed", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("finite number >= 0"), "{play}");
}
