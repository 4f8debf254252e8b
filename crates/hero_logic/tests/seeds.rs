//! Seed loading against a real daemon: every file becomes a Logic, restarts are idempotent,
//! and a changed file adds a current version.

mod common;

use std::path::Path;

use common::{repo_seed_dir, Daemon};
use serde_json::{json, Value};

fn copy_seeds(to: &Path) -> Vec<String> {
    std::fs::create_dir_all(to).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(repo_seed_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

async fn logics(daemon: &Daemon) -> Vec<Value> {
    let page = daemon.call("logic.list", json!({"limit": 1000})).await;
    page["items"].as_array().unwrap().clone()
}

fn version_count(logics: &[Value]) -> usize {
    logics.iter().map(|l| l["versions"].as_array().unwrap().len()).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn seeds_load_once_and_follow_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds");
    let expected = copy_seeds(&seeds);
    assert!(expected.len() >= 5, "the repo ships the seed logics the later features need: {expected:?}");
    let seed_arg = seeds.to_str().unwrap().to_string();
    let data = dir.path().join("data");

    let mut daemon = Daemon::start_with(&data, &["--seed-dir", &seed_arg]).await;
    let first = logics(&daemon).await;
    let mut names: Vec<String> = first.iter().map(|l| l["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, expected, "one Logic per seed file, named after it");
    assert!(first.iter().all(|l| l["tags"].as_array().unwrap().contains(&json!("seed"))));
    let greeting = daemon.call("logic.find", json!({"name": "greeting"})).await["items"][0].clone();
    let version = daemon.call("logicversion.get", json!({"sid": greeting["current_version_sid"]})).await;
    assert!(!version["inputs"].as_array().unwrap().is_empty(), "declared inputs come from the decorator");
    daemon.stop();

    let mut daemon = Daemon::start_with(&data, &["--seed-dir", &seed_arg]).await;
    let second = logics(&daemon).await;
    assert_eq!(second.len(), first.len(), "a restart adds no Logic");
    assert_eq!(version_count(&second), version_count(&first), "a restart adds no version");
    daemon.stop();

    let greeting_file = seeds.join("greeting.py");
    let mut text = std::fs::read_to_string(&greeting_file).unwrap();
    text.push_str("\n# edited\n");
    std::fs::write(&greeting_file, &text).unwrap();
    let daemon = Daemon::start_with(&data, &["--seed-dir", &seed_arg]).await;
    let third = logics(&daemon).await;
    assert_eq!(version_count(&third), version_count(&first) + 1);
    let greeting = daemon.call("logic.find", json!({"name": "greeting"})).await["items"][0].clone();
    let current = daemon.call("logicversion.get", json!({"sid": greeting["current_version_sid"]})).await;
    assert_eq!(current["python_source"], json!(text), "the changed file's version is current");
}

#[tokio::test(flavor = "multi_thread")]
async fn built_in_seeds_load_without_a_seed_dir() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with(dir.path(), &[]).await;
    let names: Vec<String> = logics(&daemon).await.iter().map(|l| l["name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"greeting".to_string()), "{names:?}");
    assert!(names.contains(&"fib".to_string()), "{names:?}");
}

#[test]
fn info_prints_the_resolved_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::SERVER)
        .arg("--info")
        .arg("--data-dir")
        .arg(dir.path())
        .env("HERO_LOGIC_ADMIN_ADDR", "")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let socket = dir.path().join("hero_logic.sock");
    assert!(text.contains(&socket.display().to_string()), "{text}");
    assert!(text.contains("127.0.0.1:9820"), "{text}");
    assert!(text.contains("pool_size"), "{text}");
}
