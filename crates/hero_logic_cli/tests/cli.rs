//! `hero_logic run`, `plays` and `bench` end to end: the real CLI binary against a real
//! daemon with real Python runners, on a temp data dir.
//!
//! Needs `hero_logic_server` built next to `hero_logic`:
//! `cargo build -p hero_logic --bin hero_logic_server` (or `cargo build --workspace`).

mod common;

use std::time::{Duration, Instant};

use common::{cli, describe, server_binary, stderr, stdout, TestDaemon};
use serde_json::Value;

#[test]
fn run_prints_the_tree_and_the_output_and_exits_0() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "fib", "-i", "n=3"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    // Not a terminal: one line per start and end, children indented under their parent.
    assert!(text.starts_with("fib ("), "{text}");
    assert!(text.contains("\n  fib (") && text.contains("\n    fib ("), "children are indented: {text}");
    assert!(text.lines().any(|l| l.starts_with("fib (") && l.contains(" success in ")), "{text}");
    assert_eq!(text.lines().last(), Some("value: 2"), "{text}");

    let output = daemon.cli(&["run", "greeting", "-i", "name=Ada", "-i", "greeting=Hi"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).ends_with("message: Hi, Ada!\n"), "{}", describe(&output));
}

#[test]
fn a_failing_logic_exits_1_and_prints_its_message() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "always_fails", "-i", "reason=for the test"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(stderr(&output).contains("always_fails failed for the test"), "{}", describe(&output));
}

