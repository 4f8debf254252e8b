//! Several daemons on one database: at every heartbeat of its lease a daemon takes over the
//! Plays of daemons whose lease ran out (and the sleeps of their waiting ones), takes queued
//! Plays for its idle workers, and cancels the Plays another daemon was asked to
//! cancel; the status changes any daemon makes wake this one's waiters and watchers. A store
//! only one daemon uses (SQLite) has no heartbeat, and none of this runs.

use std::sync::{Arc, Weak};

use hero_logic_api::PlayStatus;

use super::Engine;
use crate::store::Change;

/// Starts the thread that looks for work the other daemons left or sent, when the store is
/// shared.
pub(super) fn start(engine: &Arc<Engine>) {
    let store = engine.core.library.store();
    let Some(every) = store.heartbeat() else { return };
    let core = Arc::downgrade(&engine.core);
    store.watch_changes(Box::new(move |change| {
        let Some(core) = core.upgrade() else { return };
        match change {
            Change::Play(sid) => core.changed_play(sid),
            Change::Queued => core.claim_queued(core.idle_workers()),
            Change::Missed => {
                core.changed();
                core.claim_queued(core.idle_workers());
            }
        }
    }));
    let weak: Weak<Engine> = Arc::downgrade(engine);
    std::thread::Builder::new()
        .name("play-survivor".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let Some(engine) = weak.upgrade() else { return };
            cancel_requested(&engine);
            engine.recover();
            adopt_sleepers(&engine);
            engine.core.claim_queued(engine.core.idle_workers());
        })
        .expect("the OS lets the daemon start its survivor thread");
}

/// Takes over the waiting Plays of daemons whose lease ran out, so that their sleeps still
/// wake on time (a question for a person needs no daemon until it is answered).
fn adopt_sleepers(engine: &Engine) {
    match engine.core.library.store().claim_orphan_plays(&[PlayStatus::AwaitingResume]) {
        Ok(plays) => plays.iter().for_each(|root| super::timers::load_sleeps(engine, &root.sid)),
        Err(e) => tracing::warn!(error = %e, "cannot look for the waiting Plays of stopped daemons"),
    }
}

/// Cancels, each on a thread of its own (a cancel waits for its runner to stop), the Plays
/// of this daemon another daemon received a `play_cancel` for.
fn cancel_requested(engine: &Arc<Engine>) {
    let sids = match engine.core.library.store().take_cancel_requests() {
        Ok(sids) => sids,
        Err(e) => return tracing::warn!(error = %e, "cannot read the cancels other daemons received"),
    };
    for sid in sids {
        let engine = Arc::clone(engine);
        std::thread::spawn(move || match engine.cancel(&sid) {
            Ok(_) => tracing::info!(play = %sid, "cancelled a Play on another daemon's request"),
            Err(e) => tracing::debug!(play = %sid, error = %e, "a cancel another daemon asked for needs nothing"),
        });
    }
}
