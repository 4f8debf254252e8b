//! Model calls, cost per Play and the service_agent example end to end, against a real daemon,
//! real Python runners and a local OpenAI-compatible fake.

mod common;
#[path = "common/fake_openai.rs"]
mod fake_openai;

use std::path::Path;

use common::{repo_seed_dir, Daemon};
use fake_openai::{FakeOpenAi, Reply, COMPLETION_TOKENS, PROMPT_TOKENS};
use serde_json::{json, Value};

const KEY: &str = "sk-fake-7f3a9c0e51d2-never-store-me";
const MODEL: &str = "fake-coder";
/// `fake-coder` costs 1 $ per million prompt tokens and 2 $ per million completion tokens.
const USER_MODELS: &str = "[models.fake-coder]\nprompt_per_million = 1.0\ncompletion_per_million = 2.0\naliases = [\"fake-coder-latest\"]\n";
const CALL_COST: f64 = (PROMPT_TOKENS as f64 * 1.0 + COMPLETION_TOKENS as f64 * 2.0) / 1_000_000.0;

const SELECT_PLAIN: &str = r#"{"services": ["hero_logic"], "methods": ["LogicService.logic_dashboard"], "question": "", "options": []}"#;
const SELECT_AMBIGUOUS: &str = r#"Here you go:
```json
{"services": ["hero_logic"], "methods": ["LogicService.logic_dashboard"],
 "question": "Which figure do you want per logic?", "options": ["success rates", "run counts"]}
```"#;
const GOOD_SCRIPT: &str = "Here is the script:\n```python\nrows = hero_logic.logic_dashboard()\nfor row in rows:\n    print(row[\"logic\"][\"name\"], round(row[\"success_rate\"], 2))\n```\n";
const BAD_SCRIPT: &str = "```python\nprint(hero_logic.no_such_method())\n```";
const SUMMARY: &str = "You have these logics; none has failed yet.";
const DIAGNOSIS: &str = "The stubs have no no_such_method; call logic_dashboard instead.";

/// The daemon the agent runs on, and a second one (same seeds, its own data dir) that the
/// agent's scripts call: a sandboxed Play cannot reach its own daemon's socket, only the
/// services `[catalog] sockets` names.
struct AgentDaemon {
    daemon: Daemon,
    services: Daemon,
    _services_dir: tempfile::TempDir,
}

impl std::ops::Deref for AgentDaemon {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl std::ops::DerefMut for AgentDaemon {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

/// A daemon with the repo's seeds, the fake as its model endpoint, the key in its
/// environment, a user models.toml pricing `fake-coder`, and the services daemon as its
/// catalog (before any `HERO_LOGIC_CATALOG_SOCKETS` given in `more_env`).
async fn agent_daemon(data: &Path, fake: &FakeOpenAi, more_env: &[(&str, &str)]) -> AgentDaemon {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("models.toml"), USER_MODELS).unwrap();
    let seeds = repo_seed_dir();
    let services_dir = tempfile::tempdir().unwrap();
    let services = Daemon::start_with(services_dir.path(), &["--seed-dir", seeds.to_str().unwrap()]).await;
    let mut catalog = services.socket.display().to_string();
    if let Some((_, more)) = more_env.iter().find(|(k, _)| *k == "HERO_LOGIC_CATALOG_SOCKETS") {
        catalog = format!("{catalog}:{more}");
    }
    let mut env = vec![("HERO_LOGIC_MODEL_BASE_URL", fake.base_url.as_str()), ("OPENAI_API_KEY", KEY)];
    env.extend(more_env.iter().copied().filter(|(k, _)| *k != "HERO_LOGIC_CATALOG_SOCKETS"));
    env.push(("HERO_LOGIC_CATALOG_SOCKETS", &catalog));
    let daemon = Daemon::start_with_env(data, &["--seed-dir", seeds.to_str().unwrap()], &env).await;
    AgentDaemon { daemon, services, _services_dir: services_dir }
}

fn script_the_agent(fake: &FakeOpenAi, select: &str, scripts: &[&str]) {
    fake.on("service selector", &[select]);
    fake.on("code writer", scripts);
    fake.on("debugger of hero_logic", &[DIAGNOSIS]);
    fake.on("summarizer", &[SUMMARY]);
}

async fn start(daemon: &Daemon, logic: &str, inputs: Value) -> Value {
    daemon.call("LogicService.play_start", json!({"logic": logic, "inputs": inputs})).await
}

/// The Play tree as (root, descendants).
async fn tree(daemon: &Daemon, play: &Value) -> (Value, Vec<Value>) {
    let tree = daemon.call("LogicService.play_tree", json!({"play_sid": play["sid"]})).await;
    (tree["play"].clone(), tree["descendants"].as_array().unwrap().clone())
}

fn names(plays: &[&Value]) -> Vec<String> {
    plays.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
}

/// The root's children in invocation order.
fn children<'a>(root: &Value, descendants: &'a [Value]) -> Vec<&'a Value> {
    root["sub_play_sids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sid| descendants.iter().find(|p| &p["sid"] == sid).expect("every child is in the tree"))
        .collect()
}

