//! The PostgreSQL store: several daemons can share one database. Sids come from one
//! database sequence, so they stay unique across daemons. Each daemon holds a lease in the
//! `daemons` table that a thread of its own renews (see `PgStore::join`); the Plays of a
//! daemon whose lease ran out are claimed by the others (`Store::claim_orphan_plays`).
//!
//! The `Store` trait is synchronous and is called from the daemon's async handlers. The
//! sync `postgres` client runs a runtime of its own and would panic inside tokio's, so each
//! connection lives on a thread of its own ("a worker"); a call sends its work to whichever
//! worker is free over a channel and blocks on the answer, just as an SQLite call blocks on
//! its file. That works the same from async handlers, blocking threads and plain tests,
//! under any runtime flavor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use hero_logic_api::params::{Limits, Page, RecentRun};
use hero_logic_api::{Logic, LogicExample, LogicVersion, Play, PlayStatus, PlayTotals};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls};
use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::migrations::PG_MIGRATIONS;
use super::batch::{self, PlayRows};
use super::records::{given_sid_id, select_sql, Cells, PagePlan, Record};
use super::{sid, Change, PageQuery, PlayBatch, PlaySearch, RunScope, Store, StoreError, StoreResult};
use crate::figures;

/// Connections (and so worker threads) a store keeps: enough for the engine's pool and the
/// RPC handlers to make calls at once.
pub const DEFAULT_CONNECTIONS: usize = 8;

type Job = Box<dyn FnOnce(&mut Client) + Send>;

pub struct PgStore {
    /// Shown in messages: the database and its host, without a password.
    target: String,
    config: postgres::Config,
    /// This daemon's row in `daemons` once it joined (0: not joined; the store then acts
    /// as the only user of the database, as a tool or a test does).
    daemon_id: AtomicI64,
    /// The thread renewing the lease, and how to stop it.
    lease: Mutex<Option<Lease>>,
    /// Set when the store closes: the change listener stops at its next tick.
    closing: Arc<std::sync::atomic::AtomicBool>,
    listener: Mutex<Option<std::thread::JoinHandle<()>>>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Bumped by this store's writes to Logics or versions (see `Store::library_generation`).
    library_generation: AtomicU64,
}

impl PgStore {
    /// Connects to `url` (`postgres://…` or key=value form), brings the schema up to date and
    /// starts `connections` workers.
    pub fn open(url: &str, connections: usize) -> StoreResult<PgStore> {
        let config: postgres::Config = url.parse().map_err(|e| open_error(url, format!("{e}; expected postgres://user@host/dbname or host=/run/dir dbname=NAME")))?;
        Self::open_config(config, connections)
    }

    pub fn open_config(config: postgres::Config, connections: usize) -> StoreResult<PgStore> {
        // Connecting blocks on the client's own runtime: off any tokio thread the caller is on.
        off_runtime(move || Self::connect_all(config, connections))
    }

    fn connect_all(config: postgres::Config, connections: usize) -> StoreResult<PgStore> {
        let shown = describe(&config);
        let connect = |config: &postgres::Config| config.connect(NoTls).map_err(|e| open_error(&shown, e.to_string()));
        let mut first = connect(&config)?;
        migrate(&mut first).map_err(|e| open_error(&shown, e.to_string()))?;
        let mut clients = vec![first];
        for _ in 1..connections.max(1) {
            clients.push(connect(&config)?);
        }
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = clients
            .into_iter()
            .enumerate()
            .map(|(n, client)| {
                let (receiver, config) = (Arc::clone(&receiver), config.clone());
                std::thread::Builder::new()
                    .name(format!("pg-store-{n}"))
                    .spawn(move || work(client, &config, &receiver))
                    .expect("spawning a store worker")
            })
            .collect();
        Ok(PgStore {
            target: shown,
            config,
            daemon_id: AtomicI64::new(0),
            lease: Mutex::new(None),
            closing: Arc::default(),
            listener: Mutex::new(None),
            jobs: Mutex::new(Some(sender)),
            workers: Mutex::new(workers),
            library_generation: AtomicU64::new(0),
        })
    }

    /// Joins the daemons that share this database: registers a lease that expires `lease`
    /// after each renewal, renewed every fifth of it by a thread with a connection of its
    /// own. `succeeds` is the id the previous daemon of this data dir had: it is dead (this
    /// process holds the data dir lock), so its lease ends now and its Plays are claimed at
    /// once rather than when the lease would have run out. Returns this daemon's id.
    pub fn join(&self, lease: Duration, succeeds: Option<i64>) -> StoreResult<i64> {
        let (config, target) = (self.config.clone(), self.target.clone());
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let (id, client) = off_runtime(move || {
            let mut client = config.connect(NoTls).map_err(|e| open_error(&target, e.to_string()))?;
            if let Some(previous) = succeeds {
                client.execute("DELETE FROM daemons WHERE id = $1", &[&previous])?;
            }
            let host = hostname();
            let sql = "INSERT INTO daemons (id, host, pid, started_at, expires_at)
                       VALUES (nextval('daemon_ids'), $1, $2, clock_timestamp(), clock_timestamp() + $3::bigint * interval '1 millisecond')
                       RETURNING id";
            let id: i64 = client.query_one(sql, &[&host, &i64::from(std::process::id()), &lease_ms])?.get(0);
            Ok((id, client))
        })?;
        self.daemon_id.store(id, Ordering::Release);
        let every = lease / 5;
        let (stop, stopped) = mpsc::channel();
        let config = self.config.clone();
        let thread = std::thread::Builder::new()
            .name("pg-lease".into())
            .spawn(move || renew_lease(client, &config, id, lease_ms, every, &stopped))
            .expect("spawning the lease thread");
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(Lease { every, stop, thread });
        Ok(id)
    }

