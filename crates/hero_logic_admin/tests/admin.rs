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

fn board_row(logic: Value, label: &str, latest_at: u64, status: &str, rate: f64, runs: u64) -> Value {
    json!({"logic": logic, "current_version_label": label, "latest_run_at": latest_at,
           "latest_status": status, "success_rate": rate, "recent_runs": runs})
}

fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64
}

/// The logic view's region modules under `static/logic/`.
const LOGIC_MODULES: [&str; 17] =
    ["state", "store", "api", "format", "dom", "actions", "playbar", "sidebar", "tree", "trace", "pause_forms", "output", "stats", "flow", "code", "mapping", "tabs"];

#[tokio::test]
async fn dashboard_lists_logics_with_latest_run_success_rate_and_runs_from_one_call() {
    let five_min_ago = now_millis() - 5 * 60_000 - 500;
    let daemon = FakeDaemon::start(move |method, _| match method {
        "LogicService.logic_dashboard" => json!([
            board_row(
                logic("0001", "model_call", "Calls a model", &["llm", "core"]),
                "v3",
                five_min_ago,
                "failed",
                0.874,
                50
            ),
            board_row(logic("0002", "service_agent", "Answers customers", &[]), "v1", 0, "", 0.0, 0),
        ]),
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply = get(&daemon.socket, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(daemon.requests().len(), 1, "one daemon call for the whole table");
    let body = reply.body;
    assert!(body.contains(r#"<a href="/logics/0001">model_call</a>"#), "{body}");
    assert!(body.contains("Calls a model"));
    assert!(body.contains("v3"));
    assert!(body.contains("5 min ago"), "latest run as relative time: {body}");
    assert!(body.contains("status-failed"), "latest status");
    assert!(body.contains("87%"), "success rate");
    assert!(body.contains("50+"), "runs capped at the window");
    assert!(body.contains("never run"), "a Logic without Plays");
    assert!(body.contains(r#"href="/?tag=llm""#), "tags link to a filtered dashboard");
    assert!(body.contains(r#"href="/logics/new""#), "+ New Logic");
    assert!(body.contains(r#"<form class="search" method="get""#));
}

#[tokio::test]
async fn dashboard_search_keeps_the_search_order_and_the_dashboard_figures() {
    let daemon = FakeDaemon::start(|method, _| match method {
        "LogicService.logic_dashboard" => json!([
            board_row(logic("0001", "alpha", "", &["llm"]), "v1", 0, "", 0.0, 0),
            board_row(logic("0002", "beta", "", &["llm"]), "v2", 0, "", 0.0, 3),
            board_row(logic("0003", "gamma", "", &[]), "v1", 0, "", 0.0, 0),
        ]),
        "LogicService.logic_library_search" => {
            json!([hit(logic("0002", "beta", "", &["llm"]), "v2"), hit(logic("0001", "alpha", "", &["llm"]), "v1"),])
        }
        other => panic!("unexpected method {other}"),
    })
    .await;
    let reply = get(&daemon.socket, "/?q=model%20call&tag=llm").await;
    assert_eq!(reply.status, StatusCode::OK);
    let search =
        daemon.requests().into_iter().find(|r| r["method"] == "LogicService.logic_library_search").expect("searched");
    assert_eq!(search["params"]["query"], "model call");
    assert_eq!(search["params"]["tags"], json!(["llm"]));
    let body = reply.body;
    let beta = body.find(">beta</a>").expect("beta listed");
    let alpha = body.find(">alpha</a>").expect("alpha listed");
    assert!(beta < alpha, "search order kept");
    assert!(!body.contains(">gamma</a>"), "not a hit");
    assert!(body.contains("2 of 3 Logics match"), "{body}");
    assert!(body.contains(r#"href="/?q=model%20call">clear filter</a>"#), "{body}");
}

#[tokio::test]
async fn dashboard_without_logics_offers_to_create_one() {
    let daemon = FakeDaemon::start(|_, _| json!([])).await;
    let reply = get(&daemon.socket, "/").await;
    assert_eq!(daemon.requests()[0]["method"], "LogicService.logic_dashboard");
    assert!(reply.body.contains("No Logics yet."));
    let daemon = FakeDaemon::start(|_, _| json!([])).await;
    let reply = get(&daemon.socket, "/?q=zzz").await;
    assert!(reply.body.contains("No Logic matches this search."));
}

#[tokio::test]
async fn dashboard_escapes_html_in_daemon_data() {
    let daemon = FakeDaemon::start(|method, _| {
        let l = logic("0001", "<script>alert(1)</script>", "a & b <b>bold</b>", &["<i>t</i>"]);
        match method {
            "LogicService.logic_dashboard" => json!([board_row(l, "<v1>", 0, "", 0.0, 0)]),
            _ => json!([hit(l, "<v1>")]),
        }
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
    assert_eq!(body, json!({"ok": true, "daemon": false, "sandbox": null}));
}

#[tokio::test]
async fn healthz_reports_daemon_present() {
    let daemon = FakeDaemon::start(|method, _| match method {
        "LogicService.sandbox_info" => json!({"summary": "all on", "missing": [], "allow_weaker": false}),
        _ => json!({"items": [], "next_cursor": ""}),
    })
    .await;
    let reply = get(&daemon.socket, "/healthz").await;
    let body: Value = serde_json::from_str(&reply.body).expect("json");
    // The daemon's sandbox report is passed on, without the parts a supervisor does not need.
    assert_eq!(body, json!({"ok": true, "daemon": true, "sandbox": {"summary": "all on", "missing": [], "refusal": null}}));
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
    let request = Request::post("/rpc").header(header::CONTENT_TYPE, "application/json").body(Body::from(body));
    let reply = send(&socket, request.expect("request")).await;
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
    let request = Request::post("/rpc").header(header::CONTENT_TYPE, "application/json").body(Body::from("not json"));
    let reply = send(&socket, request.expect("request")).await;
    let answer: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(answer["id"], Value::Null);
}

#[tokio::test]
async fn legacy_urls_redirect_with_301() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/workflows/00ab").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.headers[header::LOCATION], "/logics/00ab");

    let reply = get(&socket, "/workflows/00ab?play=0100").await;
    assert_eq!(reply.headers[header::LOCATION], "/logics/00ab?play=0100", "query string kept");

    let reply = get(&socket, "/workflows/a%2Fb").await;
    assert_eq!(reply.headers[header::LOCATION], "/logics/a%2Fb", "sid stays one path segment");

    let reply = get(&socket, "/workflows/00ab/editor").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.headers[header::LOCATION], "/logics/00ab", "old sub-pages land on the logic view");

    for old in ["/workflows", "/plays", "/examples"] {
        let reply = get(&socket, old).await;
        assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY, "{old}");
        assert_eq!(reply.headers[header::LOCATION], "/");
    }
}

#[tokio::test]
async fn play_urls_redirect_to_the_logic_view_with_the_play_overlaid() {
    let daemon = FakeDaemon::start(|method, params| match method {
        "play.get" if params["sid"] == "0100" => json!({"sid": "0100", "logic_sid": "0007", "name": "greeting"}),
        _ => json!({"__error": {"code": hero_logic_api::error::NOT_FOUND, "message": "no Play with sid 0999"}}),
    })
    .await;
    let reply = get(&daemon.socket, "/plays/0100").await;
    assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(reply.headers[header::LOCATION], "/logics/0007?play=0100");
    let reply = get(&daemon.socket, "/plays/0999").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("no Play with sid 0999"));
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let (_dir, socket) = absent_socket();
    let reply = get(&socket, "/static/admin.css").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(reply.body.contains("--accent"));
    let reply = get(&socket, "/static/logic.js").await;
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(reply.body.contains("import { mountPlaybar } from './logic/playbar.js';"), "the view's entry module");
    // Each region's module, served as JavaScript: a module with another type does not run.
    for module in LOGIC_MODULES {
        let reply = get(&socket, &format!("/static/logic/{module}.js")).await;
        assert_eq!(reply.status, StatusCode::OK, "logic/{module}.js");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8", "logic/{module}.js");
    }
    assert!(get(&socket, "/static/logic/api.js").await.body.contains("/api/plays/"), "the overlay and event endpoints");
    assert_eq!(get(&socket, "/static/new_logic.js").await.status, StatusCode::OK);
    // The CodeMirror bundle when frontend/ was built, a stub otherwise: never a 404.
    let editor = get(&socket, "/static/editor.js").await;
    assert_eq!(editor.status, StatusCode::OK);
    assert_eq!(editor.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    let icon = get(&socket, "/favicon.ico").await;
    assert_eq!(icon.status, StatusCode::OK, "no 404 in the browser console for the icon");
    assert_eq!(icon.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(get(&socket, "/static/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn assets_load_nothing_from_the_internet() {
    let (_dir, socket) = absent_socket();
    let modules = LOGIC_MODULES.map(|m| format!("logic/{m}.js"));
    for asset in ["admin.css", "logic.js", "new_logic.js", "editor.js"].iter().map(|a| a.to_string()).chain(modules) {
        let reply = get(&socket, &format!("/static/{asset}")).await;
        // The SVG namespace is a name, not a download.
        let body = reply.body.replace("http://www.w3.org/2000/svg", "");
        assert!(!body.contains("http://") && !body.contains("https://"), "{asset} links out");
    }
    let reply = get(&socket, "/logics/new").await;
    assert!(!reply.body.contains("http://") && !reply.body.contains("https://"), "{}", reply.body);
}

#[tokio::test]
async fn dashboard_loads_nothing_from_the_internet() {
    let daemon = FakeDaemon::start(|_, _| json!([board_row(logic("0001", "a", "", &[]), "v1", 0, "", 0.0, 0)])).await;
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
    let server = tokio::spawn(hero_logic_admin::serve(listener, common::state_on(&socket, addr.port()), async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.expect("write");
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
