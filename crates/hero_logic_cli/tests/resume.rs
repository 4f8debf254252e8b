//! Answering a Play's questions from the CLI end to end: `run --answer`, `run` on a
//! terminal, and `resume`, against a real daemon with real Python runners.
//!
//! Needs `hero_logic_server` built next to `hero_logic` (`cargo build --workspace`).

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{describe, stderr, stdout, TestDaemon, CLI};
use serde_json::Value;

/// Asks to confirm (Enter means yes), then which size.
const ORDER: &str = r#"from hero_tracing import ask_user, logic


@logic(name="order", inputs={"item": "string"}, outputs={"order": "string"})
def order(item):
    if not ask_user.confirm(f"Order a {item}?", default=True):
        raise logic.Failed("not ordered")
    size = ask_user.choice("Which size?", ["small", "medium", "large"])
    return {"order": f"{size} {item}"}
"#;

const SIZE_QUESTION: &str = "order:choice:1";

fn daemon_with_order() -> TestDaemon {
    let daemon = TestDaemon::start();
    daemon.define("order", ORDER);
    daemon
}

/// The Play a `--json` run printed.
fn play_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

fn sid_of(play: &Value) -> String {
    play["sid"].as_str().expect("a sid").to_string()
}

/// Starts `order` and answers the confirm, so that it waits on the size question.
fn waiting_on_the_size(daemon: &TestDaemon) -> String {
    let output = daemon.cli(&["run", "order", "-i", "item=pizza", "--answer", "true", "--json"]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    let play = play_of(&output);
    assert_eq!(play["status"], "awaiting_resume");
    assert_eq!(play["pending_resumes"][0]["id"], SIZE_QUESTION, "{play}");
    sid_of(&play)
}

fn assert_still_waits_on_the_size(daemon: &TestDaemon, sid: &str) {
    let play = daemon.play(sid);
    assert_eq!(play["status"], "awaiting_resume", "{play}");
    assert_eq!(play["pending_resumes"][0]["id"], SIZE_QUESTION, "{play}");
}

#[test]
fn run_answers_a_confirm_and_a_choice_from_answer_flags() {
    let daemon = daemon_with_order();
    let output = daemon.cli(&["run", "order", "-i", "item=pizza", "--answer", "y", "--answer", "medium"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.ends_with("order: medium pizza\n"), "{}", describe(&output));
    // Each pause shows, then the resume, then the end.
    assert_eq!(text.matches("order (").count(), 6, "{text}");
    assert_eq!(text.matches(" awaiting_resume after ").count(), 2, "{text}");
    assert_eq!(text.matches(" resumed").count(), 2, "{text}");

    // JSON answers work too, and --json prints the final Play.
    let output =
        daemon.cli(&["run", "order", "-i", "item=soup", "--answer", "true", "--answer", "\"small\"", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let play = play_of(&output);
    assert_eq!(play["output_data"]["order"], "small soup", "{play}");
    assert_eq!(play["received_resumes"]["order:confirm:0"], true, "{play}");
}

#[test]
fn a_refused_answer_flag_shows_the_hint_and_leaves_the_play_waiting() {
    let daemon = daemon_with_order();
    let output = daemon.cli(&["run", "order", "-i", "item=pizza", "--answer", "y", "--answer", "huge", "--json"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("--answer \"huge\" was not accepted"), "{text}");
    assert!(text.contains("\"huge\" is not one of the options"), "{text}");
    assert!(text.contains("hint:  options: small, medium, large"), "the daemon's hint: {text}");
    let sid = sid_of(&play_of(&output));
    assert_still_waits_on_the_size(&daemon, &sid);
}

#[test]
fn without_a_terminal_or_answers_run_still_exits_4() {
    let daemon = daemon_with_order();
    let output = daemon.cli(&["run", "order", "-i", "item=pizza", "--answer", "yes"]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("Which size?") && text.contains(SIZE_QUESTION), "{text}");
}

#[test]
fn resume_lists_the_waiting_question() {
    let daemon = daemon_with_order();
    let sid = waiting_on_the_size(&daemon);
    let output = daemon.cli(&["resume", &sid]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RESUME_ID") && lines[0].contains("KIND") && lines[0].contains("OPTIONS"), "{text}");
    assert!(lines[1].starts_with(SIZE_QUESTION), "{text}");
    for part in [&format!("order ({sid})"), "choice", "Which size?", "small | medium | large"] {
        assert!(lines[1].contains(part), "{part}: {text}");
    }
    assert!(stderr(&output).contains(&format!("hero_logic resume {sid} <RESUME_ID> <value>")), "{}", describe(&output));

    let output = daemon.cli(&["resume", &sid, "--json"]);
    let questions: Value = serde_json::from_slice(&output.stdout).expect("the questions as JSON");
    assert_eq!(questions[0]["id"], SIZE_QUESTION, "{questions}");
    assert_eq!(questions[0]["play_sid"], sid.as_str(), "{questions}");
    assert_eq!(questions[0]["ui"]["options"][2], "large", "{questions}");
}

#[test]
fn resume_with_a_valid_value_completes_the_play() {
    let daemon = daemon_with_order();
    let sid = waiting_on_the_size(&daemon);
    let output = daemon.cli(&["resume", &sid, SIZE_QUESTION, "large"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), format!("{SIZE_QUESTION} answered: order ({sid}) is running\n"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let play = loop {
        let play = daemon.play(&sid);
        if play["status"] != "running" || Instant::now() > deadline {
            break play;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["order"], "large pizza", "{play}");

    // A question answered already is refused as the caller's mistake.
    let output = daemon.cli(&["resume", &sid, SIZE_QUESTION, "small"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains("already answered"), "{}", describe(&output));
    let output = daemon.cli(&["resume", &sid]);
    assert!(stderr(&output).contains("is success; no question waits"), "{}", describe(&output));

    // --wait reports the run as `run` does.
    let sid = waiting_on_the_size(&daemon);
    let output = daemon.cli(&["resume", &sid, SIZE_QUESTION, "small", "--wait"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), "order: small pizza\n", "{}", describe(&output));
}

#[test]
fn resume_with_a_bad_value_exits_2_and_the_play_still_waits() {
    let daemon = daemon_with_order();
    let sid = waiting_on_the_size(&daemon);
    let output = daemon.cli(&["resume", &sid, SIZE_QUESTION, "huge"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("\"huge\" is not one of the options"), "{text}");
    assert!(text.contains("hint:  options: small, medium, large"), "{text}");
    assert_still_waits_on_the_size(&daemon, &sid);

    let output = daemon.cli(&["resume", &sid, "order:nope:7", "small"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr(&output).contains(SIZE_QUESTION), "names the waiting question: {}", describe(&output));
    assert_still_waits_on_the_size(&daemon, &sid);
}

#[test]
fn resume_exits_3_when_no_daemon_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("nobody.sock").display().to_string();
    let output = common::cli(&["resume", "000a", "q:0", "yes", "--socket", &socket], None);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(stderr(&output).contains("hero_logic up"), "{}", describe(&output));
}

/// `hero_logic <args>` with a pseudo-terminal as stdin. Each answer is typed once the
/// question's cue (`... > `) is on stderr, as a person would; stdout and stderr are pipes.
fn in_terminal(daemon: &TestDaemon, args: &[&str], answers: &[&str]) -> Output {
    let (mut master, slave) = pty();
    let data_dir = daemon.dir.path().display().to_string();
    let mut child = Command::new(CLI)
        .args(args)
        .args(["--data-dir", &data_dir])
        .env("NO_COLOR", "1")
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hero_logic");
    let err = Arc::new(Mutex::new(Vec::new()));
    let sink = err.clone();
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            sink.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    for (typed, answer) in answers.iter().enumerate() {
        // The cue of question `typed` (refused answers are asked again with a new cue).
        while String::from_utf8_lossy(&err.lock().expect("lock")).matches(" > ").count() <= typed {
            let text = String::from_utf8_lossy(&err.lock().expect("lock")).into_owned();
            assert!(Instant::now() < deadline, "no cue for answer {typed} ({answer:?}); stderr:\n{text}");
            assert!(matches!(child.try_wait(), Ok(None)), "hero_logic ended before answer {typed}; stderr:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
        master.write_all(format!("{answer}\n").as_bytes()).expect("type the answer");
    }
    let mut output = child.wait_with_output().expect("hero_logic runs");
    reader.join().expect("stderr reader");
    output.stderr = err.lock().expect("lock").clone();
    // The terminal stays open until the CLI is done with it.
    drop(master);
    output
}

/// A pseudo-terminal: (master, slave).
fn pty() -> (std::fs::File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors we then own; the other pointers may be null.
    let rc = unsafe {
        libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut())
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nothing else.
    unsafe { (std::fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn on_a_terminal_run_asks_and_asks_again_after_a_refusal() {
    let daemon = daemon_with_order();
    // Enter takes the confirm's default (yes); 7 is no size, so the daemon refuses it and
    // the question comes again; 2 is the second size.
    let output = in_terminal(&daemon, &["run", "order", "-i", "item=pizza"], &["", "7", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stdout(&output).ends_with("order: medium pizza\n"), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("asks:\n  Order a pizza?\n  y/n [Enter: y] > "), "{text}");
    assert!(text.contains("  Which size?\n   1) small\n   2) medium\n   3) large\n  number or text > "), "{text}");
    assert!(
        text.contains("not accepted: \"7\" is not one of the options\n  hint: options: small, medium, large"),
        "{text}"
    );
    assert_eq!(text.matches(" > ").count(), 3, "{text}");
}

#[test]
fn on_a_terminal_the_end_of_input_leaves_the_play_waiting() {
    let daemon = daemon_with_order();
    // Ctrl-D: the terminal's end-of-file character.
    let output = in_terminal(&daemon, &["run", "order", "-i", "item=pizza", "--answer", "yes"], &["\u{4}"]);
    assert_eq!(output.status.code(), Some(4), "{}", describe(&output));
    let text = stderr(&output);
    assert!(text.contains("Which size?") && text.contains("waits for a person"), "{text}");
    let sid = stdout(&output).lines().next().and_then(|l| l.split(['(', ')']).nth(1)).expect("the sid").to_string();
    assert_still_waits_on_the_size(&daemon, &sid);
}
