//! The daemon survives its own Plays: bounded crash recovery, engine settings, checked
//! figures and a private data dir, against a real daemon and real Python runners.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, SERVER};
use serde_json::{json, Value};

/// Records each run, then tries to take its daemon down. The test SIGKILLs the daemon as
/// well whenever a run is recorded, so the loop does not depend on what the sandbox lets a
/// logic signal.
const DAEMON_KILLER: &str = r#"
import os, time
from hero_tracing import logic

@logic(name="daemon_killer", inputs={"marks": "string"})
def daemon_killer(marks):
    with open(marks, "a") as f:
        f.write(f"{os.getpid()}\n")
    parent = os.getppid()
    if parent > 1:
        try:
            os.kill(parent, 9)
        except OSError:
            pass
    time.sleep(60)
    return {}
"#;

const TRIVIAL: &str = r#"
from hero_tracing import logic

@logic(name="trivial", outputs={"ok": "boolean"})
def trivial():
    return {"ok": True}
"#;

/// A directory beside the data dir that the tests' Plays may write (`[sandbox] shared_dirs`),
/// and the flag value that grants it.
fn effects_dir(dir: &Path) -> (std::path::PathBuf, String) {
    let effects = dir.join("effects");
    std::fs::create_dir_all(&effects).unwrap();
    let shared = effects.display().to_string();
    (effects, shared)
}

fn lines(file: &Path) -> usize {
    std::fs::read_to_string(file).unwrap_or_default().lines().count()
}

