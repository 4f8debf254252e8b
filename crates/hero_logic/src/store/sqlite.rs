//! The embedded SQLite store: one file, WAL, one writer connection, a small pool of readers.

use std::path::{Path, PathBuf};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use std::collections::HashMap;

use hero_logic_api::params::{Limits, Page, RecentRun};
use hero_logic_api::{Logic, LogicExample, LogicVersion, Play, PlayStatus, PlayTotals};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension};
use serde_json::Value;

use super::migrations::MIGRATIONS;
use crate::figures;
use super::batch::{self, PlayRows};
use super::records::{given_sid_id, select_sql, PagePlan, Record};
use super::{sid, PageQuery, PlayBatch, PlaySearch, RunScope, Store, StoreError, StoreResult};

/// SQLite's `synchronous` pragma: `Full` makes every commit durable, `Normal` is WAL-safe and faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    pub fn parse(name: &str) -> Option<Synchronous> {
        match name.to_ascii_lowercase().as_str() {
            "full" => Some(Synchronous::Full),
            "normal" => Some(Synchronous::Normal),
            _ => None,
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

const MAX_IDLE_READERS: usize = 8;
const STATEMENT_CACHE: usize = 128;

/// Writes joining one group transaction at most, so that a commit's latency stays bounded
/// when many callers keep arriving.
const MAX_GROUP: usize = 64;

pub struct SqliteStore {
    path: PathBuf,
    synchronous: Synchronous,
    writer: Mutex<Writer>,
    /// Callers waiting for the writer: while there are some, a write leaves its group
    /// transaction open for them and one of them commits it.
    waiting: AtomicUsize,
    commits: Mutex<Commits>,
    committed: Condvar,
    readers: Mutex<Vec<Connection>>,
    /// Bumped by every write to Logics or versions (see `Store::library_generation`).
    library_generation: AtomicU64,
    /// Group transactions committed so far.
    commits_made: AtomicU64,
    /// Writes begun so far (each write, whatever group it joins): see `Store::writes_made`.
    writes_made: AtomicU64,
}

/// The writer connection and the group transaction it has open, if any.
struct Writer {
    conn: Connection,
    /// The number of the open group transaction, and how many writes joined it.
    open: Option<(u64, usize)>,

    next_group: u64,
}

/// How group transactions ended: all up to `done` are settled, and the failed ones among
/// the most recent say why.
#[derive(Default)]
struct Commits {
    done: u64,
    failed: VecDeque<(u64, String)>,
}

const FAILED_KEPT: usize = 64;


impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path, synchronous: Synchronous) -> StoreResult<Self> {
        let open_error = |reason: String| StoreError::Open { path: path.display().to_string(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().recursive(true).mode(crate::private::DIR_MODE).create(dir).map_err(|e| open_error(e.to_string()))?;
        }
        // SQLite gives the WAL and shared-memory files the database file's mode: a private
        // database file keeps all three private.
        crate::private::open_file(path).map_err(|e| open_error(e.to_string()))?;
        let mut writer = connect(path).map_err(|e| open_error(e.to_string()))?;
        choose_page_size(&writer)?;
        configure(&writer, synchronous)?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_BYTES / page_size(&writer)?)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            crate::private::existing_file(Path::new(&side)).map_err(|e| open_error(e.to_string()))?;
        }
        migrate(&mut writer)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            synchronous,
            writer: Mutex::new(Writer { conn: writer, open: None, next_group: 1 }),
            waiting: AtomicUsize::new(0),
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            readers: Mutex::new(Vec::new()),
            library_generation: AtomicU64::new(0),
            commits_made: AtomicU64::new(0),
            writes_made: AtomicU64::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many commits the writes so far took (fewer than the writes when they shared).
    pub fn commits(&self) -> u64 {
        self.commits_made.load(Ordering::Acquire)
    }

    /// Makes writes believe `n` more callers wait for the writer, so a test can hold a group
    /// open deterministically.
    /// How often the writer's cached statement `sql` was prepared again (SQLite does that
    /// when a statement's plan depends on its bound values).
    #[cfg(test)]
    pub(super) fn reprepares(&self, sql: &str) -> i32 {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.conn.prepare_cached(sql).map(|s| s.get_status(rusqlite::StatementStatus::RePrepare)).unwrap_or(-1)
    }

    /// A pragma of the writer as SQLite reports it (`synchronous`: 1 NORMAL, 2 FULL).
    #[cfg(test)]
    pub(super) fn writer_pragma(&self, name: &str) -> i64 {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.conn.pragma_query_value(None, name, |row| row.get(0)).unwrap_or(-1)
    }

    #[cfg(test)]
    pub(super) fn set_writer_pragma(&self, name: &str, value: i64) {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.conn.pragma_update(None, name, value).unwrap();
    }

    #[cfg(test)]
    pub(super) fn writer_has_open_group(&self) -> bool {
        self.writer.lock().unwrap_or_else(|p| p.into_inner()).open.is_some()
    }

    #[cfg(test)]
    pub(super) fn pretend_waiting(&self, n: isize) {
        if n >= 0 {
            self.waiting.fetch_add(n as usize, Ordering::AcqRel);
        } else {
            self.waiting.fetch_sub(n.unsigned_abs(), Ordering::AcqRel);
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.path)?;
                configure(&conn, self.synchronous)?;
                conn
            }
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < MAX_IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    /// Runs `f` atomically and returns once its changes are durable (as `synchronous` makes
    /// commits). Group commit: concurrent writes share one transaction, each inside its own
    /// savepoint (a failing write rolls back alone), and the last writer of a group commits
    /// it for all, so N Plays stepping at once pay about one fsync per group, not N.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        self.writes_made.fetch_add(1, Ordering::AcqRel);
        let group = match writer.join_group() {
            Ok(group) => group,
            Err(e) => {
                drop(writer);
                return Err(e);
            }
        };
        let value = writer.in_savepoint(f);
        let full = writer.open.is_some_and(|(_, joined)| joined >= MAX_GROUP);
        if self.waiting.load(Ordering::Acquire) > 0 && !full {
            // Someone is blocked on the writer and will join this group; the group's last
            // writer commits it (see below), and this caller waits for that.
            drop(writer);
            return self.wait_for(group).and(value);
        }
        let committed = writer.commit_group();
        self.commits_made.fetch_add(1, Ordering::AcqRel);
        // Settled before the writer is let go, so groups settle in the order they commit.
        self.settle(group, committed.as_ref().err().map(|e| e.to_string()));
        drop(writer);
        committed.and(value)
    }

    /// As `write`, but at `synchronous=full` the commit is not synced by itself: the changes
    /// become durable with the next synced commit, which syncs the whole write-ahead log
    /// before it. A crash may lose them, never reorder them. Only a transaction of its own
    /// can be unsynced (SQLite fixes the safety level when a transaction begins), so while
    /// a group is open the write joins it and is synced with it.
    fn write_lazily<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        if self.synchronous != Synchronous::Full {
            return self.write(f);
        }
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.open.is_some() {
            drop(writer);
            return self.write(f);
        }
        self.writes_made.fetch_add(1, Ordering::AcqRel);
        run(&writer.conn, "PRAGMA synchronous = NORMAL")?;
        let written = writer.alone(f);
        let restored = run(&writer.conn, "PRAGMA synchronous = FULL");
        self.commits_made.fetch_add(1, Ordering::AcqRel);
        drop(writer);
        let value = written?;
        restored?;
        Ok(value)
    }

    /// A write to Logics or versions: what a cached name lookup may depend on.
    fn write_library<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let written = self.write(f);
        self.library_generation.fetch_add(1, Ordering::AcqRel);
        written
    }

    /// Records how group `group` ended and wakes the writes waiting for it.
    fn settle(&self, group: u64, failure: Option<String>) {
        let mut commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        commits.done = commits.done.max(group);
        if let Some(message) = failure {
            if commits.failed.len() == FAILED_KEPT {
                commits.failed.pop_front();
            }
            commits.failed.push_back((group, message));
        }
        drop(commits);
        self.committed.notify_all();
    }

    fn wait_for(&self, group: u64) -> StoreResult<()> {
        let mut commits = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        while commits.done < group {
            commits = self.committed.wait(commits).unwrap_or_else(|p| p.into_inner());
        }
        match commits.failed.iter().find(|(g, _)| *g == group) {
            Some((_, message)) => Err(StoreError::GroupCommit(message.clone())),
            None => Ok(()),
        }
    }
}

