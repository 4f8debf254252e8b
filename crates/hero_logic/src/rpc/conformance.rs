//! JSON-RPC 2.0 as its specification says, in front of jsonrpsee.
//!
//! jsonrpsee leaves four corners of the specification (section 7) to the application: it does
//! not execute notifications (it drops them and answers `null`), it calls valid JSON that is not
//! a Request object a parse error, it lets non-structured `params` reach the method, and it
//! answers an all-notification batch with a body. This layer reads each body once and decides:
//!
//! - a single Request with an `id` passes through untouched (the common case, no re-encoding);
//! - text that is not JSON passes through too, so jsonrpsee answers `-32700`;
//! - an entry that is not a Request object is answered here with `-32600`;
//! - a notification is sent on with an id of ours, executed, and its answer dropped;
//! - a numeric id jsonrpsee cannot carry (negative, fractional) is sent on as an id of ours
//!   and put back in the answer;
//! - a batch is rebuilt from its valid entries, sent on as one batch, and the answers to our
//!   ids removed or given their own ids back; when nothing is left to answer the reply has no
//!   body (204).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};

use hero_logic_api::error::{ErrorData, INVALID_REQUEST};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use hyper::{header, Method, Request, Response, StatusCode};
use jsonrpsee::server::HttpBody;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tower::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps the jsonrpsee service of one connection.
#[derive(Clone)]
pub struct Conformant<S> {
    inner: S,
    max_body_bytes: usize,
}

impl<S> Conformant<S> {
    pub fn new(inner: S, max_body_bytes: u32) -> Self {
        Conformant { inner, max_body_bytes: max_body_bytes as usize }
    }
}

impl<S, In> Service<Request<In>> for Conformant<S>
where
    In: Body<Data = Bytes> + Send + 'static,
    In::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>, Response = Response<HttpBody>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
{
    type Response = Response<HttpBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<In>) -> Self::Future {
        // The clone answers this request; `self.inner` stays ready for the next (tower's rule).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.max_body_bytes;
        Box::pin(answer(inner, request, limit))
    }
}

async fn answer<S, In>(mut inner: S, request: Request<In>, limit: usize) -> Result<Response<HttpBody>, BoxError>
where
    In: Body<Data = Bytes> + Send + 'static,
    In::Error: Into<BoxError>,
    S: Service<Request<Full<Bytes>>, Response = Response<HttpBody>>,
    S::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(too_large(limit)),
    };
    if parts.method != Method::POST {
        return forward(&mut inner, parts, bytes).await;
    }
    match plan(&bytes) {
        Plan::PassThrough => forward(&mut inner, parts, bytes).await,
        Plan::Reply(error) => Ok(json_reply(&error)),
        Plan::Rewrite(batch) => run_rewritten(&mut inner, parts, batch).await,
    }
}

