//! The examples of the JSON-RPC 2.0 specification's section 7, against a real daemon on its
//! real socket. The specification's `subtract`/`sum`/`update` become methods this daemon serves;
//! what each example checks (the shape of the answer, or no answer at all) is kept.

mod common;

use std::path::Path;

use common::Daemon;
use hero_logic_api::error::{INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::UnixStream;

/// Posts `body` as it is and returns the HTTP status and the body.
async fn post(socket: &Path, body: &str) -> (u16, Vec<u8>) {
    let stream = UnixStream::connect(socket).await.expect("the daemon's socket accepts");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post("/")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn post_json(daemon: &Daemon, body: &str) -> Value {
    let (status, bytes) = post(&daemon.socket, body).await;
    assert_eq!(status, 200, "{body} -> {}", String::from_utf8_lossy(&bytes));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{body} -> not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// The specification: "The Server MUST NOT reply to a Notification". Over HTTP: 204, no body.
async fn assert_no_answer(daemon: &Daemon, body: &str) {
    let (status, bytes) = post(&daemon.socket, body).await;
    assert_eq!((status, String::from_utf8_lossy(&bytes).to_string()), (204, String::new()), "{body}");
}

fn error_code(answer: &Value) -> i32 {
    answer["error"]["code"].as_i64().unwrap_or_else(|| panic!("no error code in {answer}")) as i32
}

async fn logic_named(daemon: &Daemon, name: &str) -> Option<Value> {
    daemon.call("logic.find", json!({"name": name})).await["items"].as_array().unwrap().first().cloned()
}

async fn started() -> (tempfile::TempDir, Daemon, String) {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let sid = daemon.call("logic.set", json!({"object": {"name": "existing"}})).await["sid"].as_str().unwrap().to_string();
    (dir, daemon, sid)
}

#[tokio::test(flavor = "multi_thread")]
async fn call_with_positional_params_is_refused_with_a_clear_message() {
    let (_dir, daemon, sid) = started().await;
    let answer = post_json(&daemon, &format!(r#"{{"jsonrpc": "2.0", "method": "logic.get", "params": ["{sid}"], "id": 1}}"#)).await;
    assert_eq!(error_code(&answer), INVALID_PARAMS, "params are by name on this daemon (README)");
    assert!(answer["error"]["message"].as_str().unwrap().contains("not a list"), "{answer}");
    assert_eq!(answer["id"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn call_with_named_params_answers_with_the_same_id() {
    let (_dir, daemon, sid) = started().await;
    let answer = post_json(&daemon, &format!(r#"{{"jsonrpc": "2.0", "method": "logic.get", "params": {{"sid": "{sid}"}}, "id": 3}}"#)).await;
    assert_eq!((answer["jsonrpc"].clone(), answer["result"]["name"].clone(), answer["id"].clone()), (json!("2.0"), json!("existing"), json!(3)));
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "logic.list", "params": {"limit": 1}, "id": 4}"#).await;
    assert_eq!(answer["id"], 4);
    assert_eq!(answer["result"]["items"][0]["sid"], json!(sid));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_is_executed_and_not_answered() {
    let (_dir, daemon, _) = started().await;
    assert_no_answer(&daemon, r#"{"jsonrpc": "2.0", "method": "logic.set", "params": {"object": {"name": "notified"}}}"#).await;
    assert!(logic_named(&daemon, "notified").await.is_some(), "the notification ran");
    // A notification of an unknown method is not answered either (the specification's `foobar`).
    assert_no_answer(&daemon, r#"{"jsonrpc": "2.0", "method": "foobar"}"#).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_existent_method_is_method_not_found() {
    let (_dir, daemon, _) = started().await;
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#).await;
    assert_eq!((error_code(&answer), answer["id"].clone()), (METHOD_NOT_FOUND, json!("1")));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_json_is_a_parse_error() {
    let (_dir, daemon, _) = started().await;
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#).await;
    assert_eq!((error_code(&answer), answer["id"].clone()), (PARSE_ERROR, Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_json_that_is_not_a_request_is_invalid_request() {
    let (_dir, daemon, _) = started().await;
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#).await;
    assert_eq!((error_code(&answer), answer["id"].clone()), (INVALID_REQUEST, Value::Null));
    assert_eq!(answer["error"]["data"]["field"], "method", "{answer}");
    for body in [r#""just a string""#, "42", r#"{"foo": "boo"}"#, r#"{"method": "logic.list", "id": 1}"#] {
        assert_eq!(error_code(&post_json(&daemon, body).await), INVALID_REQUEST, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn params_that_are_not_structured_are_invalid_request() {
    let (_dir, daemon, _) = started().await;
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "logic.list", "params": "bar", "id": 7}"#).await;
    assert_eq!((error_code(&answer), answer["id"].clone()), (INVALID_REQUEST, json!(7)));
    assert_eq!(answer["error"]["data"]["field"], "params");
    // Without an id it is not a notification but an invalid Request (the specification's
    // `"method": 1` example has no id either): answered, and nothing runs.
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "logic.set", "params": "bar"}"#).await;
    assert_eq!((error_code(&answer), answer["id"].clone()), (INVALID_REQUEST, Value::Null));
    assert_eq!(daemon.call("logic.list", json!({})).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_invalid_json_is_one_parse_error() {
    let (_dir, daemon, _) = started().await;
    let body = r#"[
  {"jsonrpc": "2.0", "method": "logic.list", "params": {"limit": 1}, "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#;
    let answer = post_json(&daemon, body).await;
    assert!(answer.is_object(), "one error object, not an array: {answer}");
    assert_eq!((error_code(&answer), answer["id"].clone()), (PARSE_ERROR, Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_batch_is_one_invalid_request() {
    let (_dir, daemon, _) = started().await;
    let answer = post_json(&daemon, "[]").await;
    assert!(answer.is_object(), "one error object, not an array: {answer}");
    assert_eq!((error_code(&answer), answer["id"].clone()), (INVALID_REQUEST, Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_non_requests_answers_each_with_invalid_request() {
    let (_dir, daemon, _) = started().await;
    for (body, n) in [("[1]", 1), ("[1,2,3]", 3)] {
        let answer = post_json(&daemon, body).await;
        let entries = answer.as_array().unwrap_or_else(|| panic!("{body} -> an array: {answer}"));
        assert_eq!(entries.len(), n, "{answer}");
        for entry in entries {
            assert_eq!((error_code(entry), entry["id"].clone()), (INVALID_REQUEST, Value::Null));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_batch_answers_requests_and_invalid_entries_and_runs_notifications() {
    let (_dir, daemon, sid) = started().await;
    let body = format!(
        r#"[
        {{"jsonrpc": "2.0", "method": "logic.list", "params": {{"limit": 1}}, "id": "1"}},
        {{"jsonrpc": "2.0", "method": "logic.set", "params": {{"object": {{"name": "notify_hello"}}}}}},
        {{"jsonrpc": "2.0", "method": "logic.get", "params": {{"sid": "{sid}"}}, "id": "2"}},
        {{"foo": "boo"}},
        {{"jsonrpc": "2.0", "method": "foo.get", "params": {{"name": "myself"}}, "id": "5"}},
        {{"jsonrpc": "2.0", "method": "rpc.discover", "id": "9"}}
    ]"#
    );
    let answer = post_json(&daemon, &body).await;
    let entries = answer.as_array().unwrap_or_else(|| panic!("an array: {answer}"));
    assert_eq!(entries.len(), 5, "every entry but the notification is answered: {answer}");
    let by_id = |id: Value| entries.iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no answer with id {id}: {answer}"));
    assert!(by_id(json!("1"))["result"]["items"].is_array());
    assert_eq!(by_id(json!("2"))["result"]["sid"], json!(sid));
    assert_eq!(error_code(by_id(Value::Null)), INVALID_REQUEST);
    assert_eq!(error_code(by_id(json!("5"))), METHOD_NOT_FOUND);
    assert!(by_id(json!("9"))["result"]["openrpc"].is_string());
    assert!(logic_named(&daemon, "notify_hello").await.is_some(), "the notification in the batch ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_notifications_is_executed_and_gets_no_body() {
    let (_dir, daemon, _) = started().await;
    let body = r#"[
        {"jsonrpc": "2.0", "method": "logic.set", "params": {"object": {"name": "first_note"}}},
        {"jsonrpc": "2.0", "method": "logic.set", "params": {"object": {"name": "second_note"}}}
    ]"#;
    assert_no_answer(&daemon, body).await;
    assert!(logic_named(&daemon, "first_note").await.is_some());
    assert!(logic_named(&daemon, "second_note").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn any_number_or_null_is_an_id_and_comes_back() {
    let (_dir, daemon, _) = started().await;
    for id in ["-1", "1.5", "null", "\"x\"", "18446744073709551615"] {
        let answer = post_json(&daemon, &format!(r#"{{"jsonrpc": "2.0", "method": "logic.list", "id": {id}}}"#)).await;
        assert_eq!(answer["id"], serde_json::from_str::<Value>(id).unwrap(), "{answer}");
        assert!(answer["result"]["items"].is_array(), "{answer}");
    }
    let batch = post_json(&daemon, r#"[{"jsonrpc": "2.0", "method": "logic.list", "id": -7}, {"jsonrpc": "2.0", "method": "nope", "id": 2.5}]"#).await;
    let ids: Vec<Value> = batch.as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
    assert!(ids.contains(&json!(-7)) && ids.contains(&json!(2.5)), "{batch}");
    // `"params": null` is taken as no params (README).
    let answer = post_json(&daemon, r#"{"jsonrpc": "2.0", "method": "logic.list", "params": null, "id": 1}"#).await;
    assert!(answer["result"]["items"].is_array(), "{answer}");
}