#[test]
fn an_exception_prints_the_message_then_the_traceback() {
    let daemon = TestDaemon::start();
    daemon.define(
        "divide",
        "from hero_tracing import logic\n\n\n@logic(name=\"divide\", inputs={\"x\": \"integer\"})\n\
         def divide(x):\n    return {\"r\": 1 / x}\n",
    );
    let output = daemon.cli(&["run", "divide", "-i", "x=0"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stderr(&output);
    let message = text.find("ZeroDivisionError: division by zero").expect("the message");
    let traceback = text.find("Traceback (most recent call last):").expect("the traceback");
    assert!(message < traceback, "message first: {text}");
}

#[test]
fn a_timeout_ends_the_play_timed_out_and_exits_1() {
    let daemon = TestDaemon::start();
    daemon.define(
        "sleepy",
        "import time\n\nfrom hero_tracing import logic\n\n\n@logic(name=\"sleepy\")\n\
         def sleepy():\n    time.sleep(30)\n    return {}\n",
    );
    let started = Instant::now();
    let output = daemon.cli(&["run", "sleepy", "--timeout-ms", "500"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(stderr(&output).contains("timed out"), "{}", describe(&output));
    assert!(started.elapsed() < Duration::from_secs(20), "the budget cut the 30 s sleep short");
}

#[test]
fn a_play_waiting_for_a_person_exits_4_and_shows_the_question() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "approval_gate", "-i", "request=lunch"]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    assert!(stdout(&output).contains("awaiting_resume"), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("waits for a person") && text.contains("Approve 'lunch'"), "{text}");
    assert!(text.contains("resume_id") && text.contains("play_resume"), "{text}");
    assert!(text.contains("hero_logic resume "), "says how to answer from the CLI: {text}");
}

#[test]
fn a_badly_typed_input_exits_2_and_names_the_field() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "fib", "-i", "n=abc"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("field: inputs.n"), "{text}");
    assert!(text.contains("must be an integer"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[test]
fn malformed_flags_exit_2_without_a_daemon() {
    let output = cli(&["run", "greeting", "-i", "name"], None);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("-i name=Ada"), "{}", describe(&output));
}

#[test]
fn an_unreachable_socket_exits_3_and_says_how_to_start_the_daemon() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("nobody.sock");
    for args in [vec!["run", "greeting", "-i", "name=Ada"], vec!["plays", "greeting"]] {
        let output = cli(&[&args[..], &["--socket", &socket.display().to_string()]].concat(), None);
        assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
        let text = stderr(&output);
        assert!(text.contains("hero_logic up") && text.contains(&socket.display().to_string()), "{text}");
    }
}

#[test]
fn json_prints_only_the_final_play() {
    let daemon = TestDaemon::start();
    let output = daemon.cli(&["run", "greeting", "-i", "name=Ada", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let play: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
    assert_eq!(play["status"], "success");
    assert_eq!(play["output_data"]["message"], "Hello, Ada!");

    let output = daemon.cli(&["run", "always_fails", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let play: Value = serde_json::from_slice(&output.stdout).expect("the failed Play as JSON");
    assert_eq!(play["status"], "failed");
}

#[test]
fn inputs_come_from_a_json_file_or_stdin_and_flags_override_them() {
    let daemon = TestDaemon::start();
    let file = daemon.dir.path().join("inputs.json");
    std::fs::write(&file, r#"{"name": "Bob", "greeting": "Hey"}"#).expect("write inputs");
    let output = daemon.cli(&["run", "greeting", "--input-json", &file.display().to_string()]);
    assert!(stdout(&output).ends_with("message: Hey, Bob!\n"), "{}", describe(&output));

    let socket = daemon.socket().display().to_string();
    let args = ["run", "greeting", "--input-json", "-", "-i", "name=Ada", "--socket", &socket];
    let output = cli(&args, Some(r#"{"name": "Bob", "greeting": "Hi"}"#));
    assert!(stdout(&output).ends_with("message: Hi, Ada!\n"), "{}", describe(&output));

    let output = cli(&["run", "greeting", "--input-json", "-", "--socket", &socket], Some("[1]"));
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("must be a JSON object"), "{}", describe(&output));
}

#[test]
fn plays_lists_the_runs_newest_first() {
    let daemon = TestDaemon::start();
    let mut sids = Vec::new();
    for name in ["Ada", "Bob"] {
        let output = daemon.cli(&["run", "greeting", "-i", &format!("name={name}"), "--json"]);
        let play: Value = serde_json::from_slice(&output.stdout).expect("the Play as JSON");
        sids.push(play["sid"].as_str().expect("sid").to_string());
    }
    daemon.cli(&["run", "always_fails", "-i", "reason=listed"]);

    let output = daemon.cli(&["plays", "greeting"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("SID") && lines[0].contains("STATUS") && lines[0].contains("DURATION"), "{text}");
    assert!(lines[1].starts_with(&sids[1]) && lines[2].starts_with(&sids[0]), "newest first: {text}");
    assert!(lines[1].contains("success") && lines[1].contains("s ago"), "{text}");

    let output = daemon.cli(&["plays", "always_fails"]);
    assert!(
        stdout(&output).contains("failed") && stdout(&output).contains("always_fails failed listed"),
        "{}",
        describe(&output)
    );

    let output = daemon.cli(&["plays", "greeting", "--json", "--limit", "1"]);
    let page: Value = serde_json::from_slice(&output.stdout).expect("the page as JSON");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["items"][0]["sid"], sids[1].as_str());

    let output = daemon.cli(&["plays", "no_such_logic"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
fn bench_runs_small_and_reports_every_figure() {
    server_binary();
    let scratch = tempfile::tempdir().expect("temp dir");
    let scratch_arg = scratch.path().display().to_string();
    let args = [
        "bench",
        "--children",
        "50",
        "--starts",
        "3",
        "--rounds",
        "1",
        "--resume-steps",
        "0,5",
        "--resumes",
        "2",
        "--concurrency",
        "2",
        "--data-dir",
        &scratch_arg,
    ];
    let output = cli(&args, None);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&output)));
    for mode in ["full", "normal"] {
        let rate = &report["child_plays_per_s"][mode];
        assert!(rate["engine_median"].as_f64().is_some_and(|r| r > 0.0), "{mode}: {report}");
        assert!(rate["wall_median"].as_f64().is_some_and(|r| r > 0.0), "{mode}: {report}");
        assert!(rate["daemon_cpu_us_per_child"].as_f64().is_some_and(|c| c > 0.0), "{mode}: {report}");
    }
    let concurrent = &report["concurrent_child_plays_per_s_full"];
    assert_eq!((concurrent["plays"].as_u64(), concurrent["children_per_play"].as_u64()), (Some(2), Some(50)), "{report}");
    assert!(concurrent["engine_aggregate"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    let top = &report["top_level_plays_per_s_concurrent"];
    assert_eq!((top["clients"].as_u64(), top["plays"].as_u64()), (Some(2), Some(4)), "3 starts over 2 clients: {report}");
    assert!(top["per_s"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    assert!(report["ratios"]["concurrent_children_per_single_play"].is_number(), "{report}");
    let latency = &report["start_latency_ms"];
    assert_eq!(latency["runs"], 3);
    assert!(latency["median"].as_f64().is_some() && latency["p95"].as_f64().is_some(), "{report}");
    for key in ["daemon_idle_rss", "daemon_peak_rss", "runner_peak_rss", "runner_private"] {
        assert!(report["memory_mib"][key].as_f64().is_some_and(|m| m > 0.0), "{key}: {report}");
    }
    for key in ["python_spawn_ms_median", "sqlite_commit_ms_median"] {
        assert!(report["baseline"].get(key).is_some(), "{key}: {report}");
    }
    assert!(report["ratios"].is_object() && report["targets"]["start_median_ms"] == 3, "{report}");
    assert_eq!(report["resume_steps"], serde_json::json!([0, 5]), "{report}");
    for steps in ["0", "5"] {
        let latency = &report["resume_latency_ms"][steps];
        assert_eq!(latency["runs"], 2, "{steps}: {report}");
        assert!(latency["median"].as_f64().is_some_and(|m| m > 0.0), "{steps}: {report}");
    }
    assert!(report["replay_cost_per_step_ms"].is_number(), "{report}");
    assert_eq!(report["targets"]["resume_after_500_steps_ms"], 15, "{report}");
    assert_eq!(report["peers"]["resume_after_50_steps_ms"]["langgraph"], 17, "{report}");
    assert!(stderr(&output).contains("play_resume->success, 5 memoized steps"), "{}", describe(&output));
    assert!(stderr(&output).contains("target"), "the human table: {}", describe(&output));
    // Its daemons are gone and its data dirs removed.
    let left: Vec<_> = std::fs::read_dir(scratch.path()).expect("read scratch").collect();
    assert!(left.is_empty(), "bench left {left:?} behind");
}
