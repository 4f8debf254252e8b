//! The admin's one error type and how each kind of failure looks to a browser.

use std::path::PathBuf;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use hero_logic_api::error::NOT_FOUND;
use hero_logic_api::ClientError;

/// JSON-RPC error code the `/rpc` proxy answers with when the daemon cannot be reached.
/// Kept in the server-defined range and away from the daemon's own codes.
pub const DAEMON_UNREACHABLE: i32 = -32050;
/// JSON-RPC error code of a `/rpc` request the admin's trust boundary refused
/// (`data.kind` says which check: `foreign_host`, `cross_origin`, `not_json`, `no_token`, `wrong_token`).
pub const REFUSED: i32 = -32051;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot reach the hero_logic daemon at {}: {source}", socket.display())]
    DaemonUnreachable { socket: PathBuf, source: std::io::Error },

    #[error("the hero_logic daemon at {} did not answer within {secs} s", socket.display())]
    DaemonTimeout { socket: PathBuf, secs: u64 },

    #[error("the hero_logic daemon failed the request: {0}")]
    Daemon(ClientError),

    #[error("{0}")]
    NotFound(String),

    #[error("could not render the page: {0}")]
    Render(#[from] askama::Error),

    #[error(
        "cannot listen on {addr}: {source}; pick a free address with --listen ADDR \
         (or HERO_LOGIC_ADMIN_ADDR), e.g. --listen 127.0.0.1:9821"
    )]
    Bind { addr: String, source: std::io::Error },

    #[error("the web server stopped with an error: {0}")]
    Serve(std::io::Error),

    #[error("{0}")]
    Token(#[from] hero_logic_api::admin_token::TokenError),

    #[error(
        "this admin does not answer to the host name {host:?}: it answers only to 127.0.0.1, \
         localhost, [::1] and its listen address, so no web site can reach it under a name of its own \
         (DNS rebinding)"
    )]
    ForeignHost { host: String },

    #[error("refused a request from {origin}: the admin takes changes and serves data only to its own pages")]
    CrossOrigin { origin: String },

    #[error("/rpc takes only `Content-Type: application/json`; this request sent {content_type:?}")]
    NotJson { content_type: String },

    #[error("this admin needs its access token, and the request carried none")]
    NoToken { login: String },

    #[error("the access token this request carried is not this admin's (an old link, or another data dir's?)")]
    WrongToken { login: String },
}

impl From<ClientError> for AdminError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Connect { path, source } => AdminError::DaemonUnreachable { socket: path, source },
            ClientError::Rpc { code: NOT_FOUND, message, .. } => AdminError::NotFound(message),
            other => AdminError::Daemon(other),
        }
    }
}

impl AdminError {
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::DaemonUnreachable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::DaemonTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            AdminError::Daemon(_) => StatusCode::BAD_GATEWAY,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::ForeignHost { .. } | AdminError::CrossOrigin { .. } => StatusCode::FORBIDDEN,
            AdminError::NotJson { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AdminError::NoToken { .. } | AdminError::WrongToken { .. } => StatusCode::UNAUTHORIZED,
            AdminError::Token(_) | AdminError::Render(_) | AdminError::Bind { .. } | AdminError::Serve(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the reader can do about it; empty when there is nothing useful to say.
    pub fn hint(&self) -> String {
        match self {
            AdminError::DaemonUnreachable { socket, .. } | AdminError::DaemonTimeout { socket, .. } => format!(
                "Start it with `hero_logic up` (starts the daemon and this admin), or run \
                 `hero_logic_server --socket {}`.",
                socket.display()
            ),
            AdminError::NotFound(_) => "Go back to the dashboard and pick a Logic from the list.".into(),
            AdminError::NoToken { login } | AdminError::WrongToken { login } => login.clone(),
            AdminError::CrossOrigin { .. } => {
                "Make the change from the admin's own page, or from a script with `Authorization: Bearer <token>` \
                 and no Origin header."
                    .into()
            }
            AdminError::NotJson { .. } => {
                "Send the JSON-RPC request with the header `Content-Type: application/json`.".into()
            }
            _ => String::new(),
        }
    }

    pub(crate) fn title(&self) -> &'static str {
        match self {
            AdminError::ForeignHost { .. } => "Unknown host name",
            AdminError::CrossOrigin { .. } => "Cross-origin request refused",
            AdminError::NotJson { .. } => "JSON only",
            AdminError::NoToken { .. } => "Log in with the dashboard link",
            AdminError::WrongToken { .. } => "Wrong access token",
            AdminError::DaemonUnreachable { .. } => "Daemon not reachable",
            AdminError::DaemonTimeout { .. } => "Daemon not answering",
            AdminError::Daemon(_) => "Daemon error",
            AdminError::NotFound(_) => "Not found",
            _ => "Internal error",
        }
    }
}

impl AdminError {
    /// The `data.kind` of a refusal, for clients that branch on it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            AdminError::ForeignHost { .. } => "foreign_host",
            AdminError::CrossOrigin { .. } => "cross_origin",
            AdminError::NotJson { .. } => "not_json",
            AdminError::NoToken { .. } => "no_token",
            AdminError::WrongToken { .. } => "wrong_token",
            _ => "error",
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
    hint: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!("{self}");
        }
        let page = ErrorPage { title: self.title(), message: self.to_string(), hint: self.hint() };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            // The error page itself failed: fall back to text rather than hide the original error.
            Err(_) => (status, format!("{}\n{}", page.message, page.hint)).into_response(),
        }
    }
}
