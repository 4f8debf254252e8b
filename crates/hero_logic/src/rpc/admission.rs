//! Admission in front of the JSON-RPC server: a bounded number of requests are answered at
//! once, more wait their turn (FIFO), and only past a long queue is a request turned away,
//! with a JSON-RPC error that says to retry. No client gets a dropped connection or a bare
//! HTTP status without a JSON-RPC body.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hero_logic_api::error::{ErrorData, BUSY};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests answered at once. Above the engine's needs (a `play_wait` holds one for as long
/// as it waits) and below what the process's file descriptors allow.
pub const MAX_IN_FLIGHT: usize = 512;
/// Requests that may wait for a slot; one more is answered with [`BUSY`] at once.
pub const MAX_WAITING: usize = 8192;
/// jsonrpsee's own per-request limit, kept above the gate's so it never answers first.
pub const JSONRPSEE_LIMIT: u32 = (MAX_IN_FLIGHT * 2) as u32;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The shared count of slots and waiters.
#[derive(Clone, Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    in_flight_max: usize,
    waiting: Arc<AtomicUsize>,
    waiting_max: usize,
}

/// The queue was full: how full, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub in_flight: usize,
    pub waiting: usize,
}

/// Counts one waiter for as long as it waits, however its wait ends (a client may hang up).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub fn new(in_flight_max: usize, waiting_max: usize) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(in_flight_max)),
            in_flight_max,
            waiting: Arc::new(AtomicUsize::new(0)),
            waiting_max,
        }
    }

    /// A slot, at once or after waiting in line; [`Busy`] when the line is full.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(Arc::clone(&self.waiting));
        if ahead >= self.waiting_max {
            return Err(Busy { in_flight: self.in_flight_max, waiting: ahead });
        }
        // The semaphore is never closed, so acquiring only fails if that changes.
        Arc::clone(&self.slots).acquire_owned().await.map_err(|_| Busy { in_flight: self.in_flight_max, waiting: ahead })
    }
}

/// The JSON-RPC answer to a request turned away: HTTP 503 with `Retry-After`, and a body any
/// JSON-RPC client reads as an error with code [`BUSY`] (id `null`: the body was not read).
pub fn busy_response(busy: Busy) -> HttpResponse {
    let data = ErrorData {
        kind: "busy".into(),
        hint: "retry the call in a moment (e.g. after 100 ms, doubling the pause each time)".into(),
        ..ErrorData::default()
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": BUSY,
            "message": format!(
                "the daemon is busy: {} requests are being answered and {} more are waiting; \
                 nothing was done, retry shortly",
                busy.in_flight, busy.waiting
            ),
            "data": data,
        },
    });
    let mut response = HttpResponse::new(HttpBody::from(body.to_string()));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    headers.insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    response
}

/// The HTTP middleware that puts every request through an [`Admission`].
#[derive(Clone, Debug)]
pub struct AdmissionLayer {
    admission: Admission,
}

impl AdmissionLayer {
    pub fn new(admission: Admission) -> AdmissionLayer {
        AdmissionLayer { admission }
    }
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = Admitted<S>;

    fn layer(&self, inner: S) -> Admitted<S> {
        Admitted { inner, admission: self.admission.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct Admitted<S> {
    inner: S,
    admission: Admission,
}

impl<S, B> tower::Service<HttpRequest<B>> for Admitted<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        // The service that was polled ready goes to this request; a clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let admission = self.admission.clone();
        Box::pin(async move {
            match admission.enter().await {
                Ok(_slot) => inner.call(request).await,
                Err(busy) => {
                    tracing::warn!(waiting = busy.waiting, "RPC queue full; answered a request with BUSY");
                    Ok(busy_response(busy))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_a_free_slot_then_turns_away_past_the_queue() {
        let gate = Admission::new(1, 1);
        let held = gate.enter().await.expect("the one slot");
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.map(drop) })
        };
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter().await.err(), Some(Busy { in_flight: 1, waiting: 1 }), "the queue is full");
        drop(held);
        assert_eq!(waiter.await.expect("join"), Ok(()), "the waiter got the slot once it was free");
        assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
        assert!(gate.enter().await.is_ok());
    }

    #[tokio::test]
    async fn the_busy_answer_is_a_json_rpc_error_saying_to_retry() {
        use http_body_util::BodyExt;
        let response = busy_response(Busy { in_flight: 512, waiting: 8192 });
        assert_eq!(response.status(), hyper::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[hyper::header::RETRY_AFTER], "1");
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(answer["jsonrpc"], "2.0");
        assert_eq!(answer["id"], serde_json::Value::Null);
        assert_eq!(answer["error"]["code"], BUSY);
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("retry"), "{answer}");
        assert_eq!(answer["error"]["data"]["kind"], "busy");
    }
}
