//! JSON and event-stream endpoints of the logic view:
//!
//! - `GET /api/plays/{sid}/overlay`: the Play, its descendants and its ancestors in one JSON,
//!   for the first paint of an overlay.
//! - `GET /api/plays/{sid}/events`: Server-Sent Events, one `tree` event (`{play,
//!   descendants}`) per change of the Play's tree, fed by the daemon's `play_watch`; an `end`
//!   event after the tree of a finished Play, then the stream closes. The page never polls.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream};
use hero_logic_api::error::METHOD_NOT_FOUND;
use hero_logic_api::methods::{PLAY, PLAY_TREE, PLAY_WAIT, PLAY_WATCH};
use hero_logic_api::params::{PlayTree, PlayWatch};
use hero_logic_api::Play;
use serde::Serialize;
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;

/// How long one `play_watch` waits before answering with the tree as it is.
const WATCH_TIMEOUT_MS: u64 = 20_000;
/// What the admin allows a waiting call beyond the daemon's own wait.
const WATCH_CALL_SLACK: Duration = Duration::from_secs(10);
/// The admin's own limit on one watch call: the daemon's wait plus slack.
const WATCH_CALL_LIMIT: Duration = Duration::from_millis(WATCH_TIMEOUT_MS).saturating_add(WATCH_CALL_SLACK);
/// Only for a daemon without `play_watch`: how often the admin (never the page) re-reads the tree.
const FALLBACK_INTERVAL: Duration = Duration::from_millis(300);
/// The longest parent chain walked for a breadcrumb.
const MAX_ANCESTORS: usize = 64;
/// At most one `tree` event per this long (longer for big trees) while changes keep coming:
/// those in between are coalesced into the next one.
const MIN_EVENT_GAP: Duration = Duration::from_millis(150);
/// A comment line this often keeps proxies from closing a quiet stream and notices a gone client.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One ancestor of an overlaid Play, root first.
#[derive(Debug, Serialize)]
pub struct Ancestor {
    pub sid: String,
    pub logic_sid: String,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct Overlay {
    pub play: Play,
    pub descendants: Vec<Play>,
    /// From the top-level Play down to the parent; empty for a top-level Play.
    pub ancestors: Vec<Ancestor>,
}

/// An error as JSON, with the status a browser should see.
fn json_error(err: AdminError) -> Response {
    let status = err.status();
    if status.is_server_error() {
        tracing::warn!("{err}");
    }
    (status, Json(json!({"error": err.to_string(), "hint": err.hint()}))).into_response()
}

pub async fn overlay(State(state): State<AppState>, Path(sid): Path<String>) -> Response {
    match load_overlay(&state, &sid).await {
        Ok(overlay) => ([(header::CACHE_CONTROL, "no-store")], Json(overlay)).into_response(),
        Err(err) => json_error(err),
    }
}

async fn load_overlay(state: &AppState, sid: &str) -> Result<Overlay, AdminError> {
    let tree: PlayTree = state.call(PLAY_TREE, json!({"play_sid": sid})).await?;
    let mut ancestors = Vec::new();
    let mut parent = tree.play.parent_play_sid.clone();
    while !parent.is_empty() && ancestors.len() < MAX_ANCESTORS {
        let play: Play = state.call(PLAY.get, json!({"sid": parent})).await?;
        parent = play.parent_play_sid.clone();
        ancestors.push(Ancestor {
            status: play.status.as_str().to_string(),
            sid: play.sid,
            logic_sid: play.logic_sid,
            name: play.name,
        });
    }
    ancestors.reverse();
    Ok(Overlay { play: tree.play, descendants: tree.descendants, ancestors })
}

/// Where one event stream is.
///
/// A change after a quiet spell is sent at once (an answered question, a child's end: the
/// page shows it as soon as the daemon has it). Only changes that follow the last event
/// within [`Watcher::gap`] are coalesced: the stream then reads the tree once per gap, so a run
/// of thousands of quick child steps does not send thousands of trees.
struct Watcher {
    state: AppState,
    play_sid: String,
    since: u64,
    /// The last tree sent, as sent, so an unrelated change of the daemon sends nothing.
    last_sent: String,
    /// When the last tree was sent.
    sent_at: Option<Instant>,
    /// What one read of the tree costs the daemon, as last measured on a read that did not wait.
    read_cost: Duration,
    /// Changes keep coming faster than the gap: wait out the gap before the next watch.
    bursting: bool,
    /// The daemon has `play_watch` (it answers at its next change, or at once when there was
    /// one since `since`); false makes the admin re-read the tree on a timer, for an older daemon.
    watch: bool,
    first: bool,
    /// The last tree sent was final: send `end` next.
    end_next: bool,
    done: bool,
}

impl Watcher {
    /// The least time between two events: a big tree costs the daemon a read per event, so a
    /// live view waits at least twice what a read takes and never keeps the daemon busy.
    fn gap(&self) -> Duration {
        MIN_EVENT_GAP.max(self.read_cost * 2)
    }

    /// How long until the gap after the last event is over (zero when it is).
    fn gap_left(&self) -> Duration {
        self.sent_at.map_or(Duration::ZERO, |at| self.gap().saturating_sub(at.elapsed()))
    }

