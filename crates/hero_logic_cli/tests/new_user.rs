//! What a new user met in the CLI (global flags, `--answer` by number, `cancel`, `logs`,
//! `list`, the admin's address for a waiting run, tracebacks without SDK frames): the real
//! CLI binary against a real daemon on a temp data dir.
//!
//! Needs `hero_logic_server` built next to `hero_logic` (`cargo build -p hero_logic`).

mod common;

use std::time::{Duration, Instant};

use common::{cli, describe, stderr, stdout, TestDaemon};
use serde_json::{json, Value};

fn data_dir(daemon: &TestDaemon) -> String {
    daemon.dir.path().display().to_string()
}

#[test]
fn daemon_flags_before_the_subcommand_apply_to_it() {
    let daemon = TestDaemon::start();
    let dir = data_dir(&daemon);
    let output = cli(&["--data-dir", &dir, "run", "greeting", "-i", "name=Ada"], None);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).ends_with("message: Hello, Ada!\n"), "{}", describe(&output));

    let socket = daemon.socket().display().to_string();
    let output = cli(&["--socket", &socket, "plays", "greeting"], None);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).contains("success"), "{}", describe(&output));

    // `up` finds its daemon by data dir: a socket given before it is refused, saying so.
    let output = cli(&["--socket", &socket, "up"], None);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("--data-dir"), "{}", describe(&output));
}

#[test]
fn an_answer_flag_picks_an_option_by_number_as_typing_it_does() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "choose_option", "--answer", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).ends_with("choice: pro\n"), "{}", describe(&output));
    // The option's text still works, and a number out of range is refused with exit 2.
    let output = daemon.cli(&["run", "choose_option", "--answer", "enterprise"]);
    assert!(stdout(&output).ends_with("choice: enterprise\n"), "{}", describe(&output));
    let output = daemon.cli(&["run", "choose_option", "--answer", "7"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
fn a_waiting_run_names_the_address_the_admin_of_its_data_dir_runs_on() {
    let daemon = TestDaemon::start();
    // What the admin notes beside its token when it starts (`up --listen 127.0.0.1:9833`).
    std::fs::write(daemon.dir.path().join("admin.addr"), "127.0.0.1:9833\n").expect("write admin.addr");
    let output = daemon.cli(&["run", "choose_option"]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    assert!(stderr(&output).contains("http://127.0.0.1:9833/logics/"), "{}", describe(&output));
}

#[test]
fn cancel_stops_a_running_play() {
    let daemon = TestDaemon::start();
    daemon.define(
        "slow",
        "import time\n\nfrom hero_tracing import logic\n\n\n@logic(name=\"slow\")\n\
         def slow():\n    time.sleep(60)\n    return {}\n",
    );
    let play = daemon.call("LogicService.play_start", json!({"logic": "slow", "inputs": {}}));
    let sid = play["sid"].as_str().expect("a sid").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.play(&sid)["status"] != "running" {
        assert!(Instant::now() < deadline, "the Play never ran: {}", daemon.play(&sid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = daemon.cli(&["cancel", &sid]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), format!("slow ({sid}) cancelled\n"));
    assert_eq!(daemon.play(&sid)["status"], "cancelled");

    let output = daemon.cli(&["cancel", "zzzz"]);
    assert_eq!(output.status.code(), Some(2), "an unknown Play is the caller's fault: {}", describe(&output));
}

#[test]
fn logs_prints_the_play_and_its_children_in_call_order() {
    let daemon = TestDaemon::start();
    daemon.define(
        "chatty_child",
        "from hero_tracing import logic\n\n\n@logic(name=\"chatty_child\")\n\
         def chatty_child(n: int):\n    print(f\"child {n} speaking\")\n    return {}\n",
    );
    daemon.define(
        "chatty",
        "from hero_tracing import logic\n\n\n@logic(name=\"chatty\")\n\
         def chatty():\n    logic.log(\"parent starts\")\n    logic.invoke(\"chatty_child\", n=1)\n\
         \x20   logic.invoke(\"chatty_child\", n=2)\n    return {}\n",
    );
    let output = daemon.cli(&["run", "chatty", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let play: Value = serde_json::from_slice(&output.stdout).expect("the Play as JSON");
    let sid = play["sid"].as_str().expect("sid");

    let output = daemon.cli(&["logs", sid]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    let parent = text.find("parent starts").expect("the parent's log");
    let first = text.find("child 1 speaking").expect("the first child's output");
    let second = text.find("child 2 speaking").expect("the second child's output");
    assert!(parent < first && first < second, "{text}");
    assert!(text.contains(&format!("== chatty ({sid}) success")), "{text}");
    assert!(text.contains("  == chatty_child ("), "children are indented: {text}");

    let own = stdout(&daemon.cli(&["logs", sid, "--own"]));
    assert!(own.contains("parent starts") && !own.contains("child 1"), "{own}");
}

#[test]
fn list_shows_every_logic_with_its_latest_run() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "greeting", "-i", "name=Ada"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let output = daemon.cli(&["list"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.starts_with("NAME "), "{text}");
    let greeting = text.lines().find(|l| l.starts_with("greeting ")).unwrap_or_else(|| panic!("{text}"));
    assert!(greeting.contains("(success)") && greeting.contains("100%"), "{greeting}");
    let fib = text.lines().find(|l| l.starts_with("fib ")).unwrap_or_else(|| panic!("{text}"));
    assert!(fib.contains("never"), "{fib}");

    let rows: Value = serde_json::from_slice(&daemon.cli(&["list", "--json"]).stdout).expect("JSON rows");
    assert!(rows.as_array().is_some_and(|r| r.iter().any(|row| row["logic"]["name"] == "service_agent")), "{rows}");
}

#[test]
fn a_failure_two_invocations_deep_shows_no_sdk_frames() {
    let daemon = TestDaemon::start();
    daemon.define(
        "inner_fail",
        "from hero_tracing import logic\n\n\n@logic(name=\"inner_fail\")\n\
         def inner_fail(x: int):\n    return {\"r\": 1 / x}\n",
    );
    daemon.define(
        "outer_call",
        "from hero_tracing import logic\n\n\n@logic(name=\"outer_call\")\n\
         def outer_call():\n    return logic.invoke(\"inner_fail\", x=0)\n",
    );
    let output = daemon.cli(&["run", "outer_call"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("Traceback (most recent call last):"), "{text}");
    assert!(text.contains("ZeroDivisionError"), "{text}");
    let sdk_frames: Vec<&str> =
        text.lines().filter(|l| l.trim_start().starts_with("File ") && l.contains("hero_tracing")).collect();
    assert!(sdk_frames.is_empty(), "no SDK frame: {text}");
    assert!(text.contains("outer_call.py"), "the logic's own frame stays: {text}");
}