/// Every Play's parent is in the tree and lists it in `sub_play_sids`, in order.
fn assert_parent_links(root: &Value, descendants: &[Value]) {
    let mut all = vec![root.clone()];
    all.extend(descendants.iter().cloned());
    for play in descendants {
        let parent = all.iter().find(|p| p["sid"] == play["parent_play_sid"]).unwrap_or_else(|| panic!("parent of {play}"));
        assert!(parent["sub_play_sids"].as_array().unwrap().contains(&play["sid"]), "{} lists {}", parent["sid"], play["sid"]);
    }
    for play in &all {
        for sid in play["sub_play_sids"].as_array().unwrap() {
            let child = descendants.iter().find(|p| &p["sid"] == sid).expect("a listed child exists");
            assert_eq!(child["parent_play_sid"], play["sid"]);
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Every file under `dir` (the database, its WAL and anything else the daemon wrote).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn service_agent_builds_a_tree_and_costs_sit_on_the_model_calls() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    script_the_agent(&fake, SELECT_PLAIN, &[GOOD_SCRIPT]);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;

    let play = start(&daemon, "service_agent", json!({"prompt": "list my logics and their success rates", "code_gen_model": MODEL})).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["summary"], SUMMARY);
    assert_eq!(done["output_data"]["attempts"], 1);
    let printed = done["output_data"]["output"].as_str().unwrap();
    assert!(printed.contains("service_agent 0") && printed.contains("model_call"), "the script listed the daemon's logics: {printed}");

    let (root, descendants) = tree(&daemon, &play).await;
    assert!(descendants.len() >= 8, "at least 8 child Plays: {:?}", names(&descendants.iter().collect::<Vec<_>>()));
    assert_parent_links(&root, &descendants);
    assert_eq!(
        names(&children(&root, &descendants)),
        ["fetch_catalog", "select_services", "compile_stubs", "service_code_gen", "script_execution", "summarize"]
    );
    let model_calls: Vec<&Value> = descendants.iter().filter(|p| p["name"] == "model_call").collect();
    assert_eq!(model_calls.len(), 3, "select_services, service_code_gen and summarize each call the model");
    for call in &model_calls {
        let parent = descendants.iter().find(|p| p["sid"] == call["parent_play_sid"]).unwrap();
        assert!(["select_services", "service_code_gen", "summarize"].contains(&parent["name"].as_str().unwrap()));
        assert_eq!(call["status"], "success");
        assert_eq!(call["total_tokens_prompt"], json!(PROMPT_TOKENS), "{call}");
        assert_eq!(call["total_tokens_completion"], json!(COMPLETION_TOKENS));
        assert!(close(call["total_cost_usd"].as_f64().unwrap(), CALL_COST), "{call}");
        assert_eq!(call["output_data"]["usage"]["prompt_tokens"], json!(PROMPT_TOKENS));
        assert!(close(call["output_data"]["usage"]["cost_usd"].as_f64().unwrap(), CALL_COST));
        assert_eq!(call["output_data"]["model"], MODEL);
    }
    for play in descendants.iter().filter(|p| p["name"] != "model_call").chain([&root]) {
        assert_eq!(play["total_tokens_prompt"], json!(0), "{} spent nothing itself", play["name"]);
        assert_eq!(play["total_tokens_completion"], json!(0));
        assert_eq!(play["total_cost_usd"], json!(0.0));
    }
    assert_eq!(root["subtree"]["tokens_prompt"], json!(3 * PROMPT_TOKENS));
    assert_eq!(root["subtree"]["tokens_completion"], json!(3 * COMPLETION_TOKENS));
    let sum: f64 = model_calls.iter().map(|p| p["total_cost_usd"].as_f64().unwrap()).sum();
    assert!(close(root["subtree"]["cost_usd"].as_f64().unwrap(), sum), "{}", root["subtree"]);
    assert!(close(sum, 3.0 * CALL_COST));
    let select = descendants.iter().find(|p| p["name"] == "select_services").unwrap();
    assert!(close(select["subtree"]["cost_usd"].as_f64().unwrap(), CALL_COST), "a step's subtree holds its own model call");

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {KEY}")[..])), "the key reached the endpoint");
    assert!(requests.iter().all(|r| r.body["model"] == MODEL && r.body["temperature"] == 0));
    let code_gen = fake.requests().into_iter().find(|r| r.text().contains("code writer")).unwrap();
    assert!(code_gen.text().contains("hero_logic.logic_dashboard("), "the model saw the compiled stubs: {}", code_gen.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_script_gets_feedback_and_a_second_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    script_the_agent(&fake, SELECT_PLAIN, &[BAD_SCRIPT, GOOD_SCRIPT]);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;

    let play = start(&daemon, "service_agent", json!({"prompt": "list my logics and their success rates", "code_gen_model": MODEL})).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["output_data"]["attempts"], 2);

    let (root, descendants) = tree(&daemon, &play).await;
    assert_parent_links(&root, &descendants);
    let steps = children(&root, &descendants);
    assert_eq!(
        names(&steps),
        [
            "fetch_catalog", "select_services", "compile_stubs",
            "service_code_gen", "script_execution", "debug_feedback",
            "service_code_gen", "script_execution", "summarize",
        ]
    );
    let first_run = steps[4];
    assert_eq!(first_run["status"], "success", "a failing script does not fail its step");
    assert_eq!(first_run["output_data"]["ok"], false);
    assert_eq!(first_run["output_data"]["exit_code"], 1);
    assert!(first_run["output_data"]["stderr"].as_str().unwrap().contains("AttributeError"), "{first_run}");
    assert!(first_run["logs"].as_str().unwrap().contains("exited with code 1"));
    let feedback = steps[5]["output_data"]["feedback"].as_str().unwrap();
    assert!(feedback.contains(DIAGNOSIS) && feedback.contains("AttributeError"), "{feedback}");
    let retry = steps[6];
    assert_eq!(retry["input_data"]["feedback"], json!(feedback), "the second attempt got the feedback");
    assert!(retry["input_data"]["previous_code"].as_str().unwrap().contains("no_such_method"));
    assert_eq!(steps[7]["output_data"]["ok"], true);
    assert!(root["logs"].as_str().unwrap().contains("attempt 1 failed"));
    let debugger = fake.requests().into_iter().find(|r| r.text().contains("debugger of hero_logic")).unwrap();
    assert!(debugger.text().contains("AttributeError"), "the debugger saw the error");
    assert_eq!(fake.count("The previous attempt failed"), 1);
    // Five model calls: select, two code gens, the debugger and the summary.
    assert_eq!(root["subtree"]["tokens_prompt"], json!(5 * PROMPT_TOKENS));
}

#[tokio::test(flavor = "multi_thread")]
async fn three_failing_scripts_fail_the_agent_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    script_the_agent(&fake, SELECT_PLAIN, &[BAD_SCRIPT]);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;
    let play = start(&daemon, "service_agent", json!({"prompt": "list my logics", "code_gen_model": MODEL})).await;
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["error_message"].as_str().unwrap().contains("could not do this in 3 attempts"), "{done}");
    assert_eq!(done["output_data"]["attempts"], 3);
    let (root, descendants) = tree(&daemon, &play).await;
    let steps = names(&children(&root, &descendants));
    assert_eq!(steps.iter().filter(|n| *n == "script_execution").count(), 3);
    assert_eq!(steps.iter().filter(|n| *n == "debug_feedback").count(), 2, "no feedback after the last attempt");
    assert_eq!(steps.last().unwrap(), "summarize");
    assert_eq!(fake.count("summarizer"), 0, "a failed run is summarised without a model");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_question_in_select_services_pauses_the_run_and_play_resume_on_the_child_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    script_the_agent(&fake, SELECT_AMBIGUOUS, &[GOOD_SCRIPT]);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;

    let play = start(&daemon, "service_agent", json!({"prompt": "how are my logics doing?", "code_gen_model": MODEL})).await;
    let waiting = daemon.wait(&play["sid"]).await;
    assert_eq!(waiting["status"], "awaiting_resume", "the pause propagates to the root: {waiting}");
    let (root, descendants) = tree(&daemon, &play).await;
    assert!(root["pending_resumes"].as_array().unwrap().is_empty(), "the root itself asks nothing");
    let select = descendants.iter().find(|p| p["name"] == "select_services").unwrap();
    assert_eq!(select["status"], "awaiting_resume");
    let question = &select["pending_resumes"][0];
    assert_eq!(question["ui"]["kind"], "choice");
    assert_eq!(question["ui"]["prompt"], "Which figure do you want per logic?");
    assert_eq!(question["ui"]["options"], json!(["success rates", "run counts"]));
    assert_eq!(names(&children(&root, &descendants)), ["fetch_catalog", "select_services"]);

    let resumed = daemon
        .call("LogicService.play_resume", json!({"play_sid": select["sid"], "resume_id": question["id"], "payload": "success rates"}))
        .await;
    assert_eq!(resumed["sid"], select["sid"]);
    let done = daemon.wait(&play["sid"]).await;
    assert_eq!(done["status"], "success", "{done}");

    let (root, descendants) = tree(&daemon, &play).await;
    assert_parent_links(&root, &descendants);
    let select = descendants.iter().find(|p| p["name"] == "select_services").unwrap();
    assert_eq!(select["output_data"]["focus"], "success rates");
    assert_eq!(select["received_resumes"][question["id"].as_str().unwrap()], "success rates");
    assert_eq!(fake.count("service selector"), 1, "the replay did not call the model again");
    let code_gen = fake.requests().into_iter().find(|r| r.text().contains("code writer")).unwrap();
    assert!(code_gen.text().contains("The person means: success rates"));
    assert_eq!(descendants.iter().filter(|p| p["name"] == "select_services").count(), 1, "the same child Play resumed");
    assert_eq!(root["subtree"]["tokens_prompt"], json!(3 * PROMPT_TOKENS), "the replay counted the first model call once");
}

