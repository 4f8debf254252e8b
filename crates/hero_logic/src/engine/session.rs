//! One runner connection: the daemon's half of the protocol in `docs/protocol.md`.
//!
//! The session keeps the Plays of its run that are still open in memory (logs, outputs and
//! stats accumulate there) and writes each one when it finishes, so a child step costs one
//! transaction to start and one to finish.
//!
//! A resumed run replays: the Plays recorded by earlier runs of the same top-level Play are
//! prefetched in one query, a child call at a recorded position gets that child's stored
//! result (it does not run again), an unfinished recorded child is re-entered under the same
//! sid, and an answered pause returns its answer. A call that does not match what was
//! recorded at its position fails the Play instead of silently diverging.
//!
//! Child calls may arrive concurrently (`logic.map`, threads): each carries its position
//! (`seq`, fixed by the caller in call order, or `unordered`), so a step is found by its
//! key, never by arrival order. A question in one branch marks only that Play's chain as
//! waiting; the other branches keep reporting until the runner exits.

use std::collections::{HashMap, HashSet};

use hero_logic_api::{Binding, LogicField, LogicVersion, Play, PlayStatus, ResumeRequest, ResumeUi};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::step::Position;
use super::{forms, inputs, step, Core};
use crate::error::ServiceError;
use crate::mapping::{self, Side};
use crate::now_ms;
use crate::parse;
use crate::store::PlayBatch;

/// What the runner needs to run one version of a Logic.
#[derive(Debug, Clone, Serialize)]
pub struct LogicSpec {
    pub name: String,
    pub logic_sid: String,
    pub version_sid: String,
    pub entry: String,
    pub python_source: String,
    pub inputs: Vec<LogicField>,
    pub outputs: Vec<LogicField>,
    /// For a bound version: its mapping tables. The runner only sees the generated body
    /// that calls the target; the daemon maps inputs and outputs around that call.
    #[serde(skip)]
    pub binding: Option<Binding>,
}

/// The body run for a bound version: one call of its target with the Play's inputs, which
/// the daemon replaces by the input mappings' result.
fn bound_body(target: &str) -> String {
    let target = serde_json::to_string(target).expect("strings serialize");
    format!("from hero_tracing import logic\n\n\ndef __bound__(**inputs):\n    return logic.invoke({target}, **inputs)\n")
}

const BOUND_ENTRY: &str = "__bound__";

/// Runs one side of a bound version's mappings; a failure names the row.
fn map_side(side: Side, binding: &Binding, inputs: &Map<String, Value>, outputs: Option<&Map<String, Value>>) -> Result<Map<String, Value>, String> {
    let rows = match side {
        Side::Input => &binding.input_mappings,
        Side::Output => &binding.output_mappings,
    };
    mapping::evaluate(side, rows, inputs, outputs).map_err(|e| format!("{} of the binding to {:?}: {e}", side.table(), binding.target))
}

/// The top-level Play's result as the runner reported it.
#[derive(Debug, Clone)]
pub struct Finish {
    pub status: PlayStatus,
    pub output: Map<String, Value>,
    pub error: String,
}

/// The runner broke the protocol; the connection is dropped and the Play fails.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the runner sent a line that is not a JSON object: {0}")]
    NotJson(String),
    #[error("the runner did not present the Play's secret")]
    BadSecret,
    #[error("the runner sent {0:?} before hello")]
    NotGreeted(String),
}

/// Why a run of a top-level Play was started.
#[derive(Debug, Clone, PartialEq)]
pub enum RunMode {
    /// The first run.
    Fresh,
    /// After `play_resume` answered `resume_id` of `play_sid`.
    Resume { play_sid: String, resume_id: String },
    /// After a daemon crash left the Play running.
    Recover,
}

