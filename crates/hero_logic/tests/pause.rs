//! Durable pause/resume against a real daemon and real Python runners.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{process_alive, Daemon};
use hero_logic_api::error::{INVALID_STATE, VALIDATION};
use serde_json::{json, Value};

/// A child that records every time it really runs, by appending its tag to a file.
const COUNTED: &str = r#"
from hero_tracing import logic

@logic(name="counted", inputs={"tag": "string", "file": "string"}, outputs={"tag": "string"})
def counted(tag, file):
    with open(file, "a") as f:
        f.write(tag + "\n")
    return {"tag": tag}
"#;

const THREE_PAUSES: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="three_pauses", inputs={"file": "string"}, outputs={"tags": "array", "answers": "object"})
def three_pauses(file):
    tags = [logic.invoke("counted", tag="a", file=file)["tag"]]
    ok = ask_user.confirm("Go on after a?")
    tags.append(logic.invoke("counted", tag="b", file=file)["tag"])
    word = ask_user.text("A word?")
    tags.append(logic.invoke("counted", tag="c", file=file)["tag"])
    n = ask_user.number("How many?", integer=True, min=0, max=10)
    tags.append(logic.invoke("counted", tag="d", file=file)["tag"])
    return {"tags": tags, "answers": {"ok": ok, "word": word, "n": n}}
"#;

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The Play of the tree that waits, and the id of its question.
async fn waiting_question(daemon: &Daemon, root: &Value) -> (Value, Value) {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": root})).await;
    let mut plays = vec![tree["play"].clone()];
    plays.extend(tree["descendants"].as_array().unwrap().iter().cloned());
    let asker = plays
        .into_iter()
        .find(|p| !p["pending_resumes"].as_array().unwrap().is_empty())
        .expect("a Play of the tree waits for an answer");
    let request = asker["pending_resumes"][0].clone();
    (asker, request)
}

async fn answer(daemon: &Daemon, play_sid: &Value, resume_id: &Value, payload: Value) -> Value {
    daemon.call("LogicService.play_resume", json!({"play_sid": play_sid, "resume_id": resume_id, "payload": payload})).await
}

async fn start(daemon: &Daemon, logic: &str, inputs: Value) -> Value {
    daemon.call("LogicService.play_start", json!({"logic": logic, "inputs": inputs})).await
}

/// A daemon with `three_pauses` started; its side-effect file.
async fn three_pauses_started(dir: &Path) -> (Daemon, Value, std::path::PathBuf) {
    let daemon = Daemon::start_sharing(&dir.join("data"), dir).await;
    daemon.define("counted", COUNTED).await;
    daemon.define("three_pauses", THREE_PAUSES).await;
    let file = dir.join("effects");
    let play = start(&daemon, "three_pauses", json!({"file": file.to_str().unwrap()})).await;
    (daemon, play, file)
}

#[tokio::test(flavor = "multi_thread")]
async fn three_pauses_and_every_side_effect_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, play, file) = three_pauses_started(dir.path()).await;

    let mut children_seen: Vec<Value> = Vec::new();
    for (expected_kind, payload) in [("confirm", json!(true)), ("text", json!("tulip")), ("number", json!("7"))] {
        let waiting = daemon.wait(&play["sid"]).await;
        assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
        let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
        assert_eq!(request["ui"]["kind"], expected_kind);
        // Children recorded so far keep their sids across every replay.
        let sub: Vec<Value> = waiting["sub_play_sids"].as_array().unwrap().clone();
        assert_eq!(&sub[..children_seen.len()], &children_seen[..], "child sids are unchanged by replay");
        children_seen = sub;
        answer(&daemon, &asker["sid"], &request["id"], payload).await;
    }
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["tags"], json!(["a", "b", "c", "d"]));
    assert_eq!(done["output_data"]["answers"], json!({"ok": true, "word": "tulip", "n": 7}), "answers arrive typed");
    assert_eq!(lines(&file), ["a", "b", "c", "d"], "every child ran exactly once across three resumes");
    assert_eq!(done["sub_play_sids"].as_array().unwrap().len(), 4);
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    let replayed = tree["descendants"].as_array().unwrap().iter().filter(|d| d["replayed"] == json!(true)).count();
    assert_eq!(replayed, 3, "children a, b and c were answered from memory at least once");
    assert_eq!(done["received_resumes"].as_object().unwrap().len(), 3);
    assert!(done["pending_resumes"].as_array().unwrap().is_empty());
}

