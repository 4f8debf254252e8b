//! The admin's trust boundary, in front of every route: it answers only under its own host
//! names, takes changes and serves data only to its own pages (other sites may only link to
//! it), and only to someone holding the data dir's access token. Every answer carries the security headers (CSP and friends).
//!
//! The token arrives once in a link (`/?token=...`, printed by `hero_logic up` and
//! `hero_logic admin-url`), becomes an HttpOnly, SameSite=Strict cookie, and the browser is
//! sent on to the same URL without it. Scripts send `Authorization: Bearer <token>` instead.

use std::path::{Path, PathBuf};

use askama::Template;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use hero_logic_api::admin_token;
use serde_json::json;

use crate::error::{AdminError, REFUSED};
use crate::state::AppState;

/// Loads only the admin's own files; nothing may frame it.
const CSP: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";
/// Written into pages where the response's style nonce goes (`<meta name="hero-logic-style-nonce">`
/// in base.html): the code editor (CodeMirror) puts its styles in one `<style>` element,
/// which the CSP lets in by that nonce and no other inline style.
const NONCE_PLACEHOLDER: &str = "__HERO_LOGIC_STYLE_NONCE__";
/// Random bytes in a style nonce.
const NONCE_BYTES: usize = 16;
/// The largest page whose nonce is filled in (a logic page carries its source, up to 16 MiB).
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The login link's query parameter.
const TOKEN_PARAM: &str = "token";
/// The login cookie lasts this long (30 days); the token itself never changes on its own.
const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 3600;

/// Who may talk to this admin: the token, and the names it answers to.
#[derive(Clone)]
pub struct Access {
    token: String,
    token_file: PathBuf,
    /// Lowercase `host[:port]` values a `Host` header may carry.
    hosts: Vec<String>,
    /// The address links point at (`127.0.0.1:9820`).
    link_addr: String,
    /// Per port: cookies do not tell ports apart, and two admins (two data dirs) must not
    /// overwrite each other's login.
    cookie: String,
}

impl Access {
    /// Access for an admin listening on `listen` (as configured) and bound to `port`, with the
    /// token read from `token_file`.
    pub fn new(token: String, token_file: &Path, listen: &str, port: u16) -> Access {
        let listen_host = host_part(listen).to_ascii_lowercase();
        let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string(), "[::1]".to_string()];
        if !is_wildcard(&listen_host) && !names.contains(&listen_host) {
            names.push(listen_host.clone());
        }
        let mut hosts: Vec<String> = names.iter().map(|name| format!("{name}:{port}")).collect();
        if port == 80 {
            hosts.extend(names.iter().cloned());
        }
        // A wildcard listen is reached through loopback, as `hero_logic up` prints it.
        let link_host = match listen_host.as_str() {
            "[::]" => "[::1]",
            host if is_wildcard(host) => "127.0.0.1",
            host => host,
        };
        Access {
            token,
            token_file: token_file.to_path_buf(),
            hosts,
            link_addr: format!("{link_host}:{port}"),
            cookie: format!("hero_logic_token_{port}"),
        }
    }

    /// The address links point at (`127.0.0.1:9820`).
    pub fn link_addr(&self) -> &str {
        &self.link_addr
    }

    /// How to get in, without anything a foreign page should learn (no paths).
    fn public_login_hint(&self) -> String {
        format!(
            "Open the dashboard link `hero_logic up` printed (http://{}/?token=…); \
             `hero_logic admin-url` prints it again (add --data-dir DIR for another data dir).",
            self.link_addr
        )
    }

    fn login_hint(&self) -> String {
        format!(
            "{} A script sends `Authorization: Bearer <token>` with the token from {}.",
            self.public_login_hint(),
            self.token_file.display()
        )
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        self.hosts.contains(&host)
    }
}

/// Everything but the token, which must not end up in a log.
impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &"<redacted>")
            .field("token_file", &self.token_file)
            .field("hosts", &self.hosts)
            .field("cookie", &self.cookie)
            .finish()
    }
}

fn host_part(listen: &str) -> &str {
    match listen.rsplit_once(':') {
        // `[::1]:9820` keeps its brackets, as a Host header writes it.
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => listen,
    }
}

fn is_wildcard(host: &str) -> bool {
    matches!(host, "0.0.0.0" | "[::]" | "")
}

