//! `play_search` and `play_inbox` against a real daemon, real SQLite and real Python runners.

mod common;

use common::{code_and_field, Daemon};
use hero_logic_api::error::{INVALID_PARAMS, NOT_FOUND, VALIDATION};
use serde_json::{json, Value};

const ECHO: &str = r#"
from hero_tracing import logic

@logic(name="echo", inputs={"word": "string"}, outputs={"word": "string"})
def echo(word):
    if word == "boom":
        raise ValueError("the word was boom")
    return {"word": word}
"#;

const PARENT: &str = r#"
from hero_tracing import logic

@logic(name="parent", inputs={"word": "string"}, outputs={"word": "string"})
def parent(word):
    return logic.invoke("echo", word=word)
"#;

const ASKS: &str = r#"
from hero_tracing import logic, ask_user

@logic(name="asks", inputs={}, outputs={"word": "string"})
def asks():
    return {"word": ask_user.text("Which colour?")}
"#;

async fn search(daemon: &Daemon, params: Value) -> Value {
    daemon.call("LogicService.play_search", params).await
}

fn sids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["sid"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn search_filters_by_logic_status_time_text_and_depth_newest_first_paged() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("echo", ECHO).await;
    daemon.define("parent", PARENT).await;
    let apple = daemon.run("echo", json!({"word": "Apple"})).await;
    let boom = daemon.run("echo", json!({"word": "boom"})).await;
    let nested = daemon.run("parent", json!({"word": "pear"})).await;
    assert_eq!(boom["status"], "failed");

    let all = search(&daemon, json!({})).await;
    assert_eq!(sids(&all), vec![nested["sid"].as_str().unwrap(), boom["sid"].as_str().unwrap(), apple["sid"].as_str().unwrap()], "top-level only, newest first");

    let with_children = search(&daemon, json!({"top_level_only": false})).await;
    assert_eq!(sids(&with_children).len(), 4, "the child echo of parent is listed too");

    let echoes = search(&daemon, json!({"logic": "echo", "top_level_only": false})).await;
    assert_eq!(sids(&echoes).len(), 3);

    let failed = search(&daemon, json!({"status": "failed"})).await;
    assert_eq!(sids(&failed), vec![boom["sid"].as_str().unwrap()]);

    let by_input = search(&daemon, json!({"text": "aPPle"})).await;
    assert_eq!(sids(&by_input), vec![apple["sid"].as_str().unwrap()], "text matches inputs case-insensitively");
    let by_error = search(&daemon, json!({"text": "was boom"})).await;
    assert_eq!(sids(&by_error), vec![boom["sid"].as_str().unwrap()], "text matches error messages");
    let wildcard = search(&daemon, json!({"text": "%"})).await;
    assert!(sids(&wildcard).is_empty(), "LIKE wildcards in the text are matched literally");

    let created = boom["created_at"].as_u64().unwrap();
    let since = search(&daemon, json!({"since": created})).await;
    assert_eq!(sids(&since), vec![nested["sid"].as_str().unwrap(), boom["sid"].as_str().unwrap()]);
    let until = search(&daemon, json!({"until": created})).await;
    assert_eq!(sids(&until), vec![apple["sid"].as_str().unwrap()]);

    let first = search(&daemon, json!({"limit": 2})).await;
    assert_eq!(sids(&first).len(), 2);
    let rest = search(&daemon, json!({"limit": 2, "cursor": first["next_cursor"]})).await;
    assert_eq!(sids(&rest), vec![apple["sid"].as_str().unwrap()]);
    assert_eq!(rest["next_cursor"], "");
}

#[tokio::test]
async fn bad_search_filters_get_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let cases = [
        (json!({"status": "done"}), VALIDATION, "status", "pending"),
        (json!({"since": 10, "until": 5}), VALIDATION, "since", "since < until"),
        (json!({"limit": 0}), VALIDATION, "limit", "1..="),
        (json!({"cursor": "not a sid!"}), INVALID_PARAMS, "cursor", "next_cursor"),
        (json!({"logic": "no_such_logic"}), NOT_FOUND, "", "no_such_logic"),
        (json!({"colour": "red"}), INVALID_PARAMS, "", "colour"),
    ];
    for (params, want_code, field, says) in cases {
        let error = daemon.call_err("LogicService.play_search", params.clone()).await;
        let (code, got_field) = code_and_field(&error);
        let hint = error.data().map(|d| d.hint.clone()).unwrap_or_default();
        let text = format!("{error} {hint}");
        assert!(text.contains(says), "{params}: {text} should say {says:?}");
        assert_eq!(code, want_code, "{params}: {text}");
        if !field.is_empty() {
            assert_eq!(got_field, field, "{params}: {text}");
        }
    }
}

#[tokio::test]
async fn the_inbox_lists_every_open_question_and_empties_once_answered() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("asks", ASKS).await;
    let play = daemon.run("asks", json!({})).await;
    assert_eq!(play["status"], "awaiting_resume");

    let inbox = daemon.call("LogicService.play_inbox", json!({})).await;
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    let item = &items[0];
    assert_eq!(item["logic_name"], "asks");
    assert_eq!(item["root_play_sid"], play["sid"]);
    assert_eq!(item["request"]["ui"]["prompt"], "Which colour?");
    assert!(item["request"]["asked_at"].as_u64().unwrap() > 0);

    daemon
        .call(
            "LogicService.play_resume",
            json!({"play_sid": item["play_sid"], "resume_id": item["request"]["id"], "payload": "blue"}),
        )
        .await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["output_data"]["word"], "blue");
    let inbox = daemon.call("LogicService.play_inbox", json!({})).await;
    assert!(inbox["items"].as_array().unwrap().is_empty(), "{inbox}");

    // A sleep waits too, but on the daemon's clock: it is no question for a person.
    daemon.define("nap", NAP).await;
    let nap = daemon.run("nap", json!({})).await;
    assert_eq!(nap["status"], "awaiting_resume");
    assert_eq!(nap["pending_resumes"][0]["ui"]["kind"], "timer");
    let inbox = daemon.call("LogicService.play_inbox", json!({})).await;
    assert!(inbox["items"].as_array().unwrap().is_empty(), "a sleep is not in the inbox: {inbox}");
}

const NAP: &str = "from hero_tracing import logic\n\n@logic(name=\"nap\")\ndef nap():\n    logic.sleep(600)\n    return {}\n";