struct OpenPlay {
    play: Play,
    spec: LogicSpec,
    /// Pauses asked so far by this Play in this run: the `n` of the resume id.
    pauses: u32,
    /// While a resumed Play replays up to where it stopped, its logs and stats were already
    /// recorded by the earlier run and are not taken again.
    quiet: bool,
    /// Logs, outputs or stats arrived since the Play was last written.
    dirty: bool,
}

/// Why a request was refused; the kind tells the runner what to raise.
enum Refusal {
    Service(ServiceError),
    ChildFailed(String),
    Nondeterminism(String),
}

impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Self {
        Refusal::Service(error)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(error: crate::store::StoreError) -> Self {
        Refusal::Service(error.into())
    }
}

pub struct Session<'a> {
    core: &'a Core,
    secret: String,
    root_sid: String,
    greeted: bool,
    mode: RunMode,
    open: HashMap<String, OpenPlay>,
    /// Ordered child calls made so far by each parent in this run: the `n` of the step key
    /// when the runner sends no `seq`.
    calls: HashMap<String, u32>,
    /// Unordered calls so far per (parent, logic name, args hash): the `k` of the step key.
    unordered: HashMap<(String, String, String), u32>,
    specs: HashMap<String, LogicSpec>,
    /// Children recorded by earlier runs, per parent, by where they were called.
    recorded: HashMap<String, HashMap<Slot, Play>>,
    /// Plays that wait for a person in this run, with their ancestors: written at the
    /// question, and afterwards only by the guarded last write of the run.
    waiting: HashSet<String>,
    /// Recorded children whose stored result this run used instead of running them.
    replayed: Vec<Play>,
    /// Versions whose source the runner has already been sent.
    sent_sources: std::collections::HashSet<String>,
    /// Open children not written yet, in creation order. A child's start is written together
    /// with the next write of the run (its own end, as a rule), so a child step costs one
    /// commit; `flush` writes them for the live view when the run idles.
    unsaved: Vec<String>,
    pub finish: Option<Finish>,
    /// The resume id of the pause that suspended this run.
    pub suspended: Option<String>,
    /// Set when replay diverged from the recorded run; the Play fails with it.
    pub fatal: Option<String>,
}