/// Runs before every route: refuses what is not allowed, logs a browser in from the link,
/// and adds the security headers to whatever is answered.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = state.access();
    let path = request.uri().path().to_string();
    let response = match check(access, &request) {
        Ok(Verdict::Pass) => next.run(request).await,
        Ok(Verdict::LoggedIn(response)) => response,
        Err(refusal) => refused(access, refusal, &path),
    };
    with_security_headers(response).await
}

enum Verdict {
    Pass,
    /// The link's token was right: the cookie is set and the browser sent on without it.
    LoggedIn(Response),
}

fn check(access: &Access, request: &Request) -> Result<Verdict, AdminError> {
    let headers = request.headers();
    let host = header_text(headers, &header::HOST);
    if !access.host_allowed(&host) {
        return Err(AdminError::ForeignHost { host });
    }
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if reads {
        check_not_embedded(headers)?;
    } else {
        check_same_origin(headers, &host)?;
    }
    let path = request.uri().path();
    if path == "/rpc" && !reads {
        check_json(headers)?;
    }
    if path == "/healthz" {
        return Ok(Verdict::Pass);
    }
    // A link is followed even by a browser that is logged in already, so that the token
    // leaves the address bar either way.
    if reads {
        if let Some(token) = link_token(request.uri().query()) {
            if admin_token::matches(&token, &access.token) {
                return Ok(Verdict::LoggedIn(log_in(access, request)));
            }
            return Err(AdminError::WrongToken { login: access.login_hint() });
        }
    }
    let presented = presented_token(access, headers);
    if let Some(token) = &presented {
        if admin_token::matches(token, &access.token) {
            return Ok(Verdict::Pass);
        }
    }
    match presented {
        Some(_) => Err(AdminError::WrongToken { login: access.login_hint() }),
        None => Err(AdminError::NoToken { login: access.login_hint() }),
    }
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A change must come from the admin's own pages. Browsers say where a request comes from
/// (`Origin`, `Sec-Fetch-Site`); clients without either (curl, scripts) still need the token.
fn check_same_origin(headers: &HeaderMap, host: &str) -> Result<(), AdminError> {
    let site = header_text(headers, &HeaderName::from_static("sec-fetch-site"));
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)").trim();
        let own = format!("http://{}", host.trim()).eq_ignore_ascii_case(origin);
        // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even for its own
        // pages' posts; then only its (unforgeable) Sec-Fetch-Site can vouch for the page.
        let vouched = origin == "null" && site == "same-origin";
        if !own && !vouched {
            return Err(AdminError::CrossOrigin { origin: origin.to_string() });
        }
    }
    if !matches!(site.as_str(), "" | "same-origin" | "none") {
        return Err(AdminError::CrossOrigin { origin: format!("a {site} page (Sec-Fetch-Site)") });
    }
    Ok(())
}

/// Another site (or another port of this host, which is the same site to cookies) may link to
/// a page, but not load the admin's data or assets into its own page: browsers say which one a
/// request is (`Sec-Fetch-*`), so only top-level navigations come in from elsewhere.
fn check_not_embedded(headers: &HeaderMap) -> Result<(), AdminError> {
    let fetch = |name: &'static str| header_text(headers, &HeaderName::from_static(name));
    let site = fetch("sec-fetch-site");
    if matches!(site.as_str(), "" | "same-origin" | "none") {
        return Ok(());
    }
    let navigation = fetch("sec-fetch-mode") == "navigate" && fetch("sec-fetch-dest") == "document";
    if navigation {
        Ok(())
    } else {
        Err(AdminError::CrossOrigin { origin: format!("a {site} page (Sec-Fetch-Site)") })
    }
}

/// `/rpc` takes JSON only: a `text/plain` body is what a cross-site `no-cors` fetch can send.
fn check_json(headers: &HeaderMap) -> Result<(), AdminError> {
    let content_type = header_text(headers, &header::CONTENT_TYPE);
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(AdminError::NotJson { content_type })
    }
}

/// The token of a `Authorization: Bearer` header, else of the login cookie.
fn presented_token(access: &Access, headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == access.cookie)
            .map(|(_, value)| value.trim().to_string())
    })
}

fn link_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| match pair.split_once('=') {
        Some((TOKEN_PARAM, value)) => Some(value.to_string()),
        _ => None,
    })
}

