//! Replay transcripts (`testdata/replay/*.jsonl`) run against the real session and executor
//! logic over a temporary SQLite store: what a runner sends, and what the daemon must answer.
//! The SDK's tests drive the real runner with the same files (sdk/python/tests/
//! test_transcripts.py), so both halves of the protocol are held to one record.
//!
//! A transcript is one JSON object per line:
//! - `{"logic": {"name", "source"}}` creates a Logic; `{"start": {"logic", "inputs"}}` starts
//!   the top-level Play (bound to `$root`);
//! - `{"run": "fresh" | "resume", "answer": {"play", "resume_id", "payload"}}` starts a run
//!   (a resume answers the question first, as `play_resume` does);
//! - `{"runner": {...}}` is a line the runner sends (`$secret`, `$pid` and `$python` stand
//!   for what the runner fills in), `{"daemon": {...}}` the exact answer;
//! - `{"plays": {"$sid": {field: value}}}` ends the run and checks the stored Plays.
//!
//! In expected values `$any` matches anything, `$spec:<name>` a LogicSpec of that Logic,
//! `$prefix:<text>` a string starting with the text, and `$<name>` (e.g. `$c1`) binds to the
//! value first seen there and must match it afterwards; bound names are replaced in strings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hero_logic_api::params::{LogicCreateParams, PlayStartParams};
use hero_logic_api::PlayStatus;
use serde_json::Value;

use super::super::sandbox::Budget;
use super::super::session::{RunMode, Session};
use super::super::{Caps, Core, Engine, EngineSettings};
use super::{finalize, load_run, verdict};
use crate::engine::lifecycle::{self, Event};
use crate::library::Library;
use crate::store::{SqliteStore, Synchronous};

const SECRET: &str = "fixture-secret";
const BUDGET: Budget = Budget { wall_clock_ms: 10_000, memory_mb: 256, max_open_files: 64, max_processes: 64, network: false };

fn engine_over(dir: &Path) -> Engine {
    let store = SqliteStore::open(&dir.join("replay.db"), Synchronous::Normal).expect("a temporary store opens");
    let caps = Caps { log_line: 64 * 1024, play_logs: 1024 * 1024, output: 1024 * 1024, protocol_line: 1024 * 1024 };
    let settings = EngineSettings {
        data_dir: dir.to_path_buf(),
        rpc_socket: dir.join("rpc.sock"),
        pool_size: 1,
        defaults: BUDGET,
        env_allow: Vec::new(),
        allow_weaker: false,
        fork_server: false,
        warm_runners: 0,
        shared_dirs: Vec::new(),
        recover_by_replay: true,
        recover_attempts: 3,
        runner_vars: Vec::new(),
        models: Arc::new(crate::models::ModelSettings::unconfigured()),
        caps,
    };
    // No workers and no Python: the test plays the runner's part line by line.
    let core = Core::new(Library::new(Arc::new(store)), settings, Err("no Python in replay tests".into()), None);
    Engine { core: Arc::new(core) }
}

/// Names bound while a transcript runs: `$root`, `$c1`, ...
#[derive(Default)]
struct Bindings(BTreeMap<String, Value>);