impl<'a> Session<'a> {
    /// `tree` is the top-level Play's recorded descendants (empty for a fresh run).
    pub fn new(
        core: &'a Core,
        secret: String,
        root: Play,
        version: &LogicVersion,
        logic_name: &str,
        mode: RunMode,
        tree: Vec<Play>,
    ) -> Session<'a> {
        let mut session = Session {
            core,
            secret,
            root_sid: root.sid.clone(),
            greeted: false,
            open: HashMap::new(),
            calls: HashMap::new(),
            unordered: HashMap::new(),
            waiting: HashSet::new(),
            specs: HashMap::new(),
            recorded: HashMap::new(),
            replayed: Vec::new(),
            unsaved: Vec::new(),
            sent_sources: Default::default(),
            finish: None,
            suspended: None,
            fatal: None,
            mode,
        };
        session.recorded = recorded_children(&root, tree);
        let spec = session.spec_of(version, logic_name);
        let quiet = session.replays_quietly();
        session.open.insert(root.sid.clone(), OpenPlay { play: root, spec, pauses: 0, quiet, dirty: false });
        session
    }

    fn replays_quietly(&self) -> bool {
        matches!(self.mode, RunMode::Resume { .. })
    }

    /// Handles one line; returns the response line for a request, `None` for a notification.
    pub fn handle_line(&mut self, line: &str) -> Result<Option<String>, ProtocolError> {
        let message: Map<String, Value> = match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            _ => return Err(ProtocolError::NotJson(line.chars().take(200).collect())),
        };
        let op = message.get("op").and_then(Value::as_str).unwrap_or_default().to_string();
        if !self.greeted {
            if op != "hello" {
                return Err(ProtocolError::NotGreeted(op));
            }
            if message.get("secret").and_then(Value::as_str) != Some(self.secret.as_str()) {
                return Err(ProtocolError::BadSecret);
            }
            self.greeted = true;
        }
        let Some(id) = message.get("id").cloned() else {
            self.notification(&op, &message);
            return Ok(None);
        };
        let body = match self.request(&op, &message) {
            Ok(Value::Object(mut fields)) => {
                fields.insert("id".into(), id);
                fields.insert("ok".into(), Value::Bool(true));
                Value::Object(fields)
            }
            Ok(_) => json!({"id": id, "ok": true}),
            Err(refusal) => json!({"id": id, "ok": false, "error": refusal_body(&refusal)}),
        };
        Ok(Some(body.to_string()))
    }

    fn request(&mut self, op: &str, message: &Map<String, Value>) -> Result<Value, Refusal> {
        match op {
            "hello" => Ok(self.hello()),
            "resolve" => {
                let name = text(message, "logic");
                let (version, logic_name) = self.current_version(&name)?;
                // The importer only wraps the Logic in a callable; its source is compiled at
                // the first call, so this answer does not count as having sent it.
                Ok(json!({"logic": self.spec_of(&version, &logic_name)}))
            }
            "invoke_start" => self.invoke_start(message),
            "invoke_end" => Ok(self.invoke_end(message)?),
            "pause" => self.pause(message),
            "finish" => {
                let root = &self.open[&self.root_sid];
                let (status, output, error) = self.bound_result(root, terminal_status(message), object(message, "output"), failure_text(message));
                self.finish = Some(Finish { status, output, error });
                Ok(json!({}))
            }
            other => Err(ServiceError::validation("op", format!("unknown request op {other:?}"), "see docs/protocol.md").into()),
        }
    }

    fn notification(&mut self, op: &str, message: &Map<String, Value>) {
        let sid = text(message, "play_sid");
        let Some(open) = self.open.get_mut(&sid) else {
            tracing::debug!(%op, %sid, "notification for a Play that is not open in this run");
            return;
        };
        let play = &mut open.play;
        match op {
            "log" | "stats" if open.quiet => return,
            "log" => play.logs.push_str(message.get("text").and_then(Value::as_str).unwrap_or_default()),
            "output" => play.output_data.extend(object(message, "values")),
            "stats" => {
                play.total_tokens_prompt += message.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
                play.total_tokens_completion += message.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0);
                play.total_cost_usd += message.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
            }
            other => {
                tracing::debug!(op = %other, "unknown notification ignored");
                return;
            }
        }
        open.dirty = true;
    }

    fn hello(&mut self) -> Value {
        let root = &self.open[&self.root_sid];
        let play = json!({"sid": root.play.sid, "name": root.play.name, "inputs": root.play.input_data});
        let spec = root.spec.clone();
        json!({"play": play, "logic": self.wire(&spec)})
    }

    fn invoke_start(&mut self, message: &Map<String, Value>) -> Result<Value, Refusal> {
        let parent_sid = text(message, "parent");
        let name = text(message, "logic");
        let local = message.get("local").and_then(Value::as_bool).unwrap_or(false);
        let args = object(message, "args");
        let parent = self.open.get(&parent_sid).ok_or_else(|| {
            ServiceError::validation("parent", format!("Play {parent_sid:?} is not running in this run"), "")
        })?;
        let parent_spec = parent.spec.clone();
        let args = match &parent_spec.binding {
            Some(binding) => map_side(Side::Input, binding, &parent.play.input_data, None)
                .map_err(|m| ServiceError::validation("args", m, "fix the bound version's input mappings"))?,
            None => args,
        };
        let position = self.position(&parent_sid, message, &name, &args);
        let slot = match position {
            Position::Ordered(n) => Slot::Seq(n),
            Position::Unordered(_) => Slot::Key(step::step_key(&name, position, &Value::Object(args.clone()))),
        };
        if let Some(recorded) = self.recorded.get_mut(&parent_sid).and_then(|c| c.remove(&slot)) {
            return self.replay_step(&parent_sid, &parent_spec, position, &name, local, args, recorded);
        }
        let sent = args.clone();
        let (spec, args) = if local {
            (LogicSpec { name: name.clone(), ..parent_spec }, args)
        } else {
            let (version, logic_name) = self.current_version(&name)?;
            let checked = inputs::check(&version.inputs, args).map_err(|e| e.within(&name))?;
            (self.spec_of(&version, &logic_name), checked)
        };
        let key = call_key(&name, position, &sent, &args);
        let now = now_ms();
        let child = Play {
            logic_sid: spec.logic_sid.clone(),
            logic_version_sid: spec.version_sid.clone(),
            name: name.clone(),
            parent_play_sid: parent_sid,
            step_key: key.clone(),
            status: PlayStatus::Running,
            input_data: args,
            started_at: now,
            created_at: now,
            ..Default::default()
        };
        let child = Play { sid: self.core.next_sid()?, ..child };
        self.unsaved.push(child.sid.clone());
        let response =
            json!({"play_sid": child.sid, "step_key": key, "cached": false, "logic": self.wire(&spec), "args": child.input_data});
        self.open.insert(child.sid.clone(), OpenPlay { play: child, spec, pauses: 0, quiet: false, dirty: false });
        Ok(response)
    }

    /// Where this call sits among its parent's calls: the runner's `seq` (or the daemon's
    /// count when it sends none), or, for an `unordered` call, the occurrence of this name
    /// and these arguments among the parent's unordered calls.
    fn position(&mut self, parent_sid: &str, message: &Map<String, Value>, name: &str, args: &Map<String, Value>) -> Position {
        if message.get("unordered").and_then(Value::as_bool).unwrap_or(false) {
            let hash = step::args_hash(&Value::Object(args.clone()));
            let count = self.unordered.entry((parent_sid.to_string(), name.to_string(), hash)).or_insert(0);
            *count += 1;
            return Position::Unordered(*count - 1);
        }
        let counted = self.calls.entry(parent_sid.to_string()).or_insert(0);
        let n = message.get("seq").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(*counted);
        *counted = (*counted).max(n.saturating_add(1));
        Position::Ordered(n)
    }

    /// A child call at a position an earlier run recorded: its stored result, or the same
    /// child re-entered when it had not finished.
    #[allow(clippy::too_many_arguments)]
    fn replay_step(
        &mut self,
        parent_sid: &str,
        parent_spec: &LogicSpec,
        position: Position,
        name: &str,
        local: bool,
        sent: Map<String, Value>,
        recorded: Play,
    ) -> Result<Value, Refusal> {
        let args = if local || recorded.name != name {
            sent.clone()
        } else {
            let version = self.recorded_version(&recorded)?;
            inputs::check(&version.inputs, sent.clone()).map_err(|e| e.within(name))?
        };
        let key = call_key(name, position, &sent, &args);
        if key != recorded.step_key {
            let step = match position {
                Position::Ordered(n) => n.to_string(),
                Position::Unordered(k) => format!("~{k}"),
            };
            let message = format!(
                "non-deterministic replay: step {step} of Play {parent_sid} now calls {name:?} (step key {key}), \
                 but the recorded run called {:?} (step key {}) there; a logic must make the same calls in the \
                 same order with the same arguments until it reaches new work",
                recorded.name, recorded.step_key
            );
            // The first divergence is the one to fix; later ones (a fan-out's other calls) follow from it.
            self.fatal.get_or_insert_with(|| message.clone());
            return Err(Refusal::Nondeterminism(message));
        }
        if recorded.status == PlayStatus::Success {
            let output = self.open[parent_sid]
                .play
                .step_outputs
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Value::Object(recorded.output_data.clone()));
            let sid = recorded.sid.clone();
            self.replayed.push(recorded);
            return Ok(json!({"play_sid": sid, "step_key": key, "cached": true, "output": output}));
        }
        if recorded.status.is_terminal() {
            let message = recorded.error_message.clone();
            self.replayed.push(recorded);
            return Err(Refusal::ChildFailed(message));
        }
        // Unfinished: the same child Play runs again from its start, replaying its own steps.
        let spec = if local {
            LogicSpec { name: name.to_string(), ..parent_spec.clone() }
        } else {
            let version = self.recorded_version(&recorded)?;
            self.spec_of(&version, name)
        };
        if let Some(parent) = self.open.get_mut(parent_sid) {
            parent.quiet = false;
        }
        let mut child = recorded;
        child.status = PlayStatus::Running;
        let response =
            json!({"play_sid": child.sid, "step_key": key, "cached": false, "logic": self.wire(&spec), "args": child.input_data});
        let quiet = self.replays_quietly();
        self.open.insert(child.sid.clone(), OpenPlay { play: child, spec, pauses: 0, quiet, dirty: false });
        Ok(response)
    }

    fn recorded_version(&self, recorded: &Play) -> Result<LogicVersion, ServiceError> {
        self.core.library.store().version_get(&recorded.logic_version_sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("the version Play {} ran no longer exists", recorded.sid), "")
        })
    }

    fn pause(&mut self, message: &Map<String, Value>) -> Result<Value, Refusal> {
        let sid = text(message, "play_sid");
        let name = Some(text(message, "name")).filter(|n| !n.is_empty()).unwrap_or_else(|| "pause".into());
        let ui_fields = object(message, "ui");
        forms::check_form(&ui_fields).map_err(|m| ServiceError::validation("ui", m, "see ask_user in the SDK"))?;
        let fresh = match &self.mode {
            RunMode::Resume { play_sid, resume_id } => Some((play_sid.clone(), resume_id.clone())),
            _ => None,
        };
        let open = self
            .open
            .get_mut(&sid)
            .ok_or_else(|| ServiceError::validation("play_sid", format!("Play {sid:?} is not running in this run"), ""))?;
        let resume_id = format!("{}:{name}:{}", open.play.name, open.pauses);
        open.pauses += 1;
        if let Some(answer) = open.play.received_resumes.get(&resume_id) {
            if fresh.as_ref() == Some(&(sid.clone(), resume_id.clone())) {
                open.quiet = false;
            }
            return Ok(json!({"answered": true, "payload": answer}));
        }
        let mut ui: ResumeUi = serde_json::from_value(Value::Object(ui_fields)).unwrap_or_default();
        if ui.kind.is_empty() {
            ui.kind = "text".into();
        }
        if !open.play.pending_resumes.iter().any(|r| r.id == resume_id) {
            open.play.pending_resumes.push(ResumeRequest {
                id: resume_id.clone(),
                name,
                schema: message.get("schema").cloned().unwrap_or_else(|| json!({})),
                ui,
                asked_at: now_ms(),
                payload: Value::Null,
                resumed_at: 0,
            });
        }
        // The Play that asks and its ancestors wait for the person; its siblings in other
        // branches run on and report their ends as usual.
        let chain = self.chain_of(&sid);
        for sid in &chain {
            if let Some(open) = self.open.get_mut(sid) {
                open.play.status = PlayStatus::AwaitingResume;
            }
        }
        self.waiting.extend(chain.iter().cloned());
        let store = self.core.library.store();
        let mut batch = self.unsaved_batch(None);
        let rows: Vec<Play> =
            chain.iter().filter(|s| !self.unsaved.contains(s)).filter_map(|s| self.open.get(s)).map(|o| o.play.clone()).collect();
        if self.suspended.is_none() {
            batch.updates = rows;
            store.play_batch(&batch)?;
            self.suspended = Some(resume_id.clone());
        } else {
            // A later question of the same run: an answer to the first may already have
            // moved the chain on, which this write must not undo.
            store.play_batch(&batch)?;
            store.plays_update(&rows, Some((&self.root_sid, PlayStatus::AwaitingResume)))?;
        }
        self.unsaved.clear();
        self.core.changed();
        Ok(json!({"answered": false, "resume_id": resume_id}))
    }

    fn invoke_end(&mut self, message: &Map<String, Value>) -> Result<Value, ServiceError> {
        let sid = text(message, "play_sid");
        if sid == self.root_sid {
            return Err(ServiceError::validation("play_sid", "the top-level Play ends with finish", ""));
        }
        let closing = self
            .open
            .remove(&sid)
            .ok_or_else(|| ServiceError::validation("play_sid", format!("Play {sid:?} is not open"), ""))?;
        let (status, output, error) =
            self.bound_result(&closing, terminal_status(message), object(message, "output"), failure_text(message));
        let bound = closing.spec.binding.is_some();
        let mut play = closing.play;
        if bound {
            // A bound Play's output is exactly what its output mappings produce.
            play.output_data.clear();
        }
        close(&mut play, status, output, error);
        let memo = (status == PlayStatus::Success).then(|| Value::Object(play.output_data.clone()));
        // The child's ancestors that are not written yet go in the same commit, so a recorded
        // result is always reachable from the top-level Play.
        let mut batch = self.unsaved_batch(Some(&play));
        if !self.unsaved.contains(&play.sid) {
            batch.updates.push(play.clone());
        }
        if let Some(memo) = &memo {
            batch.memos.push((play.parent_play_sid.clone(), play.step_key.clone(), memo.clone()));
        }
        self.core.library.store().play_batch(&batch)?;
        self.unsaved.clear();
        if let (Some(memo), Some(parent)) = (memo, self.open.get_mut(&play.parent_play_sid)) {
            parent.play.step_outputs.insert(play.step_key.clone(), memo);
        }
        self.core.changed();
        if bound {
            // The caller gets the mapped result, not what the generated body returned.
            return Ok(json!({"status": play.status.as_str(), "output": play.output_data, "error": play.error_message}));
        }
        Ok(json!({}))
    }

    /// `sid` and its open ancestors, the asking Play first.
    fn chain_of(&self, sid: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut next = Some(sid.to_string());
        while let Some(sid) = next.take() {
            let Some(open) = self.open.get(&sid) else { break };
            next = Some(open.play.parent_play_sid.clone()).filter(|p| !p.is_empty() && !chain.contains(p));
            chain.push(sid);
        }
        chain
    }

    /// The unwritten children, as new rows in creation order (so the parents'
    /// `sub_play_sids` stay in call order): the open ones, and `closing`, just taken out.
    fn unsaved_batch(&self, closing: Option<&Play>) -> PlayBatch {
        let new_children = self
            .unsaved
            .iter()
            .filter_map(|sid| match closing {
                Some(play) if play.sid == *sid => Some(play.clone()),
                _ => self.open.get(sid).map(|o| o.play.clone()),
            })
            .collect();
        PlayBatch { new_children, ..Default::default() }
    }

    /// Writes what a live view is missing: open children not written yet, and the logs,
    /// outputs and stats that arrived for written ones. Called when the runner is quiet.
    pub fn flush(&mut self) -> Result<(), crate::store::StoreError> {
        // A waiting chain is written; an answer may already have moved it on, and only the
        // guarded last write of the run may touch it again. Branches still running may.
        let mut batch = self.unsaved_batch(None);
        for open in self.open.values().filter(|o| o.dirty && !self.unsaved.contains(&o.play.sid) && !self.waiting.contains(&o.play.sid)) {
            batch.updates.push(open.play.clone());
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.core.library.store().play_batch(&batch)?;
        self.unsaved.clear();
        for open in self.open.values_mut() {
            open.dirty = false;
        }
        self.core.changed();
        Ok(())
    }

    /// A Play's result as reported, or, for a bound version that succeeded, its output
    /// mappings applied (a mapping that fails fails the Play, naming the row).
    fn bound_result(
        &self,
        open: &OpenPlay,
        status: PlayStatus,
        output: Map<String, Value>,
        error: String,
    ) -> (PlayStatus, Map<String, Value>, String) {
        match (&open.spec.binding, status) {
            (Some(binding), PlayStatus::Success) => match map_side(Side::Output, binding, &open.play.input_data, Some(&output)) {
                Ok(mapped) => (PlayStatus::Success, mapped, error),
                Err(message) => (PlayStatus::Failed, Map::new(), message),
            },
            _ => (status, output, error),
        }
    }

    fn current_version(&self, name: &str) -> Result<(LogicVersion, String), ServiceError> {
        let store = self.core.library.store();
        let version = match store.current_version_by_name(name)? {
            Some(version) => version,
            None => {
                // Not a name: a sid, or a Logic without a current version.
                let logic = self.core.library.resolve_logic(name).map_err(|_| {
                    ServiceError::not_found(format!("no logic named {name:?}"), "create it, or fix the name in logic.invoke")
                })?;
                let version = store.version_get(&logic.current_version_sid)?.ok_or_else(|| {
                    ServiceError::not_found(format!("logic {name:?} has no current version"), "create a version of it")
                })?;
                return Ok((version, logic.name));
            }
        };
        Ok((version, name.to_string()))
    }

    /// A spec as sent to the runner: the source only the first time its version is sent,
    /// since the runner compiles each version once (large sources are not resent per call).
    fn wire(&mut self, spec: &LogicSpec) -> Value {
        let mut value = serde_json::to_value(spec).expect("specs always serialize");
        if !self.sent_sources.insert(spec.version_sid.clone()) {
            value["python_source"] = Value::String(String::new());
        }
        value
    }

    fn spec_of(&mut self, version: &LogicVersion, logic_name: &str) -> LogicSpec {
        if let Some(spec) = self.specs.get(&version.sid) {
            return spec.clone();
        }
        let (entry, python_source) = match &version.binding {
            Some(binding) => {
                let target = self.core.library.resolve_logic(&binding.target).map(|l| l.name).unwrap_or_else(|_| binding.target.clone());
                (BOUND_ENTRY.to_string(), bound_body(&target))
            }
            None => {
                let entry = parse::read_signature_named(&version.python_source, logic_name).map(|s| s.entry).unwrap_or_default();
                (entry, version.python_source.clone())
            }
        };
        let spec = LogicSpec {
            name: logic_name.to_string(),
            logic_sid: version.logic_sid.clone(),
            version_sid: version.sid.clone(),
            entry,
            python_source,
            inputs: version.inputs.clone(),
            outputs: version.outputs.clone(),
            binding: version.binding.clone(),
        };
        self.specs.insert(version.sid.clone(), spec.clone());
        spec
    }

    /// Takes the Plays still open when the run ended: the root first, then unfinished children.
    pub fn take_open(&mut self) -> (Play, Vec<Play>) {
        let root = self.open.remove(&self.root_sid).map(|o| o.play).expect("the root stays open until taken");
        let mut children: Vec<Play> = self.open.drain().map(|(_, o)| o.play).collect();
        children.sort_by(|a, b| a.sid.cmp(&b.sid));
        (root, children)
    }

    /// Recorded children whose stored result was used, marked `replayed` for the UI.
    pub fn take_replayed(&mut self) -> Vec<Play> {
        let mut plays = std::mem::take(&mut self.replayed);
        plays.retain(|p| !p.replayed);
        for play in &mut plays {
            play.replayed = true;
        }
        plays
    }
}

