//! Routing, rendering and proxy behaviour of the admin, against a fake daemon transport.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{absent_socket, get, send, FakeDaemon};
use serde_json::{json, Value};

fn logic(sid: &str, name: &str, description: &str, tags: &[&str]) -> Value {
    json!({"sid": sid, "name": name, "description": description, "tags": tags, "current_version_sid": "0002"})
}

fn hit(logic: Value, label: &str) -> Value {
    json!({"logic": logic, "score": 1.0, "current_version_label": label})
}

#[tokio::test]
async fn dashboard_lists_logics_with_links_versions_and_tags() {
    let daemon = FakeDaemon::start(|_, _| {
        json!([
            hit(logic("0001", "model_call", "Calls a model", &["llm", "core"]), "v3"),
            hit(logic("0002", "service_agent", "Answers customers", &[]), "v1"),
        ])
    })
    .await;
    let reply = get(&daemon.socket, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains(r#"<a href="/logics/0001">model_call</a>"#), "{}", reply.body);
    assert!(reply.body.contains("Calls a model"));
    assert!(reply.body.contains("v3"));
    assert!(reply.body.contains(r#"href="/?tag=llm""#), "tags link to a filtered dashboard");
    assert!(reply.body.contains("service_agent"));
    assert!(reply.body.contains(r#"<form class="search" method="get""#));
}

#[tokio::test]
async fn dashboard_passes_search_text_and_tag_to_the_daemon() {
    let daemon = FakeDaemon::start(|_, _| json!([])).await;
    let reply = get(&daemon.socket, "/?q=model%20call&tag=llm").await;
    assert_eq!(reply.status, StatusCode::OK);
    let requests = daemon.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "LogicService.logic_library_search");
    assert_eq!(requests[0]["params"]["query"], "model call");
    assert_eq!(requests[0]["params"]["tags"], json!(["llm"]));
    assert!(reply.body.contains("No Logic matches this search."));
    assert!(reply.body.contains(r#"href="/?q=model%20call">clear filter</a>"#), "{}", reply.body);
}

#[tokio::test]
async fn dashboard_without_filters_asks_for_every_logic() {
    let daemon = FakeDaemon::start(|_, _| json!([])).await;
    let reply = get(&daemon.socket, "/").await;
    let requests = daemon.requests();
    assert_eq!(requests[0]["params"]["query"], "");
    assert_eq!(requests[0]["params"]["tags"], json!([]));
    assert!(reply.body.contains("No Logics yet."));
}

#[tokio::test]
async fn dashboard_escapes_html_in_daemon_data() {
    let daemon = FakeDaemon::start(|_, _| {
        json!([hit(logic("0001", "<script>alert(1)</script>", "a & b <b>bold</b>", &["<i>t</i>"]), "<v1>")])
    })
    .await;
    let reply = get(&daemon.socket, "/?q=%22%3E%3Cscript%3E").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.body.contains("<script>"), "raw markup leaked: {}", reply.body);
    assert!(!reply.body.contains("<b>bold"));
    assert!(!reply.body.contains("<i>t"));
    assert!(!reply.body.contains("<v1>"));
    // askama escapes with numeric entities.
    assert!(reply.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{}", reply.body);
    assert!(reply.body.contains("a &#38; b"));
    // The search text is echoed into an attribute; it must not close it.
    assert!(!reply.body.contains(r#"value=""><script>"#));
}

#[tokio::test]
async fn dashboard_shows_503_banner_when_daemon_is_absent() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.body.contains("Daemon not reachable"));
    assert!(reply.body.contains(&socket.display().to_string()), "names the socket: {}", reply.body);
    assert!(reply.body.contains("hero_logic up"), "says how to start it");
    assert!(reply.body.contains(r#"role="alert""#));
}

#[tokio::test]
async fn healthz_reports_daemon_absent() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(body, json!({"ok": true, "daemon": false}));
}

#[tokio::test]
async fn healthz_reports_daemon_present() {
    let daemon = FakeDaemon::start(|_, _| json!({"items": [], "next_cursor": ""})).await;
    let reply = get(&daemon.socket, "/healthz").await;
    let body: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(body, json!({"ok": true, "daemon": true}));
}

#[tokio::test]
async fn rpc_proxy_forwards_body_verbatim_and_returns_json() {
    let daemon = FakeDaemon::start(|method, params| json!({"echo_method": method, "echo_params": params})).await;
    let body = r#"{"jsonrpc":"2.0","id":7,"method":"logic.get","params":{"sid":"00ab"}}"#;
    let request = Request::post("/rpc").header(header::CONTENT_TYPE, "application/json").body(Body::from(body));
    let reply = send(&daemon.socket, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    let answer: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["echo_method"], "logic.get");
    assert_eq!(answer["result"]["echo_params"], json!({"sid": "00ab"}));
    assert_eq!(daemon.requests()[0], serde_json::from_str::<Value>(body).expect("json"));
}

#[tokio::test]
async fn rpc_proxy_answers_502_json_rpc_error_when_daemon_is_absent() {
    let (_dir, socket) = absent_socket();
    let body = r#"{"jsonrpc":"2.0","id":"abc","method":"logic.list","params":{}}"#;
    let reply = send(&socket, Request::post("/rpc").body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    let answer: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(answer["jsonrpc"], "2.0");
    assert_eq!(answer["id"], "abc", "the caller can match the error to its request");
    assert_eq!(answer["error"]["code"], hero_logic_admin::error::DAEMON_UNREACHABLE);
    assert_eq!(answer["error"]["data"]["kind"], "daemon_unreachable");
    let message = answer["error"]["message"].as_str().expect("message");
    assert!(message.contains(&socket.display().to_string()), "{message}");
    let hint = answer["error"]["data"]["hint"].as_str().expect("hint");
    assert!(hint.contains("hero_logic up"), "{hint}");
}

#[tokio::test]
async fn rpc_proxy_error_has_null_id_for_unparsable_body() {
    let (_dir, socket) = absent_socket();
    let reply = send(&socket, Request::post("/rpc").body(Body::from("not json")).expect("request")).await;
    let answer: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(answer["id"], Value::Null);
}

#[tokio::test]
async fn legacy_workflow_urls_redirect_permanently() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/workflows/00ab").await;
    assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(reply.headers[header::LOCATION], "/logics/00ab");

    let reply = get(&socket, "/workflows/00ab?play=0100").await;
    assert_eq!(reply.headers[header::LOCATION], "/logics/00ab?play=0100", "query string kept");

    let reply = get(&socket, "/workflows/a%2Fb").await;
    assert_eq!(reply.headers[header::LOCATION], "/logics/a%2Fb", "sid stays one path segment");

    let reply = get(&socket, "/workflows").await;
    assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(reply.headers[header::LOCATION], "/");
}

#[tokio::test]
async fn logic_page_shows_versions_and_current_signature() {
    let daemon = FakeDaemon::start(|method, params| match method {
        "logic.get" => json!({
            "sid": params["sid"], "name": "model_call", "description": "Calls <a> model",
            "current_version_sid": "0003", "versions": ["0003", "0002"], "tags": ["llm"],
            "created_at": 1_709_251_170_000u64,
        }),
        "logicversion.find" => json!({"items": [
            {"sid": "0003", "logic_sid": "0001", "version_label": "v2", "notes": "faster",
             "inputs": [{"name": "prompt", "field_type": "string", "required": true}],
             "outputs": [{"name": "text", "field_type": "string"}],
             "python_source": "def main(prompt):\n    return {'text': prompt + '<'}\n"},
            {"sid": "0002", "logic_sid": "0001", "version_label": "v1",
             "binding": {"target": "echo"}},
        ], "next_cursor": ""}),
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply = get(&daemon.socket, "/logics/0001").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let requests = daemon.requests();
    assert_eq!(requests[1]["params"]["logic_sid"], "0001", "versions are looked up by the logic's sid");
    let body = reply.body;
    assert!(body.contains("<h1>model_call</h1>"));
    assert!(body.contains("Calls &#60;a&#62; model"));
    assert!(body.contains("v2") && body.contains("v1"));
    assert!(body.contains(r#"class="badge">current"#));
    assert!(body.contains("bound to echo"));
    assert!(body.contains("<code>prompt</code>"));
    assert!(body.contains("2024-02-29 23:59 UTC"));
    assert!(body.contains("prompt + &#39;&#60;&#39;"), "source is escaped: {body}");
}

#[tokio::test]
async fn logic_page_is_404_for_unknown_sid() {
    let daemon = FakeDaemon::start(
        |_, _| json!({"__error": {"code": hero_logic_api::error::NOT_FOUND, "message": "no Logic with sid zzzz"}}),
    )
    .await;
    let reply = get(&daemon.socket, "/logics/zzzz").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("no Logic with sid zzzz"));
}

#[tokio::test]
async fn logic_page_is_503_when_daemon_is_absent() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/logics/0001").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn stylesheet_is_served_from_the_binary() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/static/admin.css").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(reply.body.contains("--accent"));
    assert_eq!(get(&socket, "/static/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_load_nothing_from_the_internet() {
    let daemon = FakeDaemon::start(|_, _| json!([hit(logic("0001", "a", "", &[]), "v1")])).await;
    let reply = get(&daemon.socket, "/").await;
    assert!(!reply.body.contains("http://") && !reply.body.contains("https://"), "{}", reply.body);
}

#[tokio::test]
async fn unknown_paths_are_404_pages() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/nope").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("there is no page at /nope"));
}

#[tokio::test]
async fn serve_answers_over_tcp_and_stops_on_shutdown() {
    let (_dir, socket) = absent_socket();
    let listener = hero_logic_admin::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hero_logic_admin::serve(listener, hero_logic_admin::AppState::new(socket), async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    assert!(answer.contains(r#""daemon":false"#));
    let _ = stop.send(());
    server.await.expect("join").expect("serve ends cleanly");
}

#[tokio::test]
async fn bind_error_says_how_to_pick_another_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let err = hero_logic_admin::bind(&addr).await.expect_err("port is taken");
    let message = err.to_string();
    assert!(message.contains(&addr) && message.contains("--listen"), "{message}");
}