    /// Gives the lease up (a clean stop): the other daemons take this one's unfinished
    /// Plays over at their next look rather than when the lease would have run out.
    pub fn leave(&self) {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(lease) = lease {
            drop(lease.stop);
            let _ = lease.thread.join();
        }
    }

    /// This daemon's id, when it joined.
    pub(crate) fn owner(&self) -> Option<i64> {
        Some(self.daemon_id.load(Ordering::Acquire)).filter(|id| *id != 0)
    }

    /// Runs `f` on a worker's connection and waits for its answer.
    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut Client) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |client| {
            let _ = answer.send(f(client));
        });
        let sent = match self.jobs.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        answered.recv().map_err(|_| StoreError::Unavailable("a store worker stopped while answering".into()))?
    }

    /// Runs `f` in one transaction on a worker's connection.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.call(move |client| {
            let mut tx = client.transaction()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    fn write_library<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let written = self.write(f);
        self.library_generation.fetch_add(1, Ordering::AcqRel);
        written
    }
}

fn update_existing(tx: &mut postgres::Transaction<'_>, play: &Play) -> StoreResult<()> {
    if update_record(tx, play)? {
        Ok(())
    } else {
        Err(StoreError::NotFound { kind: "Play", sid: play.sid.clone() })
    }
}

/// Runs `f` on a thread of its own and waits for it: the sync client must not block on its
/// runtime from a thread that drives tokio's.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    std::thread::spawn(f).join().unwrap_or_else(|_| Err(StoreError::Unavailable("connecting to PostgreSQL panicked".into())))
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.leave();
        self.closing.store(true, Ordering::Release);
        if let Some(listener) = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = listener.join();
        }
        // Closing the channel ends each worker's loop; their connections close with them.
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        for worker in self.workers.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = worker.join();
        }
    }
}

/// A worker's loop: one job at a time on its own connection, reconnecting when the server
/// dropped it (the job then fails with the connection's error, and the next one gets a new
/// connection).
fn work(mut client: Client, config: &postgres::Config, jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if client.is_closed() {
            match config.connect(NoTls) {
                Ok(fresh) => client = fresh,
                Err(e) => tracing::warn!(error = %e, "cannot reconnect to PostgreSQL"),
            }
        }
        job(&mut client);
    }
}

struct Lease {
    every: Duration,
    /// Dropped to stop the thread, which then deletes the lease.
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// The lease thread's loop: renews every `every` until told to stop, then gives the lease up.
/// A renewal that fails is retried at the next tick on a new connection; the lease runs out
/// if the database stays unreachable for longer than it lasts, and the other daemons then
/// take this one's Plays over.
fn renew_lease(mut client: Client, config: &postgres::Config, id: i64, lease_ms: i64, every: Duration, stop: &mpsc::Receiver<()>) {
    let renew = "UPDATE daemons SET expires_at = clock_timestamp() + $2::bigint * interval '1 millisecond' WHERE id = $1";
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        if client.is_closed() {
            match config.connect(NoTls) {
                Ok(fresh) => client = fresh,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach PostgreSQL to renew this daemon's lease");
                    continue;
                }
            }
        }
        match client.execute(renew, &[&id, &lease_ms]) {
            Ok(1) => {}
            Ok(_) => tracing::error!(daemon = id, "this daemon's lease is gone from the database; other daemons may take its Plays over"),
            Err(e) => tracing::warn!(error = %e, "cannot renew this daemon's lease"),
        }
    }
    if let Err(e) = client.execute("DELETE FROM daemons WHERE id = $1", &[&id]) {
        tracing::warn!(error = %e, "cannot give this daemon's lease up; the others wait for it to run out");
    }
}

/// The channel the `plays_status_changed` trigger announces on.
const PLAY_CHANGES: &str = "hero_logic_plays";
/// The channel `play_queue_shared` announces a queued Play on.
const QUEUED: &str = "hero_logic_queue";

/// The change listener's loop: hands each announced sid to `changed` until the store closes,
/// listening again on a new connection when the server dropped it (and saying that changes
/// may have been missed).
fn listen(config: &postgres::Config, closing: &std::sync::atomic::AtomicBool, changed: &(dyn Fn(Change<'_>) + Send + Sync)) {
    use postgres::fallible_iterator::FallibleIterator;
    const TICK: Duration = Duration::from_millis(250);
    let mut client: Option<Client> = None;
    while !closing.load(Ordering::Acquire) {
        let Some(listening) = client.as_mut().filter(|c| !c.is_closed()) else {
            client = match config.connect(NoTls).and_then(|mut c| c.batch_execute(&format!("LISTEN {PLAY_CHANGES}; LISTEN {QUEUED}")).map(|_| c)) {
                Ok(fresh) => {
                    changed(Change::Missed);
                    Some(fresh)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other daemons' changes; play_wait falls back to polling");
                    std::thread::sleep(TICK);
                    None
                }
            };
            continue;
        };
        let lost = {
            let mut notifications = listening.notifications();
            let mut arrived = notifications.timeout_iter(TICK);
            loop {
                match arrived.next() {
                    Ok(Some(notification)) if notification.channel() == QUEUED => changed(Change::Queued),
                    Ok(Some(notification)) => changed(Change::Play(notification.payload())),
                    Ok(None) => break false,
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the connection listening for other daemons' changes");
                        break true;
                    }
                }
            }
        };
        if lost {
            client = None;
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

fn open_error(url: &str, reason: String) -> StoreError {
    StoreError::Open { path: url.to_string(), reason }
}

/// The connection target without its password, for messages.
fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!("postgres database {:?} on {}", config.get_dbname().unwrap_or(""), hosts.join(","))
}

/// Applies the migrations this database lacks, under a lock so that daemons starting at once
/// do not race each other.
fn migrate(client: &mut Client) -> StoreResult<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('hero_logic.migrate'))", &[])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let applied: Option<i64> = tx.query_opt("SELECT max(version) FROM schema_version", &[])?.and_then(|r| r.get(0));
    let applied = applied.unwrap_or(0).max(0) as usize;
    if applied > PG_MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {applied} but this build knows only {}; run a newer hero_logic",
            PG_MIGRATIONS.len()
        )));
    }
    for (index, sql) in PG_MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&((index + 1) as i64)])?;
    }
    tx.commit()?;
    Ok(())
}