/// Where a recorded child was called: an ordered call by its `seq`, an unordered one by its
/// whole key (name, occurrence and arguments).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot {
    Seq(u32),
    Key(String),
}

/// The step key of a call: an ordered call hashes the arguments as recorded (validated,
/// defaults applied), an unordered one the arguments as sent, which is what it is found by.
fn call_key(name: &str, position: Position, sent: &Map<String, Value>, checked: &Map<String, Value>) -> String {
    let args = match position {
        Position::Ordered(_) => checked,
        Position::Unordered(_) => sent,
    };
    step::step_key(name, position, &Value::Object(args.clone()))
}

/// Children of every recorded Play, keyed by parent sid and by where they were called.
fn recorded_children(root: &Play, tree: Vec<Play>) -> HashMap<String, HashMap<Slot, Play>> {
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    order.insert(root.sid.clone(), root.sub_play_sids.clone());
    let mut by_sid: HashMap<String, Play> = HashMap::new();
    for play in tree {
        order.insert(play.sid.clone(), play.sub_play_sids.clone());
        by_sid.insert(play.sid.clone(), play);
    }
    order
        .into_iter()
        .filter_map(|(parent, children)| {
            let plays: HashMap<Slot, Play> = children
                .iter()
                .enumerate()
                .filter_map(|(i, sid)| by_sid.get(sid).map(|p| (i, p.clone())))
                .map(|(i, play)| {
                    let slot = match step::position_of(&play.step_key) {
                        Some(Position::Unordered(_)) => Slot::Key(play.step_key.clone()),
                        Some(Position::Ordered(n)) => Slot::Seq(n),
                        // A key of another shape: its place in the invocation order.
                        None => Slot::Seq(i as u32),
                    };
                    (slot, play)
                })
                .collect();
            (!plays.is_empty()).then_some((parent, plays))
        })
        .collect()
}