/// A logic that returns what it can see of its own environment: `os.environ` and the
/// environment it was started with (`/proc/self/environ`, which popping a variable from
/// `os.environ` does not change; the sandbox denies reading it, which is stronger still).
const ENV_DUMP: &str = r#"import os
from hero_tracing import logic

@logic(name="env_dump", outputs={"env": "object", "initial": "string"})
def env_dump():
    try:
        with open("/proc/self/environ", "rb") as f:
            initial = f.read().decode("utf-8", "replace").replace("\0", "\n")
    except PermissionError:
        initial = "<denied by the sandbox>"
    print(dict(os.environ))
    return {"env": dict(os.environ), "initial": initial}
"#;

/// Neither the key nor the endpoint is anywhere in what `ENV_DUMP` saw.
fn assert_no_model_secrets(dumped: &Value) {
    assert_eq!(dumped["status"], "success", "{dumped}");
    let (env, initial) = (&dumped["output_data"]["env"], dumped["output_data"]["initial"].as_str().unwrap());
    assert!(initial == "<denied by the sandbox>" || initial.contains("PATH="), "/proc/self/environ was read: {initial}");
    for seen in [env.to_string(), initial.to_string(), dumped["logs"].to_string()] {
        assert!(!seen.contains(KEY), "the key is in the runner's environment: {seen}");
        assert!(!seen.contains("HERO_LOGIC_MODEL_KEY="), "{seen}");
        assert!(!seen.contains("HERO_LOGIC_MODEL_BASE_URL"), "the endpoint is the daemon's business: {seen}");
    }
    assert!(env.get("HERO_LOGIC_MODEL_KEY").is_none() && env.get("OPENAI_API_KEY").is_none(), "{env}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runner_never_gets_the_key_and_its_model_calls_are_made_by_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    fake.on("hello", &["hi there"]);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;
    daemon.define("env_dump", ENV_DUMP).await;
    let dumped = daemon.run("env_dump", json!({})).await;
    assert_no_model_secrets(&dumped);

    // The same runner environment, and yet the model call works and is paid for.
    let call = daemon.run("model_call", json!({"model": MODEL, "messages": [{"role": "user", "content": "hello"}]})).await;
    assert_eq!(call["status"], "success", "{call}");
    assert_eq!(call["output_data"]["content"], "hi there");
    assert_eq!(call["total_tokens_prompt"], json!(PROMPT_TOKENS));
    assert!(close(call["total_cost_usd"].as_f64().unwrap(), CALL_COST), "{call}");
    assert!(call["logs"].as_str().unwrap().contains(&format!("model \"{MODEL}\" (called by the daemon): 100 prompt + 50 completion tokens")), "{call}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].authorization.as_deref(), Some(&format!("Bearer {KEY}")[..]), "the daemon sent its key");
}

/// A logic that tries to make its model call look cheaper: it zeroes the runner's models
/// table, reports nothing itself, and then tries to take cost away with a `stats` line.
const FORGER: &str = r#"from hero_tracing import llm, logic, pricing
from hero_tracing.context import active_runtime, current_frame

@logic(name="forger", outputs={"usage": "object"})
def forger(undercut: bool = False):
    pricing.set_table({"models": {"fake-coder": {"prompt_per_million": 0, "completion_per_million": 0}}})
    response, usage = llm.chat_with_usage("fake-coder", [{"role": "user", "content": "count me"}])
    logic.output(usage=usage)
    if undercut:
        active_runtime().channel.notify("stats", play_sid=current_frame().play_sid,
                                        prompt_tokens=0, completion_tokens=0, cost_usd=-1.0)
    return {"usage": usage}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_records_cost_from_the_endpoints_usage_not_from_the_logic() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    // Not the fake's usual figures: the cost must come from what this endpoint says.
    fake.rule("count me", vec![Reply::Content("counted".into())], 1_000, 2_000);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;
    daemon.define("forger", FORGER).await;
    let expected = (1_000.0 * 1.0 + 2_000.0 * 2.0) / 1_000_000.0;

    let play = daemon.run("forger", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!((play["total_tokens_prompt"].clone(), play["total_tokens_completion"].clone()), (json!(1_000), json!(2_000)));
    assert!(close(play["total_cost_usd"].as_f64().unwrap(), expected), "the daemon priced it with its own table: {play}");
    assert!(close(play["output_data"]["usage"]["cost_usd"].as_f64().unwrap(), expected), "the logic is told what was recorded");

    let undercut = daemon.run("forger", json!({"undercut": true})).await;
    assert_eq!(undercut["status"], "success", "{undercut}");
    assert!(undercut["logs"].as_str().unwrap().contains("stats report refused"), "{undercut}");
    assert!(close(undercut["total_cost_usd"].as_f64().unwrap(), expected), "nothing was taken off: {undercut}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_error_reaches_the_logic_with_its_status_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    fake.rule("overloaded please", vec![Reply::Error(503, "the fake is overloaded".into())], 0, 0);
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;
    daemon
        .define(
            "catcher",
            "from hero_tracing import llm, logic\n\n@logic(name=\"catcher\")\ndef catcher():\n    try:\n        llm.chat(\"fake-coder\", [{\"role\": \"user\", \"content\": \"overloaded please\"}])\n    except llm.ModelError as exc:\n        return {\"status\": exc.status, \"body\": exc.body, \"message\": str(exc)}\n",
        )
        .await;
    let play = daemon.run("catcher", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    let out = &play["output_data"];
    assert_eq!(out["status"], 503, "{out}");
    assert!(out["body"].as_str().unwrap().contains("the fake is overloaded"), "{out}");
    assert!(out["message"].as_str().unwrap().contains("HTTP 503 for model \"fake-coder\": the fake is overloaded"), "{out}");
    assert_eq!(play["total_tokens_prompt"], json!(0), "a refused call costs nothing");

    let via_seed = daemon.run("model_call", json!({"model": MODEL, "messages": [{"role": "user", "content": "overloaded please"}]})).await;
    assert_eq!(via_seed["status"], "failed");
    assert!(via_seed["error_message"].as_str().unwrap().contains("the model call failed: the model endpoint answered HTTP 503"), "{via_seed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_key_never_lands_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fake = FakeOpenAi::start();
    script_the_agent(&fake, SELECT_PLAIN, &[BAD_SCRIPT, GOOD_SCRIPT]);
    // A provider that echoes the Authorization header in its error.
    fake.rule("echo my key", vec![Reply::Error(401, "Incorrect API key provided: {auth}".into())], 0, 0);
    let mut daemon = agent_daemon(&data, &fake, &[]).await;
    daemon
        .define(
            "env_dump",
            ENV_DUMP,
        )
        .await;

    let agent = daemon.run("service_agent", json!({"prompt": "list my logics", "code_gen_model": MODEL})).await;
    assert_eq!(agent["status"], "success", "{agent}");
    let echoed = daemon.run("model_call", json!({"model": MODEL, "messages": [{"role": "user", "content": "echo my key"}]})).await;
    assert_eq!(echoed["status"], "failed");
    let message = echoed["error_message"].as_str().unwrap();
    assert!(message.contains("HTTP 401") && message.contains("Bearer ***"), "{message}");
    let dumped = daemon.run("env_dump", json!({})).await;
    assert_eq!(dumped["status"], "success");
    assert_no_model_secrets(&dumped);
    assert!(fake.requests().iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {KEY}")[..])));

    // Everything the daemon can say about these Plays, and every byte it stored.
    let plays = daemon.call("play.list", json!({"limit": 1000})).await;
    assert!(plays["items"].as_array().unwrap().len() >= 10);
    assert!(!plays.to_string().contains(KEY));
    let models = daemon.call("LogicService.models_config", json!({})).await;
    assert!(!models.to_string().contains(KEY));
    daemon.stop();
    let files = files_under(&data);
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "db")), "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!contains_bytes(&bytes, KEY.as_bytes()), "the key is in {}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn model_call_prices_tokens_and_an_unknown_model_costs_nothing_but_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    fake.on("hello", &["hi there"]);
    let daemon = agent_daemon(dir.path(), &fake, &[("HERO_LOGIC_MODEL_DEFAULT", "fake-coder-latest")]).await;
    let messages = json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]);

    let known = daemon.run("model_call", json!({"messages": messages, "max_tokens": 20, "temperature": 0.5})).await;
    assert_eq!(known["status"], "success", "{known}");
    assert_eq!(known["output_data"]["content"], "hi there");
    assert_eq!(known["output_data"]["model"], "fake-coder-latest", "the default model, priced by its alias");
    assert!(close(known["total_cost_usd"].as_f64().unwrap(), CALL_COST), "{known}");
    assert_eq!(known["output_data"]["usage"], json!({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150, "cost_usd": CALL_COST}));
    let request = &fake.requests()[0].body;
    assert_eq!((request["max_tokens"].clone(), request["temperature"].clone()), (json!(20), json!(0.5)));
    assert!(!known["logs"].as_str().unwrap().contains("no price"));

    let unknown = daemon.run("model_call", json!({"model": "mystery-model", "messages": messages})).await;
    assert_eq!(unknown["status"], "success", "{unknown}");
    assert_eq!(unknown["total_tokens_prompt"], json!(PROMPT_TOKENS), "tokens are still counted");
    assert_eq!(unknown["total_tokens_completion"], json!(COMPLETION_TOKENS));
    assert_eq!(unknown["total_cost_usd"], json!(0.0));
    let logs = unknown["logs"].as_str().unwrap();
    assert!(logs.contains("model 'mystery-model' has no price in the models table"), "{logs}");

    let bad = daemon.run("model_call", json!({"messages": [{"content": "no role"}]})).await;
    assert_eq!(bad["status"], "failed");
    assert!(bad["error_message"].as_str().unwrap().contains("messages[0]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_model_calls_fail_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = repo_seed_dir();
    // A service for the agent's catalog, so that it gets as far as its first model call.
    let services_dir = tempfile::tempdir().unwrap();
    let services = Daemon::start(services_dir.path()).await;
    let catalog = services.socket.display().to_string();
    let daemon = Daemon::start_with_env(dir.path(), &["--seed-dir", seeds.to_str().unwrap()], &[("HERO_LOGIC_MODEL_BASE_URL", ""), ("HERO_LOGIC_CATALOG_SOCKETS", &catalog)]).await;
    let config = daemon.call("LogicService.models_config", json!({})).await;
    assert_eq!(config["endpoint"]["base_url"], "");
    let play = daemon.run("model_call", json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(play["status"], "failed");
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("`base_url` under [models] in service.toml") && message.contains("HERO_LOGIC_MODEL_BASE_URL"), "{message}");
    assert!(!message.contains("Traceback"), "a configuration problem is not a crash: {message}");

    let agent = daemon.run("service_agent", json!({"prompt": "list my logics"})).await;
    assert_eq!(agent["status"], "failed");
    assert!(agent["error_message"].as_str().unwrap().contains("base_url"), "{agent}");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_config_merges_the_user_table_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;
    let config = daemon.call("LogicService.models_config", json!({})).await;
    assert_eq!(config["models"]["fake-coder"], json!({"prompt_per_million": 1.0, "completion_per_million": 2.0, "aliases": ["fake-coder-latest"], "source": "user"}));
    assert_eq!(config["models"]["gpt-4o-mini"]["source"], "shipped");
    assert_eq!(config["aliases"]["fake-coder-latest"], "fake-coder");
    assert_eq!(config["override_found"], true);
    assert!(config["override_path"].as_str().unwrap().ends_with("models.toml"));
    assert_eq!(config["endpoint"]["base_url"], json!(fake.base_url));
    assert_eq!(config["endpoint"]["api_key_env"], "OPENAI_API_KEY");
    assert_eq!(config["endpoint"]["key_set"], true);
    assert!(!config.to_string().contains(KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_user_models_table_stops_the_daemon_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("models.toml"), "[models.x]\nprompt_per_million = \"cheap\"\ncompletion_per_million = 1\n").unwrap();
    let out = std::process::Command::new(common::SERVER).arg("--data-dir").arg(dir.path()).arg("--no-seed").env_remove("HERO_LOGIC_SOCKET").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("models.toml") && stderr.contains("prompt_per_million"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_catalog_describes_the_configured_services_and_skips_its_own_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let other = Daemon::start(&dir.path().join("other")).await;
    let other_socket = other.socket.display().to_string();
    let sockets = format!("{other_socket}:/nonexistent/hero.sock");
    let fake = FakeOpenAi::start();
    let daemon = agent_daemon(&dir.path().join("main"), &fake, &[("HERO_LOGIC_CATALOG_SOCKETS", &sockets)]).await;
    let play = daemon.run("fetch_catalog", json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    let services = play["output_data"]["services"].as_array().unwrap();
    let names: Vec<&str> = services.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hero_logic", "hero_logic_2"]);
    assert_eq!(services[0]["socket"], json!(daemon.services.socket.display().to_string()));
    assert_eq!(services[1]["socket"], json!(other_socket));
    let skipped_own = format!("skipped {}", daemon.socket.display());
    assert!(play["logs"].as_str().unwrap().contains(&skipped_own), "the sandbox hides the daemon's own socket: {play}");
    let dashboard = services[0]["methods"].as_array().unwrap().iter().find(|m| m["name"] == "LogicService.logic_stats").unwrap();
    assert_eq!(dashboard["params"][0], json!({"name": "last_n", "required": false}));
    assert!(play["logs"].as_str().unwrap().contains("skipped /nonexistent/hero.sock"));
}

#[tokio::test(flavor = "multi_thread")]
async fn script_execution_limits_time_and_memory_and_hands_the_script_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeOpenAi::start();
    let daemon = agent_daemon(dir.path(), &fake, &[]).await;

    let env = daemon.run("script_execution", json!({"code": "import os, sys\nprint(sorted(os.environ))\nprint(answer(), file=sys.stderr)\n", "stubs": "def answer():\n    return 42\n"})).await;
    assert_eq!(env["status"], "success", "{env}");
    assert_eq!(env["output_data"]["ok"], true);
    assert_eq!(env["output_data"]["stdout"], "['HERO_LOGIC_SOCKET', 'LANG', 'PATH']\n", "the stubs come first; the script sees no key");
    assert_eq!(env["output_data"]["stderr"], "42\n");

    let slow = daemon.run("script_execution", json!({"code": "import time\nprint('started', flush=True)\ntime.sleep(60)\n", "timeout_s": 1})).await;
    assert_eq!(slow["status"], "success", "{slow}");
    let out = &slow["output_data"];
    assert_eq!((out["ok"].clone(), out["timed_out"].clone(), out["exit_code"].clone()), (json!(false), json!(true), json!(-9)));
    assert_eq!(out["stdout"], "started\n", "output written before the kill is kept");
    assert!(out["duration_ms"].as_u64().unwrap() < 10_000);
    assert!(slow["logs"].as_str().unwrap().contains("ran out of time"));

    let greedy = daemon.run("script_execution", json!({"code": "blob = bytearray(1024 * 1024 * 1024)\n", "memory_mb": 128})).await;
    assert_eq!(greedy["output_data"]["ok"], false, "{greedy}");
    assert!(greedy["output_data"]["stderr"].as_str().unwrap().contains("MemoryError"), "{greedy}");

    let bad = daemon.run("script_execution", json!({"code": "pass", "timeout_s": 0})).await;
    assert_eq!(bad["status"], "failed");
    assert!(bad["error_message"].as_str().unwrap().contains("timeout_s"));
}