impl Cells for postgres::Row {
    type Error = StoreError;
    fn text(&self, idx: usize) -> StoreResult<String> {
        Ok(self.try_get(idx)?)
    }
    fn opt_text(&self, idx: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(idx)?)
    }
    fn int(&self, idx: usize) -> StoreResult<i64> {
        Ok(self.try_get(idx)?)
    }
    fn real(&self, idx: usize) -> StoreResult<f64> {
        Ok(self.try_get(idx)?)
    }
    fn corrupt(&self, idx: usize, reason: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
        StoreError::Corrupt(format!("column {idx}: {reason}"))
    }
}

/// A record's values as PostgreSQL parameters.
fn param(value: Sql) -> Box<dyn ToSql + Sync + Send> {
    match value {
        Sql::Null => Box::new(None::<String>),
        Sql::Integer(n) => Box::new(n),
        Sql::Real(x) => Box::new(x),
        Sql::Text(s) => Box::new(s),
        Sql::Blob(b) => Box::new(b),
    }
}

fn refs(params: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn get_record<R: Record>(c: &mut impl GenericClient, sid: &str) -> StoreResult<Option<R>> {
    let sql = format!("{} WHERE sid = $1", select_sql::<R>());
    c.query_opt(&sql, &[&sid])?.map(|row| R::from_row(&row)).transpose()
}

fn record_by<R: Record>(c: &mut impl GenericClient, column: &str, value: &str) -> StoreResult<Option<R>> {
    let sql = format!("{} WHERE {column} = $1 ORDER BY id DESC LIMIT 1", select_sql::<R>());
    c.query_opt(&sql, &[&value])?.map(|row| R::from_row(&row)).transpose()
}

fn page_records<R: Record>(c: &mut impl GenericClient, query: &PageQuery) -> StoreResult<Page<R>> {
    plan_page(c, &PagePlan::of::<R>(query)?)
}

fn plan_page<R: Record>(c: &mut impl GenericClient, plan: &PagePlan) -> StoreResult<Page<R>> {
    let values: Vec<_> = plan.values().cloned().map(param).collect();
    let rows = c.query(&plan.sql::<R>(|n| format!("${n}")), &refs(&values))?;
    Ok(plan.page(rows.iter().map(R::from_row).collect::<StoreResult<Vec<R>>>()?))
}

/// Maps a UNIQUE violation to a conflict naming the field; other errors pass through.
fn unique_conflict<R: Record>(error: postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error().filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION) {
        let constraint = db.constraint().unwrap_or_default();
        for (column, text) in R::UNIQUE {
            if constraint.contains(column) {
                return StoreError::Conflict { field: column, message: text.to_string() };
            }
        }
    }
    StoreError::Postgres(error)
}

/// Inserts `record`; an empty sid gets a fresh one from the shared sequence, a given one
/// keeps it and moves the sequence past it.
fn insert_record<R: Record + Clone>(c: &mut impl GenericClient, record: &R) -> StoreResult<R> {
    let mut record = record.clone();
    let id = if record.sid().is_empty() {
        let id: i64 = c.query_one("SELECT reserve_sids(1)", &[])?.get(0);
        record.set_sid(sid::encode(id as u64));
        id as u64
    } else {
        let id = given_sid_id(record.sid())?;
        c.execute("SELECT sids_at_least($1)", &[&(id as i64)])?;
        id
    };
    let placeholders: Vec<String> = (3..R::COLUMNS.len() + 3).map(|i| format!("${i}")).collect();
    let sql =
        format!("INSERT INTO {} (id, sid, {}) VALUES ($1, $2, {})", R::TABLE, R::COLUMNS.join(", "), placeholders.join(", "));
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(id as i64), Box::new(record.sid().to_string())];
    values.extend(record.values().into_iter().map(param));
    c.execute(&sql, &refs(&values)).map_err(unique_conflict::<R>)?;
    Ok(record)
}

/// Rewrites the columns of an existing record but its append-only ones; false when there is
/// no such sid.
fn update_record<R: Record>(c: &mut impl GenericClient, record: &R) -> StoreResult<bool> {
    let kept: Vec<(&str, Sql)> =
        R::COLUMNS.iter().copied().zip(record.values()).filter(|(c, _)| !R::APPEND_ONLY.contains(c)).collect();
    let assignments: Vec<String> = kept.iter().enumerate().map(|(i, (c, _))| format!("{c} = ${}", i + 2)).collect();
    let sql = format!("UPDATE {} SET {} WHERE sid = $1", R::TABLE, assignments.join(", "));
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(record.sid().to_string())];
    values.extend(kept.into_iter().map(|(_, v)| param(v)));
    Ok(c.execute(&sql, &refs(&values)).map_err(unique_conflict::<R>)? > 0)
}

