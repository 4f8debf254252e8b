//! Headless drivers against a real daemon: the example script that answers pauses over the
//! socket with `hero_tracing.client`, on the seed logics that ask questions.

mod common;

use std::path::Path;
use std::process::Command;

use common::{repo_seed_dir, Daemon};
use serde_json::{json, Value};

fn demo(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pause_resume_demo.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("python3 runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn seeded_daemon(dir: &Path) -> Daemon {
    Daemon::start_with(dir, &["--seed-dir", repo_seed_dir().to_str().unwrap()]).await
}

async fn latest_play(daemon: &Daemon, logic: &str) -> Value {
    daemon.call("LogicService.play_list_for_logic", json!({"logic": logic, "limit": 50})).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent_play_sid"] == "")
        .cloned()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_answers_an_approval() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = seeded_daemon(dir.path()).await;
    let (code, stdout, stderr) = demo(&daemon.socket, &["approval_flow"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let play = latest_play(&daemon, "approval_flow").await;
    assert_eq!(play["status"], "success");
    assert_eq!(play["output_data"]["approved"], json!(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_answers_a_choice_two_levels_deep() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = seeded_daemon(dir.path()).await;
    let (code, stdout, stderr) = demo(&daemon.socket, &["pick_plan", "--answer", "\"enterprise\""]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let play = latest_play(&daemon, "pick_plan").await;
    assert_eq!(play["status"], "success", "{play}");
    assert!(play["output_data"].to_string().contains("enterprise"), "{play}");
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    let asker = tree["descendants"].as_array().unwrap().iter().find(|p| p["name"] == "choose_option").unwrap().clone();
    let middle = tree["descendants"].as_array().unwrap().iter().find(|p| p["sid"] == asker["parent_play_sid"]).unwrap().clone();
    assert_eq!(middle["parent_play_sid"], play["sid"], "the question was asked two levels down");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_answers_a_loop_of_questions() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = seeded_daemon(dir.path()).await;
    let (code, stdout, stderr) =
        demo(&daemon.socket, &["survey_loop", "--input", "n=3", "--answer", "7", "--answer", "3", "--answer", "10"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let play = latest_play(&daemon, "survey_loop").await;
    assert_eq!(play["output_data"]["scores"], json!([7, 3, 10]), "{play}");
    assert_eq!(play["output_data"]["total"], json!(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_play_keeps_one_copy_of_its_logs_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let source = r#"
from hero_tracing import logic, ask_user

@logic(name="chatty", inputs={}, outputs={"ok": "boolean"})
def chatty():
    print("before the question")
    logic.record_stats(prompt_tokens=10, completion_tokens=5, cost_usd=0.5)
    ok = ask_user.confirm("Go?")
    print("after the question")
    return {"ok": ok}
"#;
    daemon.define("chatty", source).await;
    let play = daemon.call("LogicService.play_start", json!({"logic": "chatty", "inputs": {}})).await;
    let waiting = daemon.wait(&play["sid"]).await;
    assert_eq!(waiting["logs"], "before the question\n", "logs so far are kept while waiting");
    let request = &waiting["pending_resumes"][0];
    daemon.call("LogicService.play_resume", json!({"play_sid": play["sid"], "resume_id": request["id"], "payload": "y"})).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success");
    assert_eq!(done["logs"], "before the question\nafter the question\n", "the replay does not log twice");
    assert_eq!(done["total_tokens_prompt"], json!(10), "the replay does not count stats twice");
    assert_eq!(done["total_cost_usd"], json!(0.5));
}