impl Writer {
    /// The open group transaction's number, beginning one when none is open.
    fn join_group(&mut self) -> StoreResult<u64> {
        let (group, joined) = match self.open {
            Some(open) => open,
            None => {
                run(&self.conn, "BEGIN IMMEDIATE")?;
                let group = self.next_group;
                self.next_group += 1;
                (group, 0)
            }
        };
        self.open = Some((group, joined + 1));
        Ok(group)
    }

    /// Runs `f` inside a savepoint of the group transaction: its changes stay when it
    /// succeeds and are undone alone when it fails.
    fn in_savepoint<T>(&mut self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        run(&self.conn, "SAVEPOINT write")?;
        match f(&self.conn) {
            Ok(value) => {
                run(&self.conn, "RELEASE write")?;
                Ok(value)
            }
            Err(e) => {
                run(&self.conn, "ROLLBACK TO write")?;
                run(&self.conn, "RELEASE write")?;
                Err(e)
            }
        }
    }

    /// `f` in a transaction of its own, committed (or rolled back when it fails).
    fn alone<T>(&mut self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        run(&self.conn, "BEGIN IMMEDIATE")?;
        match f(&self.conn) {
            Ok(value) => {
                self.commit_group()?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn commit_group(&mut self) -> StoreResult<()> {
        self.open = None;
        let committed = run(&self.conn, "COMMIT");
        if committed.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        Ok(committed?)
    }
}

/// Runs one statement through the statement cache: the writer's transaction control runs
/// on every write, and parsing it each time showed in profiles.
fn update_existing(tx: &Connection, play: &Play) -> StoreResult<()> {
    if update_record(tx, play)? {
        Ok(())
    } else {
        Err(StoreError::NotFound { kind: "Play", sid: play.sid.clone() })
    }
}

fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// A connection to the database file, through the VFS that writes a transaction's log frames
/// together (`wal_vfs`), or SQLite's own where that cannot be registered.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    match super::wal_vfs::register() {
        Ok(()) => Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), super::wal_vfs::NAME),
        Err(reason) => {
            tracing::warn!(%reason, "writing the SQLite log through SQLite's own VFS");
            Connection::open(path)
        }
    }
}

