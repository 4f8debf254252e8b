//! A real daemon on the PostgreSQL store (`--store postgres://…`), against the throwaway
//! server `./scripts/test` starts (`HERO_LOGIC_TEST_PG_URL`); each test gets a database of
//! its own. Without the server they report themselves skipped.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Daemon;
use serde_json::{json, Value};

/// A step that records each time it really runs by appending its tag to a file.
const COUNTED: &str = r#"
import time
from hero_tracing import logic

@logic(name="counted", inputs={"tag": "string", "file": "string", "nap": "number"}, outputs={"tag": "string"})
def counted(tag, file, nap=0.0):
    time.sleep(nap)
    with open(file, "a") as f:
        f.write(tag + "\n")
    return {"tag": tag}
"#;

/// Two steps; the second naps long enough for a test to kill the daemon during it.
const PAIR: &str = r#"
from hero_tracing import logic

@logic(name="pair", inputs={"file": "string", "nap": "number"}, outputs={"tags": "string"})
def pair(file, nap=0.0):
    a = logic.invoke("counted", tag="a", file=file)
    b = logic.invoke("counted", tag="b", file=file, nap=nap)
    return {"tags": a["tag"] + b["tag"]}
"#;

/// The URL of a new, empty database on the test server, or None after saying why not.
fn fresh_database_url() -> Option<String> {
    let Ok(url) = std::env::var("HERO_LOGIC_TEST_PG_URL") else {
        // Straight to stderr: the test harness hides what `eprintln!` says in a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {}: HERO_LOGIC_TEST_PG_URL is not set, so this PostgreSQL daemon test did not run; \
             ./scripts/test starts a PostgreSQL server and sets it",
            std::thread::current().name().unwrap_or("a test")
        );
        return None;
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!("hl_daemon_{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    // The sync client must not block a tokio thread: it connects from a thread of its own.
    let (admin_url, db) = (url.clone(), name.clone());
    std::thread::spawn(move || {
        let mut admin = admin_url.parse::<postgres::Config>().unwrap().connect(postgres::NoTls).expect("the test server answers");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    })
    .join()
    .unwrap();
    // The server's URL names the `postgres` database; the same server, another database.
    Some(url.replacen("/postgres?", &format!("/{name}?"), 1))
}

/// A directory the Plays may write (`--sandbox-shared-dirs`) and its effects file.
fn effects(dir: &Path) -> (String, PathBuf) {
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    (shared.display().to_string(), shared.join("effects"))
}

async fn daemon_on(data: &Path, url: &str, shared: &str) -> Daemon {
    Daemon::start_with(data, &["--no-seed", "--store", url, "--sandbox-shared-dirs", shared]).await
}

fn tags(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn plays_run_on_postgres_and_outlive_the_daemon_and_its_data_dir() {
    let Some(url) = fresh_database_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (shared, file) = effects(dir.path());
    let mut first = daemon_on(&dir.path().join("one"), &url, &shared).await;
    first.define("counted", COUNTED).await;
    first.define("pair", PAIR).await;
    let done = first.run("pair", json!({"file": file.to_str().unwrap()})).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["tags"], "ab");
    assert_eq!(done["sub_play_sids"].as_array().unwrap().len(), 2, "{done}");
    first.stop();
    // Another data dir, the same database: everything is in PostgreSQL.
    let second = daemon_on(&dir.path().join("two"), &url, &shared).await;
    let read = second.call("LogicService.play_tree", json!({"play_sid": done["sid"]})).await["play"].clone();
    assert_eq!(read["status"], "success", "{read}");
    assert_eq!(read["output_data"], done["output_data"]);
    let again = second.run("pair", json!({"file": file.to_str().unwrap()})).await;
    assert_eq!(again["status"], "success", "{again}");
    assert_ne!(again["sid"], done["sid"]);
    assert_eq!(tags(&file), ["a", "b", "a", "b"]);
}

/// Like `PAIR`, with the tags named after the Play (`who`), so that several Plays share one
/// effects file; the second step naps, for a test to kill the daemon during it.
const NAMED_PAIR: &str = r#"
from hero_tracing import logic

@logic(name="named_pair", inputs={"who": "string", "file": "string", "nap": "number"}, outputs={"tags": "string"})
def named_pair(who, file, nap=0.0):
    a = logic.invoke("counted", tag=who + "-a", file=file)
    b = logic.invoke("counted", tag=who + "-b", file=file, nap=nap)
    return {"tags": a["tag"] + " " + b["tag"]}
"#;

/// Asks between two counted steps.
const ASKING: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="asking", inputs={"file": "string"}, outputs={"word": "string"})
def asking(file):
    logic.invoke("counted", tag="before", file=file)
    word = ask_user.text("A word?")
    logic.invoke("counted", tag="after", file=file)
    return {"word": word}
