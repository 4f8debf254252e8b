//! The logic view page, the overlay and event endpoints and the New Logic form, against a fake
//! daemon transport. The browser suite in `testcases/` runs them against a real daemon.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{absent_socket, get, send, FakeDaemon};
use serde_json::{json, Value};

fn not_found(what: &str) -> Value {
    json!({"__error": {"code": hero_logic_api::error::NOT_FOUND, "message": format!("no {what}")}})
}

fn play(sid: &str, parent: &str, status: &str) -> Value {
    json!({"sid": sid, "logic_sid": "0001", "logic_version_sid": "0003", "name": format!("p{sid}"),
           "parent_play_sid": parent, "status": status})
}

fn logic_daemon() -> impl Fn(&str, &Value) -> Value + Send + Sync + 'static {
    |method, params| match method {
        "logic.get" if params["sid"] == "0001" => json!({
            "sid": "0001", "name": "model_call", "description": "Calls <a> model",
            "current_version_sid": "0003", "versions": ["0003", "0002"], "tags": ["llm"],
        }),
        "logic.get" => not_found("Logic"),
        "logic.find" if params["name"] == "model_call" => {
            json!({"items": [{"sid": "0001", "name": "model_call"}], "next_cursor": ""})
        }
        "logic.find" => json!({"items": [], "next_cursor": ""}),
        "logicversion.find" => json!({"items": [
            {"sid": "0003", "logic_sid": "0001", "version_label": "v2", "notes": "faster",
             "inputs": [{"name": "prompt", "field_type": "string", "required": true},
                        {"name": "n", "field_type": "integer", "required": false, "default": 3}],
             "outputs": [{"name": "text", "field_type": "string"}],
             "python_source": "def main(prompt):\n    return {'text': prompt + '</script>'}\n"},
            {"sid": "0002", "logic_sid": "0001", "version_label": "v1", "binding": {"target": "echo"}},
        ], "next_cursor": ""}),
        "LogicService.logic_stats" => json!({"logic_sid": "0001", "version_sid": "0003", "version_label": "v2",
            "last_n": 50, "runs": 2, "status_counts": {"success": 2}, "success_rate": 1.0,
            "recent": [{"play_sid": "0101", "status": "success", "duration_ms": 12, "created_at": 1}]}),
        "LogicService.logic_example_list" => json!([{"sid": "0009", "logic_sid": "0001", "name": "short",
            "input_values": {"prompt": "</script><script>alert(1)</script>"}}]),
        "LogicService.play_list_for_logic" => json!({"items": [play("0101", "", "success")], "next_cursor": ""}),
        other => panic!("unexpected method {other}"),
    }
}