const DEEP: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="asker", inputs={"file": "string"}, outputs={"plan": "string"})
def asker(file):
    logic.invoke("counted", tag="before-ask", file=file)
    plan = ask_user.choice("Which plan?", ["basic", "pro"])
    return {"plan": plan}

@logic(name="middle", inputs={"file": "string"}, outputs={"plan": "string"})
def middle(file):
    logic.invoke("counted", tag="middle", file=file)
    return logic.invoke("asker", file=file)

@logic(name="top", inputs={"file": "string"}, outputs={"plan": "string"})
def top(file):
    first = logic.invoke("middle", file=file)
    logic.invoke("counted", tag="after", file=file)
    return {"plan": first["plan"]}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_three_levels_deep_propagates_and_resumes_through_the_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_sharing(&dir.path().join("data"), dir.path()).await;
    daemon.define("counted", COUNTED).await;
    for name in ["asker", "middle", "top"] {
        daemon.define(name, DEEP).await;
    }
    let file = dir.path().join("effects");
    let play = start(&daemon, "top", json!({"file": file.to_str().unwrap()})).await;
    let waiting = daemon.wait(&play["sid"]).await;
    assert_eq!(waiting["status"], "awaiting_resume", "the root waits when its grandchild asks: {waiting}");
    let before = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
    assert_eq!(asker["name"], "asker");
    let middle = before["descendants"].as_array().unwrap().iter().find(|p| p["name"] == "middle").unwrap().clone();
    assert_eq!(middle["status"], "awaiting_resume", "every Play of the chain waits");
    assert_eq!(asker["status"], "awaiting_resume");

    answer(&daemon, &asker["sid"], &request["id"], json!("pro")).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"], json!({"plan": "pro"}));
    assert_eq!(lines(&file), ["middle", "before-ask", "after"]);
    let after = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    let sids = |tree: &Value| -> Vec<Value> {
        tree["descendants"].as_array().unwrap().iter().filter(|p| p["name"] != "counted" || p["input_data"]["tag"] != "after").map(|p| p["sid"].clone()).collect()
    };
    assert_eq!(sids(&before), sids(&after), "no child Play was created again by the replay");
    for play in after["descendants"].as_array().unwrap() {
        assert_eq!(play["status"], "success", "{play}");
    }
    // The re-entered middle and asker replayed their finished steps (from the memos their
    // invoke_start replies carry) without running them again: they are marked replayed.
    let replayed: Vec<&str> = after["descendants"].as_array().unwrap().iter()
        .filter(|p| p["replayed"] == json!(true)).filter_map(|p| p["input_data"]["tag"].as_str()).collect();
    assert_eq!(replayed, ["middle", "before-ask"], "{after}");
}

const SHAPES: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="poll", inputs={"file": "string", "topic": "string"}, outputs={"vote": "string"})
def poll(file, topic):
    logic.invoke("counted", tag="poll-" + topic, file=file)
    return {"vote": ask_user.choice(f"Vote on {topic}", ["yes", "no"])}