/// Sets the login cookie and sends the browser to the same URL without the token, so it
/// stays out of the history, bookmarks and anything copied from the address bar.
fn log_in(access: &Access, request: &Request) -> Response {
    let rest: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |(name, _)| name) != TOKEN_PARAM)
        .collect();
    let mut target = request.uri().path().to_string();
    if !rest.is_empty() {
        target.push('?');
        target.push_str(&rest.join("&"));
    }
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECS}",
        access.cookie, access.token
    );
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_string())],
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage {
    title: &'static str,
    message: String,
    hint: String,
}

/// A refusal in the form its caller reads: JSON-RPC for `/rpc`, JSON for `/api` and
/// `/healthz`, a page for everything a browser opens.
fn refused(access: &Access, refusal: AdminError, path: &str) -> Response {
    let status = refusal.status();
    let hint = match &refusal {
        // A page behind a foreign name may be a rebinding attacker's: tell it nothing local.
        AdminError::ForeignHost { .. } => access.public_login_hint(),
        other => other.hint(),
    };
    tracing::info!("refused {path}: {refusal}");
    let message = refusal.to_string();
    if path == "/rpc" {
        let answer = json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": REFUSED, "message": message, "data": {"kind": refusal.kind(), "hint": hint}},
        });
        return (status, Json(answer)).into_response();
    }
    if path.starts_with("/api/") || path == "/healthz" {
        return (status, Json(json!({"error": message, "kind": refusal.kind(), "hint": hint}))).into_response();
    }
    let page = RefusedPage { title: refusal.title(), message, hint };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, format!("{}\n{}", page.message, page.hint)).into_response(),
    }
}

/// Adds the security headers; a page also gets a fresh style nonce, in its CSP and in the page.
async fn with_security_headers(response: Response) -> Response {
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let nonce = if is_page { admin_token::random_hex(NONCE_BYTES).ok() } else { None };
    let mut response = match &nonce {
        Some(nonce) => stamp_nonce(response, nonce).await,
        None => response,
    };
    let csp = match &nonce {
        Some(nonce) => HeaderValue::from_str(&format!("{CSP}; style-src 'self' 'nonce-{nonce}'")),
        None => Ok(HeaderValue::from_static(CSP)),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.unwrap_or(HeaderValue::from_static(CSP)));
    add_fixed_headers(headers);
    response
}

/// Writes `nonce` where the page holds [`NONCE_PLACEHOLDER`].
async fn stamp_nonce(response: Response, nonce: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        let message = format!("the page is larger than {} MiB and cannot be shown", MAX_PAGE_BYTES >> 20);
        return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
    };
    let page = String::from_utf8_lossy(&bytes).replace(NONCE_PLACEHOLDER, nonce);
    // The length changed; the new body says its own.
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

fn add_fixed_headers(headers: &mut HeaderMap) {
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // The token is in the URL once, on the way in; no page passes its URL on.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(listen: &str, port: u16) -> Access {
        Access::new("t".repeat(64), Path::new("/d/admin.token"), listen, port)
    }

    #[test]
    fn answers_to_loopback_names_and_its_listen_address_with_the_port() {
        let a = access("192.168.1.5:9820", 9820);
        for host in ["127.0.0.1:9820", "localhost:9820", "[::1]:9820", "192.168.1.5:9820", "LocalHost:9820"] {
            assert!(a.host_allowed(host), "{host}");
        }
        for host in ["evil.example:9820", "127.0.0.1:9821", "localhost", "", "127.0.0.1.evil.example:9820"] {
            assert!(!a.host_allowed(host), "{host}");
        }
        assert!(access("127.0.0.1:80", 80).host_allowed("localhost"));
    }

    #[test]
    fn a_wildcard_listen_links_through_loopback() {
        assert_eq!(access("0.0.0.0:9820", 9820).link_addr, "127.0.0.1:9820");
        assert_eq!(access("[::1]:9820", 9820).link_addr, "[::1]:9820");
        assert_eq!(access("[::]:9820", 9820).link_addr, "[::1]:9820");
        assert_eq!(access("localhost:9820", 9820).link_addr, "localhost:9820");
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let text = format!("{:?}", access("127.0.0.1:9820", 9820));
        assert!(!text.contains("tttt") && text.contains("redacted"), "{text}");
    }

    #[test]
    fn finds_the_link_token_among_other_parameters() {
        assert_eq!(link_token(Some("play=02j7&token=abc")).as_deref(), Some("abc"));
        assert_eq!(link_token(Some("tokens=abc")), None);
        assert_eq!(link_token(None), None);
    }
}