/// A daemon process without waiting for it to answer: the Play it recovers may end it first.
fn spawn_daemon(data: &Path, args: &[&str]) -> Child {
    Command::new(SERVER)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("HERO_LOGIC_SOCKET")
        .env_remove("HERO_LOGIC_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("the server binary starts")
}

/// Waits until the marks file has `count` lines, then makes sure the daemon is dead.
async fn kill_when_marked(mut child: Child, marks: &Path, count: usize) {
    // Generous: a loaded machine can take long to start a daemon and its interpreter.
    let deadline = Instant::now() + Duration::from_secs(90);
    while lines(marks) < count {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the daemon ended ({status}) before recovery replayed the Play (run {count})");
        }
        assert!(Instant::now() < deadline, "recovery replayed the Play (run {count} recorded)");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_play_that_kills_the_daemon_is_failed_after_the_recovery_bound() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (effects, shared) = effects_dir(dir.path());
    let marks = effects.join("marks");
    let args = ["--no-seed", "--recover-attempts", "2", "--sandbox-shared-dirs", &shared];
    let mut daemon = Daemon::start_with(&data, &args).await;
    daemon.define("daemon_killer", DAEMON_KILLER).await;
    daemon.define("trivial", TRIVIAL).await;
    let play = daemon
        .call("LogicService.play_start", json!({"logic": "daemon_killer", "inputs": {"marks": marks.to_str().unwrap()}}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines(&marks) < 1 {
        assert!(Instant::now() < deadline, "the Play ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.kill9();
    // Two replays (the bound), each ending its daemon.
    for run in 2..=3 {
        kill_when_marked(spawn_daemon(&data, &args), &marks, run).await;
    }
    // The third start fails the Play instead of replaying it, and serves.
    let daemon = Daemon::start_with(&data, &args).await;
    let failed = daemon.call("LogicService.play_status", json!({"play_sid": play["sid"]})).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let message = failed["error_message"].as_str().unwrap();
    assert!(message.contains("stopped 3 times") && message.contains("engine.recover_attempts = 2"), "{message}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lines(&marks), 3, "the Play was not run again past the bound");
    let ok = daemon.run("trivial", json!({})).await;
    assert_eq!(ok["status"], "success", "the daemon runs Plays again: {ok}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_stop_does_not_count_as_a_recovery() {
    const WAITER: &str = r#"
import os, time
from hero_tracing import logic

@logic(name="waiter", inputs={"release": "string"})
def waiter(release):
    while not os.path.exists(release):
        time.sleep(0.02)
    return {}
"#;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (effects, shared) = effects_dir(dir.path());
    let release = effects.join("release");
    let args = ["--no-seed", "--recover-attempts", "1", "--sandbox-shared-dirs", &shared];
    let mut daemon = Daemon::start_with(&data, &args).await;
    daemon.define("waiter", WAITER).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "waiter", "inputs": {"release": release.to_str().unwrap()}})).await;
    // Three clean restarts while the Play runs: each is recovered by replay, none fails it.
    for _ in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while daemon.call("LogicService.engine_info", json!({})).await["running"] != 1 {
            assert!(Instant::now() < deadline, "the Play runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        daemon.stop();
        daemon = Daemon::start_with(&data, &args).await;
    }
    std::fs::write(&release, "").unwrap();
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
}

fn info(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(SERVER)
        .arg("--info")
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .env_remove("HERO_LOGIC_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn engine_settings_come_from_the_config_file_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("service.toml");
    std::fs::write(&config, "[engine]\npool_size = 2\nrecover = \"fail\"\n").unwrap();
    let config_arg = config.to_str().unwrap();

    let defaults = String::from_utf8(info(&[]).stdout).unwrap();
    for line in ["pool_size = 4", "recover = \"replay\"", "recover_attempts = 3", "warm_runners = 4"] {
        assert!(defaults.contains(line), "default {line}: {defaults}");
    }
    let out = info(&["--config", config_arg, "--pool-size", "3", "--recover-attempts", "7", "--warm-runners", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in ["pool_size = 3", "recover = \"fail\"", "recover_attempts = 7", "warm_runners = 0"] {
        assert!(text.contains(line), "flag over file over default, {line}: {text}");
    }
    assert!(text.contains(config_arg), "--info names the config file: {text}");

    // Bad settings stop the daemon with what was wrong.
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[engine]\npool_sise = 2\n").unwrap();
    for (args, expected) in [
        (vec!["--config", typo.to_str().unwrap()], "engine.pool_sise"),
        (vec!["--pool-size", "0"], "engine.pool_size = 0"),
        (vec!["--warm-runners", "257"], "engine.warm_runners = 257"),
        (vec!["--recover", "sometimes"], "\"sometimes\""),
    ] {
        let out = info(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    // A daemon started with the file runs at most its pool at once, and says so.
    const HOLD: &str = r#"
import os, time
from hero_tracing import logic

@logic(name="hold", inputs={"release": "string"})
def hold(release):
    while not os.path.exists(release):
        time.sleep(0.02)
    return {}
"#;
    let data = dir.path().join("data");
    let (effects, shared) = effects_dir(dir.path());
    let release = effects.join("release");
    let daemon = Daemon::start_with(&data, &["--no-seed", "--config", config_arg, "--sandbox-shared-dirs", &shared]).await;
    daemon.define("hold", HOLD).await;
    let mut sids = Vec::new();
    for _ in 0..3 {
        let play = daemon.call("LogicService.play_start", json!({"logic": "hold", "inputs": {"release": release.to_str().unwrap()}})).await;
        sids.push(play["sid"].clone());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let engine = loop {
        let engine = daemon.call("LogicService.engine_info", json!({})).await;
        if engine["running"] == 2 || Instant::now() > deadline {
            break engine;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(engine["pool_size"], 2, "{engine}");
    assert_eq!(engine["fork_server"], true, "{engine}");
    assert_eq!(engine["recover"], "fail", "{engine}");
    assert_eq!(engine["recover_attempts"], 3, "{engine}");
    assert_eq!((engine["running"].clone(), engine["queued"].clone()), (json!(2), json!(1)), "{engine}");
    std::fs::write(&release, "").unwrap();
    for sid in &sids {
        assert_eq!(daemon.wait(sid).await["status"], "success");
    }
}

const BIG_FIGURES: &str = r#"
from hero_tracing import logic
from hero_tracing.context import active_runtime

@logic(name="big_figures")
def big_figures():
    runtime = active_runtime()
    runtime.stats(2**64 - 1, 5, 0.5)           # refused: more tokens than any call reports
    runtime.stats(2**53 - 1, 2**53 - 1, 9e8)   # taken
    runtime.stats(2**53 - 1, 1, 9e8)           # taken, the token totals saturate
    runtime.stats(1, 1, -1.0)                  # refused: a negative cost
    runtime.stats(1, 1, 1e308)                 # refused: an absurd cost
    return {}
"#;

/// A count no whole number type holds: the message itself is malformed.
const OVERFLOWING: &str = r#"
from hero_tracing import logic
from hero_tracing.context import active_runtime

@logic(name="overflowing")
def overflowing():
    active_runtime().stats(2**70, 0, 0.0)
    return {}
"#;

const PAIR: &str = r#"
from hero_tracing import logic

@logic(name="pair")
def pair():
    logic.invoke("trivial")
    return {}
"#;

/// A Play's figures as the API types read them (what the CLI and the admin do).
fn typed(play: &Value) -> hero_logic_api::Play {
    serde_json::from_value(play.clone()).unwrap_or_else(|e| panic!("a client cannot read this Play ({e}): {play}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_bounds_figures_are_refused_or_saturate_and_never_stall_a_worker() {
    let max_tokens = (1u64 << 53) - 1;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut daemon = Daemon::start_with(&data, &["--no-seed", "--pool-size", "1"]).await;
    daemon.define("big_figures", BIG_FIGURES).await;
    daemon.define("trivial", TRIVIAL).await;
    daemon.define("pair", PAIR).await;
    daemon.define("overflowing", OVERFLOWING).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "big_figures", "inputs": {}})).await;
    let done = daemon.call("LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 20000})).await;
    assert_eq!(done["status"], "success", "{done}");
    let figures = typed(&done);
    assert_eq!(figures.total_tokens_prompt, max_tokens);
    assert_eq!(figures.total_tokens_completion, max_tokens);
    assert!((figures.total_cost_usd - 1.8e9).abs() < 1.0, "{}", figures.total_cost_usd);
    let logs = done["logs"].as_str().unwrap();
    assert_eq!(logs.matches("stats report refused").count(), 3, "{logs}");
    for figure in ["prompt_tokens = 18446744073709551615", "cost_usd = -1.0", "cost_usd = 1e308"] {
        assert!(logs.contains(figure), "{figure}: {logs}");
    }
    let overflowing = daemon.run("overflowing", json!({})).await;
    assert_eq!(overflowing["status"], "failed", "{overflowing}");
    let message = overflowing["error_message"].as_str().unwrap();
    assert!(message.contains("prompt_tokens"), "the failure names the figure: {message}");
    // The one worker is still there.
    assert_eq!(daemon.run("trivial", json!({})).await["status"], "success");

    // Figures an older build stored (infinite cost, tokens at the integer limit on a parent
    // and its child) still read as numbers, one Play or a list, with their subtree totals.
    let pair = daemon.run("pair", json!({})).await;
    daemon.stop();
    {
        let db = rusqlite::Connection::open(data.join("hero_logic.db")).unwrap();
        let changed = db
            .execute(
                "UPDATE plays SET total_cost_usd = 9e999, total_tokens_prompt = 9223372036854775807 \
                 WHERE sid = ?1 OR parent_play_sid = ?1",
                [pair["sid"].as_str().unwrap()],
            )
            .unwrap();
        assert_eq!(changed, 2);
        db.execute("UPDATE plays SET total_cost_usd = -5.0 WHERE sid = ?1", [play["sid"].as_str().unwrap()]).unwrap();
    }
    let daemon = Daemon::start_with(&data, &["--no-seed"]).await;
    let stored = typed(&daemon.call("LogicService.play_status", json!({"play_sid": pair["sid"]})).await);
    assert!(stored.total_cost_usd.is_finite() && stored.subtree.cost_usd.is_finite(), "{stored:?}");
    assert!(stored.total_tokens_prompt <= max_tokens && stored.subtree.tokens_prompt <= max_tokens, "{stored:?}");
    let list = daemon.call("LogicService.play_list_for_logic", json!({"logic": "pair"})).await;
    for item in list["items"].as_array().unwrap() {
        assert!(typed(item).total_cost_usd.is_finite(), "{item}");
    }
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": pair["sid"]})).await;
    assert!(typed(&tree["descendants"][0]).total_cost_usd.is_finite(), "{tree}");
    let stats = daemon.call("LogicService.logic_stats", json!({"logic": "pair"})).await;
    assert!(stats["total_cost_usd"].is_number() && stats["avg_cost_usd"].is_number(), "{stats}");
    cli_lists_plays(&daemon, "pair");
    let negative = typed(&daemon.call("LogicService.play_status", json!({"play_sid": play["sid"]})).await);
    assert_eq!(negative.total_cost_usd, 0.0, "a negative stored cost reads as 0");
}

/// `hero_logic plays` against the daemon, when the CLI is built next to the server (it is
/// another crate's binary, so cargo builds it only with the workspace).
fn cli_lists_plays(daemon: &Daemon, logic: &str) {
    let cli = Path::new(SERVER).with_file_name("hero_logic");
    if !cli.exists() {
        eprintln!("skipping the CLI check: {} is not built (cargo build --workspace builds it)", cli.display());
        return;
    }
    for json in [false, true] {
        let mut command = Command::new(&cli);
        command.arg("plays").arg(logic).arg("--socket").arg(&daemon.socket);
        if json {
            command.arg("--json");
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "hero_logic plays (json: {json}): {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_dir_and_database_are_private_even_when_created_wider() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("work")).unwrap();
    std::fs::write(data.join("hero_logic.db"), "").unwrap();
    for (path, wide) in [(data.clone(), 0o755), (data.join("work"), 0o777), (data.join("hero_logic.db"), 0o644)] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wide)).unwrap();
    }
    let daemon = Daemon::start(&data).await;
    daemon.define("trivial", TRIVIAL).await;
    assert_eq!(daemon.run("trivial", json!({})).await["status"], "success");
    for name in ["", "work", "run", "sdk"] {
        assert_eq!(mode(&data.join(name)), 0o700, "{name:?}");
    }
    for name in ["hero_logic.db", "hero_logic.db-wal", "hero_logic.db-shm", "hero_logic.lock", "hero_logic.sock"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }

    // A fresh data dir starts private.
    let fresh = dir.path().join("fresh");
    let daemon = Daemon::start(&fresh).await;
    daemon.define("trivial", TRIVIAL).await;
    assert_eq!(mode(&fresh), 0o700);
    for name in ["hero_logic.db", "hero_logic.db-wal", "hero_logic.db-shm", "hero_logic.lock"] {
        assert_eq!(mode(&fresh.join(name)), 0o600, "{name}");
    }
}