fn put_record<R: Record + Clone>(c: &mut impl GenericClient, record: &R) -> StoreResult<R> {
    if !record.sid().is_empty() && update_record(c, record)? {
        return Ok(record.clone());
    }
    insert_record(c, record)
}

fn delete_record<R: Record>(c: &mut impl GenericClient, sid: &str) -> StoreResult<bool> {
    Ok(c.execute(&format!("DELETE FROM {} WHERE sid = $1", R::TABLE), &[&sid])? > 0)
}

fn column_strings(c: &mut impl GenericClient, sql: &str, key: &str) -> StoreResult<Vec<String>> {
    Ok(c.query(sql, &[&key])?.iter().map(|r| r.get(0)).collect())
}

fn with_versions(c: &mut impl GenericClient, mut logic: Logic) -> StoreResult<Logic> {
    logic.versions = column_strings(c, "SELECT sid FROM logic_versions WHERE logic_sid = $1 ORDER BY id DESC", &logic.sid)?;
    Ok(logic)
}

fn with_children_and_steps(c: &mut impl GenericClient, mut play: Play) -> StoreResult<Play> {
    play.sub_play_sids =
        column_strings(c, "SELECT child_sid FROM play_children WHERE parent_sid = $1 ORDER BY seq", &play.sid)?;
    for row in c.query("SELECT step_key, output FROM play_steps WHERE play_sid = $1", &[&play.sid])? {
        let (key, output): (String, String) = (row.get(0), row.get(1));
        let output = serde_json::from_str(&output).map_err(|e| StoreError::Corrupt(format!("step {key}: {e}")))?;
        play.step_outputs.insert(key, output);
    }
    Ok(play)
}

fn hydrate_page<R, C: GenericClient>(
    c: &mut C,
    page: Page<R>,
    hydrate: fn(&mut C, R) -> StoreResult<R>,
) -> StoreResult<Page<R>> {
    let items = page.items.into_iter().map(|r| hydrate(c, r)).collect::<StoreResult<_>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

fn count(c: &mut impl GenericClient, sql: &str, key: &str) -> StoreResult<u64> {
    Ok(c.query_one(sql, &[&key])?.get::<_, i64>(0).max(0) as u64)
}

/// Child order: `seq` comes from a sequence, so appends from concurrent transactions (of
/// any daemon) never clash and each parent's children still sort in append order.
fn append_child(c: &mut impl GenericClient, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO play_children (parent_sid, seq, child_sid) VALUES ($1, nextval('play_child_seq'), $2)",
        &[&parent_sid, &child_sid],
    )?;
    Ok(())
}

fn set_step_output(c: &mut impl GenericClient, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
    c.execute(
        "INSERT INTO play_steps (play_sid, step_key, output) VALUES ($1, $2, $3)
         ON CONFLICT (play_sid, step_key) DO UPDATE SET output = excluded.output",
        &[&play_sid, &step_key, &output.to_string()],
    )?;
    Ok(())
}

/// Makes daemon `me` the owner of up to `limit` top-level Plays matching `which` (SQL over
/// `p`, with `$2` the statuses), oldest first, and returns them. SKIP LOCKED: a Play another
/// daemon is claiming (or writing) right now is left to it; should that daemon be gone too,
/// the next look finds it again.
fn claim_plays(tx: &mut postgres::Transaction<'_>, me: i64, which: &str, statuses: &[String], limit: i64) -> StoreResult<Vec<Play>> {
    let sql = format!(
        "WITH claimed AS (
             UPDATE plays SET owner = $1 WHERE id IN (
                 SELECT p.id FROM plays p WHERE p.parent_play_sid = '' AND {which}
                 ORDER BY p.id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id
         )
         {} WHERE id IN (SELECT id FROM claimed) ORDER BY id",
        select_sql::<Play>()
    );
    let plays = tx.query(&sql, &[&me, &statuses, &limit])?.iter().map(Play::from_row).collect::<StoreResult<Vec<_>>>()?;
    plays.into_iter().map(|p| with_children_and_steps(tx, p)).collect()
}

fn has_status(c: &mut impl GenericClient, sid: &str, status: PlayStatus) -> StoreResult<bool> {
    // FOR UPDATE: the guard holds until commit, so of two daemons racing on one Play exactly
    // one sees the status it expects.
    let current: Option<String> =
        c.query_opt("SELECT status FROM plays WHERE sid = $1 FOR UPDATE", &[&sid])?.map(|r| r.get(0));
    Ok(current.as_deref() == Some(status.as_str()))
}

impl PlayRows for postgres::Transaction<'_> {
    fn has_status(&mut self, sid: &str, status: PlayStatus) -> StoreResult<bool> {
        has_status(self, sid, status)
    }
    fn insert_play(&mut self, play: &Play) -> StoreResult<Play> {
        insert_record(self, play)
    }
    fn append_child(&mut self, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
        append_child(self, parent_sid, child_sid)
    }
    fn update_play(&mut self, play: &Play) -> StoreResult<bool> {
        update_record(self, play)
    }
    fn set_step_output(&mut self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
        set_step_output(self, play_sid, step_key, output)
    }
    fn append_logs(&mut self, play_sid: &str, text: &str) -> StoreResult<bool> {
        Ok(self.execute("UPDATE plays SET logs = logs || $2 WHERE sid = $1", &[&play_sid, &text])? > 0)
    }
    fn mark_replayed(&mut self, play_sids: &[String]) -> StoreResult<()> {
        self.execute("UPDATE plays SET replayed = 1 WHERE sid = ANY($1)", &[&play_sids])?;
        Ok(())
    }
}

fn owned(sid: &str) -> String {
    sid.to_string()
}

