//! Persistence behind one trait, so that a PostgreSQL backend can join SQLite without
//! touching callers. Every method is one atomic operation.

mod batch;
mod migrations;
pub mod pg;
mod records;
pub mod sid;
pub mod sqlite;
mod wal_vfs;

use std::collections::HashMap;

use hero_logic_api::params::{Limits, Page, RecentRun};
use hero_logic_api::{Logic, LogicExample, LogicVersion, Play, PlayStatus, PlayTotals};
use serde_json::Value;

pub use pg::PgStore;
pub use sqlite::{SqliteStore, Synchronous};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] postgres::Error),
    /// The PostgreSQL store's connections are gone (it is shutting down).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("{kind} {sid} not found")]
    NotFound { kind: &'static str, sid: String },
    /// A uniqueness rule was hit; `field` names the column.
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    /// A filter or cursor the store cannot serve.
    #[error("{message}")]
    BadQuery { field: String, message: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The group transaction this write joined could not commit; the write is lost.
    #[error("database error: the commit failed: {0}")]
    GroupCommit(String),
    #[error("cannot open the database at {path}: {reason}")]
    Open { path: String, reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A page request: equality filters on indexed fields, newest first.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub filters: Vec<(String, Value)>,
    pub limit: u32,
    /// Sid of the last item of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn first(limit: u32) -> Self {
        PageQuery { filters: Vec::new(), limit, cursor: None }
    }

    pub fn filter(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push((field.to_string(), value.into()));
        self
    }
}

/// A `play_search` request: every set filter must match; newest first, paged by sid.
#[derive(Debug, Clone, Default)]
pub struct PlaySearch {
    pub logic_sid: Option<String>,
    pub status: Option<PlayStatus>,
    /// `created_at >= since` (ms).
    pub since: Option<u64>,
    /// `created_at < until` (ms).
    pub until: Option<u64>,
    /// Case-insensitive substring of the input, output or error text. Served by scanning the
    /// rows the indexed filters leave, so it is cheap only together with them.
    pub text: Option<String>,
    pub top_level_only: bool,
    pub limit: u32,
    /// Sid of the last item of the previous page.
    pub cursor: Option<String>,
}

/// Which Plays `recent_runs` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunScope {
    Logic,
    Version,
}

/// What another daemon changed, as a shared store announces it (`Store::watch_changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// This Play's status changed.
    Play(&'a str),
    /// A Play was put in the database's queue.
    Queued,
    /// Announcements may have been missed (a lost connection): anything may have changed.
    Missed,
}

/// Play writes that belong together. Applied in this order: new children (inserted with
/// the sid they carry and appended to their parent's `sub_play_sids`), updates of existing
/// Plays, memoized step outputs `(parent sid, step key, output)`, then log text appended to
/// Plays' `logs` `(sid, text)`, and last the Plays marked `replayed` (only that flag changes).
///
/// An update never rewrites `logs`: logs only grow, by appends, so a chatty Play costs its
/// new bytes per write rather than all of its logs again.
#[derive(Debug, Clone, Default)]
pub struct PlayBatch {
    pub new_children: Vec<Play>,
    pub updates: Vec<Play>,
    pub memos: Vec<(String, String, Value)>,
    pub logs: Vec<(String, String)>,
    pub replayed: Vec<String>,
}

impl PlayBatch {
    pub fn is_empty(&self) -> bool {
        self.new_children.is_empty()
            && self.updates.is_empty()
            && self.memos.is_empty()
            && self.logs.is_empty()
            && self.replayed.is_empty()
    }
}