/// The page size of a new database file. A child step's commit dirties one leaf of each
/// B-tree it touches (the Play row, its five indexes, the child order, the step output) and
/// the write-ahead log takes each dirty page whole: with 1 KiB pages that is a quarter of
/// the bytes written and checksummed of SQLite's 4 KiB default, and a commit costs about a
/// third less CPU (measured in a replica of a step's commit). Rows are small; a larger one
/// spills to overflow pages as it would at any size. A file that exists keeps its size.
const NEW_FILE_PAGE_SIZE: i64 = 1024;

/// How much the write-ahead log grows before it is checkpointed: SQLite's default of 1000
/// pages, in bytes of its default page size, so 1 KiB pages do not checkpoint four times
/// as often (each checkpoint syncs the log and the database file).
const WAL_CHECKPOINT_BYTES: i64 = 4 * 1024 * 1024;

/// Sets `NEW_FILE_PAGE_SIZE` for a file that has no pages yet; SQLite ignores it otherwise
/// (and once the file is in WAL mode, so this comes before `configure`).
fn choose_page_size(conn: &Connection) -> StoreResult<()> {
    conn.pragma_update(None, "page_size", NEW_FILE_PAGE_SIZE)?;
    Ok(())
}

fn page_size(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.pragma_query_value(None, "page_size", |row| row.get::<_, i64>(0))?.max(512))
}

fn configure(conn: &Connection, synchronous: Synchronous) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Room for every statement of a child step's commit and the reads around it: rusqlite's
    // default of 16 evicted some, which then were parsed again on every step.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous.pragma())?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))?.max(0) as usize;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Open {
            path: conn.path().unwrap_or_default().to_string(),
            reason: format!(
                "the database has schema version {applied} but this build knows only {}; run a newer hero_logic",
                MIGRATIONS.len()
            ),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// `Record::from_row` for rusqlite's row type, as a function item any row lifetime fits.
fn from_row<R: Record>(row: &rusqlite::Row<'_>) -> rusqlite::Result<R> {
    R::from_row(row)
}

fn get_record<R: Record>(conn: &Connection, sid: &str) -> StoreResult<Option<R>> {
    let sql = format!("{} WHERE sid = ?1", select_sql::<R>());
    Ok(conn.prepare_cached(&sql)?.query_row([sid], from_row::<R>).optional()?)
}

fn record_by<R: Record>(conn: &Connection, column: &str, value: &str) -> StoreResult<Option<R>> {
    let sql = format!("{} WHERE {column} = ?1 ORDER BY id DESC LIMIT 1", select_sql::<R>());
    Ok(conn.prepare_cached(&sql)?.query_row([value], from_row::<R>).optional()?)
}

fn page_records<R: Record>(conn: &Connection, query: &PageQuery) -> StoreResult<Page<R>> {
    plan_page(conn, &PagePlan::of::<R>(query)?)
}

fn plan_page<R: Record>(conn: &Connection, plan: &PagePlan) -> StoreResult<Page<R>> {
    let mut stmt = conn.prepare_cached(&plan.sql::<R>(|n| format!("?{n}")))?;
    let items = stmt.query_map(params_from_iter(plan.values()), from_row::<R>)?.collect::<Result<Vec<R>, _>>()?;
    Ok(plan.page(items))
}

fn search_plays(conn: &Connection, search: &PlaySearch) -> StoreResult<Page<Play>> {
    play_page_with_children_and_steps(conn, plan_page(conn, &PagePlan::search(search)?)?)
}

fn next_sid(tx: &Connection) -> StoreResult<String> {
    let value: i64 =
        tx.query_row("UPDATE counters SET value = value + 1 WHERE name = 'sid' RETURNING value", [], |r| r.get(0))?;
    Ok(sid::encode(value as u64))
}

/// Maps a UNIQUE violation to a conflict naming the field; other errors pass through.
fn unique_conflict<R: Record>(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, Some(message)) = &error {
        if e.code == ErrorCode::ConstraintViolation {
            for (column, text) in R::UNIQUE {
                if message.contains(&format!(".{column}")) {
                    return StoreError::Conflict { field: column, message: text.to_string() };
                }
            }
        }
    }
    StoreError::Sqlite(error)
}

