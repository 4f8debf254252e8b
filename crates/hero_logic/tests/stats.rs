//! Stats, the dashboard call and rolled-up totals against a real daemon.

mod common;

use common::Daemon;
use serde_json::json;

const SPENDER: &str = r#"
from hero_tracing import logic

@logic(name="spender", inputs={"tokens": "integer", "fail": {"type": "boolean", "default": False}}, outputs={"ok": "boolean"})
def spender(tokens, fail=False):
    logic.record_stats(prompt_tokens=tokens, completion_tokens=tokens // 2, cost_usd=tokens / 1000)
    if fail:
        raise logic.Failed("asked to fail")
    return {"ok": True}
"#;

const BOSS: &str = r#"
from hero_tracing import logic

@logic(name="boss", inputs={}, outputs={"done": "boolean"})
def boss():
    logic.invoke("spender", tokens=100)
    logic.invoke("spender", tokens=300)
    return {"done": True}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_root_shows_what_its_children_spent() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("spender", SPENDER).await;
    daemon.define("boss", BOSS).await;
    let play = daemon.run("boss", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["total_cost_usd"], json!(0.0), "the root itself spent nothing");
    assert_eq!(play["subtree"]["tokens_prompt"], json!(400), "{play}");
    assert_eq!(play["subtree"]["tokens_completion"], json!(200));
    assert!((play["subtree"]["cost_usd"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    assert_eq!(play["subtree"]["descendants"], json!(2));
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    assert_eq!(tree["play"]["subtree"], play["subtree"]);
    assert_eq!(tree["descendants"][1]["subtree"]["tokens_prompt"], json!(300));
    let listed = daemon.call("LogicService.play_list_for_logic", json!({"logic": "boss"})).await;
    assert_eq!(listed["items"][0]["subtree"]["tokens_prompt"], json!(400), "lists roll up too");
}

#[tokio::test(flavor = "multi_thread")]
async fn logic_stats_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("spender", SPENDER).await;
    daemon.define("boss", BOSS).await;
    for (tokens, fail) in [(10, false), (20, true), (30, false), (40, false)] {
        daemon.run("spender", json!({"tokens": tokens, "fail": fail})).await;
    }
    daemon.run("boss", json!({})).await;
    // spender ran 4 times on its own and twice under boss: 6 Plays of its version.
    let stats = daemon.call("LogicService.logic_stats", json!({"logic": "spender"})).await;
    assert_eq!(stats["runs"], json!(6), "{stats}");
    assert_eq!(stats["status_counts"], json!({"success": 5, "failed": 1}));
    assert!((stats["success_rate"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-9);
    assert_eq!(stats["total_tokens_prompt"], json!(10 + 20 + 30 + 40 + 100 + 300));
    assert!((stats["avg_cost_usd"].as_f64().unwrap() - 0.5 / 6.0).abs() < 1e-9);
    assert_eq!(stats["latest_status"], "success");
    assert_eq!(stats["recent"].as_array().unwrap().len(), 6);
    assert!(stats["p95_duration_ms"].as_u64().unwrap() >= stats["p50_duration_ms"].as_u64().unwrap());
    let last_two = daemon.call("LogicService.logic_stats", json!({"logic": "spender", "last_n": 2})).await;
    assert_eq!(last_two["runs"], json!(2));
    assert_eq!(last_two["total_tokens_prompt"], json!(400), "the two under boss are the newest");
    let err = daemon.call_err("LogicService.logic_stats", json!({"logic": "spender", "last_n": 0})).await;
    assert_eq!(common::code_and_field(&err), (hero_logic_api::error::VALIDATION, "last_n".into()));

    let boss_stats = daemon.call("LogicService.logic_stats", json!({"logic": "boss"})).await;
    assert_eq!(boss_stats["total_tokens_prompt"], json!(400), "a root's stats include what its children spent");

    let rows = daemon.call("LogicService.logic_dashboard", json!({})).await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let spender = rows.iter().find(|r| r["logic"]["name"] == "spender").unwrap();
    assert_eq!(spender["recent_runs"], json!(6));
    assert!((spender["success_rate"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-9);
    assert_eq!(spender["latest_status"], "success");
    assert_eq!(spender["current_version_label"], "v1");
}