/// The JSON the page carries for its script.
fn boot(body: &str) -> Value {
    let start = body.find(r#"<script type="application/json" id="boot">"#).expect("boot element") + 42;
    let end = start + body[start..].find("</script>").expect("boot closes");
    serde_json::from_str(&body[start..end]).expect("boot is JSON")
}

#[tokio::test]
async fn logic_page_has_info_sidebar_play_bar_and_the_data_for_its_script() {
    let daemon = FakeDaemon::start(logic_daemon()).await;
    let reply = get(&daemon.socket, "/logics/0001").await;
    common::assert_csp_clean("/logics/0001", &reply.body);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert!(body.contains(r#"<h1 class="logic-title">model_call</h1>"#));
    assert!(body.contains("Calls &#60;a&#62; model"), "description escaped");
    assert!(body.contains(r#"class="badge">current"#), "current version marked");
    assert!(body.contains("bound to echo"));
    assert!(body.contains(r#"<code class="fname">prompt</code>"#), "declared inputs listed");
    assert!(body.contains(r#"id="run-button""#) && body.contains("▶ Run"));
    assert!(body.contains(r#"<script type="module" src="/static/logic.js"></script>"#));
    assert!(!body.contains(" style=") && !body.contains(" onclick="), "no inline style or handler: the CSP refuses them");
    // Every version's declared fields, rendered here, for the script to show when it is picked.
    assert!(body.contains(r#"<template class="version-fields" data-version="0002" data-part="inputs">"#), "{body}");
    assert!(body.contains(r#"id="pause-forms""#) && body.contains(r#"id="trace""#) && body.contains(r#"id="output""#));
    for label in ["Play bar", "About this Logic", "Stats"] {
        assert!(body.contains(&format!(r#"aria-label="{label}""#)), "{label} region is labelled");
    }
    // Every region's data comes from the daemon in parallel calls, once.
    let methods: Vec<String> =
        daemon.requests().iter().map(|r| r["method"].as_str().unwrap_or_default().to_string()).collect();
    for method in [
        "logic.get",
        "logicversion.find",
        "LogicService.logic_stats",
        "LogicService.logic_example_list",
        "LogicService.play_list_for_logic",
    ] {
        assert_eq!(methods.iter().filter(|m| *m == method).count(), 1, "{method} in {methods:?}");
    }

    let data = boot(body);
    assert_eq!(data["logic"]["sid"], "0001");
    assert_eq!(data["versions"][0]["label"], "v2");
    assert_eq!(data["versions"][0]["current"], true);
    assert_eq!(data["versions"][0]["inputs"][1]["default"], 3);
    assert_eq!(data["stats"]["runs"], 2);
    assert_eq!(data["plays"][0]["sid"], "0101");
    assert_eq!(data["examples"][0]["input_values"]["prompt"], "</script><script>alert(1)</script>");
    assert!(!body.contains("<script>alert(1)"), "data cannot break out of its element");
    assert!(
        body.contains(r#"    return {&#39;text&#39;: prompt + &#39;&#60;/script&#62;&#39;}"#),
        "source lines, escaped: {body}"
    );
    assert!(body.contains(r#"<textarea id="code-text""#), "the code view starts from the page's text area");
    assert!(body.contains(r#"<script src="/static/editor.js" defer>"#), "the editor bundle is loaded");
    assert!(body.contains(r#"id="tab-flow" aria-controls="panel-flow" aria-selected="true""#), "Flow is the default tab");
}

#[tokio::test]
async fn logic_page_by_name_redirects_to_the_sid_and_keeps_the_play() {
    let daemon = FakeDaemon::start(logic_daemon()).await;
    let reply = get(&daemon.socket, "/logics/model_call?play=0101").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/logics/0001?play=0101");
    let reply = get(&daemon.socket, "/logics/nobody").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn logic_page_shows_without_stats_examples_or_plays_when_those_calls_fail() {
    let daemon = FakeDaemon::start(|method, params| match method {
        "LogicService.logic_stats" | "LogicService.logic_example_list" | "LogicService.play_list_for_logic" => {
            json!({"__error": {"code": -32603, "message": "store busy"}})
        }
        _ => logic_daemon()(method, params),
    })
    .await;
    let reply = get(&daemon.socket, "/logics/0001").await;
    assert_eq!(reply.status, StatusCode::OK);
    let data = boot(&reply.body);
    assert_eq!(data["stats"], Value::Null);
    assert_eq!(data["plays"], json!([]));
}

#[tokio::test]
async fn overlay_returns_the_tree_and_the_ancestors_root_first() {
    let daemon = FakeDaemon::start(|method, params| match (method, params.get("play_sid").or(params.get("sid"))) {
        ("LogicService.play_tree", Some(sid)) if sid == "0103" => {
            json!({"play": play("0103", "0102", "running"), "descendants": [play("0104", "0103", "success")]})
        }
        ("play.get", Some(sid)) if sid == "0102" => play("0102", "0101", "running"),
        ("play.get", Some(sid)) if sid == "0101" => play("0101", "", "running"),
        _ => not_found("Play"),
    })
    .await;
    let reply = get(&daemon.socket, "/api/plays/0103/overlay").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    let overlay: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(overlay["play"]["sid"], "0103");
    assert_eq!(overlay["descendants"][0]["sid"], "0104");
    let ancestors: Vec<&str> =
        overlay["ancestors"].as_array().expect("list").iter().map(|a| a["sid"].as_str().unwrap()).collect();
    assert_eq!(ancestors, ["0101", "0102"]);
    assert_eq!(overlay["ancestors"][0]["logic_sid"], "0001");

    let reply = get(&daemon.socket, "/api/plays/zzzz/overlay").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let error: Value = serde_json::from_str(&reply.body).expect("json error");
    assert!(error["error"].as_str().unwrap().contains("no Play"));
}

#[tokio::test]
async fn overlay_is_503_json_when_the_daemon_is_absent() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/api/plays/0101/overlay").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = serde_json::from_str(&reply.body).expect("json error");
    assert!(error["hint"].as_str().unwrap().contains("hero_logic up"));
}

/// The `data:` payloads of one kind of event in an SSE body.
fn events<'a>(body: &'a str, kind: &str) -> Vec<&'a str> {
    body.split("\n\n")
        .filter(|block| block.lines().any(|l| l == format!("event: {kind}")))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
        .collect()
}

#[tokio::test]
async fn events_stream_each_changed_tree_then_end_once_the_play_finished() {
    let watches = Arc::new(AtomicUsize::new(0));
    let counter = watches.clone();
    let daemon = FakeDaemon::start(move |method, params| match method {
        "play.get" => play("0101", "", "running"),
        "LogicService.play_watch" => {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(params["since"], json!(n as u64 * 10), "each watch passes the last version back");
            // 0: running; 1: the same tree (an unrelated change): nothing sent; 2: success.
            let status = match n {
                0 | 1 => "running",
                _ => "success",
            };
            json!({"version": (n as u64 + 1) * 10, "tree": {"play": play("0101", "", status), "descendants": []}})
        }
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply = get(&daemon.socket, "/api/plays/0101/events").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/event-stream");
    let trees = events(&reply.body, "tree");
    assert_eq!(trees.len(), 2, "{}", reply.body);
    let first: Value = serde_json::from_str(trees[0]).expect("tree json");
    let last: Value = serde_json::from_str(trees[1]).expect("tree json");
    assert_eq!(first["play"]["status"], "running");
    assert_eq!(last["play"]["status"], "success");
    assert_eq!(events(&reply.body, "end").len(), 1, "the stream says it is over");
    assert_eq!(watches.load(Ordering::SeqCst), 3, "no watch after the final tree");
}

#[tokio::test]
async fn events_fall_back_to_reading_the_tree_when_the_daemon_has_no_play_watch() {
    let trees = Arc::new(AtomicUsize::new(0));
    let counter = trees.clone();
    let daemon = FakeDaemon::start(move |method, _| match method {
        "play.get" => play("0101", "", "running"),
        "LogicService.play_watch" => json!({"__error": {"code": -32601, "message": "Method not found"}}),
        "LogicService.play_tree" => {
            let status = if counter.fetch_add(1, Ordering::SeqCst) == 0 { "running" } else { "cancelled" };
            json!({"play": play("0101", "", status), "descendants": []})
        }
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply = get(&daemon.socket, "/api/plays/0101/events").await;
    let sent = events(&reply.body, "tree");
    assert_eq!(sent.len(), 2, "{}", reply.body);
    assert!(sent[1].contains(r#""status":"cancelled""#));
    assert_eq!(events(&reply.body, "end").len(), 1);
}

#[tokio::test]
async fn events_for_an_unknown_play_are_404() {
    let daemon = FakeDaemon::start(|_, _| not_found("Play with sid zzzz")).await;
    let reply = get(&daemon.socket, "/api/plays/zzzz/events").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn events_report_a_daemon_that_goes_away_and_stop() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let daemon = FakeDaemon::start(move |method, _| match method {
        "play.get" => play("0101", "", "running"),
        _ => {
            counter.fetch_add(1, Ordering::SeqCst);
            json!({"__error": {"code": -32603, "message": "database is locked"}})
        }
    })
    .await;
    let reply = get(&daemon.socket, "/api/plays/0101/events").await;
    let failures = events(&reply.body, "failure");
    assert_eq!(failures.len(), 1, "{}", reply.body);
    assert!(failures[0].contains("database is locked"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry loop against a failing daemon");
}

#[tokio::test]
async fn new_logic_page_offers_a_template() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/logics/new").await;
    assert_eq!(reply.status, StatusCode::OK, "needs no daemon");
    assert!(reply.body.contains(r#"<form class="card form-card" method="post" action="/logics""#));
    assert!(reply.body.contains("def my_logic(text: str)"));
    assert!(reply.body.contains(r#"<script type="module" src="/static/new_logic.js"></script>"#));
    // The script fills the server's template, carried in the boot JSON, rather than a copy of its own.
    let boot = boot(&reply.body);
    assert_eq!(boot["template"], hero_logic_admin::routes::new_logic::TEMPLATE);
    assert_eq!(boot["placeholder_name"], "my_logic");
    for field in ["nl-name", "nl-description", "nl-tags", "nl-source"] {
        assert!(reply.body.contains(&format!(r#"<label for="{field}""#)), "{field} has a label");
    }
}

fn form_post(body: &str) -> Request<Body> {
    Request::post("/logics")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn creating_a_logic_opens_its_view() {
    let daemon = FakeDaemon::start(|method, params| match method {
        "LogicService.logic_create" => json!({"sid": "00aa", "name": params["name"]}),
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply =
        send(&daemon.socket, form_post("name=shout&description=Says+%22hi%22&tags=demo%2C+ui+x&python_source=")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/logics/00aa");
    let request = &daemon.requests()[0]["params"];
    assert_eq!(request["name"], "shout");
    assert_eq!(request["tags"], json!(["demo", "ui", "x"]));
    let source = request["python_source"].as_str().expect("source");
    assert!(source.contains(r#"name="shout""#) && source.contains(r#"description="Says \"hi\"""#), "{source}");
}

#[tokio::test]
async fn an_untouched_template_follows_the_name_without_the_page_script() {
    let daemon = FakeDaemon::start(|_, params| json!({"sid": "00ab", "name": params["name"]})).await;
    let template = hero_logic_admin::routes::new_logic::template_source("", "");
    let body = format!("name=shout&description=&tags=&python_source={}", encode(&template));
    send(&daemon.socket, form_post(&body)).await;
    let source = daemon.requests()[0]["params"]["python_source"].as_str().expect("source").to_string();
    assert!(source.contains("def shout(text: str)"), "{source}");
}

#[tokio::test]
async fn a_refused_logic_shows_the_form_again_with_the_daemon_message_and_hint() {
    let daemon = FakeDaemon::start(|_, _| {
        json!({"__error": {"code": -32022, "message": "syntax error at line 3, column 5: unexpected indent",
               "data": {"kind": "source", "field": "python_source", "hint": "fix the source and save again", "line": 3, "column": 5}}})
    })
    .await;
    let reply = send(&daemon.socket, form_post("name=shout&description=d&tags=&python_source=x%3D%0A++y")).await;
    assert_eq!(reply.status, StatusCode::OK, "the form again, with the error");
    assert!(reply.body.contains("syntax error at line 3, column 5"));
    assert!(reply.body.contains("fix the source and save again"));
    assert!(reply.body.contains(r#"role="alert""#));
    assert!(
        reply.body.contains(r#"name="python_source" class="code" rows="16" spellcheck="false" aria-invalid="true""#),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(r#"value="shout""#), "what was typed is kept");
}

fn encode(text: &str) -> String {
    hero_logic_admin::view::encode_component(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_admin_ends_open_event_streams() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A Play that stays running: every watch waits a little and answers with the same tree.
    let daemon = FakeDaemon::start(|method, _| {
        if method == "LogicService.play_watch" {
            std::thread::sleep(std::time::Duration::from_millis(100));
            return json!({"version": 1, "tree": {"play": play("0101", "", "awaiting_resume"), "descendants": []}});
        }
        play("0101", "", "awaiting_resume")
    })
    .await;
    let listener = hero_logic_admin::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = common::state_on(&daemon.socket, addr.port());
    let server = tokio::spawn(hero_logic_admin::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(format!("GET /api/plays/0101/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\r\n", common::TOKEN).as_bytes()).await.expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: tree") {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "stream closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let _ = stop.send(());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    assert!(ended.is_ok(), "the admin stops although a browser still listens");
    ended.expect("in time").expect("join").expect("serve ends cleanly");
}