impl Bindings {
    /// `value` with bound names (and `$secret`) put in.
    fn fill(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                if s == "$secret" {
                    return Value::String(SECRET.into());
                }
                if let Some(bound) = self.0.get(s) {
                    return bound.clone();
                }
                Value::String(self.fill_text(s))
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect()),
            other => other.clone(),
        }
    }

    fn fill_text(&self, text: &str) -> String {
        // Longest names first, so `$c1` does not eat the start of `$c10`.
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut text = text.to_string();
        for name in names {
            if let Some(bound) = self.0[name].as_str() {
                text = text.replace(name.as_str(), bound);
            }
        }
        text
    }

    fn sid(&self, name: &str) -> String {
        self.0.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("{name} is not bound yet")).to_string()
    }

    /// Whether `actual` fits `expected`; `exact` objects must have the same keys, others at
    /// least the expected ones.
    fn check(&mut self, expected: &Value, actual: &Value, exact: bool, at: &str) -> Result<(), String> {
        let differs = || format!("at {at}: expected {expected}, got {actual}");
        match expected {
            Value::String(s) if s == "$any" => Ok(()),
            Value::String(s) if s.starts_with("$spec:") => {
                let name = &s["$spec:".len()..];
                match actual.get("name").and_then(Value::as_str) {
                    Some(n) if n == name && actual.get("version_sid").is_some() => Ok(()),
                    _ => Err(differs()),
                }
            }
            Value::String(s) if s.starts_with("$prefix:") => {
                let prefix = self.fill_text(&s["$prefix:".len()..]);
                match actual.as_str() {
                    Some(text) if text.starts_with(&prefix) => Ok(()),
                    _ => Err(format!("at {at}: expected a string starting with {prefix:?}, got {actual}")),
                }
            }
            Value::String(s) if is_name(s) => match self.0.get(s) {
                Some(bound) if bound == actual => Ok(()),
                Some(bound) => Err(format!("at {at}: {s} is {bound}, got {actual}")),
                None => {
                    self.0.insert(s.clone(), actual.clone());
                    Ok(())
                }
            },
            Value::String(s) => (actual.as_str() == Some(self.fill_text(s).as_str())).then_some(()).ok_or_else(differs),
            Value::Array(items) => {
                let got = actual.as_array().filter(|a| a.len() == items.len()).ok_or_else(differs)?;
                for (i, (e, a)) in items.iter().zip(got).enumerate() {
                    self.check(e, a, true, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            Value::Object(fields) => {
                let got = actual.as_object().ok_or_else(differs)?;
                if exact && got.keys().any(|k| !fields.contains_key(k)) {
                    return Err(differs());
                }
                for (key, e) in fields {
                    let a = got.get(key).ok_or_else(|| format!("at {at}: no field {key:?} in {actual}"))?;
                    self.check(e, a, true, &format!("{at}.{key}"))?;
                }
                Ok(())
            }
            other => (other == actual).then_some(()).ok_or_else(differs),
        }
    }
}

fn is_name(s: &str) -> bool {
    s.len() > 1 && s.starts_with('$') && s[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One transcript, played against the engine; an error says which line went wrong.
fn play_transcript(path: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let engine = engine_over(dir.path());
    let core = Arc::clone(&engine.core);
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let lines: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect::<Result<_, _>>()?;
    let mut names = Bindings::default();
    // What a runner says of itself in hello.
    names.0.insert("$pid".into(), Value::from(4242));
    names.0.insert("$python".into(), Value::from("3.11.2"));
    let mut session: Option<Session> = None;
    let mut awaiting: Option<(usize, Value)> = None;
    for (index, line) in lines.iter().enumerate() {
        let at = format!("{}:{}", path.file_name().unwrap_or_default().to_string_lossy(), index + 1);
        if let Some(expected) = line.get("daemon") {
            let (_, reply) = awaiting.take().ok_or_else(|| format!("{at}: a daemon line with no request before it"))?;
            names.check(expected, &reply, true, &at)?;
            continue;
        }
        if let Some((request_line, _)) = &awaiting {
            return Err(format!("{at}: the request of line {} has no daemon line after it", request_line + 1));
        }
        if let Some(logic) = line.get("logic") {
            let params = LogicCreateParams {
                name: text_of(logic, "name"),
                python_source: Some(text_of(logic, "source")),
                ..Default::default()
            };
            core.library.create_logic(params).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(start) = line.get("start") {
            let params = PlayStartParams {
                logic: text_of(start, "logic"),
                inputs: start["inputs"].as_object().cloned().unwrap_or_default(),
                ..Default::default()
            };
            let play = engine.start_play(params).map_err(|e| format!("{at}: {e}"))?;
            names.0.insert("$root".into(), Value::String(play.sid));
        } else if let Some(kind) = line.get("run") {
            end_run(&core, session.take());
            let root = names.sid("$root");
            let mode = match kind.as_str() {
                Some("fresh") => RunMode::Fresh,
                Some("resume") => {
                    let answer = &line["answer"];
                    let asker = names.sid(answer["play"].as_str().unwrap_or_default());
                    let resume_id = text_of(answer, "resume_id");
                    engine.resume(&asker, &resume_id, answer["payload"].clone()).map_err(|e| format!("{at}: {e}"))?;
                    RunMode::Resume { play_sid: asker, resume_id }
                }
                other => return Err(format!("{at}: unknown run {other:?}")),
            };
            session = Some(begin_run(&core, &root, mode).map_err(|e| format!("{at}: {e}"))?);
        } else if let Some(sent) = line.get("runner") {
            let session = session.as_mut().ok_or_else(|| format!("{at}: a runner line outside a run"))?;
            let sent = names.fill(sent);
            match session.handle_line(&sent.to_string()) {
                Ok(Some(reply)) => {
                    let reply: Value = serde_json::from_str(&reply).map_err(|e| format!("{at}: {e}"))?;
                    awaiting = Some((index, reply));
                }
                Ok(None) => {}
                Err(e) => return Err(format!("{at}: the daemon dropped the runner: {e}")),
            }
        } else if let Some(plays) = line.get("plays") {
            end_run(&core, session.take());
            let store = core.library.store();
            for (name, expected) in plays.as_object().into_iter().flatten() {
                let sid = names.sid(name);
                let play = store.play_get(&sid).map_err(|e| e.to_string())?.ok_or_else(|| format!("{at}: no Play {sid}"))?;
                let actual = serde_json::to_value(play).map_err(|e| e.to_string())?;
                names.check(expected, &actual, false, &format!("{at} {name}"))?;
            }
        } else if line.get("about").is_none() {
            return Err(format!("{at}: a line of no known kind: {line}"));
        }
    }
    if awaiting.is_some() {
        return Err("the last request has no daemon line".into());
    }
    end_run(&core, session.take());
    Ok(())
}

/// What `executor::run` does before the runner connects.
fn begin_run<'a>(core: &'a Core, root: &str, mode: RunMode) -> Result<Session<'a>, String> {
    let store = core.library.store();
    let (mut play, tree) = load_run(core, root, &mode).map_err(|e| e.to_string())?.ok_or("the Play is gone")?;
    if mode == RunMode::Fresh {
        lifecycle::apply(&mut play, Event::Start).map_err(|e| e.to_string())?;
        store.play_update(&play).map_err(|e| e.to_string())?;
    }
    let version = store.version_get(&play.logic_version_sid).map_err(|e| e.to_string())?.ok_or("no version")?;
    let name = play.name.clone();
    Ok(Session::new(core, SECRET.into(), play, &version, &name, mode, tree))
}

/// What `executor::run` does once the connection ends.
fn end_run(core: &Core, session: Option<Session>) {
    let Some(mut session) = session else { return };
    if let Some(verdict) = verdict(&session.outcome(None), None, None, BUDGET, "") {
        finalize(core, &mut session, verdict, String::new());
    }
}

/// A run begun and past its `hello` (the answer is not looked at).
fn greeted_run<'a>(core: &'a Core, root: &str, mode: RunMode) -> Session<'a> {
    let mut session = begin_run(core, root, mode).unwrap();
    session.handle_line(FIXTURE_HELLO).unwrap();
    session
}

/// How many writes the end of `session`'s run made.
fn writes_of_end(core: &Core, session: Session) -> u64 {
    let before = core.library.store().writes_made().unwrap();
    end_run(core, Some(session));
    core.library.store().writes_made().unwrap() - before
}

fn text_of(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn transcripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine/testdata/replay");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the transcripts directory exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_transcript_is_what_the_daemon_answers() {
    let files = transcripts();
    assert!(files.len() >= 5, "the transcripts are there: {files:?}");
    let failures: Vec<String> = files.iter().filter_map(|f| play_transcript(f).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_wrong_expectation_is_caught() {
    // The checker itself: a transcript that expects another step key must fail.
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(transcripts().iter().find(|p| p.ends_with("steps_and_replay.jsonl")).unwrap()).unwrap();
    let broken = original.replacen("double:1:81148b1be37b2b7b", "double:1:0000000000000000", 1);
    assert_ne!(original, broken);
    let path = dir.path().join("broken.jsonl");
    std::fs::write(&path, broken).unwrap();
    let error = play_transcript(&path).unwrap_err();
    assert!(error.contains("step_key"), "{error}");
    // And one that expects other stored Plays.
    std::fs::write(&path, original.replacen(r#""replayed": true"#, r#""replayed": false"#, 1)).unwrap();
    let error = play_transcript(&path).unwrap_err();
    assert!(error.contains("$c1.replayed"), "{error}");
}

/// An engine over `dir` with these Logics (name, source) and `main` started with `inputs`.
fn started_main(dir: &Path, logics: &[(&str, &str)], inputs: Value) -> (Engine, String) {
    let engine = engine_over(dir);
    for (name, source) in logics {
        let params = LogicCreateParams { name: name.to_string(), python_source: Some(source.to_string()), ..Default::default() };
        engine.core.library.create_logic(params).unwrap();
    }
    let inputs = inputs.as_object().cloned().unwrap_or_default();
    let root = engine.start_play(PlayStartParams { logic: "main".into(), inputs, ..Default::default() }).unwrap().sid;
    (engine, root)
}

/// `main` (it returns `{}`) started, and a Logic `child` (likewise) for it to call.
fn started_main_calling_child(dir: &Path) -> (Engine, String) {
    let child = "from hero_tracing import logic\n\n\n@logic(name=\"child\")\ndef child():\n    return {}\n";
    let main = "from hero_tracing import logic\n\n\n@logic(name=\"main\")\ndef main():\n    return {}\n";
    started_main(dir, &[("child", child), ("main", main)], Value::Null)
}

/// The runner's `invoke_start` (id 2) of `logic` as `parent`'s first step (seq 0), no args.
fn first_call(parent: &str, logic: &str) -> String {
    format!(r#"{{"id": 2, "op": "invoke_start", "parent": "{parent}", "logic": "{logic}", "args": {{}}, "local": false, "seq": 0}}"#)
}

/// What a runner with the fixture's secret sends first.
const FIXTURE_HELLO: &str = r#"{"id": 1, "op": "hello", "secret": "fixture-secret", "pid": 7, "python": "3.11.7"}"#;

/// `main`'s first run: it calls `logic` once (seq 0), that child ends with `end` (the
/// `status`, `output` and `error` fields of its invoke_end), and `main` asks "go"; then the
/// question is answered. Returns the child's sid, the question's resume id and the
/// invoke_start line, which a replay sends again.
fn ran_once_and_answered(engine: &Engine, root: &str, logic: &str, end: &str) -> (String, String, String) {
    let core = &engine.core;
    let call = first_call(root, logic);
    let mut first = greeted_run(core, root, RunMode::Fresh);
    let started: Value = serde_json::from_str(&first.handle_line(&call).unwrap().unwrap()).unwrap();
    let child = text_of(&started, "play_sid");
    let end = format!(r#"{{"op": "invoke_end", "play_sid": "{child}", {end}, "traceback": ""}}"#);
    assert_eq!(first.handle_line(&end).unwrap(), None);
    let question = asked(&mut first, root, 3, "go");
    end_run(core, Some(first));
    engine.resume(root, &question, Value::Bool(true)).unwrap();
    (child, question, call)
}

/// A `pause` line of `play_sid` asking a confirm question named `name`.
fn pause_line(play_sid: &str, id: u32, name: &str) -> String {
    format!(r#"{{"id": {id}, "op": "pause", "play_sid": "{play_sid}", "name": "{name}", "ui": {{"kind": "confirm", "prompt": "Go?", "options": []}}, "schema": {{"type": "boolean"}}}}"#)
}

/// Asks that question in `session` and returns the resume id it waits under.
fn asked(session: &mut Session, play_sid: &str, id: u32, name: &str) -> String {
    let answer: Value = serde_json::from_str(&session.handle_line(&pause_line(play_sid, id, name)).unwrap().unwrap()).unwrap();
    text_of(&answer, "resume_id")
}

#[test]
fn hello_answered_ahead_and_unanswered_child_ends_keep_the_protocol_checks() {
    let dir = tempfile::tempdir().unwrap();
    let source = "from hero_tracing import logic\n\n\n@logic(name=\"main\")\ndef main(x=1):\n    return {}\n";
    let (engine, root) = started_main(dir.path(), &[("main", source)], serde_json::json!({"x": 2}));
    let core = &engine.core;
    let store = core.library.store();
    let play = store.play_get(&root).unwrap().unwrap();
    let version = store.version_get(&play.logic_version_sid).unwrap().unwrap();
    // The channel of a runner started by the daemon: its inherited fd is the authentication.
    let inherited = || Session::new(core, String::new(), play.clone(), &version, "main", RunMode::Fresh, Vec::new());
    let hello = r#"{"id": 1, "op": "hello", "secret": "", "pid": 7, "python": "3.11.7"}"#;

    assert_eq!(begin_run(core, &root, RunMode::Fresh).unwrap().answer_hello_ahead(), None, "a channel with a secret waits to be asked");
    let answered_when_asked = inherited().handle_line(hello).unwrap().expect("hello is answered");
    let mut ahead = inherited();
    assert_eq!(ahead.answer_hello_ahead().as_deref(), Some(answered_when_asked.as_str()));
    assert_eq!(ahead.answer_hello_ahead(), None, "answered once");
    // The runner's hello is still read and checked, and gets no second answer.
    assert_eq!(ahead.handle_line(hello).unwrap(), None);
    let finish = r#"{"id": 2, "op": "finish", "status": "success", "output": {}, "error": "", "traceback": ""}"#;
    assert!(ahead.handle_line(finish).unwrap().unwrap().contains(r#""ok":true"#));

    // Any other first line is refused as before.
    let mut other = inherited();
    other.answer_hello_ahead().unwrap();
    let error = other.handle_line(r#"{"id": 1, "op": "resolve", "logic": "main"}"#).unwrap_err();
    assert!(error.to_string().contains("before hello"), "{error}");
    // An unanswered invoke_end that cannot be recorded ends the run, naming the Play.
    let mut ended = inherited();
    ended.answer_hello_ahead().unwrap();
    assert_eq!(ended.handle_line(hello).unwrap(), None);
    let end = format!(r#"{{"op": "invoke_end", "play_sid": "{root}", "status": "success", "output": {{}}, "error": "", "traceback": ""}}"#);
    let error = ended.handle_line(&end).unwrap_err();
    assert!(error.to_string().contains(&format!("cannot record the end of child Play {root}")), "{error}");
    let mut late = inherited();
    late.answer_hello_ahead().unwrap();
    let error = late.handle_line(&hello.replace(r#""id": 1"#, r#""id": 2"#)).unwrap_err();
    assert!(error.to_string().contains("first request has id 1"), "{error}");
}

#[test]
fn a_replayed_notification_takes_only_steps_offered_as_memos() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = "from hero_tracing import logic\n\n\n@logic(name=\"flaky\")\ndef flaky():\n    raise logic.Failed(\"no\")\n";
    let main = "from hero_tracing import logic\n\n\n@logic(name=\"main\")\ndef main():\n    return {}\n";
    let (engine, root) = started_main(dir.path(), &[("flaky", flaky), ("main", main)], Value::Null);
    let core = &engine.core;
    let (child, question, call) = ran_once_and_answered(&engine, &root, "flaky", r#""status": "failed", "output": {}, "error": "no""#);

    let mut second = begin_run(core, &root, RunMode::Resume { play_sid: root.clone(), resume_id: question }).unwrap();
    let greeted: Value = serde_json::from_str(&second.handle_line(FIXTURE_HELLO).unwrap().unwrap()).unwrap();
    assert!(greeted.get("memo").is_none(), "a failed step is no memo: {greeted}");
    // A runner claiming it took the failed step from a memo changes nothing: the call at it
    // is still answered from the record.
    let forged = format!(r#"{{"op": "replayed", "play_sid": "{root}", "seqs": [0, 7]}}"#);
    assert_eq!(second.handle_line(&forged).unwrap(), None);
    let again: Value = serde_json::from_str(&second.handle_line(&call).unwrap().unwrap()).unwrap();
    assert_eq!(again["error"]["kind"], "child_failed", "{again}");
    assert_eq!(text_of(&again["error"], "play_sid"), child);
}

#[test]
fn a_resumed_run_takes_the_answered_tree_only_when_nothing_was_written_since() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, root) = started_main_calling_child(dir.path());
    let core = &engine.core;
    let store = core.library.store();
    let (child_sid, question, _) = ran_once_and_answered(&engine, &root, "child", r#""status": "success", "output": {"k": 1}, "error": """#);

    // Nothing written after the answer: the run starts from the tree play_resume read.
    let mode = RunMode::Resume { play_sid: root.clone(), resume_id: question.clone() };
    let (kept_root, kept) = load_run(core, &root, &mode).unwrap().unwrap();
    let mut read = store.play_tree(&root).unwrap();
    assert_eq!((kept_root, kept), (read.remove(0), read), "the kept tree is the stored one");

    // Something written after the answer: the run reads the tree again and sees it.
    let mut again = greeted_run(core, &root, mode.clone());
    // The answered question again, then a new one.
    again.handle_line(&pause_line(&root, 2, "go")).unwrap();
    let second_question = asked(&mut again, &root, 3, "more");
    end_run(core, Some(again));
    engine.resume(&root, &second_question, Value::Bool(true)).unwrap();
    let mut changed = store.play_get(&child_sid).unwrap().unwrap();
    changed.error_message = "written after the answer".into();
    store.play_update(&changed).unwrap();
    let mode = RunMode::Resume { play_sid: root.clone(), resume_id: second_question };
    let (_, tree) = load_run(core, &root, &mode).unwrap().unwrap();
    let child = tree.iter().find(|p| p.sid == child_sid).expect("the child is in the tree");
    assert_eq!(child.error_message, "written after the answer");
}

#[test]
fn a_run_that_ends_writes_its_logs_and_unwritten_children_with_its_result_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, root) = started_main_calling_child(dir.path());
    let core = &engine.core;
    let store = core.library.store();
    let mut run = greeted_run(core, &root, RunMode::Fresh);
    let started: Value = serde_json::from_str(&run.handle_line(&first_call(&root, "child")).unwrap().unwrap()).unwrap();
    let child_sid = text_of(&started, "play_sid");
    let log = format!(r#"{{"op": "log", "play_sid": "{root}", "text": "said once\n"}}"#);
    assert_eq!(run.handle_line(&log).unwrap(), None);
    let finish = r#"{"id": 3, "op": "finish", "status": "success", "output": {}, "error": "", "traceback": ""}"#;
    run.handle_line(finish).unwrap();
    assert!(store.play_get(&child_sid).unwrap().is_none(), "the child is not written before the run ends");

    assert_eq!(writes_of_end(core, run), 1, "the run's end is one commit");
    let recorded = store.play_get(&root).unwrap().unwrap();
    assert_eq!((recorded.status, recorded.logs.as_str()), (PlayStatus::Success, "said once\n"));
    assert_eq!(recorded.sub_play_sids, vec![child_sid.clone()]);
    let unfinished = store.play_get(&child_sid).unwrap().unwrap();
    assert_eq!(unfinished.status, PlayStatus::Failed, "{unfinished:?}");
    assert!(unfinished.error_message.starts_with("the run ended before this step finished"), "{unfinished:?}");
}

#[test]
fn a_run_that_only_waits_writes_nothing_after_its_question_unless_something_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, root) = started_main_calling_child(dir.path());
    let core = &engine.core;
    let store = core.library.store();
    let mut quiet = greeted_run(core, &root, RunMode::Fresh);
    let question = asked(&mut quiet, &root, 2, "go");
    assert_eq!(writes_of_end(core, quiet), 0, "the pause wrote the chain; the end has nothing to add");
    let waiting = store.play_get(&root).unwrap().unwrap();
    assert_eq!(waiting.status, PlayStatus::AwaitingResume);
    assert_eq!(waiting.pending_resumes.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![question.as_str()]);

    // A line logged after the question is written at the end.
    engine.resume(&root, &question, Value::Bool(true)).unwrap();
    let mode = RunMode::Resume { play_sid: root.clone(), resume_id: question };
    let mut talkative = greeted_run(core, &root, mode);
    talkative.handle_line(&pause_line(&root, 2, "go")).unwrap();
    asked(&mut talkative, &root, 3, "more");
    let log = format!(r#"{{"op": "log", "play_sid": "{root}", "text": "after the question\n"}}"#);
    assert_eq!(talkative.handle_line(&log).unwrap(), None);
    assert_eq!(writes_of_end(core, talkative), 1, "what changed after the question is written once");
    let recorded = store.play_get(&root).unwrap().unwrap();
    assert!(recorded.logs.ends_with("after the question\n"), "{:?}", recorded.logs);
    assert_eq!(recorded.status, PlayStatus::AwaitingResume);
}