impl Store for PgStore {
    fn logic_get(&self, sid: &str) -> StoreResult<Option<Logic>> {
        let sid = owned(sid);
        self.call(move |c| get_record::<Logic>(c, &sid)?.map(|l| with_versions(c, l)).transpose())
    }

    fn logic_by_name(&self, name: &str) -> StoreResult<Option<Logic>> {
        let name = owned(name);
        self.call(move |c| record_by::<Logic>(c, "name", &name)?.map(|l| with_versions(c, l)).transpose())
    }

    fn logic_put(&self, logic: &Logic) -> StoreResult<Logic> {
        let logic = logic.clone();
        self.write_library(move |tx| {
            let stored = put_record(tx, &logic)?;
            with_versions(tx, stored)
        })
    }

    fn logic_delete(&self, sid: &str) -> StoreResult<bool> {
        let sid = owned(sid);
        self.write_library(move |tx| {
            tx.execute(
                "DELETE FROM version_graphs WHERE version_sid IN (SELECT sid FROM logic_versions WHERE logic_sid = $1)",
                &[&sid],
            )?;
            tx.execute("DELETE FROM logic_versions WHERE logic_sid = $1", &[&sid])?;
            tx.execute("DELETE FROM logic_examples WHERE logic_sid = $1", &[&sid])?;
            tx.execute(
                "DELETE FROM play_children WHERE parent_sid IN (SELECT sid FROM plays WHERE logic_sid = $1)",
                &[&sid],
            )?;
            tx.execute("DELETE FROM play_steps WHERE play_sid IN (SELECT sid FROM plays WHERE logic_sid = $1)", &[&sid])?;
            tx.execute("DELETE FROM plays WHERE logic_sid = $1", &[&sid])?;
            delete_record::<Logic>(tx, &sid)
        })
    }

    fn logic_page(&self, query: &PageQuery) -> StoreResult<Page<Logic>> {
        let query = query.clone();
        self.call(move |c| {
            let page = page_records::<Logic>(c, &query)?;
            hydrate_page(c, page, with_versions)
        })
    }

    fn logic_all(&self) -> StoreResult<Vec<Logic>> {
        self.call(|c| {
            let rows = c.query(&format!("{} ORDER BY name", select_sql::<Logic>()), &[])?;
            let logics = rows.iter().map(Logic::from_row).collect::<StoreResult<Vec<_>>>()?;
            logics.into_iter().map(|l| with_versions(c, l)).collect()
        })
    }

    fn logic_create(&self, logic: &Logic, version: &LogicVersion) -> StoreResult<(Logic, LogicVersion)> {
        let (logic, version) = (logic.clone(), version.clone());
        self.write_library(move |tx| {
            let mut logic = insert_record(tx, &logic)?;
            let mut version = version;
            version.logic_sid = logic.sid.clone();
            let version = insert_record(tx, &version)?;
            logic.current_version_sid = version.sid.clone();
            update_record(tx, &logic)?;
            Ok((with_versions(tx, logic)?, version))
        })
    }

    fn library_generation(&self) -> u64 {
        self.library_generation.load(Ordering::Acquire)
    }

    fn version_get(&self, sid: &str) -> StoreResult<Option<LogicVersion>> {
        let sid = owned(sid);
        self.call(move |c| get_record(c, &sid))
    }

    fn current_version_by_name(&self, name: &str) -> StoreResult<Option<LogicVersion>> {
        let name = owned(name);
        self.call(move |c| {
            let columns: Vec<String> = LogicVersion::COLUMNS.iter().map(|col| format!("v.{col}")).collect();
            let sql = format!(
                "SELECT v.id, v.sid, {} FROM logics l JOIN logic_versions v ON v.sid = l.current_version_sid WHERE l.name = $1",
                columns.join(", ")
            );
            c.query_opt(&sql, &[&name])?.map(|row| LogicVersion::from_row(&row)).transpose()
        })
    }

    fn version_by_label(&self, logic_sid: &str, label: &str) -> StoreResult<Option<LogicVersion>> {
        let (logic_sid, label) = (owned(logic_sid), owned(label));
        self.call(move |c| {
            let sql = format!("{} WHERE logic_sid = $1 AND version_label = $2", select_sql::<LogicVersion>());
            c.query_opt(&sql, &[&logic_sid, &label])?.map(|row| LogicVersion::from_row(&row)).transpose()
        })
    }

    fn version_put(&self, version: &LogicVersion) -> StoreResult<LogicVersion> {
        let version = version.clone();
        self.write_library(move |tx| put_record(tx, &version))
    }

    fn version_create(&self, version: &LogicVersion, make_current: bool) -> StoreResult<LogicVersion> {
        let mut stored = version.clone();
        stored.sid.clear();
        self.write_library(move |tx| {
            let stored = insert_record(tx, &stored)?;
            if make_current {
                tx.execute(
                    "UPDATE logics SET current_version_sid = $1, updated_at = $2 WHERE sid = $3",
                    &[&stored.sid, &(stored.created_at as i64), &stored.logic_sid],
                )?;
            }
            Ok(stored)
        })
    }

    fn version_delete(&self, sid: &str) -> StoreResult<bool> {
        let sid = owned(sid);
        self.write_library(move |tx| {
            tx.execute("DELETE FROM version_graphs WHERE version_sid = $1", &[&sid])?;
            delete_record::<LogicVersion>(tx, &sid)
        })
    }

    fn version_page(&self, query: &PageQuery) -> StoreResult<Page<LogicVersion>> {
        let query = query.clone();
        self.call(move |c| page_records(c, &query))
    }

    fn version_count(&self, logic_sid: &str) -> StoreResult<u64> {
        let logic_sid = owned(logic_sid);
        self.call(move |c| count(c, "SELECT count(*) FROM logic_versions WHERE logic_sid = $1", &logic_sid))
    }