async fn run_rewritten<S>(inner: &mut S, mut parts: hyper::http::request::Parts, batch: Batch) -> Result<Response<HttpBody>, BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<HttpBody>>,
    S::Error: Into<BoxError>,
{
    let mut answers = Vec::new();
    if !batch.forward.is_empty() {
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = format!("[{}]", batch.forward.iter().map(|e| e.get()).collect::<Vec<_>>().join(","));
        let response = forward(inner, parts, Bytes::from(body)).await?;
        let (head, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let Ok(entries) = serde_json::from_slice::<Vec<Value>>(&bytes) else {
            // A whole-batch refusal (too many entries, ...) is jsonrpsee's to give.
            return Ok(Response::from_parts(head, HttpBody::from(bytes.to_vec())));
        };
        answers.extend(entries.into_iter().filter_map(|answer| restore_id(answer, &batch.rewritten)));
    }
    answers.extend(batch.errors);
    match answers.len() {
        0 => Ok(no_content()),
        _ if batch.single => Ok(json_reply(&answers.swap_remove(0))),
        _ => Ok(json_reply(&Value::Array(answers))),
    }
}

/// The answer with the client's own id back, or `None` for the answer to a notification.
fn restore_id(mut answer: Value, rewritten: &HashMap<String, Option<Value>>) -> Option<Value> {
    let ours = answer.get("id").and_then(Value::as_str).and_then(|id| rewritten.get(id));
    match ours {
        None => Some(answer),
        Some(None) => None,
        Some(Some(original)) => {
            answer["id"] = original.clone();
            Some(answer)
        }
    }
}

async fn forward<S>(inner: &mut S, parts: hyper::http::request::Parts, body: Bytes) -> Result<Response<HttpBody>, BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<HttpBody>>,
    S::Error: Into<BoxError>,
{
    std::future::poll_fn(|cx| inner.poll_ready(cx)).await.map_err(Into::into)?;
    inner.call(Request::from_parts(parts, Full::new(body))).await.map_err(Into::into)
}

/// What to do with one body.
#[derive(Debug)]
enum Plan {
    PassThrough,
    /// Answered here, without calling a method.
    Reply(Value),
    /// Sent on rebuilt: notifications and ids jsonrpsee cannot carry get ids of ours.
    Rewrite(Batch),
}

#[derive(Debug, Default)]
struct Batch {
    /// One request, not a batch: the answer is an object, not an array.
    single: bool,
    /// The entries jsonrpsee runs, some with ids of ours.
    forward: Vec<Box<RawValue>>,
    /// Our ids: `None` for a notification (its answer is dropped), else the client's id.
    rewritten: HashMap<String, Option<Value>>,
    /// Answers given here to entries that are not Request objects.
    errors: Vec<Value>,
}

impl Batch {
    fn add(&mut self, raw: Box<RawValue>) {
        match classify(&raw) {
            Entry::Call => self.forward.push(raw),
            Entry::Rewrite(members, original) => {
                let id = next_own_id();
                self.forward.push(with_id(members, &id));
                self.rewritten.insert(id, original);
            }
            Entry::Invalid(error) => self.errors.push(error),
        }
    }
}

fn plan(body: &[u8]) -> Plan {
    let Ok(raw) = serde_json::from_slice::<&RawValue>(body) else { return Plan::PassThrough };
    let text = raw.get().trim_start();
    if text.starts_with('[') {
        let Ok(entries) = serde_json::from_str::<Vec<Box<RawValue>>>(text) else { return Plan::PassThrough };
        if entries.is_empty() {
            return Plan::Reply(invalid_request(Value::Null, "", "the batch is empty", "send at least one Request object in the array"));
        }
        let mut batch = Batch::default();
        entries.into_iter().for_each(|entry| batch.add(entry));
        return Plan::Rewrite(batch);
    }
    match classify(raw) {
        Entry::Call => Plan::PassThrough,
        Entry::Invalid(error) => Plan::Reply(error),
        Entry::Rewrite(..) => {
            let mut batch = Batch { single: true, ..Default::default() };
            batch.add(raw.to_owned());
            Plan::Rewrite(batch)
        }
    }
}

type Members = BTreeMap<String, Box<RawValue>>;

enum Entry {
    /// Sent on as it is.
    Call,
    /// Sent on with an id of ours: a notification (`None`), or the client's id jsonrpsee
    /// cannot carry.
    Rewrite(Members, Option<Value>),
    Invalid(Value),
}

/// Checks one entry against the specification's section 4 (the Request object).
fn classify(raw: &RawValue) -> Entry {
    let Ok(members) = serde_json::from_str::<Members>(raw.get()) else {
        return Entry::Invalid(invalid_request(
            Value::Null,
            "",
            "a request must be a JSON object",
            "send {\"jsonrpc\": \"2.0\", \"method\": \"...\", \"params\": {...}, \"id\": 1}",
        ));
    };
    let id = match members.get("id").map(|raw| serde_json::from_str::<Value>(raw.get())) {
        None => None,
        Some(Ok(id)) if valid_id(&id) => Some(id),
        Some(_) => {
            return Entry::Invalid(invalid_request(Value::Null, "id", "id must be a string, a number or null", "omit id for a notification"))
        }
    };
    // A valid id is echoed, so the client can tell which of its requests was refused.
    let echo = id.clone().unwrap_or(Value::Null);
    if members.get("jsonrpc").map(|v| v.get()) != Some("\"2.0\"") {
        return Entry::Invalid(invalid_request(echo, "jsonrpc", "jsonrpc must be the string \"2.0\"", "add \"jsonrpc\": \"2.0\""));
    }
    if !members.get("method").is_some_and(|m| m.get().starts_with('"')) {
        return Entry::Invalid(invalid_request(echo, "method", "method must be a string", "name the method, e.g. \"method\": \"logic.list\""));
    }
    if let Some(params) = members.get("params") {
        // `null` is taken as no params: several clients send it for a method without any.
        if !(params.get().starts_with('{') || params.get().starts_with('[') || params.get() == "null") {
            return Entry::Invalid(invalid_request(
                echo,
                "params",
                "params must be an object or an array",
                "send params by name: \"params\": {\"name\": value, ...}",
            ));
        }
    }
    match id {
        None => Entry::Rewrite(members, None),
        // jsonrpsee's ids are strings and unsigned integers; the specification allows any number.
        Some(Value::Number(n)) if !n.is_u64() => Entry::Rewrite(members, Some(Value::Number(n))),
        Some(_) => Entry::Call,
    }
}

fn valid_id(id: &Value) -> bool {
    matches!(id, Value::String(_) | Value::Number(_) | Value::Null)
}

fn with_id(mut members: Members, id: &str) -> Box<RawValue> {
    let id = serde_json::to_string(id).expect("a string always encodes");
    members.insert("id".into(), RawValue::from_string(id).expect("an encoded string is JSON"));
    let text = serde_json::to_string(&members).expect("raw members always encode");
    RawValue::from_string(text).expect("encoded members are JSON")
}

/// An id no client sends: a per-process random prefix and a counter.
fn next_own_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    format!("hero_logic.notification.{prefix:016x}.{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn invalid_request(id: Value, field: &str, why: &str, hint: &str) -> Value {
    let data = ErrorData { kind: "invalid_request".into(), field: field.into(), hint: hint.into(), line: None, column: None };
    json!({"jsonrpc": "2.0", "error": {"code": INVALID_REQUEST, "message": format!("Invalid request: {why}"), "data": data}, "id": id})
}

fn json_reply(value: &Value) -> Response<HttpBody> {
    let mut response = Response::new(HttpBody::from(value.to_string()));
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

fn no_content() -> Response<HttpBody> {
    let mut response = Response::new(HttpBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn too_large(limit: usize) -> Response<HttpBody> {
    let error = invalid_request(Value::Null, "", &format!("the body is larger than {limit} bytes"), "send smaller sources or inputs");
    let mut response = json_reply(&error);
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_code(plan: Plan) -> Value {
        match plan {
            Plan::Reply(v) => v["error"]["code"].clone(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn requests_with_an_id_pass_through() {
        assert!(matches!(plan(br#"{"jsonrpc":"2.0","method":"a","params":{},"id":1}"#), Plan::PassThrough));
        assert!(matches!(plan(br#"{"jsonrpc":"2.0","method":"a","id":null}"#), Plan::PassThrough));
        assert!(matches!(plan(b"{not json"), Plan::PassThrough), "jsonrpsee answers parse errors");
    }

    #[test]
    fn non_requests_are_invalid() {
        assert_eq!(reply_code(plan(br#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#)), json!(INVALID_REQUEST));
        assert_eq!(reply_code(plan(br#"{"jsonrpc":"2.0","method":"a","params":"bar","id":3}"#)), json!(INVALID_REQUEST));
        assert_eq!(reply_code(plan(br#"{"jsonrpc":"1.0","method":"a","id":3}"#)), json!(INVALID_REQUEST));
        assert_eq!(reply_code(plan(br#"{"jsonrpc":"2.0","method":"a","id":{}}"#)), json!(INVALID_REQUEST));
        assert_eq!(reply_code(plan(b"1")), json!(INVALID_REQUEST));
        assert_eq!(reply_code(plan(b"[]")), json!(INVALID_REQUEST));
    }

    #[test]
    fn a_valid_id_is_echoed_in_the_error() {
        let Plan::Reply(error) = plan(br#"{"jsonrpc":"2.0","method":"a","params":"bar","id":"x"}"#) else { panic!() };
        assert_eq!(error["id"], "x");
        assert_eq!(error["error"]["data"]["field"], "params");
    }

    #[test]
    fn notifications_get_ids_of_ours_in_a_batch() {
        let Plan::Rewrite(batch) = plan(br#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","method":"r","id":1},{"foo":"boo"}]"#)
        else {
            panic!()
        };
        assert!(!batch.single);
        assert_eq!(batch.forward.len(), 2);
        assert_eq!(batch.rewritten.len(), 1);
        assert_eq!(batch.errors.len(), 1);
        let rewritten: Value = serde_json::from_str(batch.forward[0].get()).unwrap();
        assert_eq!(batch.rewritten[rewritten["id"].as_str().unwrap()], None, "a notification's answer is dropped");
        assert_eq!(rewritten["method"], "n");
    }

    #[test]
    fn numeric_ids_jsonrpsee_cannot_carry_are_put_back() {
        let Plan::Rewrite(batch) = plan(br#"{"jsonrpc":"2.0","method":"r","id":-1.5}"#) else { panic!() };
        assert!(batch.single);
        let sent: Value = serde_json::from_str(batch.forward[0].get()).unwrap();
        let ours = sent["id"].as_str().unwrap().to_string();
        let answer = restore_id(json!({"jsonrpc": "2.0", "result": 1, "id": ours}), &batch.rewritten).unwrap();
        assert_eq!(answer["id"], json!(-1.5));
    }
}
