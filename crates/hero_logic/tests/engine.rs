//! The execution engine against a real daemon and real Python runners.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;
use hero_logic_api::error::VALIDATION;
use serde_json::{json, Value};

const LEAF: &str = r#"
from hero_tracing import logic

@logic(name="leaf", inputs={"i": "integer"}, outputs={"double": "integer"})
def leaf(i):
    print(f"leaf {i} says hi")
    return {"double": i * 2}
"#;

const WIDE: &str = r#"
from hero_tracing import logic

@logic(name="wide", inputs={"n": "integer"}, outputs={"total": "integer"})
def wide(n):
    print("wide starts")
    total = 0
    for i in range(n):
        total += logic.invoke("leaf", i=i)["double"]
    return {"total": total}
"#;

const CHAIN: &str = r#"
from hero_tracing import logic

@logic(name="chain", inputs={"depth": "integer"}, outputs={"depth": "integer"})
def chain(depth):
    if depth == 0:
        return {"depth": 0}
    return {"depth": logic.invoke("chain", depth=depth - 1)["depth"] + 1}
"#;

fn body(name: &str, inputs: &str, code: &str) -> String {
    let indented: String = code.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "import os, sys, signal, time\nfrom hero_tracing import logic\n\n@logic(name=\"{name}\", inputs={inputs})\ndef {name}(**kw):\n{indented}"
    )
}

