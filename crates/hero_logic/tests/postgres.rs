//! A real daemon on the PostgreSQL store (`--store postgres://…`), against the throwaway
//! server `./scripts/test` starts (`HERO_LOGIC_TEST_PG_URL`); each test gets a database of
//! its own. Without the server they report themselves skipped.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, SERVER};
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

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_the_same_database_is_refused_with_why() {
    let Some(url) = fresh_database_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (shared, _) = effects(dir.path());
    let _first = daemon_on(&dir.path().join("one"), &url, &shared).await;
    let out = Command::new(SERVER)
        .args(["--data-dir", dir.path().join("two").to_str().unwrap(), "--no-seed", "--store", &url])
        .env_remove("HERO_LOGIC_SOCKET")
        .env_remove("HERO_LOGIC_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a second daemon started on the same database");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another hero_logic daemon already uses this database"), "{stderr}");
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tree = first.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
        let kids = tree["descendants"].as_array().cloned().unwrap_or_default();
        if kids.iter().any(|p| p["input_data"]["tag"] == "a" && p["status"] == "success") {
            break;
        }
        assert!(Instant::now() < deadline, "the first step never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill9();
    // The lock of the killed daemon went with its connection: a new daemon may start.
    let second = daemon_on(&data, &url, &shared).await;
    let done: Value = second.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(tags(&file), ["a", "b"], "step a ran once, before the kill; b once, after");
}