/// Inserts `record`; an empty sid gets a fresh one, a given one keeps it (imports).
fn insert_record<R: Record + Clone>(tx: &Connection, record: &R) -> StoreResult<R> {
    let mut record = record.clone();
    let id = if record.sid().is_empty() {
        let fresh = next_sid(tx)?;
        record.set_sid(fresh);
        sid::decode(record.sid()).expect("fresh sids decode")
    } else {
        let id = given_sid_id(record.sid())?;
        // Only when it moves: the engine inserts sids it reserved earlier, and leaving the
        // counter's page untouched keeps it out of the commit.
        tx.prepare_cached("UPDATE counters SET value = ?1 WHERE name = 'sid' AND value < ?1")?.execute([id as i64])?;
        id
    };
    let placeholders: Vec<String> = (3..R::COLUMNS.len() + 3).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {} (id, sid, {}) VALUES (?1, ?2, {})",
        R::TABLE,
        R::COLUMNS.join(", "),
        placeholders.join(", ")
    );
    let mut values = vec![Sql::Integer(id as i64), Sql::Text(record.sid().to_string())];
    values.extend(record.values());
    tx.prepare_cached(&sql)?.execute(params_from_iter(values)).map_err(unique_conflict::<R>)?;
    Ok(record)
}

/// Rewrites the columns of an existing record but its append-only ones; false when there is
/// no such sid.
fn update_record<R: Record>(tx: &Connection, record: &R) -> StoreResult<bool> {
    let kept: Vec<(&str, Sql)> =
        R::COLUMNS.iter().copied().zip(record.values()).filter(|(c, _)| !R::APPEND_ONLY.contains(c)).collect();
    let assignments: Vec<String> = kept.iter().enumerate().map(|(i, (c, _))| format!("{c} = ?{}", i + 2)).collect();
    let sql = format!("UPDATE {} SET {} WHERE sid = ?1", R::TABLE, assignments.join(", "));
    let mut values = vec![Sql::Text(record.sid().to_string())];
    values.extend(kept.into_iter().map(|(_, v)| v));
    let changed = tx.prepare_cached(&sql)?.execute(params_from_iter(values)).map_err(unique_conflict::<R>)?;
    Ok(changed > 0)
}

fn put_record<R: Record + Clone>(tx: &Connection, record: &R) -> StoreResult<R> {
    if !record.sid().is_empty() && update_record(tx, record)? {
        return Ok(record.clone());
    }
    insert_record(tx, record)
}

fn delete_record<R: Record>(tx: &Connection, sid: &str) -> StoreResult<bool> {
    Ok(tx.execute(&format!("DELETE FROM {} WHERE sid = ?1", R::TABLE), [sid])? > 0)
}

fn column_strings(conn: &Connection, sql: &str, key: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn with_versions(conn: &Connection, mut logic: Logic) -> StoreResult<Logic> {
    logic.versions =
        column_strings(conn, "SELECT sid FROM logic_versions WHERE logic_sid = ?1 ORDER BY id DESC", &logic.sid)?;
    Ok(logic)
}

/// Strings as one JSON array: a statement takes a list of any length as one parameter
/// (`IN (SELECT value FROM json_each(?1))`) and stays one cached statement.
fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    Value::Array(items.map(|s| Value::String(s.to_string())).collect()).to_string()
}

/// The Plays of the tree under `sid` (it first, then by id), without their children and
/// steps.
fn tree_rows(conn: &Connection, sid: &str) -> StoreResult<Vec<Play>> {
    let columns: Vec<String> = Play::COLUMNS.iter().map(|col| format!("p.{col}")).collect();
    let sql = format!(
        "WITH RECURSIVE tree(sid) AS (
             SELECT sid FROM plays WHERE sid = ?1
             UNION ALL SELECT p.sid FROM plays p JOIN tree t ON p.parent_play_sid = t.sid
         )
         SELECT p.id, p.sid, {} FROM plays p WHERE p.sid IN (SELECT sid FROM tree) ORDER BY p.sid = ?1 DESC, p.id",
        columns.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let plays = stmt.query_map([sid], from_row::<Play>)?.collect::<Result<Vec<Play>, _>>()?;
    Ok(plays)
}

/// Fills in the child order and step outputs of `plays`, one query each for all of them:
/// per-Play queries cost more than the rows themselves in a tree of hundreds of steps.
fn with_children_and_steps(conn: &Connection, plays: &mut [Play]) -> StoreResult<()> {
    if plays.is_empty() {
        return Ok(());
    }
    let at: HashMap<String, usize> = plays.iter().enumerate().map(|(i, p)| (p.sid.clone(), i)).collect();
    let sids = json_list(plays.iter().map(|p| p.sid.as_str()));
    let mut children = conn.prepare_cached(
        "SELECT parent_sid, child_sid FROM play_children
         WHERE parent_sid IN (SELECT value FROM json_each(?1)) ORDER BY parent_sid, seq",
    )?;
    for row in children.query_map([&sids], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (parent, child) = row?;
        if let Some(&i) = at.get(&parent) {
            plays[i].sub_play_sids.push(child);
        }
    }
    let mut steps =
        conn.prepare_cached("SELECT play_sid, step_key, output FROM play_steps WHERE play_sid IN (SELECT value FROM json_each(?1))")?;
    for row in steps.query_map([&sids], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))? {
        let (play_sid, key, output) = row?;
        let output = serde_json::from_str(&output).map_err(|e| StoreError::Corrupt(format!("step {key} of play {play_sid}: {e}")))?;
        if let Some(&i) = at.get(&play_sid) {
            plays[i].step_outputs.insert(key, output);
        }
    }
    Ok(())
}