/// Finishes a Play in memory: status, output merged over what `logic.output` gave, times.
pub fn close(play: &mut Play, status: PlayStatus, output: Map<String, Value>, error: String) {
    let now = now_ms();
    play.status = status;
    play.output_data.extend(output);
    play.error_message = error;
    play.completed_at = now;
    play.duration_ms = now.saturating_sub(play.started_at);
}

fn terminal_status(message: &Map<String, Value>) -> PlayStatus {
    match message.get("status").and_then(Value::as_str) {
        Some("success") => PlayStatus::Success,
        _ => PlayStatus::Failed,
    }
}

fn failure_text(message: &Map<String, Value>) -> String {
    let error = text(message, "error");
    let traceback = text(message, "traceback");
    match (error.is_empty(), traceback.is_empty()) {
        (_, true) => error,
        (true, false) => traceback,
        (false, false) => format!("{error}\n\n{traceback}"),
    }
}

fn text(message: &Map<String, Value>, key: &str) -> String {
    message.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn object(message: &Map<String, Value>, key: &str) -> Map<String, Value> {
    message.get(key).and_then(Value::as_object).cloned().unwrap_or_default()
}

fn refusal_body(refusal: &Refusal) -> Value {
    let error = match refusal {
        Refusal::ChildFailed(message) => return json!({"kind": "child_failed", "message": message}),
        Refusal::Nondeterminism(message) => return json!({"kind": "nondeterminism", "message": message}),
        Refusal::Service(error) => error,
    };
    let kind = match error {
        ServiceError::NotFound { .. } => "not_found",
        ServiceError::Validation { .. } | ServiceError::InvalidParams { .. } => "validation",
        ServiceError::Conflict { .. } => "conflict",
        ServiceError::InvalidState { .. } => "invalid_state",
        ServiceError::Source { .. } => "source",
        ServiceError::Internal(_) => "internal",
    };
    let mut message = error.to_string();
    if let ServiceError::Validation { field, hint, .. } = error {
        if !field.is_empty() {
            message = format!("{message} ({field})");
        }
        if !hint.is_empty() {
            message = format!("{message}; {hint}");
        }
    }
    json!({"kind": kind, "message": message})
}