pub trait Store: Send + Sync + 'static {
    fn logic_get(&self, sid: &str) -> StoreResult<Option<Logic>>;
    fn logic_by_name(&self, name: &str) -> StoreResult<Option<Logic>>;
    /// Inserts (empty or unknown sid) or replaces; returns the stored record.
    fn logic_put(&self, logic: &Logic) -> StoreResult<Logic>;
    /// Deletes the Logic with its versions, examples and Plays.
    fn logic_delete(&self, sid: &str) -> StoreResult<bool>;
    fn logic_page(&self, query: &PageQuery) -> StoreResult<Page<Logic>>;
    /// Every Logic (the library is hundreds, not millions; Plays are never listed this way).
    fn logic_all(&self) -> StoreResult<Vec<Logic>>;
    /// Creates a Logic and its first version, current, in one transaction.
    fn logic_create(&self, logic: &Logic, version: &LogicVersion) -> StoreResult<(Logic, LogicVersion)>;

    /// Changes whenever this store writes a Logic or a version: a lookup by name cached at
    /// one generation is still right while the generation stays the same.
    fn library_generation(&self) -> u64;

    fn version_get(&self, sid: &str) -> StoreResult<Option<LogicVersion>>;
    /// The current version of the Logic named `name`, in one query (the hot path of a child call).
    fn current_version_by_name(&self, name: &str) -> StoreResult<Option<LogicVersion>>;
    fn version_by_label(&self, logic_sid: &str, label: &str) -> StoreResult<Option<LogicVersion>>;
    fn version_put(&self, version: &LogicVersion) -> StoreResult<LogicVersion>;
    /// Inserts a new version and, when `make_current`, points its Logic at it, atomically.
    fn version_create(&self, version: &LogicVersion, make_current: bool) -> StoreResult<LogicVersion>;
    fn version_delete(&self, sid: &str) -> StoreResult<bool>;
    fn version_page(&self, query: &PageQuery) -> StoreResult<Page<LogicVersion>>;
    fn version_count(&self, logic_sid: &str) -> StoreResult<u64>;
    fn set_current_version(&self, logic_sid: &str, version_sid: &str) -> StoreResult<Logic>;
    /// The cached flow graph of a version (`LogicService.logic_parse_graph`), as stored.
    fn graph_get(&self, version_sid: &str) -> StoreResult<Option<Value>>;
    /// Caches a version's flow graph, replacing any earlier one. Deleting the version (or its
    /// Logic) deletes it too.
    fn graph_put(&self, version_sid: &str, graph: &Value) -> StoreResult<()>;

    fn example_get(&self, sid: &str) -> StoreResult<Option<LogicExample>>;
    fn example_put(&self, example: &LogicExample) -> StoreResult<LogicExample>;
    fn example_delete(&self, sid: &str) -> StoreResult<bool>;
    fn example_page(&self, query: &PageQuery) -> StoreResult<Page<LogicExample>>;

    fn play_get(&self, sid: &str) -> StoreResult<Option<Play>>;
    /// Just a Play's status (one indexed row read; waiters check it on every change).
    fn play_status(&self, sid: &str) -> StoreResult<Option<PlayStatus>>;
    /// Inserts a new Play (the engine's only way to create one); returns it with its sid
    /// (the one it carries, or a fresh one when empty).
    fn play_insert(&self, play: &Play) -> StoreResult<Play>;
    /// Inserts a new top-level Play with the sandbox limits it was started with.
    fn play_insert_limited(&self, play: &Play, limits: &Limits) -> StoreResult<Play>;
    /// `play_insert_limited` together with descendants recorded already (a fork's copied
    /// steps), in one transaction. `descendants` come in creation order; every Play's
    /// `sub_play_sids` and `step_outputs` are written too.
    fn play_insert_run(&self, play: &Play, limits: &Limits, descendants: &[Play]) -> StoreResult<Play>;
    /// The limits a top-level Play was started with (None: the service defaults).
    fn play_limits(&self, sid: &str) -> StoreResult<Option<Limits>>;
    /// Rewrites a Play's own columns but `logs` (see `PlayBatch`); children and steps are
    /// untouched.
    fn play_update(&self, play: &Play) -> StoreResult<()>;
    /// As `play_update`, but only while the stored Play is `expected` (false, and nothing
    /// written, otherwise or when there is no such Play); visible at once but durable only
    /// with the next durable write: a crash may lose it (never reorder it after a later
    /// write). For a change a crash may undo harmlessly, such as a Play marked running
    /// before any of its steps is recorded.
    fn play_update_lazily(&self, play: &Play, expected: PlayStatus) -> StoreResult<bool>;
    fn play_page(&self, query: &PageQuery) -> StoreResult<Page<Play>>;
    /// Plays matching a [`PlaySearch`]; logic, status, parent and time use indexes.
    fn play_search(&self, search: &PlaySearch) -> StoreResult<Page<Play>>;
    fn play_count_for_version(&self, version_sid: &str) -> StoreResult<u64>;
    /// Appends `child_sid` to the parent's `sub_play_sids`, atomically.
    fn play_append_child(&self, parent_sid: &str, child_sid: &str) -> StoreResult<()>;
    /// Writes one `step_outputs` entry of a Play, atomically (replaces an existing key).
    fn play_set_step_output(&self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()>;
    /// Writes a batch of Play changes in one transaction (one durable commit). With a guard
    /// `(sid, status)`, nothing is written unless that Play has that status at the moment of
    /// writing; returns whether the write happened.
    fn play_batch(&self, batch: &PlayBatch, guard: Option<(&str, PlayStatus)>) -> StoreResult<bool>;
    /// Reserves `count` consecutive sids for the caller to hand out; returns the first one's
    /// counter value.
    fn reserve_sids(&self, count: u64) -> StoreResult<u64>;
    /// Rewrites several Plays in one transaction. With a guard `(sid, status)`, nothing is
    /// written unless that Play has that status at the moment of writing; returns whether
    /// the write happened (so that of two racing callers exactly one wins).
    fn plays_update(&self, plays: &[Play], guard: Option<(&str, PlayStatus)>) -> StoreResult<bool>;
    /// The sid of the top-level Play of `sid`'s run (itself for a top-level Play), in one
    /// query; None when there is no such Play.
    fn play_root_sid(&self, sid: &str) -> StoreResult<Option<String>>;
    /// A Play and then all its descendants, in creation order, in one query.
    fn play_tree(&self, sid: &str) -> StoreResult<Vec<Play>>;
    /// Each Play's totals with its descendants', for many Plays in one query.
    fn play_subtree_totals(&self, sids: &[String]) -> StoreResult<HashMap<String, PlayTotals>>;
    /// The latest `n` Plays (any depth) of a Logic or of a version, newest first, as light
    /// rows; served from the `(logic_sid, id)` / `(logic_version_sid, id)` indexes.
    fn recent_runs(&self, scope: RunScope, key: &str, n: u32) -> StoreResult<Vec<RecentRun>>;
    /// Top-level Plays in one of `statuses`, oldest first (start-up recovery).
    fn top_level_plays_with_status(&self, statuses: &[PlayStatus]) -> StoreResult<Vec<Play>>;
    /// Counts one more recovery of a Play (durably, before the replay starts); returns the
    /// count so far, this one included.
    fn play_count_recovery(&self, sid: &str) -> StoreResult<u32>;
    /// Forgets the recoveries of these Plays: a daemon that stopped cleanly survived them.
    fn plays_clear_recoveries(&self, sids: &[String]) -> StoreResult<()>;

    // Several daemons on one database. The defaults are those of a store only one daemon
    // ever uses (SQLite, under the data dir lock): every unfinished Play is that daemon's.

    /// How often this daemon renews its lease on a shared store, and so how often it looks
    /// for work another daemon left; None: the store is this daemon's alone.
    fn heartbeat(&self) -> Option<std::time::Duration> {
        None
    }
    /// Takes over the top-level Plays in one of `statuses` that no live daemon runs (their
    /// owner's lease ran out, or they have none; not those in the database's queue), oldest first: from now on this daemon
    /// runs them. Of daemons claiming at once, each Play goes to exactly one.
    fn claim_orphan_plays(&self, statuses: &[PlayStatus]) -> StoreResult<Vec<Play>> {
        self.top_level_plays_with_status(statuses)
    }
    /// Hands the new top-level Play `sid`, still `pending`, to the database's queue, which
    /// any daemon with a free worker claims from; false: there is no such queue (the caller
    /// queues it itself).
    /// How many writes this store has begun, when it alone writes its database: equal
    /// counts mean nothing was written in between. None for a store other daemons write too.
    fn writes_made(&self) -> Option<u64> {
        None
    }
    fn play_queue_shared(&self, _sid: &str) -> StoreResult<bool> {
        Ok(false)
    }
    /// Claims up to `n` Plays of the database's queue for this daemon, oldest first; of
    /// daemons claiming at once, each Play goes to exactly one.
    fn claim_queued_plays(&self, _n: usize) -> StoreResult<Vec<Play>> {
        Ok(Vec::new())
    }
    /// Asks the live daemon that runs the top-level Play `sid` to cancel it; false when no
    /// other live daemon runs it (the caller cancels it itself).
    fn play_request_cancel(&self, _sid: &str) -> StoreResult<bool> {
        Ok(false)
    }
    /// The top-level Plays another daemon asked this one to cancel, each handed out once.
    fn take_cancel_requests(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    /// Calls `changed` with what any daemon (this one too) changed, for as long as the store
    /// lives.
    fn watch_changes(&self, _changed: Box<dyn Fn(Change<'_>) + Send + Sync>) {}
}

#[cfg(test)]
mod tests;