"#;

/// Sleeps durably between two counted steps.
const SLEEPING: &str = r#"
from hero_tracing import logic

@logic(name="sleeping", inputs={"file": "string"}, outputs={"done": "boolean"})
def sleeping(file):
    logic.invoke("counted", tag="before", file=file)
    logic.sleep(2)
    logic.invoke("counted", tag="after", file=file)
    return {"done": True}
"#;

/// Daemons on one fresh database with a short lease (`[store] lease_ms`), so that a killed
/// one is taken for dead within a second; each has a data dir of its own, and their Plays
/// may write the shared effects file `file`.
struct Cluster {
    dir: tempfile::TempDir,
    config: PathBuf,
    url: String,
    shared: String,
    file: PathBuf,
}

impl Cluster {
    /// None (after saying why) without a test server.
    fn new() -> Option<Cluster> {
        Cluster::with_lease(1000)
    }

    /// `new` with another lease (a daemon looks for work every fifth of it).
    fn with_lease(lease_ms: u64) -> Option<Cluster> {
        let url = fresh_database_url()?;
        let dir = tempfile::tempdir().unwrap();
        let (shared, file) = effects(dir.path());
        let config = dir.path().join("service.toml");
        std::fs::write(&config, format!("[store]\nlease_ms = {lease_ms}\n")).unwrap();
        Some(Cluster { dir, config, url, shared, file })
    }

    /// `N` daemons; the first defines `counted` and `logic` (named `name`).
    async fn daemons<const N: usize>(&self, name: &str, logic: &str) -> [Daemon; N] {
        self.daemons_with(name, logic, &[]).await
    }

    /// `daemons` with more flags for each.
    async fn daemons_with<const N: usize>(&self, name: &str, logic: &str, extra: &[&str]) -> [Daemon; N] {
        let mut daemons = Vec::new();
        for index in 0..N {
            let (data, config) = (self.dir.path().join(format!("data{index}")), self.config.to_str().unwrap());
            let mut args = vec!["--no-seed", "--store", &self.url, "--sandbox-shared-dirs", &self.shared, "--config", config];
            args.extend_from_slice(extra);
            daemons.push(Daemon::start_with(&data, &args).await);
        }
        daemons[0].define("counted", COUNTED).await;
        daemons[0].define(name, logic).await;
        daemons.try_into().unwrap_or_else(|_| unreachable!("N daemons were started"))
    }

    fn file(&self) -> &str {
        self.file.to_str().unwrap()
    }