    /// The tree after change `since`, waiting for it up to `timeout_ms`.
    async fn watch_tree(&mut self, timeout_ms: u64) -> Result<Option<(u64, PlayTree)>, AdminError> {
        let params = json!({"play_sid": self.play_sid, "since": self.since, "timeout_ms": timeout_ms});
        match self.state.call_within::<PlayWatch>(WATCH_CALL_LIMIT, PLAY_WATCH, params).await {
            Ok(answer) => Ok(Some((answer.version, answer.tree))),
            Err(AdminError::Daemon(err)) if err.code() == Some(METHOD_NOT_FOUND) => {
                tracing::info!(
                    "the daemon has no {PLAY_WATCH}; the admin re-reads Play trees every {FALLBACK_INTERVAL:?}"
                );
                self.watch = false;
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Waits out the rest of a gap, but no longer than until the Play ends or asks a person:
    /// `play_wait` looks at the status alone, so the end is never held back by coalescing.
    async fn settle(&self, gap_left: Duration) {
        if gap_left.is_zero() {
            return;
        }
        let params = json!({"play_sid": self.play_sid, "timeout_ms": gap_left.as_millis() as u64 + 1});
        let waited = self.state.call_within::<Play>(gap_left + WATCH_CALL_SLACK, PLAY_WAIT, params).await;
        if waited.is_err() {
            // A daemon that cannot say so early still gets its gap.
            tokio::time::sleep(self.gap_left()).await;
        }
    }

    /// The tree as it is now, timing the read.
    async fn read_now(&mut self) -> Result<Option<(u64, PlayTree)>, AdminError> {
        let started = Instant::now();
        let tree = self.watch_tree(0).await?;
        self.read_cost = started.elapsed();
        Ok(tree)
    }

    async fn next_tree(&mut self) -> Result<(u64, PlayTree), AdminError> {
        if self.watch {
            if self.first {
                if let Some(tree) = self.read_now().await? {
                    return Ok(tree);
                }
            } else {
                if self.bursting {
                    self.settle(self.gap_left()).await;
                }
                let started = Instant::now();
                if let Some((version, tree)) = self.watch_tree(WATCH_TIMEOUT_MS).await? {
                    let waited = started.elapsed();
                    if self.bursting {
                        // It answered at once: changes keep coming, and that was a plain read.
                        self.bursting = waited < MIN_EVENT_GAP;
                        if self.bursting {
                            self.read_cost = waited;
                        }
                        return Ok((version, tree));
                    }
                    let gap_left = self.gap_left();
                    if gap_left.is_zero() || tree.play.status.is_terminal() {
                        return Ok((version, tree));
                    }
                    // A second change right after the last event: coalesce what follows it.
                    self.bursting = true;
                    self.since = version;
                    self.settle(gap_left).await;
                    if let Some(tree) = self.read_now().await? {
                        return Ok(tree);
                    }
                }
            }
        }
        if !self.first {
            tokio::time::sleep(FALLBACK_INTERVAL).await;
        }
        let tree: PlayTree = self.state.call(PLAY_TREE, json!({"play_sid": self.play_sid})).await?;
        Ok((self.since + 1, tree))
    }

    /// The next event to send, or `None` when the stream is over.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.done {
                return None;
            }
            if self.end_next {
                self.done = true;
                return Some(Event::default().event("end").data("{}"));
            }
            let state = self.state.clone();
            let result = tokio::select! {
                result = self.next_tree() => result,
                () = state.closed() => {
                    self.done = true;
                    return None;
                }
            };
            self.first = false;
            match result {
                Ok((version, mut tree)) => {
                    self.since = version;
                    // Memoized step outputs repeat the children's outputs and no view shows them.
                    tree.play.step_outputs.clear();
                    tree.descendants.iter_mut().for_each(|p| p.step_outputs.clear());
                    let text = serde_json::to_string(&tree).unwrap_or_default();
                    if text == self.last_sent {
                        continue;
                    }
                    self.end_next = tree.play.status.is_terminal();
                    self.sent_at = Some(Instant::now());
                    self.last_sent = text;
                    return Some(Event::default().event("tree").id(version.to_string()).data(&self.last_sent));
                }
                Err(err) => {
                    self.done = true;
                    let data = json!({"error": err.to_string(), "hint": err.hint()}).to_string();
                    return Some(Event::default().event("failure").data(data));
                }
            }
        }
    }
}

fn play_stream(state: AppState, play_sid: String) -> impl Stream<Item = Result<Event, Infallible>> {
    let watcher = Watcher {
        state,
        play_sid,
        since: 0,
        last_sent: String::new(),
        sent_at: None,
        read_cost: Duration::ZERO,
        bursting: false,
        watch: true,
        first: true,
        end_next: false,
        done: false,
    };
    stream::unfold(watcher, |mut w| async move { w.next_event().await.map(|event| (Ok(event), w)) })
}

pub async fn events(State(state): State<AppState>, Path(sid): Path<String>) -> Response {
    // Refuse an unknown Play with a plain 404 rather than an endless stream of nothing.
    if let Err(err) = state.call::<Play>(PLAY.get, json!({"sid": sid})).await {
        return match err {
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, err.to_string()).into_response(),
            other => json_error(other),
        };
    }
    let sse = Sse::new(play_stream(state, sid)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
    ([(header::CACHE_CONTROL, "no-store"), (header::HeaderName::from_static("x-accel-buffering"), "no")], sse)
        .into_response()
}