@logic(name="shapes", inputs={"file": "string"}, outputs={"result": "object"})
def shapes(file):
    scores = []
    for i in range(3):
        logic.invoke("counted", tag=f"loop-{i}", file=file)
        scores.append(ask_user.number(f"Score {i}?", integer=True))
    if sum(scores) > 5:
        branch = ask_user.text("High total: why?")
    else:
        branch = ask_user.text("Low total: why?")
    a = ask_user.confirm("First in a row?")
    b = ask_user.confirm("Second in a row?")
    v1 = logic.invoke("poll", file=file, topic="same")["vote"]
    v2 = logic.invoke("poll", file=file, topic="same")["vote"]
    return {"result": {"scores": scores, "branch": branch, "row": [a, b], "votes": [v1, v2]}}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn pauses_in_loops_branches_rows_and_repeated_children() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_sharing(&dir.path().join("data"), dir.path()).await;
    daemon.define("counted", COUNTED).await;
    daemon.define("poll", SHAPES).await;
    daemon.define("shapes", SHAPES).await;
    let file = dir.path().join("effects");
    let play = start(&daemon, "shapes", json!({"file": file.to_str().unwrap()})).await;
    let answers = [json!(1), json!(4), json!(2), json!("because"), json!(true), json!(false), json!("yes"), json!("no")];
    let mut prompts = Vec::new();
    for payload in answers {
        let waiting = daemon.wait(&play["sid"]).await;
        assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
        let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
        prompts.push(request["ui"]["prompt"].as_str().unwrap().to_string());
        answer(&daemon, &asker["sid"], &request["id"], payload).await;
    }
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(
        done["output_data"]["result"],
        json!({"scores": [1, 4, 2], "branch": "because", "row": [true, false], "votes": ["yes", "no"]})
    );
    assert_eq!(prompts[3], "High total: why?", "the branch taken follows the answers");
    assert_eq!(prompts[6], "Vote on same");
    assert_eq!(prompts[7], "Vote on same", "the second identical child asks on its own");
    assert_eq!(
        lines(&file),
        ["loop-0", "loop-1", "loop-2", "poll-same", "poll-same"],
        "each child ran once, the two identical polls each once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_answers_are_refused_and_the_play_keeps_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_sharing(&dir.path().join("data"), dir.path()).await;
    let source = r#"
from hero_tracing import logic, ask_user

@logic(name="forms", inputs={}, outputs={"all": "array"})
def forms():
    return {"all": [
        ask_user.number("n?", integer=True, min=1, max=5),
        ask_user.choice("c?", ["red", "blue"]),
        ask_user.multi_choice("m?", ["a", "b", "c"], max=2),
        ask_user.confirm("ok?"),
        ask_user.text("t?"),
    ]}
"#;
    daemon.define("forms", source).await;
    let play = start(&daemon, "forms", json!({})).await;
    let cases = [
        (vec![json!("many"), json!(2.5), json!(9), json!(null)], json!(3)),
        (vec![json!("green"), json!(1), json!(["red"])], json!("blue")),
        (vec![json!("a"), json!(["a", "z"]), json!(["a", "b", "c"]), json!(["a", "a"])], json!(["a", "c"])),
        (vec![json!("maybe"), json!(1), json!([])], json!("no")),
        (vec![json!(42), json!({"x": 1})], json!("fine")),
    ];
    for (bad_payloads, good) in cases {
        let waiting = daemon.wait(&play["sid"]).await;
        assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
        let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
        for bad in bad_payloads {
            let err = daemon
                .call_err("LogicService.play_resume", json!({"play_sid": asker["sid"], "resume_id": request["id"], "payload": bad}))
                .await;
            assert_eq!(common::code_and_field(&err), (VALIDATION, "payload".into()), "{bad} is refused: {err}");
            let still = daemon.call("LogicService.play_status", json!({"play_sid": play["sid"]})).await;
            assert_eq!(still["status"], "awaiting_resume", "a refused answer changes nothing");
            assert_eq!(still["pending_resumes"], asker["pending_resumes"], "the question is still open, unanswered");
        }
        answer(&daemon, &asker["sid"], &request["id"], good).await;
    }
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["all"], json!([3, "blue", ["a", "c"], false, "fine"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_errors_and_races() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, play, file) = three_pauses_started(dir.path()).await;
    daemon.wait(&play["sid"]).await;
    let (asker, request) = waiting_question(&daemon, &play["sid"]).await;

    let err = daemon.call_err("LogicService.play_resume", json!({"play_sid": play["sid"], "resume_id": "nope:0", "payload": true})).await;
    assert_eq!(err.code(), Some(INVALID_STATE));
    assert!(err.data().unwrap().hint.contains(request["id"].as_str().unwrap()), "the hint lists the waiting question: {err}");

    // Two answers race: exactly one wins.
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let client = hero_logic_api::RpcClient::new(&daemon.socket);
            let params = json!({"play_sid": asker["sid"], "resume_id": request["id"], "payload": true});
            tokio::spawn(async move { client.call::<Value>("LogicService.play_resume", params).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    let wins = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(wins, 1, "exactly one racing answer wins: {outcomes:?}");
    let loser = outcomes.into_iter().find_map(|o| o.err()).unwrap();
    assert_eq!(loser.code(), Some(INVALID_STATE), "{loser}");

    let next = daemon.wait(&play["sid"]).await;
    assert_eq!(next["status"], "awaiting_resume");
    assert_eq!(lines(&file), ["a", "b"], "the winning answer resumed the run once");

    let cancelled = daemon.call("LogicService.play_cancel", json!({"play_sid": play["sid"]})).await;
    assert_eq!(cancelled["status"], "cancelled");
    let (_, request) = (asker, request);
    let err = daemon.call_err("LogicService.play_resume", json!({"play_sid": play["sid"], "resume_id": request["id"], "payload": true})).await;
    assert_eq!(err.code(), Some(INVALID_STATE), "a cancelled Play takes no answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_that_diverges_fails_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_sharing(&dir.path().join("data"), dir.path()).await;
    daemon.define("counted", COUNTED).await;
    let flag = dir.path().join("flag");
    std::fs::write(&flag, "first").unwrap();
    let source = format!(
        r#"
from hero_tracing import logic, ask_user

@logic(name="fickle", inputs={{"file": "string"}}, outputs={{"done": "boolean"}})
def fickle(file):
    tag = open({flag:?}).read()
    logic.invoke("counted", tag=tag, file=file)
    ask_user.confirm("continue?")
    return {{"done": True}}
"#,
        flag = flag.to_str().unwrap()
    );
    daemon.define("fickle", &source).await;
    let file = dir.path().join("effects");
    let play = start(&daemon, "fickle", json!({"file": file.to_str().unwrap()})).await;
    daemon.wait(&play["sid"]).await;
    let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
    std::fs::write(&flag, "second").unwrap();
    answer(&daemon, &asker["sid"], &request["id"], json!(true)).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["error_message"].as_str().unwrap();
    assert!(message.contains("non-deterministic") && message.contains("step 0") && message.contains("counted"), "{message}");
    assert_eq!(lines(&file), ["first"], "the diverging call did not run");
}

const SLOW_LOOP: &str = r#"
import os, time
from hero_tracing import logic

@logic(name="slow_loop", inputs={"dir": "string", "n": "integer"}, outputs={"count": "integer"})
def slow_loop(dir, n):
    with open(os.path.join(dir, "pids"), "a") as f:
        f.write(f"{os.getpid()}\n")
    for i in range(n):
        logic.invoke("counted", tag=str(i), file=os.path.join(dir, "effects"))
        time.sleep(0.02)
    return {"count": n}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_killed_mid_run_resumes_every_play_by_replay() {
    use hero_logic::store::{SqliteStore, Store, Synchronous};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut daemon = Daemon::start_sharing(&data, dir.path()).await;
    daemon.define("counted", COUNTED).await;
    daemon.define("slow_loop", SLOW_LOOP).await;
    let mut runs = Vec::new();
    for i in 0..10 {
        let run_dir = dir.path().join(format!("run{i}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let play = start(&daemon, "slow_loop", json!({"dir": run_dir.to_str().unwrap(), "n": 15})).await;
        runs.push((run_dir, play["sid"].clone()));
    }
    // Let the first four (the pool) get well into their loops.
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines(&runs[0].0.join("effects")).len() < 5 {
        assert!(Instant::now() < deadline, "the first Play makes progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.kill9();

    // What the store recorded as finished before the crash must never run again.
    let finished_before: Vec<(usize, Vec<String>)> = {
        let store = SqliteStore::open(&data.join("hero_logic.db"), Synchronous::Full).unwrap();
        runs.iter()
            .enumerate()
            .map(|(i, (_, sid))| {
                let tree = store.play_tree(sid.as_str().unwrap()).unwrap();
                let done = tree.iter().skip(1).filter(|p| p.status == hero_logic_api::PlayStatus::Success).map(|p| p.input_data["tag"].as_str().unwrap().to_string()).collect();
                (i, done)
            })
            .collect()
    };
    assert!(finished_before.iter().any(|(_, done)| !done.is_empty()), "the crash hit runs in progress");
    // The runners' host pids, as the daemon recorded them (a body sees its own namespace's).
    let runner_pids: Vec<i64> = runs
        .iter()
        .filter_map(|(_, sid)| std::fs::read_to_string(data.join("run").join(format!("{}.pid", sid.as_str().unwrap()))).ok())
        .map(|p| p.trim().parse().unwrap())
        .collect();
    assert!(!runner_pids.is_empty(), "the pool's runners were recorded");
    let deadline = Instant::now() + Duration::from_secs(10);
    while runner_pids.iter().any(|p| process_alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in &runner_pids {
        assert!(!process_alive(*pid), "runner {pid} orphaned by the crash exited on its own");
    }

    let daemon = Daemon::start_sharing(&data, dir.path()).await;
    for (i, (run_dir, sid)) in runs.iter().enumerate() {
        let done = daemon.wait(sid).await;
        assert_eq!(done["status"], "success", "run {i}: {done}");
        assert_eq!(done["output_data"], json!({"count": 15}));
        let effects = lines(&run_dir.join("effects"));
        for tag in &finished_before[i].1 {
            assert_eq!(effects.iter().filter(|t| *t == tag).count(), 1, "run {i}: child {tag} finished before the crash and ran once");
        }
        for n in 0..15 {
            let count = effects.iter().filter(|t| **t == n.to_string()).count();
            assert!((1..=2).contains(&count), "run {i}: child {n} ran {count} times");
        }
    }
}

const PAUSE_THEN_SLEEP: &str = r#"
import time
from hero_tracing import logic, ask_user

@logic(name="pause_then_sleep", outputs={"done": "boolean"})
def pause_then_sleep():
    ask_user.confirm("Sleep now?")
    time.sleep(60)
    return {"done": True}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn limits_given_to_play_start_hold_after_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("pause_then_sleep", PAUSE_THEN_SLEEP).await;
    let params = json!({"logic": "pause_then_sleep", "inputs": {}, "limits": {"wall_clock_ms": 3000}});
    let play = daemon.call("LogicService.play_start", params).await;
    let waiting = daemon.wait(&play["sid"]).await;
    assert_eq!(waiting["status"], "awaiting_resume", "{waiting}");
    let (asker, request) = waiting_question(&daemon, &play["sid"]).await;
    answer(&daemon, &asker["sid"], &request["id"], json!(true)).await;
    // The default budget (service.toml) is minutes; the Play's own is 3 s.
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "timed_out", "{done}");
    assert!(done["error_message"].as_str().unwrap().contains("budget of 3000 ms"), "{done}");
}

const MARK_THEN_SLEEP: &str = r#"
import os, time
from hero_tracing import logic

@logic(name="mark_then_sleep", inputs={"mark": "string"}, outputs={"done": "boolean"})
def mark_then_sleep(mark):
    open(mark, "a").close()
    time.sleep(60)
    return {"done": True}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn limits_given_to_play_start_hold_after_a_crash_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mark = dir.path().join("started");
    let mut daemon = Daemon::start_sharing(&data, dir.path()).await;
    daemon.define("mark_then_sleep", MARK_THEN_SLEEP).await;
    let params = json!({"logic": "mark_then_sleep", "inputs": {"mark": mark.to_str().unwrap()}, "limits": {"wall_clock_ms": 3000}});
    let play = daemon.call("LogicService.play_start", params).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "the Play starts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.kill9();
    // The recovered run replays with the Play's own 3 s budget, not the service's minutes.
    let daemon = Daemon::start_sharing(&data, dir.path()).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "timed_out", "{done}");
    assert!(done["error_message"].as_str().unwrap().contains("budget of 3000 ms"), "{done}");
}

const ASKS: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="asks", inputs={"n": "integer"}, outputs={"sum": "integer"})
def asks(n):
    return {"sum": sum(ask_user.number(f"Number {i}?", integer=True) for i in range(n))}
"#;

/// An answer given the moment a question is asked resumes the Play while the run that asked
/// may still be exiting: each new run must find its own work dir, not one that the end of
/// the run before removes.
#[tokio::test(flavor = "multi_thread")]
async fn answers_given_at_once_resume_one_run_after_another() {
    const QUESTIONS: i64 = 15;
    let dir = tempfile::tempdir().unwrap();
    let daemon = std::sync::Arc::new(Daemon::start(dir.path()).await);
    daemon.define("asks", ASKS).await;
    let answerers = (0..4).map(|_| {
        let daemon = std::sync::Arc::clone(&daemon);
        tokio::spawn(async move {
            let play = start(&daemon, "asks", json!({"n": QUESTIONS})).await;
            for i in 0..QUESTIONS {
                let waiting = daemon.call("LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 30000})).await;
                assert_eq!(waiting["status"], "awaiting_resume", "question {i}: {waiting}");
                answer(&daemon, &play["sid"], &waiting["pending_resumes"][0]["id"], json!(i)).await;
            }
            let done = daemon.until_ended(&play["sid"]).await;
            assert_eq!(done["status"], "success", "{done}");
            assert_eq!(done["output_data"]["sum"], (0..QUESTIONS).sum::<i64>());
        })
    });
    for answerer in answerers.collect::<Vec<_>>() {
        answerer.await.unwrap();
    }
}