    fn tags(&self) -> Vec<String> {
        tags(&self.file)
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

async fn start(daemon: &Daemon, logic: &str, inputs: Value) -> Value {
    daemon.call("LogicService.play_start", json!({"logic": logic, "inputs": inputs})).await
}

/// Waits until the Play's first step is recorded as finished: a step whose effect happened
/// but whose end the daemon had not committed when it died runs again, by design.
async fn until_recorded(daemon: &Daemon, sid: &Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tree = daemon.call("LogicService.play_tree", json!({"play_sid": sid})).await;
        if tree["descendants"].as_array().unwrap().iter().any(|child| child["status"] == "success") {
            return;
        }
        assert!(Instant::now() < deadline, "the first step never finished: {tree}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `file` holds at least `n` lines.
async fn until_tags(file: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tags(file).len() < n {
        assert!(Instant::now() < deadline, "only {:?} ran", tags(file));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_the_same_database_joins_and_waits_on_the_first_ones_plays() {
    let Some(cluster) = Cluster::new() else { return };
    let [first, second] = cluster.daemons("pair", PAIR).await;
    // Started on one, waited for and watched on the other: both see changes another daemon
    // made. A watch that timed out would return the version it was given.
    let play = start(&first, "pair", json!({"file": cluster.file(), "nap": 0.5})).await;
    let since = second.call("LogicService.play_watch", json!({"play_sid": play["sid"], "since": 0, "timeout_ms": 0})).await["version"].clone();
    let watched = second.call("LogicService.play_watch", json!({"play_sid": play["sid"], "since": since, "timeout_ms": 30000})).await;
    assert!(watched["version"].as_u64() > since.as_u64(), "the watch woke on the other daemon's change: {watched}");
    let done = second.wait(&play["sid"]).await;
    let heard_after_ms = now_ms().saturating_sub(done["completed_at"].as_u64().unwrap());
    eprintln!("play_wait on the other daemon returned {heard_after_ms} ms after the Play ended");
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["tags"], "ab");
    // And the other way round, with the logic the first one defined.
    let again = second.run("pair", json!({"file": cluster.file()})).await;
    assert_eq!(again["status"], "success", "{again}");
    assert_eq!(cluster.tags(), ["a", "b", "a", "b"], "each Play ran on one daemon only");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_survivors_finish_every_play_of_a_killed_daemon_and_no_finished_step_runs_again() {
    let Some(cluster) = Cluster::new() else { return };
    let [mut doomed, two, three] = cluster.daemons("named_pair", NAMED_PAIR).await;
    let survivors = [two, three];
    // Ten Plays started on the doomed daemon: four run there (its pool), six wait in the
    // database's queue for whichever daemon has a free worker. Two more on each survivor,
    // which must not be taken from them.
    let mut plays = Vec::new();
    for n in 0..10 {
        let who = format!("doomed{n}");
        plays.push(start(&doomed, "named_pair", json!({"who": who, "file": cluster.file(), "nap": 3.0})).await);
    }
    for (s, survivor) in survivors.iter().enumerate() {
        for n in 0..2 {
            let who = format!("survivor{s}{n}");
            plays.push(start(survivor, "named_pair", json!({"who": who, "file": cluster.file(), "nap": 1.0})).await);
        }
    }
    // The doomed daemon's four running Plays and the survivors' four finished their first step.
    until_tags(&cluster.file, 8).await;
    let started_on_doomed: Vec<String> = cluster.tags().into_iter().filter(|t| t.starts_with("doomed")).collect();
    assert!(!started_on_doomed.is_empty(), "{:?}", cluster.tags());
    for (n, play) in plays.iter().take(10).enumerate() {
        if started_on_doomed.contains(&format!("doomed{n}-a")) {
            until_recorded(&doomed, &play["sid"]).await;
        }
    }
    doomed.kill9();
    let killed = Instant::now();
    for (n, play) in plays.iter().enumerate() {
        let done = survivors[n % 2].wait(&play["sid"]).await;
        assert_eq!(done["status"], "success", "{done}");
    }
    eprintln!("the survivors finished every Play {:?} after the kill", killed.elapsed());
    let ran = cluster.tags();
    for n in 0..10 {
        for step in ["a", "b"] {
            let tag = format!("doomed{n}-{step}");
            assert_eq!(ran.iter().filter(|t| **t == tag).count(), 1, "{tag} ran once: {ran:?}");
        }
    }
    for tag in &started_on_doomed {
        assert_eq!(ran.iter().filter(|t| *t == tag).count(), 1, "{tag}, finished before the kill, never ran again");
    }
    assert_eq!(ran.len(), 28, "every step of the 14 Plays ran exactly once: {ran:?}");
}

/// The issue's scale: 300 Plays spread over three daemons, one of them killed while at least
/// 50 run. Every Play ends `success` on the survivors, no step that was recorded before the kill
/// runs again, no step is lost, and only steps in flight on the killed daemon may run twice.
#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_plays_on_three_daemons_all_end_after_one_is_killed_with_fifty_running() {
    const PLAYS: usize = 300;
    const POOL: u64 = 20;
    let Some(cluster) = Cluster::new() else { return };
    let [mut doomed, two, three] = cluster.daemons_with("named_pair", NAMED_PAIR, &["--pool-size", "20"]).await;
    let mut plays = Vec::new();
    for n in 0..PLAYS {
        let daemon = [&doomed, &two, &three][n % 3];
        plays.push(start(daemon, "named_pair", json!({"who": format!("p{n}"), "file": cluster.file(), "nap": 2.0})).await);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        let mut running = 0;
        for daemon in [&doomed, &two, &three] {
            running += daemon.call("LogicService.engine_info", json!({})).await["running"].as_u64().unwrap_or(0);
        }
        if running >= 50 {
            break running;
        }
        assert!(Instant::now() < deadline, "never 50 Plays running at once: {running}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let search = json!({"logic": "counted", "status": "success", "top_level_only": false, "limit": 1000});
    let recorded: Vec<String> = two.call("LogicService.play_search", search).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["output_data"]["tag"].as_str().unwrap().to_string())
        .collect();
    doomed.kill9();
    let killed = Instant::now();
    let survivors = [two, three];
    for (n, play) in plays.iter().enumerate() {
        let done = survivors[n % 2].until_ended(&play["sid"]).await;
        assert_eq!(done["status"], "success", "{done}");
    }
    let ran = cluster.tags();
    eprintln!(
        "{PLAYS} Plays, {running} running at the kill, {} steps recorded before it: all ended {:?} after the kill; \
         {} steps ran twice (in flight on the killed daemon)",
        recorded.len(),
        killed.elapsed(),
        ran.len() - 2 * PLAYS
    );
    for n in 0..PLAYS {
        for step in ["a", "b"] {
            let tag = format!("p{n}-{step}");
            assert!(ran.contains(&tag), "{tag} never ran: nothing may be lost");
        }
    }
    for tag in &recorded {
        assert_eq!(ran.iter().filter(|t| *t == tag).count(), 1, "{tag}, recorded before the kill, never ran again");
    }
    assert!(ran.len() - 2 * PLAYS <= POOL as usize, "only the killed daemon's in-flight steps run again: {}", ran.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn plays_a_busy_daemon_cannot_start_yet_are_run_at_once_by_a_daemon_with_a_free_worker() {
    // A ten-minute lease: the idle daemon's next look comes after this test's deadline, so
    // only the queue's announcement can bring it the Play.
    let Some(cluster) = Cluster::with_lease(600_000) else { return };
    let [busy, idle] = cluster.daemons_with("named_pair", NAMED_PAIR, &["--pool-size", "1"]).await;
    let mut plays = Vec::new();
    for n in 0..3 {
        plays.push(start(&busy, "named_pair", json!({"who": format!("p{n}"), "file": cluster.file(), "nap": 2.0})).await);
    }
    // The busy daemon's one worker has the first; the others wait in the database's queue,
    // and the idle daemon takes one of them.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = idle.call("LogicService.engine_info", json!({})).await;
        if info["running"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the idle daemon never took a queued Play: {info}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for play in &plays {
        let done = idle.wait(&play["sid"]).await;
        assert_eq!(done["status"], "success", "{done}");
    }
    let mut ran = cluster.tags();
    ran.sort();
    assert_eq!(ran, ["p0-a", "p0-b", "p1-a", "p1-b", "p2-a", "p2-b"], "each step ran once, on one daemon");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_play_asking_on_one_daemon_is_answered_and_finished_on_another() {
    let Some(cluster) = Cluster::new() else { return };
    let [first, second] = cluster.daemons("asking", ASKING).await;
    let play = start(&first, "asking", json!({"file": cluster.file()})).await;
    let waiting = second.wait(&play["sid"]).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    let question = waiting["pending_resumes"][0]["id"].clone();
    let answered = second
        .call("LogicService.play_resume", json!({"play_sid": play["sid"], "resume_id": question, "payload": "kiwi"}))
        .await;
    assert_eq!(answered["status"], "running", "{answered}");
    let done = first.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["word"], "kiwi");
    assert_eq!(cluster.tags(), ["before", "after"], "the step before the question ran once");
    // The second daemon ran the rest: the first one never had the resumed run.
    let again = first.call_err("LogicService.play_resume", json!({"play_sid": play["sid"], "resume_id": question, "payload": "x"})).await;
    assert!(again.to_string().contains("already answered"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_daemons_sleeping_play_is_woken_on_time_by_a_survivor() {
    let Some(cluster) = Cluster::new() else { return };
    // The survivor runs before the Play exists, so only taking the sleep over can wake it.
    let [mut doomed, survivor] = cluster.daemons("sleeping", SLEEPING).await;
    let play = start(&doomed, "sleeping", json!({"file": cluster.file()})).await;
    let asleep = survivor.wait(&play["sid"]).await;
    assert_eq!(asleep["status"], "awaiting_resume", "{asleep}");
    doomed.kill9();
    let done = survivor.until_ended(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(cluster.tags(), ["before", "after"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_play_running_on_one_daemon_is_cancelled_from_another() {
    let Some(cluster) = Cluster::new() else { return };
    let [owner, other] = cluster.daemons("pair", PAIR).await;
    let play = start(&owner, "pair", json!({"file": cluster.file(), "nap": 30.0})).await;
    until_tags(&cluster.file, 1).await;
    let asked = Instant::now();
    let cancelled = other.call("LogicService.play_cancel", json!({"play_sid": play["sid"]})).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(10), "the cancel reached the owner in {took:?}");
    let info = owner.call("LogicService.engine_info", json!({})).await;
    assert_eq!(info["running"], 0, "the owner stopped the run: {info}");
    let tree = owner.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    for child in tree["descendants"].as_array().unwrap() {
        assert_ne!(child["status"], "running", "{child}");
    }
    assert_eq!(cluster.tags(), ["a"], "the napping step was stopped before it wrote");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_daemons_play_is_replayed_on_restart_and_no_finished_step_runs_again() {
    let Some(url) = fresh_database_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (shared, file) = effects(dir.path());
    let data = dir.path().join("data");
    let mut first = daemon_on(&data, &url, &shared).await;
    first.define("counted", COUNTED).await;
    first.define("pair", PAIR).await;
    let play = first.call("LogicService.play_start", json!({"logic": "pair", "inputs": {"file": file.to_str().unwrap(), "nap": 2.0}})).await;
    // Killed once step a is recorded (not merely run: its side effect precedes its commit),
    // while b naps.
    until_recorded(&first, &play["sid"]).await;
    first.kill9();
    // The new daemon on the data dir ends its predecessor's lease and takes its Play at once.
    let second = daemon_on(&data, &url, &shared).await;
    let done: Value = second.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(tags(&file), ["a", "b"], "step a ran once, before the kill; b once, after");
}