async fn tree(daemon: &Daemon, sid: &Value) -> Value {
    daemon.call("LogicService.play_tree", json!({"play_sid": sid})).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_children_in_invocation_order() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("leaf", LEAF).await;
    daemon.define("wide", WIDE).await;
    let play = daemon.run("wide", json!({"n": 100})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"], json!({"total": 9900}));
    let children = play["sub_play_sids"].as_array().unwrap().clone();
    assert_eq!(children.len(), 100);
    let tree = tree(&daemon, &play["sid"]).await;
    let descendants = tree["descendants"].as_array().unwrap();
    assert_eq!(descendants.len(), 100);
    for (i, child_sid) in children.iter().enumerate() {
        let child = descendants.iter().find(|d| &d["sid"] == child_sid).unwrap();
        assert_eq!(child["parent_play_sid"], play["sid"]);
        assert_eq!(child["input_data"], json!({"i": i}), "children are listed in invocation order");
        assert_eq!(child["status"], "success");
        assert_eq!(child["output_data"], json!({"double": 2 * i}));
        assert!(child["step_key"].as_str().unwrap().starts_with(&format!("leaf:{i}:")));
        assert_eq!(child["logs"], json!(format!("leaf {i} says hi\n")), "a child's print lands on the child");
    }
    assert_eq!(play["logs"], "wide starts\n", "the parent's logs hold only its own output");
    assert_eq!(play["step_outputs"].as_object().unwrap().len(), 100, "every finished step is memoized");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_four_deep() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("chain", CHAIN).await;
    let play = daemon.run("chain", json!({"depth": 4})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"], json!({"depth": 4}));
    let tree = tree(&daemon, &play["sid"]).await;
    let descendants = tree["descendants"].as_array().unwrap();
    assert_eq!(descendants.len(), 4);
    let mut parent = play.clone();
    for level in (0..4).rev() {
        let child = descendants.iter().find(|d| d["parent_play_sid"] == parent["sid"]).expect("one child per level");
        assert_eq!(parent["sub_play_sids"], json!([child["sid"]]));
        assert_eq!(child["input_data"], json!({"depth": level}));
        parent = child.clone();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runner_sees_only_allowed_environment() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with_env(dir.path(), &["--no-seed"], &[("HERO_TEST_DAEMON_SECRET", "do-not-leak")]).await;
    let source = body("envcheck", "{}", "return {'secret': os.environ.get('HERO_TEST_DAEMON_SECRET'), 'path': 'PATH' in os.environ, 'play_secret': os.environ.get('HERO_LOGIC_PLAY_SECRET'), 'cwd': os.getcwd()}");
    daemon.define("envcheck", &source).await;
    let play = daemon.run("envcheck", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["secret"], Value::Null, "a daemon variable off the allow-list is hidden");
    assert_eq!(play["output_data"]["path"], json!(true), "allow-listed variables pass");
    assert_eq!(play["output_data"]["play_secret"], Value::Null, "the runner drops its secret from the environment");
    let cwd = play["output_data"]["cwd"].as_str().unwrap();
    assert!(cwd.ends_with(&format!("work/{}", play["sid"].as_str().unwrap())), "a per-Play working dir: {cwd}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allocation_over_the_cap_fails_with_the_memory_message() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("hog", &body("hog", "{}", "block = bytearray(1024 * 1024 * 1024)\nreturn {'n': len(block)}")).await;
    let play = daemon.run_with(json!({"logic": "hog", "inputs": {}, "limits": {"memory_mb": 128}})).await;
    assert_eq!(play["status"], "failed", "{play}");
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("memory limit") && message.contains("128"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_times_out_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    // `sleep 600.<unique>`: found on the host by its argument (the Play sees its own pids).
    let marker = format!("600.{}", common::unique_arg(""));
    let code = format!("import subprocess\nhelper = subprocess.Popen(['sleep', {marker:?}])\nwhile True:\n    pass");
    daemon.define("spin", &body("spin", "{}", &code)).await;
    let started = Instant::now();
    let play = daemon.call("LogicService.play_start", json!({"logic": "spin", "inputs": {}, "limits": {"wall_clock_ms": 3000}})).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while common::processes_with_arg(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the Play's helper process was seen running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let play = daemon.wait(&play["sid"]).await;
    assert_eq!(play["status"], "timed_out", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("3000 ms"), "{play}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(common::processes_with_arg(&marker), Vec::<i64>::new(), "no process of the timed-out Play is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_more_files_than_the_cap_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("fds", &body("fds", "{}", "files = [open(os.devnull) for _ in range(200)]\nreturn {'n': len(files)}")).await;
    let play = daemon.run_with(json!({"logic": "fds", "inputs": {}, "limits": {"max_open_files": 64}})).await;
    assert_eq!(play["status"], "failed", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("Too many open files"), "{play}");
    // The daemon is unaffected.
    daemon.call("logic.list", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_exits_fail_the_play_not_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("quitter", &body("quitter", "{}", "os._exit(3)")).await;
    let play = daemon.run("quitter", json!({})).await;
    assert_eq!(play["status"], "failed", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("exited with code 3"), "{play}");

    daemon.define("crasher", &body("crasher", "{}", "os.kill(os.getpid(), signal.SIGSEGV)")).await;
    let play = daemon.run("crasher", json!({})).await;
    assert_eq!(play["status"], "failed", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("SIGSEGV"), "{play}");

    daemon.define("exiter", &body("exiter", "{}", "sys.exit(4)")).await;
    let play = daemon.run("exiter", json!({})).await;
    assert_eq!(play["status"], "failed", "{play}");
    assert!(play["error_message"].as_str().unwrap().contains("4"), "{play}");
    daemon.call("logic.list", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_carry_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("refuses", &body("refuses", "{}", "raise logic.Failed('no thanks')")).await;
    let play = daemon.run("refuses", json!({})).await;
    assert_eq!(play["status"], "failed");
    assert_eq!(play["error_message"], "no thanks", "logic.Failed carries no traceback");

    daemon.define("breaks", &body("breaks", "{}", "return {'x': 1 / 0}")).await;
    let play = daemon.run("breaks", json!({})).await;
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("ZeroDivisionError") && message.contains("Traceback"), "{message}");

    daemon.define("lost", &body("lost", "{}", "return logic.invoke('no_such_logic', x=1)")).await;
    let play = daemon.run("lost", json!({})).await;
    assert_eq!(play["status"], "failed");
    assert!(play["error_message"].as_str().unwrap().contains("no_such_logic"), "{play}");

    daemon.define("odd_output", &body("odd_output", "{}", "return {'fine': 1, 'when': object()}")).await;
    let play = daemon.run("odd_output", json!({})).await;
    assert_eq!(play["status"], "failed");
    assert!(play["error_message"].as_str().unwrap().contains("when"), "names the field: {play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_child_is_recorded_and_fails_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("refuses", &body("refuses", "{}", "print('about to refuse')\nraise logic.Failed('child says no')")).await;
    daemon.define("asks", &body("asks", "{}", "return logic.invoke('refuses')")).await;
    let play = daemon.run("asks", json!({})).await;
    assert_eq!(play["status"], "failed");
    assert!(play["error_message"].as_str().unwrap().contains("child says no"), "{play}");
    let tree = tree(&daemon, &play["sid"]).await;
    let child = &tree["descendants"][0];
    assert_eq!(child["status"], "failed");
    assert_eq!(child["error_message"], "child says no");
    assert_eq!(child["logs"], "about to refuse\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_plays_at_once_all_finish_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("leaf", LEAF).await;
    let mut sids = Vec::new();
    for i in 0..50 {
        let play = daemon.call("LogicService.play_start", json!({"logic": "leaf", "inputs": {"i": i}})).await;
        sids.push((i, play["sid"].clone()));
    }
    for (i, sid) in sids {
        let play = daemon.call("LogicService.play_wait", json!({"play_sid": sid, "timeout_ms": 120000})).await;
        assert_eq!(play["status"], "success", "{play}");
        assert_eq!(play["output_data"], json!({"double": 2 * i}));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_kills_a_running_play() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("sleeper", &body("sleeper", "{}", "time.sleep(600)")).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "sleeper", "inputs": {}})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.call("LogicService.play_status", json!({"play_sid": play["sid"]})).await["status"] != "running" {
        assert!(Instant::now() < deadline, "the Play starts running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancelled = daemon.call("LogicService.play_cancel", json!({"play_sid": play["sid"]})).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let err = daemon.call_err("LogicService.play_cancel", json!({"play_sid": play["sid"]})).await;
    assert_eq!(err.code(), Some(hero_logic_api::error::INVALID_STATE));
}

#[tokio::test(flavor = "multi_thread")]
async fn play_start_checks_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("leaf", LEAF).await;
    let err = daemon.call_err("LogicService.play_start", json!({"logic": "leaf", "inputs": {"i": "three"}})).await;
    assert_eq!(common::code_and_field(&err), (VALIDATION, "inputs.i".into()));
    let err = daemon.call_err("LogicService.play_start", json!({"logic": "leaf", "inputs": {}})).await;
    assert_eq!(common::code_and_field(&err), (VALIDATION, "inputs.i".into()));
    let err = daemon.call_err("LogicService.play_start", json!({"logic": "nope", "inputs": {}})).await;
    assert_eq!(err.code(), Some(hero_logic_api::error::NOT_FOUND));
    let err = daemon.call_err("LogicService.play_start", json!({"logic": "leaf", "inputs": {"i": 1}, "limits": {"memory_mb": 1}})).await;
    assert_eq!(common::code_and_field(&err), (VALIDATION, "limits.memory_mb".into()));
    let listed = daemon.call("LogicService.play_list_for_logic", json!({"logic": "leaf"})).await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "a refused start stores nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_interpreter_fails_the_play_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with_env(dir.path(), &["--no-seed"], &[("HERO_LOGIC_PYTHON", "/nonexistent/python3")]).await;
    daemon.define("leaf", LEAF).await;
    let play = daemon.run("leaf", json!({"i": 1})).await;
    assert_eq!(play["status"], "failed");
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("/nonexistent/python3") && message.contains("HERO_LOGIC_PYTHON"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_logics_run() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = common::repo_seed_dir();
    let daemon = Daemon::start_with(dir.path(), &["--seed-dir", seeds.to_str().unwrap()]).await;
    let play = daemon.run("greeting", json!({"name": "Ada"})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert!(play["output_data"]["message"].as_str().unwrap().contains("Ada"));

    let play = daemon.run("fib", json!({"n": 6})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["value"], json!(8));
    let tree = tree(&daemon, &play["sid"]).await;
    assert_eq!(tree["descendants"].as_array().unwrap().len(), 24, "fib(6) makes 24 child calls");

    let play = daemon.run("text_pipeline", json!({"text": "the cat and the hat and the bat"})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["sub_play_sids"].as_array().unwrap().len(), 3, "{play}");

    let play = daemon.run("always_fails", json!({})).await;
    assert_eq!(play["status"], "failed");
    assert!(!play["error_message"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn play_lists_are_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let logic = daemon.define("leaf", LEAF).await;
    let first = daemon.run("leaf", json!({"i": 1})).await;
    let second = daemon.run("leaf", json!({"i": 2})).await;
    let by_logic = daemon.call("LogicService.play_list_for_logic", json!({"logic": "leaf", "limit": 1})).await;
    assert_eq!(by_logic["items"][0]["sid"], second["sid"]);
    let next = daemon.call("LogicService.play_list_for_logic", json!({"logic": "leaf", "cursor": by_logic["next_cursor"]})).await;
    assert_eq!(next["items"][0]["sid"], first["sid"]);
    let by_version = daemon.call("LogicService.play_list_for_version", json!({"version_sid": logic["current_version_sid"]})).await;
    assert_eq!(by_version["items"].as_array().unwrap().len(), 2);
    assert_eq!(second["logic_version_sid"], logic["current_version_sid"], "a Play records the version it ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_child_shows_in_the_tree_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", &body("nap", "{}", "time.sleep(1.5)\nreturn {'slept': True}")).await;
    daemon.define("outer", &body("outer", "{}", "return logic.invoke('nap')")).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "outer", "inputs": {}})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let running_child = loop {
        let tree = tree(&daemon, &play["sid"]).await;
        if let Some(child) = tree["descendants"].as_array().unwrap().first() {
            break child.clone();
        }
        assert!(Instant::now() < deadline, "the running child appears in the tree");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(running_child["status"], "running", "{running_child}");
    assert_eq!(running_child["name"], "nap");
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success");
    assert_eq!(done["sub_play_sids"], json!([running_child["sid"]]), "the child keeps its sid when it finishes");
}

#[tokio::test(flavor = "multi_thread")]
async fn plays_start_from_the_fork_server_with_common_modules_imported() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let code = "return {'forked': 'hero_tracing.forkserver' in sys.modules, 'asyncio': 'asyncio' in sys.modules, 'sid': os.environ.get('HERO_LOGIC_PLAY_SID')}";
    daemon.define("where", &body("where", "{}", code)).await;
    // The fork server is started with the daemon; give it time to import the SDK.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let play = daemon.run("where", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["forked"], true, "forked from the fork server: {play}");
    assert_eq!(play["output_data"]["asyncio"], true, "common modules come imported");
    assert_eq!(play["output_data"]["sid"], play["sid"]);
    let cold_dir = tempfile::tempdir().unwrap();
    let cold = Daemon::start_with_env(cold_dir.path(), &["--no-seed"], &[("HERO_LOGIC_FORK_SERVER", "0")]).await;
    cold.define("where", &body("where", "{}", code)).await;
    let play = cold.run("where", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["forked"], false, "without the fork server a Play starts cold in the same sandbox");
}

#[tokio::test(flavor = "multi_thread")]
async fn installed_packages_import_in_a_logic() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("uses_pip", &body("uses_pip", "{}", "import pip\nreturn {'where': pip.__file__}")).await;
    let play = daemon.run("uses_pip", json!({})).await;
    assert_eq!(play["status"], "success", "site-packages are on the runner's path: {play}");
    assert!(play["output_data"]["where"].as_str().unwrap().contains("-packages"), "{play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_returns_at_each_change_until_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("nap", &body("nap", "{}", "time.sleep(0.3)\nreturn {'slept': True}")).await;
    daemon.define("outer", &body("outer", "{}", "logic.invoke('nap')\nreturn logic.invoke('nap')")).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "outer", "inputs": {}})).await;
    let first = daemon.call("LogicService.play_watch", json!({"play_sid": play["sid"], "since": 0, "timeout_ms": 5000})).await;
    let mut version = first["version"].as_u64().unwrap();
    let mut seen_children = 0;
    let started = Instant::now();
    loop {
        let started_wait = Instant::now();
        let next = daemon.call("LogicService.play_watch", json!({"play_sid": play["sid"], "since": version, "timeout_ms": 20000})).await;
        assert!(next["version"].as_u64().unwrap() > version, "an answer before the timeout means a newer version");
        assert!(started_wait.elapsed() < Duration::from_secs(15), "changes wake the watcher");
        version = next["version"].as_u64().unwrap();
        seen_children = seen_children.max(next["tree"]["descendants"].as_array().unwrap().len());
        if next["tree"]["play"]["status"] == "success" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    }
    assert_eq!(seen_children, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_running_play_show_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("chatty", &body("chatty", "{}", "print('step one done', flush=True)\ntime.sleep(1.5)\nreturn {}")).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "chatty", "inputs": {}})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = daemon.call("LogicService.play_status", json!({"play_sid": play["sid"]})).await;
        if now["logs"] == "step one done\n" {
            assert_eq!(now["status"], "running", "the log line is visible before the Play ends");
            break;
        }
        assert!(Instant::now() < deadline, "the running Play's log line appears: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["logs"], "step one done\n", "and it is kept once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chatty_play_keeps_its_logs_under_the_cap_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    // 6 MiB of lines against the 4 MiB default of engine.max_log_bytes, and one line over
    // the 64 KiB of engine.max_log_line_bytes.
    let code = "logic.log('x' * 100000)\nfor i in range(6 * 1024):\n    print(str(i).rjust(1023, '.'))\nreturn {'ok': True}";
    daemon.define("chatty", &body("chatty", "{}", code)).await;
    let play = daemon.run("chatty", json!({})).await;
    assert_eq!(play["status"], "success", "the cap does not fail the Play: {}", play["error_message"]);
    let logs = play["logs"].as_str().unwrap();
    assert!(logs.len() <= 4 * 1024 * 1024 + 300, "{} bytes", logs.len());
    assert!(logs.contains("[line cut: 65536 of its"), "the long line is cut and marked");
    assert_eq!(logs.matches("[logs stop here").count(), 1, "said once");
    assert!(logs.contains("reached the limit of 4194304 bytes (engine.max_log_bytes)"));
    assert!(logs.trim_end().ends_with("later lines are dropped]"), "nothing after the note");
}

/// Runs a logic with body `code` in a fresh daemon; the Play, which must have failed.
async fn failed_run(name: &str, code: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define(name, &body(name, "{}", code)).await;
    let play = daemon.run(name, json!({})).await;
    assert_eq!(play["status"], "failed", "{}", play["error_message"]);
    play
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_over_the_cap_fails_the_play_naming_the_limit() {
    let play = failed_run("bulky", "return {'blob': 'x' * (9 * 1024 * 1024)}").await;
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("over the limit of 8388608 bytes (engine.max_output_bytes"), "{message}");
    assert_eq!(play["output_data"], json!({}), "the oversized output is not stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protocol_line_over_the_cap_fails_the_play_saying_so() {
    // One `output` notification of 33 MiB against the 32 MiB of engine.max_protocol_line_bytes.
    let play = failed_run("flood", "logic.output(blob='x' * (33 * 1024 * 1024))\nreturn {}").await;
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("a protocol line of more than 33554432 bytes (engine.max_protocol_line_bytes"), "{message}");
}