fn play_page_with_children_and_steps(conn: &Connection, mut page: Page<Play>) -> StoreResult<Page<Play>> {
    with_children_and_steps(conn, &mut page.items)?;
    Ok(page)
}

fn hydrate_page<R>(
    conn: &Connection,
    page: Page<R>,
    hydrate: fn(&Connection, R) -> StoreResult<R>,
) -> StoreResult<Page<R>> {
    let items = page.items.into_iter().map(|r| hydrate(conn, r)).collect::<StoreResult<_>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

fn count(conn: &Connection, sql: &str, key: &str) -> StoreResult<u64> {
    Ok(conn.query_row(sql, [key], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

impl Store for SqliteStore {
    fn logic_get(&self, sid: &str) -> StoreResult<Option<Logic>> {
        self.read(|c| get_record::<Logic>(c, sid)?.map(|l| with_versions(c, l)).transpose())
    }

    fn logic_by_name(&self, name: &str) -> StoreResult<Option<Logic>> {
        self.read(|c| record_by::<Logic>(c, "name", name)?.map(|l| with_versions(c, l)).transpose())
    }

    fn logic_put(&self, logic: &Logic) -> StoreResult<Logic> {
        self.write_library(|tx| {
            let stored = put_record(tx, logic)?;
            with_versions(tx, stored)
        })
    }

    fn logic_delete(&self, sid: &str) -> StoreResult<bool> {
        self.write_library(|tx| {
            tx.execute(
                "DELETE FROM version_graphs WHERE version_sid IN (SELECT sid FROM logic_versions WHERE logic_sid = ?1)",
                [sid],
            )?;
            tx.execute("DELETE FROM logic_versions WHERE logic_sid = ?1", [sid])?;
            tx.execute("DELETE FROM logic_examples WHERE logic_sid = ?1", [sid])?;
            tx.execute(
                "DELETE FROM play_children WHERE parent_sid IN (SELECT sid FROM plays WHERE logic_sid = ?1)",
                [sid],
            )?;
            tx.execute("DELETE FROM play_steps WHERE play_sid IN (SELECT sid FROM plays WHERE logic_sid = ?1)", [sid])?;
            tx.execute("DELETE FROM plays WHERE logic_sid = ?1", [sid])?;
            delete_record::<Logic>(tx, sid)
        })
    }

    fn logic_page(&self, query: &PageQuery) -> StoreResult<Page<Logic>> {
        self.read(|c| hydrate_page(c, page_records::<Logic>(c, query)?, with_versions))
    }

    fn logic_all(&self) -> StoreResult<Vec<Logic>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("{} ORDER BY name", select_sql::<Logic>()))?;
            let logics = stmt.query_map([], from_row::<Logic>)?.collect::<Result<Vec<_>, _>>()?;
            logics.into_iter().map(|l| with_versions(c, l)).collect()
        })
    }

    fn logic_create(&self, logic: &Logic, version: &LogicVersion) -> StoreResult<(Logic, LogicVersion)> {
        self.write_library(|tx| {
            let mut logic = insert_record(tx, logic)?;
            let mut version = version.clone();
            version.logic_sid = logic.sid.clone();
            let version = insert_record(tx, &version)?;
            logic.current_version_sid = version.sid.clone();
            update_record(tx, &logic)?;
            Ok((with_versions(tx, logic)?, version))
        })
    }

    fn version_get(&self, sid: &str) -> StoreResult<Option<LogicVersion>> {
        self.read(|c| get_record(c, sid))
    }

    fn current_version_by_name(&self, name: &str) -> StoreResult<Option<LogicVersion>> {
        self.read(|c| {
            let columns: Vec<String> = LogicVersion::COLUMNS.iter().map(|col| format!("v.{col}")).collect();
            let sql = format!(
                "SELECT v.id, v.sid, {} FROM logics l JOIN logic_versions v ON v.sid = l.current_version_sid WHERE l.name = ?1",
                columns.join(", ")
            );
            Ok(c.prepare_cached(&sql)?.query_row([name], from_row::<LogicVersion>).optional()?)
        })
    }

    fn version_by_label(&self, logic_sid: &str, label: &str) -> StoreResult<Option<LogicVersion>> {
        self.read(|c| {
            let sql = format!("{} WHERE logic_sid = ?1 AND version_label = ?2", select_sql::<LogicVersion>());
            Ok(c.query_row(&sql, [logic_sid, label], from_row::<LogicVersion>).optional()?)
        })
    }

    fn version_put(&self, version: &LogicVersion) -> StoreResult<LogicVersion> {
        self.write_library(|tx| put_record(tx, version))
    }

    fn version_create(&self, version: &LogicVersion, make_current: bool) -> StoreResult<LogicVersion> {
        self.write_library(|tx| {
            let mut stored = version.clone();
            stored.sid.clear();
            let stored = insert_record(tx, &stored)?;
            if make_current {
                tx.execute(
                    "UPDATE logics SET current_version_sid = ?1, updated_at = ?2 WHERE sid = ?3",
                    params![stored.sid, stored.created_at as i64, stored.logic_sid],
                )?;
            }
            Ok(stored)
        })
    }

    fn version_delete(&self, sid: &str) -> StoreResult<bool> {
        self.write_library(|tx| {
            tx.execute("DELETE FROM version_graphs WHERE version_sid = ?1", [sid])?;
            delete_record::<LogicVersion>(tx, sid)
        })
    }

    fn version_page(&self, query: &PageQuery) -> StoreResult<Page<LogicVersion>> {
        self.read(|c| page_records(c, query))
    }

    fn version_count(&self, logic_sid: &str) -> StoreResult<u64> {
        self.read(|c| count(c, "SELECT count(*) FROM logic_versions WHERE logic_sid = ?1", logic_sid))
    }

    fn set_current_version(&self, logic_sid: &str, version_sid: &str) -> StoreResult<Logic> {
        self.write_library(|tx| {
            let changed = tx.execute(
                "UPDATE logics SET current_version_sid = ?1, updated_at = ?2 WHERE sid = ?3",
                params![version_sid, crate::now_ms() as i64, logic_sid],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound { kind: "Logic", sid: logic_sid.to_string() });
            }
            let logic = get_record::<Logic>(tx, logic_sid)?
                .ok_or_else(|| StoreError::NotFound { kind: "Logic", sid: logic_sid.to_string() })?;
            with_versions(tx, logic)
        })
    }

    fn graph_get(&self, version_sid: &str) -> StoreResult<Option<Value>> {
        self.read(|c| {
            let text: Option<String> = c
                .query_row("SELECT graph FROM version_graphs WHERE version_sid = ?1", [version_sid], |r| r.get(0))
                .optional()?;
            text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("graph of {version_sid}: {e}"))))
                .transpose()
        })
    }

    fn graph_put(&self, version_sid: &str, graph: &Value) -> StoreResult<()> {
        let text = graph.to_string();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO version_graphs (version_sid, graph) VALUES (?1, ?2) \
                 ON CONFLICT (version_sid) DO UPDATE SET graph = excluded.graph",
                params![version_sid, text],
            )?;
            Ok(())
        })
    }

    fn example_get(&self, sid: &str) -> StoreResult<Option<LogicExample>> {
        self.read(|c| get_record(c, sid))
    }

    fn example_put(&self, example: &LogicExample) -> StoreResult<LogicExample> {
        self.write(|tx| put_record(tx, example))
    }

    fn example_delete(&self, sid: &str) -> StoreResult<bool> {
        self.write(|tx| delete_record::<LogicExample>(tx, sid))
    }

    fn example_page(&self, query: &PageQuery) -> StoreResult<Page<LogicExample>> {
        self.read(|c| page_records(c, query))
    }

    fn play_get(&self, sid: &str) -> StoreResult<Option<Play>> {
        self.read(|c| {
            let mut play = get_record::<Play>(c, sid)?;
            with_children_and_steps(c, play.as_mut_slice())?;
            Ok(play)
        })
    }

    fn play_status(&self, sid: &str) -> StoreResult<Option<PlayStatus>> {
        self.read(|c| {
            let status: Option<String> =
                c.prepare_cached("SELECT status FROM plays WHERE sid = ?1")?.query_row([sid], |r| r.get(0)).optional()?;
            Ok(status.and_then(|s| PlayStatus::parse(&s)))
        })
    }

    fn play_insert(&self, play: &Play) -> StoreResult<Play> {
        self.write(|tx| insert_record(tx, play))
    }

    fn play_insert_limited(&self, play: &Play, limits: &Limits) -> StoreResult<Play> {
        self.play_insert_run(play, limits, &[])
    }

    fn play_insert_run(&self, play: &Play, limits: &Limits, descendants: &[Play]) -> StoreResult<Play> {
        let limits = serde_json::to_string(limits).expect("limits serialize");
        self.write(|tx| {
            let stored = insert_record(tx, play)?;
            tx.prepare_cached("UPDATE plays SET limits = ?2 WHERE sid = ?1")?.execute(params![stored.sid, limits])?;
            for descendant in descendants {
                insert_record(tx, descendant)?;
            }
            // Children and memos live in tables of their own, written after every row exists.
            for one in std::iter::once(&stored).chain(descendants) {
                for child in &one.sub_play_sids {
                    append_child(tx, &one.sid, child)?;
                }
                for (step_key, output) in &one.step_outputs {
                    set_step_output(tx, &one.sid, step_key, output)?;
                }
            }
            Ok(stored)
        })
    }

    fn play_limits(&self, sid: &str) -> StoreResult<Option<Limits>> {
        self.read(|c| {
            let text: Option<String> =
                c.prepare_cached("SELECT limits FROM plays WHERE sid = ?1")?.query_row([sid], |r| r.get(0)).optional()?;
            match text.as_deref() {
                None | Some("") => Ok(None),
                Some(text) => serde_json::from_str(text)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("limits of Play {sid}: {e}"))),
            }
        })
    }

    fn play_update(&self, play: &Play) -> StoreResult<()> {
        self.write(|tx| update_existing(tx, play))
    }

    fn play_update_lazily(&self, play: &Play, expected: PlayStatus) -> StoreResult<bool> {
        self.write_lazily(|tx| batch::update_guarded(&mut SqliteRows(tx), std::slice::from_ref(play), Some((&play.sid, expected))))
    }

    fn play_page(&self, query: &PageQuery) -> StoreResult<Page<Play>> {
        self.read(|c| play_page_with_children_and_steps(c, page_records::<Play>(c, query)?))
    }

    fn play_search(&self, search: &PlaySearch) -> StoreResult<Page<Play>> {
        self.read(|c| search_plays(c, search))
    }

    fn play_count_for_version(&self, version_sid: &str) -> StoreResult<u64> {
        self.read(|c| count(c, "SELECT count(*) FROM plays WHERE logic_version_sid = ?1", version_sid))
    }

    fn play_append_child(&self, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
        self.write(|tx| append_child(tx, parent_sid, child_sid))
    }

    fn play_set_step_output(&self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
        self.write(|tx| set_step_output(tx, play_sid, step_key, output))
    }

    fn play_batch(&self, batch: &PlayBatch, guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
        if batch.is_empty() {
            return Ok(true);
        }
        self.write(|tx| batch::apply(&mut SqliteRows(tx), batch, guard))
    }

    fn reserve_sids(&self, count: u64) -> StoreResult<u64> {
        self.write(|tx| {
            let last: i64 = tx.query_row(
                "UPDATE counters SET value = value + ?1 WHERE name = 'sid' RETURNING value",
                [count as i64],
                |r| r.get(0),
            )?;
            Ok(last as u64 + 1 - count)
        })
    }

    fn plays_update(&self, plays: &[Play], guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
        self.write(|tx| batch::update_guarded(&mut SqliteRows(tx), plays, guard))
    }

    fn library_generation(&self) -> u64 {
        self.library_generation.load(Ordering::Acquire)
    }

    fn writes_made(&self) -> Option<u64> {
        Some(self.writes_made.load(Ordering::Acquire))
    }

    fn play_root_sid(&self, sid: &str) -> StoreResult<Option<String>> {
        self.read(|c| {
            let sql = "WITH RECURSIVE up(sid, parent) AS (
                           SELECT sid, parent_play_sid FROM plays WHERE sid = ?1
                           UNION ALL SELECT p.sid, p.parent_play_sid FROM plays p JOIN up ON p.sid = up.parent
                       )
                       SELECT sid FROM up WHERE parent = ''";
            Ok(c.prepare_cached(sql)?.query_row([sid], |r| r.get(0)).optional()?)
        })
    }

    fn play_tree(&self, sid: &str) -> StoreResult<Vec<Play>> {
        self.read(|c| {
            // One read transaction: the three statements see one snapshot of the tree.
            let tx = c.unchecked_transaction()?;
            let mut plays = tree_rows(&tx, sid)?;
            with_children_and_steps(&tx, &mut plays)?;
            Ok(plays)
        })
    }

    fn play_subtree_totals(&self, sids: &[String]) -> StoreResult<HashMap<String, PlayTotals>> {
        if sids.is_empty() {
            return Ok(HashMap::new());
        }
        self.read(|c| {
            let placeholders: Vec<String> = (1..=sids.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                // The totals travel inside the recursion: a final join back to `plays` would
                // let the planner scan the whole table.
                "WITH RECURSIVE sub(root, sid, tp, tc, cost) AS (
                     SELECT sid, sid, total_tokens_prompt, total_tokens_completion, total_cost_usd
                     FROM plays WHERE sid IN ({})
                     UNION ALL
                     SELECT sub.root, p.sid, p.total_tokens_prompt, p.total_tokens_completion, p.total_cost_usd
                     FROM sub JOIN plays p ON p.parent_play_sid = sub.sid
                 )
                 -- TOTAL sums in floating point: an integer SUM overflows into an error.
                 SELECT root, TOTAL(tp), TOTAL(tc), TOTAL(cost), COUNT(*) - 1 FROM sub GROUP BY root",
                placeholders.join(", ")
            );
            // Cached: every play_wait and play_status answer runs it for one sid, and parsing
            // the recursive query each time showed in profiles of the start path.
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(sids.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    PlayTotals {
                        tokens_prompt: figures::stored_tokens(r.get::<_, f64>(1)?.min(i64::MAX as f64) as i64),
                        tokens_completion: figures::stored_tokens(r.get::<_, f64>(2)?.min(i64::MAX as f64) as i64),
                        cost_usd: figures::stored_cost(r.get(3)?),
                        descendants: r.get::<_, i64>(4)?.max(0) as u64,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn recent_runs(&self, scope: RunScope, key: &str, n: u32) -> StoreResult<Vec<RecentRun>> {
        let column = match scope {
            RunScope::Logic => "logic_sid",
            RunScope::Version => "logic_version_sid",
        };
        self.read(|c| {
            let sql = format!(
                "SELECT sid, status, duration_ms, created_at FROM plays WHERE {column} = ?1 ORDER BY id DESC LIMIT ?2"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![key, i64::from(n)], |r| {
                Ok(RecentRun {
                    play_sid: r.get(0)?,
                    status: r.get(1)?,
                    duration_ms: r.get::<_, i64>(2)?.max(0) as u64,
                    created_at: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn top_level_plays_with_status(&self, statuses: &[PlayStatus]) -> StoreResult<Vec<Play>> {
        self.read(|c| {
            let mut found = Vec::new();
            for status in statuses {
                let sql = format!("{} WHERE status = ?1 AND parent_play_sid = '' ORDER BY id", select_sql::<Play>());
                let mut stmt = c.prepare_cached(&sql)?;
                let plays = stmt.query_map([status.as_str()], from_row::<Play>)?.collect::<Result<Vec<_>, _>>()?;
                found.extend(plays);
            }
            found.sort_by_key(|p| sid::decode(&p.sid));
            with_children_and_steps(c, &mut found)?;
            Ok(found)
        })
    }

    fn play_count_recovery(&self, sid: &str) -> StoreResult<u32> {
        self.write(|tx| {
            let count: Option<i64> = tx
                .query_row(
                    "UPDATE plays SET recover_attempts = recover_attempts + 1 WHERE sid = ?1 RETURNING recover_attempts",
                    [sid],
                    |r| r.get(0),
                )
                .optional()?;
            let count = count.ok_or_else(|| StoreError::NotFound { kind: "Play", sid: sid.to_string() })?;
            Ok(u32::try_from(count.max(0)).unwrap_or(u32::MAX))
        })
    }

    fn plays_clear_recoveries(&self, sids: &[String]) -> StoreResult<()> {
        if sids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached("UPDATE plays SET recover_attempts = 0 WHERE sid = ?1")?;
            for sid in sids {
                stmt.execute([sid])?;
            }
            Ok(())
        })
    }
}

/// A transaction's row writes, for `batch::apply`.
struct SqliteRows<'c>(&'c Connection);

impl PlayRows for SqliteRows<'_> {
    fn has_status(&mut self, sid: &str, status: PlayStatus) -> StoreResult<bool> {
        has_status(self.0, sid, status)
    }
    fn insert_play(&mut self, play: &Play) -> StoreResult<Play> {
        insert_record(self.0, play)
    }
    fn append_child(&mut self, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
        append_child(self.0, parent_sid, child_sid)
    }
    fn update_play(&mut self, play: &Play) -> StoreResult<bool> {
        update_record(self.0, play)
    }
    fn set_step_output(&mut self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
        set_step_output(self.0, play_sid, step_key, output)
    }
    fn append_logs(&mut self, play_sid: &str, text: &str) -> StoreResult<bool> {
        Ok(self.0.prepare_cached("UPDATE plays SET logs = logs || ?2 WHERE sid = ?1")?.execute(params![play_sid, text])? > 0)
    }
    fn mark_replayed(&mut self, play_sids: &[String]) -> StoreResult<()> {
        let sids = json_list(play_sids.iter().map(String::as_str));
        self.0.prepare_cached("UPDATE plays SET replayed = 1 WHERE sid IN (SELECT value FROM json_each(?1))")?.execute([sids])?;
        Ok(())
    }
}

fn has_status(tx: &Connection, sid: &str, status: PlayStatus) -> StoreResult<bool> {
    let current: Option<String> =
        tx.prepare_cached("SELECT status FROM plays WHERE sid = ?1")?.query_row([sid], |r| r.get(0)).optional()?;
    Ok(current.as_deref() == Some(status.as_str()))
}

/// CAST: with a bare `?1` in the WHERE, SQLite marked the statement as depending on the
/// bound value and re-prepared it on every step (seen in profiles); with the cast the plan
/// is the same search of the primary key.
pub(super) const APPEND_CHILD: &str = "INSERT INTO play_children (parent_sid, seq, child_sid)
         SELECT ?1, COALESCE(MAX(seq) + 1, 0), ?2 FROM play_children WHERE parent_sid = CAST(?1 AS TEXT)";

fn append_child(tx: &Connection, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
    tx.prepare_cached(APPEND_CHILD)?.execute([parent_sid, child_sid])?;
    Ok(())
}

fn set_step_output(tx: &Connection, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO play_steps (play_sid, step_key, output) VALUES (?1, ?2, ?3)
         ON CONFLICT (play_sid, step_key) DO UPDATE SET output = excluded.output",
    )?
    .execute([play_sid, step_key, &output.to_string()])?;
    Ok(())
}
