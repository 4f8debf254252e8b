//! Durable sleep: `logic.sleep`/`sleep_until` ask a `timer` question (a pause of kind
//! "timer" whose `ui.wake_at` is the due time), so the Play waits in `awaiting_resume` with
//! no process held. The daemon answers it itself at the due time; the question is in the
//! store, so a restarted daemon finds it again. `play_resume` answers it early; `play_cancel`
//! ends the wait like any other.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use hero_logic_api::{PlayStatus, ResumeRequest};

use super::Engine;
use crate::error::ServiceError;
use crate::now_ms;

/// The `ui.kind` of a sleep.
pub const KIND: &str = "timer";
/// How long a timer the daemon could not answer yet (its runner still writing the pause)
/// waits before it tries again.
const RETRY_MS: u64 = 100;

/// A due time and the question to answer then.
type Due = Reverse<(u64, String, String)>;

#[derive(Default)]
pub(crate) struct Timers {
    due: Mutex<BinaryHeap<Due>>,
    changed: Condvar,
}

impl Timers {
    /// Answers `resume_id` of Play `asker_sid` at `wake_at` (ms since the epoch).
    pub fn add(&self, wake_at: u64, asker_sid: &str, resume_id: &str) {
        self.due.lock().unwrap_or_else(|p| p.into_inner()).push(Reverse((wake_at, asker_sid.to_string(), resume_id.to_string())));
        self.changed.notify_all();
    }

    /// The next timer that is due, waiting for it (or for a nearer one to be added).
    fn next_due(&self) -> (String, String) {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = now_ms();
            match due.peek() {
                Some(Reverse((at, _, _))) if *at <= now => {
                    let Reverse((_, sid, id)) = due.pop().expect("peeked");
                    return (sid, id);
                }
                Some(Reverse((at, _, _))) => {
                    let wait = Duration::from_millis((*at - now).min(60_000));
                    due = self.changed.wait_timeout(due, wait).unwrap_or_else(|p| p.into_inner()).0;
                }
                None => due = self.changed.wait(due).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

/// When a sleep's question is due: its `ui.wake_at`; None for another kind of question.
pub fn wake_at(request: &ResumeRequest) -> Option<u64> {
    (request.ui.kind == KIND).then(|| request.ui.extra.get("wake_at").and_then(serde_json::Value::as_u64).unwrap_or(0))
}

/// Starts the thread that wakes sleeping Plays, after loading the sleeps of Plays that
/// already wait (those a previous daemon left).
pub(super) fn start(engine: &Arc<Engine>) {
    load_waiting(engine);
    let weak: Weak<Engine> = Arc::downgrade(engine);
    let timers = Arc::clone(&engine.core.timers);
    std::thread::Builder::new()
        .name("play-timers".into())
        .spawn(move || loop {
            let (sid, id) = timers.next_due();
            let Some(engine) = weak.upgrade() else { return };
            wake(&engine, &sid, &id);
        })
        .expect("the OS lets the daemon start its timer thread");
}

fn load_waiting(engine: &Engine) {
    let store = engine.core.library.store();
    let waiting = match store.top_level_plays_with_status(&[PlayStatus::AwaitingResume]) {
        Ok(plays) => plays,
        Err(e) => return tracing::error!(error = %e, "cannot look for sleeping Plays; they wait for play_resume"),
    };
    for root in waiting {
        load_sleeps(engine, &root.sid);
    }
}

/// Adds the sleeps of a waiting run (its root `root_sid`) to this daemon's timers.
pub(super) fn load_sleeps(engine: &Engine, root_sid: &str) {
    match engine.core.library.store().play_tree(root_sid) {
        Ok(tree) => {
            for play in tree {
                for request in &play.pending_resumes {
                    if let Some(at) = wake_at(request) {
                        engine.core.timers.add(at, &play.sid, &request.id);
                    }
                }
            }
        }
        Err(e) => tracing::error!(play = %root_sid, error = %e, "cannot read a waiting Play; its sleeps wait for play_resume"),
    }
}

/// Answers a due sleep. Already answered (woken early) or ended (cancelled): nothing to do.
/// A run still writing its pause is tried again shortly.
fn wake(engine: &Engine, asker_sid: &str, resume_id: &str) {
    match engine.resume(asker_sid, resume_id, serde_json::Value::Null) {
        Ok(_) => tracing::debug!(play = %asker_sid, %resume_id, "woke a sleeping Play"),
        Err(ServiceError::InvalidState { .. }) if still_pending(engine, asker_sid, resume_id) => {
            engine.core.timers.add(now_ms() + RETRY_MS, asker_sid, resume_id);
        }
        Err(e) => tracing::debug!(play = %asker_sid, %resume_id, error = %e, "a sleep needs no waking"),
    }
}

fn still_pending(engine: &Engine, asker_sid: &str, resume_id: &str) -> bool {
    match engine.core.library.store().play_get(asker_sid) {
        Ok(Some(play)) => !play.status.is_terminal() && play.pending_resumes.iter().any(|r| r.id == resume_id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_due_timer_comes_first() {
        let timers = Timers::default();
        let now = now_ms();
        timers.add(now + 30, "b", "b:sleep:0");
        timers.add(now.saturating_sub(5), "a", "a:sleep:0");
        assert_eq!(timers.next_due(), ("a".to_string(), "a:sleep:0".to_string()));
        let started = std::time::Instant::now();
        assert_eq!(timers.next_due(), ("b".to_string(), "b:sleep:0".to_string()));
        assert!(started.elapsed() >= Duration::from_millis(20), "a timer is not answered before it is due");
    }

    #[test]
    fn only_a_timer_question_has_a_wake_time() {
        let mut request = ResumeRequest::default();
        request.ui.kind = "text".into();
        assert_eq!(wake_at(&request), None);
        request.ui.kind = KIND.into();
        request.ui.extra.insert("wake_at".into(), 1234.into());
        assert_eq!(wake_at(&request), Some(1234));
    }
}