    fn set_current_version(&self, logic_sid: &str, version_sid: &str) -> StoreResult<Logic> {
        let (logic_sid, version_sid) = (owned(logic_sid), owned(version_sid));
        self.write_library(move |tx| {
            let changed = tx.execute(
                "UPDATE logics SET current_version_sid = $1, updated_at = $2 WHERE sid = $3",
                &[&version_sid, &(crate::now_ms() as i64), &logic_sid],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound { kind: "Logic", sid: logic_sid });
            }
            let logic = get_record::<Logic>(tx, &logic_sid)?
                .ok_or_else(|| StoreError::NotFound { kind: "Logic", sid: logic_sid.clone() })?;
            with_versions(tx, logic)
        })
    }

    fn graph_get(&self, version_sid: &str) -> StoreResult<Option<Value>> {
        let version_sid = owned(version_sid);
        self.call(move |c| {
            let text: Option<String> =
                c.query_opt("SELECT graph FROM version_graphs WHERE version_sid = $1", &[&version_sid])?.map(|r| r.get(0));
            text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("graph of {version_sid}: {e}"))))
                .transpose()
        })
    }

    fn graph_put(&self, version_sid: &str, graph: &Value) -> StoreResult<()> {
        let (version_sid, text) = (owned(version_sid), graph.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO version_graphs (version_sid, graph) VALUES ($1, $2) \
                 ON CONFLICT (version_sid) DO UPDATE SET graph = excluded.graph",
                &[&version_sid, &text],
            )?;
            Ok(())
        })
    }

    fn example_get(&self, sid: &str) -> StoreResult<Option<LogicExample>> {
        let sid = owned(sid);
        self.call(move |c| get_record(c, &sid))
    }

    fn example_put(&self, example: &LogicExample) -> StoreResult<LogicExample> {
        let example = example.clone();
        self.write(move |tx| put_record(tx, &example))
    }

    fn example_delete(&self, sid: &str) -> StoreResult<bool> {
        let sid = owned(sid);
        self.write(move |tx| delete_record::<LogicExample>(tx, &sid))
    }

    fn example_page(&self, query: &PageQuery) -> StoreResult<Page<LogicExample>> {
        let query = query.clone();
        self.call(move |c| page_records(c, &query))
    }

    fn play_get(&self, sid: &str) -> StoreResult<Option<Play>> {
        let sid = owned(sid);
        self.call(move |c| get_record::<Play>(c, &sid)?.map(|p| with_children_and_steps(c, p)).transpose())
    }

    fn play_status(&self, sid: &str) -> StoreResult<Option<PlayStatus>> {
        let sid = owned(sid);
        self.call(move |c| {
            let status: Option<String> = c.query_opt("SELECT status FROM plays WHERE sid = $1", &[&sid])?.map(|r| r.get(0));
            Ok(status.and_then(|s| PlayStatus::parse(&s)))
        })
    }

    fn play_insert(&self, play: &Play) -> StoreResult<Play> {
        let play = play.clone();
        self.write(move |tx| insert_record(tx, &play))
    }

    fn play_insert_limited(&self, play: &Play, limits: &Limits) -> StoreResult<Play> {
        self.play_insert_run(play, limits, &[])
    }

    fn play_insert_run(&self, play: &Play, limits: &Limits, descendants: &[Play]) -> StoreResult<Play> {
        let limits = serde_json::to_string(limits).expect("limits serialize");
        let (play, descendants, owner) = (play.clone(), descendants.to_vec(), self.owner());
        self.write(move |tx| {
            let stored = insert_record(tx, &play)?;
            tx.execute("UPDATE plays SET limits = $2, owner = $3 WHERE sid = $1", &[&stored.sid, &limits, &owner])?;
            for descendant in &descendants {
                insert_record(tx, descendant)?;
            }
            for one in std::iter::once(&stored).chain(&descendants) {
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
        let sid = owned(sid);
        self.call(move |c| {
            let text: Option<String> = c.query_opt("SELECT limits FROM plays WHERE sid = $1", &[&sid])?.map(|r| r.get(0));
            match text.as_deref() {
                None | Some("") => Ok(None),
                Some(text) => serde_json::from_str(text)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("limits of Play {sid}: {e}"))),
            }
        })
    }

    fn play_update(&self, play: &Play) -> StoreResult<()> {
        let play = play.clone();
        self.write(move |tx| update_existing(tx, &play))
    }

    fn play_update_lazily(&self, play: &Play, expected: PlayStatus) -> StoreResult<bool> {
        let play = play.clone();
        self.write(move |tx| {
            // Visible at once; durable with the server's next flush of its log.
            tx.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
            batch::update_guarded(tx, std::slice::from_ref(&play), Some((&play.sid, expected)))
        })
    }

    fn play_page(&self, query: &PageQuery) -> StoreResult<Page<Play>> {
        let query = query.clone();
        self.call(move |c| {
            let page = page_records::<Play>(c, &query)?;
            hydrate_page(c, page, with_children_and_steps)
        })
    }

    fn play_search(&self, search: &PlaySearch) -> StoreResult<Page<Play>> {
        let search = search.clone();
        self.call(move |c| {
            let page = plan_page::<Play>(c, &PagePlan::search(&search)?)?;
            hydrate_page(c, page, with_children_and_steps)
        })
    }

    fn play_count_for_version(&self, version_sid: &str) -> StoreResult<u64> {
        let version_sid = owned(version_sid);
        self.call(move |c| count(c, "SELECT count(*) FROM plays WHERE logic_version_sid = $1", &version_sid))
    }

    fn play_append_child(&self, parent_sid: &str, child_sid: &str) -> StoreResult<()> {
        let (parent_sid, child_sid) = (owned(parent_sid), owned(child_sid));
        self.write(move |tx| append_child(tx, &parent_sid, &child_sid))
    }

    fn play_set_step_output(&self, play_sid: &str, step_key: &str, output: &Value) -> StoreResult<()> {
        let (play_sid, step_key, output) = (owned(play_sid), owned(step_key), output.clone());
        self.write(move |tx| set_step_output(tx, &play_sid, &step_key, &output))
    }

    fn play_batch(&self, batch: &PlayBatch, guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
        if batch.is_empty() {
            return Ok(true);
        }
        let batch = batch.clone();
        let guard = guard.map(|(sid, status)| (owned(sid), status));
        self.write(move |tx| batch::apply(tx, &batch, guard.as_ref().map(|(sid, status)| (sid.as_str(), *status))))
    }

    fn reserve_sids(&self, count: u64) -> StoreResult<u64> {
        self.call(move |c| {
            let first: i64 = c.query_one("SELECT reserve_sids($1)", &[&(count as i64)])?.get(0);
            Ok(first as u64)
        })
    }

    fn plays_update(&self, plays: &[Play], guard: Option<(&str, PlayStatus)>) -> StoreResult<bool> {
        let (plays, owner) = (plays.to_vec(), self.owner());
        let guard = guard.map(|(sid, status)| (owned(sid), status));
        self.write(move |tx| {
            let written = batch::update_guarded(tx, &plays, guard.as_ref().map(|(sid, status)| (sid.as_str(), *status)))?;
            // The winner of a guarded change (an answer that resumes a run) runs it from now.
            if let (true, Some((sid, _)), Some(owner)) = (written, &guard, owner) {
                tx.execute("UPDATE plays SET owner = $2 WHERE sid = $1", &[sid, &owner])?;
            }
            Ok(written)
        })
    }

    fn play_root_sid(&self, sid: &str) -> StoreResult<Option<String>> {
        let sid = owned(sid);
        self.call(move |c| {
            let sql = "WITH RECURSIVE up(sid, parent) AS (
                           SELECT sid, parent_play_sid FROM plays WHERE sid = $1
                           UNION ALL SELECT p.sid, p.parent_play_sid FROM plays p JOIN up ON p.sid = up.parent
                       )
                       SELECT sid FROM up WHERE parent = ''";
            Ok(c.query_opt(sql, &[&sid])?.map(|r| r.get(0)))
        })
    }

    fn play_tree(&self, sid: &str) -> StoreResult<Vec<Play>> {
        let sid = owned(sid);
        self.call(move |c| {
            let columns: Vec<String> = Play::COLUMNS.iter().map(|col| format!("p.{col}")).collect();
            let sql = format!(
                "WITH RECURSIVE tree(sid) AS (
                     SELECT sid FROM plays WHERE sid = $1
                     UNION ALL SELECT p.sid FROM plays p JOIN tree t ON p.parent_play_sid = t.sid
                 )
                 SELECT p.id, p.sid, {},
                     COALESCE((SELECT json_agg(child_sid ORDER BY seq) FROM play_children WHERE parent_sid = p.sid)::text, '[]'),
                     COALESCE((SELECT json_object_agg(step_key, output::json) FROM play_steps WHERE play_sid = p.sid)::text, '{{}}')
                 FROM plays p WHERE p.sid IN (SELECT sid FROM tree) ORDER BY (p.sid = $1) DESC, p.id",
                columns.join(", ")
            );
            let extra = Play::COLUMNS.len() + 2;
            let mut plays = Vec::new();
            for row in c.query(&sql, &[&sid])? {
                let mut play = Play::from_row(&row)?;
                let (children, steps): (String, String) = (row.get(extra), row.get(extra + 1));
                let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("play {}: {e}", play.sid));
                play.sub_play_sids = serde_json::from_str(&children).map_err(corrupt)?;
                play.step_outputs = serde_json::from_str(&steps).map_err(corrupt)?;
                plays.push(play);
            }
            Ok(plays)
        })
    }

    fn play_subtree_totals(&self, sids: &[String]) -> StoreResult<HashMap<String, PlayTotals>> {
        if sids.is_empty() {
            return Ok(HashMap::new());
        }
        let sids = sids.to_vec();
        self.call(move |c| {
            let sql = "WITH RECURSIVE sub(root, sid, tp, tc, cost) AS (
                           SELECT sid, sid, total_tokens_prompt, total_tokens_completion, total_cost_usd
                           FROM plays WHERE sid = ANY($1)
                           UNION ALL
                           SELECT sub.root, p.sid, p.total_tokens_prompt, p.total_tokens_completion, p.total_cost_usd
                           FROM sub JOIN plays p ON p.parent_play_sid = sub.sid
                       )
                       SELECT root, SUM(tp)::float8, SUM(tc)::float8, SUM(cost)::float8, COUNT(*) - 1 FROM sub GROUP BY root";
            let rows = c.query(sql, &[&sids])?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        PlayTotals {
                            tokens_prompt: figures::stored_tokens(r.get::<_, f64>(1).min(i64::MAX as f64) as i64),
                            tokens_completion: figures::stored_tokens(r.get::<_, f64>(2).min(i64::MAX as f64) as i64),
                            cost_usd: figures::stored_cost(r.get(3)),
                            descendants: r.get::<_, i64>(4).max(0) as u64,
                        },
                    )
                })
                .collect())
        })
    }

    fn recent_runs(&self, scope: RunScope, key: &str, n: u32) -> StoreResult<Vec<RecentRun>> {
        let column = match scope {
            RunScope::Logic => "logic_sid",
            RunScope::Version => "logic_version_sid",
        };
        let key = owned(key);
        self.call(move |c| {
            let sql = format!(
                "SELECT sid, status, duration_ms, created_at FROM plays WHERE {column} = $1 ORDER BY id DESC LIMIT $2"
            );
            Ok(c.query(&sql, &[&key, &i64::from(n)])?
                .iter()
                .map(|r| RecentRun {
                    play_sid: r.get(0),
                    status: r.get(1),
                    duration_ms: r.get::<_, i64>(2).max(0) as u64,
                    created_at: r.get::<_, i64>(3).max(0) as u64,
                })
                .collect())
        })
    }

    fn top_level_plays_with_status(&self, statuses: &[PlayStatus]) -> StoreResult<Vec<Play>> {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
        self.call(move |c| {
            let sql = format!("{} WHERE status = ANY($1) AND parent_play_sid = '' ORDER BY id", select_sql::<Play>());
            let plays = c.query(&sql, &[&statuses])?.iter().map(Play::from_row).collect::<StoreResult<Vec<_>>>()?;
            plays.into_iter().map(|p| with_children_and_steps(c, p)).collect()
        })
    }

    fn play_count_recovery(&self, sid: &str) -> StoreResult<u32> {
        let sid = owned(sid);
        self.write(move |tx| {
            let count: Option<i64> = tx
                .query_opt(
                    "UPDATE plays SET recover_attempts = recover_attempts + 1 WHERE sid = $1 RETURNING recover_attempts",
                    &[&sid],
                )?
                .map(|r| r.get(0));
            let count = count.ok_or_else(|| StoreError::NotFound { kind: "Play", sid: sid.clone() })?;
            Ok(u32::try_from(count.max(0)).unwrap_or(u32::MAX))
        })
    }

    fn plays_clear_recoveries(&self, sids: &[String]) -> StoreResult<()> {
        if sids.is_empty() {
            return Ok(());
        }
        let sids = sids.to_vec();
        self.write(move |tx| {
            tx.execute("UPDATE plays SET recover_attempts = 0 WHERE sid = ANY($1)", &[&sids])?;
            Ok(())
        })
    }

    fn heartbeat(&self) -> Option<Duration> {
        self.lease.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|lease| lease.every)
    }

    fn claim_orphan_plays(&self, statuses: &[PlayStatus]) -> StoreResult<Vec<Play>> {
        let Some(me) = self.owner() else { return self.top_level_plays_with_status(statuses) };
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
        let orphans = "p.status = ANY($2) AND p.owner IS DISTINCT FROM $1 AND NOT (p.owner IS NULL AND p.status = 'pending')
                       AND NOT EXISTS (SELECT 1 FROM daemons d WHERE d.id = p.owner AND d.expires_at > clock_timestamp())";
        self.write(move |tx| claim_plays(tx, me, orphans, &statuses, i64::MAX))
    }

    fn play_queue_shared(&self, sid: &str) -> StoreResult<bool> {
        let Some(me) = self.owner() else { return Ok(false) };
        let sid = owned(sid);
        self.write(move |tx| {
            let sql = "UPDATE plays SET owner = NULL WHERE sid = $1 AND owner = $2 AND status = 'pending'";
            let queued = tx.execute(sql, &[&sid, &me])? > 0;
            if queued {
                // Idle daemons claim it at once rather than at their next heartbeat.
                tx.execute("SELECT pg_notify($1, '')", &[&QUEUED])?;
            }
            Ok(queued)
        })
    }

    fn claim_queued_plays(&self, n: usize) -> StoreResult<Vec<Play>> {
        let Some(me) = self.owner() else { return Ok(Vec::new()) };
        let queued = "p.status = ANY($2) AND p.owner IS NULL";
        let pending = vec![PlayStatus::Pending.as_str().to_string()];
        self.write(move |tx| claim_plays(tx, me, queued, &pending, i64::try_from(n).unwrap_or(i64::MAX)))
    }

    fn play_request_cancel(&self, sid: &str) -> StoreResult<bool> {
        let (sid, me) = (owned(sid), self.owner());
        let open: Vec<String> = [PlayStatus::Pending, PlayStatus::Running].iter().map(|s| s.as_str().to_string()).collect();
        self.write(move |tx| {
            let sql = "UPDATE plays p SET cancel_requested = 1
                       WHERE p.sid = $1 AND p.owner IS DISTINCT FROM $2 AND p.status = ANY($3)
                         AND EXISTS (SELECT 1 FROM daemons d WHERE d.id = p.owner AND d.expires_at > clock_timestamp())";
            Ok(tx.execute(sql, &[&sid, &me, &open])? > 0)
        })
    }

    fn watch_changes(&self, changed: Box<dyn Fn(Change<'_>) + Send + Sync>) {
        let (config, closing) = (self.config.clone(), Arc::clone(&self.closing));
        let thread = std::thread::Builder::new()
            .name("pg-listen".into())
            .spawn(move || listen(&config, &closing, changed.as_ref()))
            .expect("spawning the change listener");
        // An earlier listener (there is none in the daemon) still stops when the store closes.
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
    }

    fn take_cancel_requests(&self) -> StoreResult<Vec<String>> {
        let Some(me) = self.owner() else { return Ok(Vec::new()) };
        self.write(move |tx| {
            let sql = "UPDATE plays SET cancel_requested = 0 WHERE owner = $1 AND cancel_requested = 1 RETURNING sid";
            Ok(tx.query(sql, &[&me])?.iter().map(|r| r.get(0)).collect())
        })
    }
}
