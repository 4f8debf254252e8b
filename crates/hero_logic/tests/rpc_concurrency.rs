//! Many clients at once against a real daemon: every one gets a JSON-RPC answer. Over the
//! server's in-flight limit requests wait their turn; none gets a dropped connection or a
//! bare HTTP status.

mod common;

use std::sync::Arc;

use common::Daemon;
use hero_logic_api::error::BUSY;
use hero_logic_api::{ClientError, RpcClient};
use serde_json::{json, Value};
use tokio::sync::Barrier;

const CLIENTS: usize = 200;

const NAP: &str = r#"import time
from hero_tracing import logic

@logic(name="nap", inputs={"ms": "integer"}, outputs={"slept": "integer"})
def nap(ms):
    time.sleep(ms / 1000)
    return {"slept": ms}
"#;

/// Runs `CLIENTS` calls released together, each on its own connection; returns each answer.
async fn all_at_once(socket: &std::path::Path, call: impl Fn(usize) -> (&'static str, Value)) -> Vec<Result<Value, ClientError>> {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (method, params) = call(i);
            let client = RpcClient::new(socket);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                client.call::<Value>(method, params).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("client task"));
    }
    answers
}

/// Every answer is a JSON-RPC result (a BUSY error would also be an answer, but the queue is
/// long enough that none is expected at this size).
fn assert_all_answered(what: &str, answers: &[Result<Value, ClientError>]) {
    let failed: Vec<String> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, answer)| match answer {
            Ok(_) => None,
            Err(ClientError::Rpc { code: BUSY, .. }) => Some(format!("client {i}: BUSY although the queue has room")),
            Err(err) => Some(format!("client {i}: {err}")),
        })
        .collect();
    assert!(failed.is_empty(), "{what}: {} of {CLIENTS} clients got no answer:\n{}", failed.len(), failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_clients_each_get_a_json_rpc_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", NAP).await;

    let started = all_at_once(&daemon.socket, |i| ("LogicService.play_start", json!({"logic": "nap", "inputs": {"ms": i % 3}}))).await;
    assert_all_answered("play_start", &started);
    let mut sids: Vec<&str> = started.iter().filter_map(|a| a.as_ref().ok()?["sid"].as_str()).collect();
    sids.sort_unstable();
    sids.dedup();
    assert_eq!(sids.len(), CLIENTS, "each client started its own Play");

    // 200 calls that all stay in flight together (each waits for a Play that naps), so the
    // server holds far more than its former limit of 100 at once.
    let slow = daemon.call("LogicService.play_start", json!({"logic": "nap", "inputs": {"ms": 1500}})).await;
    let slow_sid = slow["sid"].clone();
    let waited = all_at_once(&daemon.socket, |_| ("LogicService.play_wait", json!({"play_sid": slow_sid, "timeout_ms": 30_000}))).await;
    assert_all_answered("play_wait", &waited);
    for answer in &waited {
        let play = answer.as_ref().expect("answered");
        assert_eq!(play["status"], "success", "{play}");
    }
}
