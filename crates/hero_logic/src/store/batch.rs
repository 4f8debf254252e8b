//! How a `PlayBatch` (and a guarded `plays_update`) is applied, written once over the row
//! operations each backend's transaction provides.

use hero_logic_api::{Play, PlayStatus};
use serde_json::Value;

use super::{PlayBatch, StoreError, StoreResult};

/// The row writes a batch is made of, inside one transaction of a backend.
pub(crate) trait PlayRows {
    fn has_status(&mut self, sid: &str, status: PlayStatus) -> StoreResult<bool>;
    fn insert_play(&mut self, play: &Play) -> StoreResult<Play>;
    fn append_child(&mut self, parent_sid: &str, child_sid: &str) -> StoreResult<()>;
    /// False when there is no such Play.
    fn update_play(&mut self, play: &Play) -> StoreResult<bool>;
    fn set_step_output(&mut self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()>;
    /// False when there is no such Play.
    fn append_logs(&mut self, play_sid: &str, text: &str) -> StoreResult<bool>;
    /// One statement for all of them: a resume after hundreds of steps marks hundreds.
    fn mark_replayed(&mut self, play_sids: &[String]) -> StoreResult<()>;
}

fn guard_holds(rows: &mut impl PlayRows, guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
    match guard {
        Some((sid, status)) => rows.has_status(sid, status),
        None => Ok(true),
    }
}

fn update_all(rows: &mut impl PlayRows, plays: &[Play]) -> StoreResult<()> {
    for play in plays {
        if !rows.update_play(play)? {
            return Err(StoreError::NotFound { kind: "Play", sid: play.sid.clone() });
        }
    }
    Ok(())
}

/// `Store::play_batch` inside a transaction: see `PlayBatch` for the order.
pub(crate) fn apply(rows: &mut impl PlayRows, batch: &PlayBatch, guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
    if !guard_holds(rows, guard)? {
        return Ok(false);
    }
    for child in &batch.new_children {
        let stored = rows.insert_play(child)?;
        rows.append_child(&stored.parent_play_sid, &stored.sid)?;
    }
    update_all(rows, &batch.updates)?;
    for (play_sid, step_key, output) in &batch.memos {
        rows.set_step_output(play_sid, step_key, output)?;
    }
    for (play_sid, text) in &batch.logs {
        if !rows.append_logs(play_sid, text)? {
            return Err(StoreError::NotFound { kind: "Play", sid: play_sid.clone() });
        }
    }
    if !batch.replayed.is_empty() {
        rows.mark_replayed(&batch.replayed)?;
    }
    Ok(true)
}

/// `Store::plays_update` inside a transaction.
pub(crate) fn update_guarded(rows: &mut impl PlayRows, plays: &[Play], guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
    if !guard_holds(rows, guard)? {
        return Ok(false);
    }
    update_all(rows, plays)?;
    Ok(true)
}
