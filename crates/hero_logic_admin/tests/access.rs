//! The admin's trust boundary: requests another web site can make (cross-origin POSTs,
//! `no-cors` text bodies, a rebinding DNS name) and requests without the access token are
//! refused, say why and how to get in, and reach nothing behind the admin.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{send, send_as_is, FakeDaemon, HOST, TOKEN};
use serde_json::{json, Value};

const CREATE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"LogicService.logic_create","params":{"name":"pwned","python_source":"import os"}}"#;

/// A daemon that records calls; `logic_create` would succeed.
async fn daemon() -> FakeDaemon {
    FakeDaemon::start(|method, _| match method {
        "LogicService.logic_create" => json!({"sid": "00aa", "name": "pwned"}),
        "LogicService.logic_dashboard" => json!([]),
        _ => json!({"items": [], "next_cursor": null}),
    })
    .await
}

fn rpc_post(content_type: &str) -> axum::http::request::Builder {
    Request::post("/rpc").header(header::CONTENT_TYPE, content_type)
}

fn json_body(reply: &common::Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", reply.body))
}

/// The refusal is a JSON-RPC error naming the check, with a hint; nothing reached the daemon.
fn assert_rpc_refused(reply: &common::Reply, daemon: &FakeDaemon, status: StatusCode, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let answer = json_body(reply);
    assert_eq!(answer["jsonrpc"], "2.0");
    assert_eq!(answer["error"]["code"], hero_logic_admin::error::REFUSED);
    assert_eq!(answer["error"]["data"]["kind"], kind, "{answer}");
    assert!(!answer["error"]["data"]["hint"].as_str().unwrap_or_default().is_empty(), "{answer}");
    assert!(daemon.requests().is_empty(), "nothing may reach the daemon: {:?}", daemon.requests());
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_even_with_the_token_and_creates_nothing() {
    let daemon = daemon().await;
    let request = rpc_post("application/json")
        .header(header::ORIGIN, "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(CREATE))
        .expect("request");
    let reply = send(&daemon.socket, request).await;
    assert_rpc_refused(&reply, &daemon, StatusCode::FORBIDDEN, "cross_origin");
    assert!(json_body(&reply)["error"]["message"].as_str().unwrap_or_default().contains("http://evil.example"));

    // Another page on the same machine (another port) is another origin too.
    let request = rpc_post("application/json")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .body(Body::from(CREATE))
        .expect("request");
    assert_rpc_refused(&send(&daemon.socket, request).await, &daemon, StatusCode::FORBIDDEN, "cross_origin");

    // A browser that sends only Sec-Fetch-Site.
    let request = rpc_post("application/json").header("sec-fetch-site", "same-site").body(Body::from(CREATE));
    assert_rpc_refused(&send(&daemon.socket, request.expect("request")).await, &daemon, StatusCode::FORBIDDEN, "cross_origin");
}

#[tokio::test]
async fn origin_null_counts_as_own_only_when_the_browser_says_same_origin() {
    let daemon = daemon().await;
    // The admin's own page under `Referrer-Policy: no-referrer`: Chrome sends `Origin: null`.
    let own = rpc_post("application/json")
        .header(header::ORIGIN, "null")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(CREATE));
    assert_eq!(send(&daemon.socket, own.expect("r")).await.status, StatusCode::OK);
    assert_eq!(daemon.requests().len(), 1);
    // A sandboxed frame of another site sends `Origin: null` too, but not same-origin.
    for site in [Some("cross-site"), Some("same-site"), None] {
        let mut request = rpc_post("application/json").header(header::ORIGIN, "null");
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let reply = send(&daemon.socket, request.body(Body::from(CREATE)).expect("r")).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{site:?}: {}", reply.body);
    }
    assert_eq!(daemon.requests().len(), 1, "no refused request reached the daemon");
}

#[tokio::test]
async fn a_no_cors_text_plain_body_is_refused_and_creates_nothing() {
    let daemon = daemon().await;
    // What `fetch(url, {method: 'POST', mode: 'no-cors', body: '...'})` sends, with the token
    // (as if the cookie had gone along), so only the content type is left to refuse it.
    let request = rpc_post("text/plain;charset=UTF-8").body(Body::from(CREATE)).expect("request");
    let reply = send(&daemon.socket, request).await;
    assert_rpc_refused(&reply, &daemon, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json");
    assert!(json_body(&reply)["error"]["message"].as_str().unwrap_or_default().contains("application/json"));
    let bare = Request::post("/rpc").body(Body::from(CREATE)).expect("request");
    assert_rpc_refused(&send(&daemon.socket, bare).await, &daemon, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_json");
}

#[tokio::test]
async fn a_cross_origin_form_post_to_create_a_logic_is_refused() {
    let daemon = daemon().await;
    let request = Request::post("/logics")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::from("name=pwned&python_source=import+os"))
        .expect("request");
    let reply = send(&daemon.socket, request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("only to its own pages"), "{}", reply.body);
    assert!(daemon.requests().is_empty());
}

#[tokio::test]
async fn another_site_may_link_to_a_page_but_not_load_data_from_it() {
    let daemon = daemon().await;
    let with_fetch = |uri: &str, site: &str, mode: &str, dest: &str| {
        Request::get(uri)
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", mode)
            .header("sec-fetch-dest", dest)
            .body(Body::empty())
            .expect("request")
    };
    // A page on another port of 127.0.0.1 is the same site: the Strict cookie goes along.
    for (uri, mode, dest) in [("/api/plays/0101/overlay", "cors", "empty"), ("/static/logic.js", "no-cors", "script"), ("/", "navigate", "iframe")] {
        for site in ["same-site", "cross-site"] {
            let reply = send(&daemon.socket, with_fetch(uri, site, mode, dest)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{uri} {site} {mode} {dest}: {}", reply.body);
        }
    }
    assert!(daemon.requests().is_empty(), "nothing reached the daemon");
    // Following a link is fine (without the cookie, which a cross-site one does not carry, it
    // gets the login page).
    let reply = send(&daemon.socket, with_fetch("/", "cross-site", "navigate", "document")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let own = send(&daemon.socket, with_fetch("/api/plays/0101/overlay", "same-origin", "cors", "empty")).await;
    assert_ne!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
}

#[tokio::test]
async fn a_foreign_host_is_refused_everywhere_without_telling_it_local_paths() {
    let daemon = daemon().await;
    // DNS rebinding: evil.example now resolves to 127.0.0.1; the browser sends its name.
    for host in ["evil.example:9820", "evil.example", "127.0.0.1.evil.example:9820", "127.0.0.1:9999"] {
        let request = rpc_post("application/json").header(header::HOST, host).body(Body::from(CREATE));
        let reply = send(&daemon.socket, request.expect("request")).await;
        assert_rpc_refused(&reply, &daemon, StatusCode::FORBIDDEN, "foreign_host");
        assert!(!reply.body.contains("/data/admin.token"), "no local path for a foreign page: {}", reply.body);
        let page = send(&daemon.socket, Request::get("/").header(header::HOST, host).body(Body::empty()).expect("request")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{host}");
        assert!(page.body.contains("does not answer to the host name"), "{}", page.body);
    }
    assert!(daemon.requests().is_empty());
    // The names it serves are answered.
    for host in ["127.0.0.1:9820", "localhost:9820", "[::1]:9820"] {
        let reply = send(&daemon.socket, Request::get("/healthz").header(header::HOST, host).body(Body::empty()).expect("r")).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}: {}", reply.body);
    }
}

#[tokio::test]
async fn without_the_token_pages_api_and_rpc_are_refused_and_say_how_to_get_in() {
    let daemon = daemon().await;
    let no_token = |uri: &str| Request::get(uri).header(header::HOST, HOST).body(Body::empty()).expect("request");
    for uri in ["/", "/logics/new", "/logics/00aa", "/static/logic.js", "/plays/0101"] {
        let reply = send_as_is(&daemon.socket, no_token(uri)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap_or_default().starts_with("text/html"), "{uri}");
        for needle in ["needs its access token", "hero_logic up", "hero_logic admin-url", "?token="] {
            assert!(reply.body.contains(needle), "{uri}: {needle:?} in {}", reply.body);
        }
    }
    for uri in ["/api/plays/0101/overlay", "/api/plays/0101/events"] {
        let reply = send_as_is(&daemon.socket, no_token(uri)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        let answer = json_body(&reply);
        assert_eq!(answer["kind"], "no_token");
        assert!(answer["hint"].as_str().unwrap_or_default().contains("hero_logic admin-url"), "{answer}");
    }
    let request = rpc_post("application/json").header(header::HOST, HOST).body(Body::from(CREATE));
    let reply = send_as_is(&daemon.socket, request.expect("request")).await;
    assert_rpc_refused(&reply, &daemon, StatusCode::UNAUTHORIZED, "no_token");
}

#[tokio::test]
async fn a_wrong_token_is_refused_by_bearer_cookie_and_link() {
    let daemon = daemon().await;
    let wrong = "0".repeat(64);
    let by_bearer = rpc_post("application/json")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {wrong}"))
        .body(Body::from(CREATE));
    assert_rpc_refused(&send_as_is(&daemon.socket, by_bearer.expect("r")).await, &daemon, StatusCode::UNAUTHORIZED, "wrong_token");
    let by_cookie = Request::get("/")
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("hero_logic_token_9820={wrong}"))
        .body(Body::empty());
    let reply = send_as_is(&daemon.socket, by_cookie.expect("r")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("not this admin"), "{}", reply.body);
    let by_link = Request::get(format!("/?token={wrong}")).header(header::HOST, HOST).body(Body::empty());
    let reply = send_as_is(&daemon.socket, by_link.expect("r")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(!reply.headers.contains_key(header::SET_COOKIE), "no cookie for a wrong token");
    // Another admin's cookie (another port) is not this one's.
    let other_port = Request::get("/")
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("hero_logic_token_9821={TOKEN}"))
        .body(Body::empty());
    assert_eq!(send_as_is(&daemon.socket, other_port.expect("r")).await.status, StatusCode::UNAUTHORIZED);
    assert!(daemon.requests().is_empty());
}

#[tokio::test]
async fn the_link_sets_a_strict_http_only_cookie_and_drops_the_token_from_the_url() {
    let daemon = daemon().await;
    let link = Request::get(format!("/logics/00aa?play=0101&token={TOKEN}&tab=code")).header(header::HOST, HOST);
    let reply = send_as_is(&daemon.socket, link.body(Body::empty()).expect("r")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/logics/00aa?play=0101&tab=code");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let cookie = reply.headers[header::SET_COOKIE].to_str().expect("text").to_string();
    let pair = format!("hero_logic_token_9820={TOKEN}");
    for part in [pair.as_str(), "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let home = Request::get(format!("/?token={TOKEN}")).header(header::HOST, HOST).body(Body::empty());
    assert_eq!(send_as_is(&daemon.socket, home.expect("r")).await.headers[header::LOCATION], "/");
    // Logged in already (`send` adds the bearer): the link still leaves the address bar.
    let again = send(&daemon.socket, Request::get(format!("/?q=x&token={TOKEN}")).body(Body::empty()).expect("r")).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.headers[header::LOCATION], "/?q=x");

    // The cookie alone opens pages and /rpc.
    let (name_value, _) = cookie.split_once(';').expect("attributes");
    let page = Request::get("/").header(header::HOST, HOST).header(header::COOKIE, format!("theme=dark; {name_value}"));
    let reply = send_as_is(&daemon.socket, page.body(Body::empty()).expect("r")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let call = rpc_post("application/json")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, name_value)
        .body(Body::from(CREATE));
    let reply = send_as_is(&daemon.socket, call.expect("r")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(json_body(&reply)["result"]["sid"], "00aa");
}

#[tokio::test]
async fn the_bearer_token_opens_rpc_and_api_for_scripts() {
    let daemon = daemon().await;
    let call = rpc_post("application/json; charset=utf-8")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(CREATE));
    let reply = send_as_is(&daemon.socket, call.expect("r")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(daemon.requests().len(), 1, "the call reached the daemon");
    assert_eq!(daemon.requests()[0]["method"], "LogicService.logic_create");
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let daemon = daemon().await;
    let reply = send_as_is(&daemon.socket, Request::get("/healthz").header(header::HOST, HOST).body(Body::empty()).expect("r")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(json_body(&reply)["ok"], true);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let daemon = daemon().await;
    let requests = [
        Request::get("/").body(Body::empty()),
        Request::get("/healthz").body(Body::empty()),
        Request::get("/static/logic.js").body(Body::empty()),
        Request::get("/nope").body(Body::empty()),
        Request::get("/").header(header::AUTHORIZATION, "Bearer nope").body(Body::empty()),
        Request::get("/").header(header::HOST, "evil.example").body(Body::empty()),
    ];
    for request in requests {
        let request = request.expect("request");
        let uri = request.uri().to_string();
        let reply = send(&daemon.socket, request).await;
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("text");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{uri}: {csp}");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(reply.headers[header::REFERRER_POLICY], "no-referrer", "{uri}");
        assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY", "{uri}");
    }
}

#[tokio::test]
async fn pages_hold_no_inline_script_handler_or_style_the_csp_would_block() {
    let daemon = FakeDaemon::start(|method, _| match method {
        "LogicService.logic_dashboard" => json!([{
            "logic": {"sid": "00aa", "name": "greeting", "description": "", "tags": ["demo"], "current_version_sid": "0002"},
            "current_version_label": "v1", "latest_run_at": 1, "latest_status": "success",
            "success_rate": 0.5, "recent_runs": 2,
        }]),
        _ => json!({"items": [], "next_cursor": null}),
    })
    .await;
    for uri in ["/", "/logics/new"] {
        let reply = send(&daemon.socket, Request::get(uri).body(Body::empty()).expect("request")).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        common::assert_csp_clean(uri, &reply.body);
    }
    let dashboard = send(&daemon.socket, Request::get("/").body(Body::empty()).expect("request")).await;
    assert!(dashboard.body.contains(r#"<rect width="50""#), "the success bar is drawn without a style: {}", dashboard.body);
}

#[tokio::test]
async fn each_page_gets_a_fresh_style_nonce_in_its_csp_and_its_meta_tag() {
    let daemon = daemon().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let reply = send(&daemon.socket, Request::get("/logics/new").body(Body::empty()).expect("request")).await;
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("text").to_string();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("a page's CSP names a style nonce: {csp}"))
            .to_string();
        assert!(csp.contains(&format!("style-src 'self' 'nonce-{nonce}'")), "{csp}");
        assert!(reply.body.contains(&format!(r#"<meta name="hero-logic-style-nonce" content="{nonce}">"#)), "{}", reply.body);
        assert!(!reply.body.contains("__HERO_LOGIC_STYLE_NONCE__"));
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a nonce is never reused");
    let script = send(&daemon.socket, Request::get("/static/logic.js").body(Body::empty()).expect("request")).await;
    assert!(!script.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("text").contains("nonce"));
}
