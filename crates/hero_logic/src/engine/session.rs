//! One runner connection: the daemon's half of the protocol in `docs/protocol.md`.
//!
//! The session keeps the Plays of its run that are still open in memory (logs, outputs and
//! stats accumulate there) and writes each one when it finishes, so a child step costs one
//! transaction to start and one to finish.

use std::collections::HashMap;

use hero_logic_api::{LogicField, LogicVersion, Play, PlayStatus};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{inputs, step};
use crate::error::ServiceError;
use crate::library::Library;
use crate::now_ms;
use crate::parse;

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

struct OpenPlay {
    play: Play,
    spec: LogicSpec,
}

pub struct Session {
    library: Library,
    secret: String,
    root_sid: String,
    greeted: bool,
    open: HashMap<String, OpenPlay>,
    /// Child calls made so far by each parent in this run: the `n` of the step key.
    calls: HashMap<String, u32>,
    specs: HashMap<String, LogicSpec>,
    pub finish: Option<Finish>,
}

impl Session {
    pub fn new(library: Library, secret: String, root: Play, version: &LogicVersion, logic_name: &str) -> Session {
        let mut session = Session {
            library,
            secret,
            root_sid: root.sid.clone(),
            greeted: false,
            open: HashMap::new(),
            calls: HashMap::new(),
            specs: HashMap::new(),
            finish: None,
        };
        let spec = session.spec_of(version, logic_name);
        session.open.insert(root.sid.clone(), OpenPlay { play: root, spec });
        session
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
            Err(error) => json!({"id": id, "ok": false, "error": error_body(&error)}),
        };
        Ok(Some(body.to_string()))
    }

    fn request(&mut self, op: &str, message: &Map<String, Value>) -> Result<Value, ServiceError> {
        match op {
            "hello" => Ok(self.hello()),
            "resolve" => {
                let name = text(message, "logic");
                let (version, logic_name) = self.current_version(&name)?;
                Ok(json!({"logic": self.spec_of(&version, &logic_name)}))
            }
            "invoke_start" => self.invoke_start(message),
            "invoke_end" => self.invoke_end(message),
            "finish" => {
                self.finish = Some(Finish {
                    status: terminal_status(message),
                    output: object(message, "output"),
                    error: failure_text(message),
                });
                Ok(json!({}))
            }
            other => Err(ServiceError::validation("op", format!("unknown request op {other:?}"), "see docs/protocol.md")),
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
            "log" => play.logs.push_str(message.get("text").and_then(Value::as_str).unwrap_or_default()),
            "output" => play.output_data.extend(object(message, "values")),
            "stats" => {
                play.total_tokens_prompt += message.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
                play.total_tokens_completion += message.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0);
                play.total_cost_usd += message.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
            }
            other => tracing::debug!(op = %other, "unknown notification ignored"),
        }
    }

    fn hello(&self) -> Value {
        let root = &self.open[&self.root_sid];
        json!({
            "play": {"sid": root.play.sid, "name": root.play.name, "inputs": root.play.input_data},
            "logic": root.spec,
        })
    }

    fn invoke_start(&mut self, message: &Map<String, Value>) -> Result<Value, ServiceError> {
        let parent_sid = text(message, "parent");
        let name = text(message, "logic");
        let local = message.get("local").and_then(Value::as_bool).unwrap_or(false);
        let args = object(message, "args");
        let parent = self.open.get(&parent_sid).ok_or_else(|| {
            ServiceError::validation("parent", format!("Play {parent_sid:?} is not running in this run"), "")
        })?;
        let (spec, args) = if local {
            (LogicSpec { name: name.clone(), ..parent.spec.clone() }, args)
        } else {
            let (version, logic_name) = self.current_version(&name)?;
            let checked = inputs::check(&version.inputs, args).map_err(|e| e.within(&name))?;
            (self.spec_of(&version, &logic_name), checked)
        };
        let seq = self.calls.entry(parent_sid.clone()).or_insert(0);
        let key = step::step_key(&name, *seq, &Value::Object(args.clone()));
        *seq += 1;
        if let Some(output) = self.open[&parent_sid].play.step_outputs.get(&key) {
            return Ok(json!({"play_sid": "", "step_key": key, "cached": true, "output": output}));
        }
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
        let child = self.library.store().play_insert_child(&child)?;
        let response =
            json!({"play_sid": child.sid, "step_key": key, "cached": false, "logic": spec, "args": child.input_data});
        self.open.insert(child.sid.clone(), OpenPlay { play: child, spec });
        Ok(response)
    }

    fn invoke_end(&mut self, message: &Map<String, Value>) -> Result<Value, ServiceError> {
        let sid = text(message, "play_sid");
        if sid == self.root_sid {
            return Err(ServiceError::validation("play_sid", "the top-level Play ends with finish", ""));
        }
        let OpenPlay { mut play, .. } = self
            .open
            .remove(&sid)
            .ok_or_else(|| ServiceError::validation("play_sid", format!("Play {sid:?} is not open"), ""))?;
        let status = terminal_status(message);
        close(&mut play, status, object(message, "output"), failure_text(message));
        let memo = (status == PlayStatus::Success).then(|| Value::Object(play.output_data.clone()));
        let store = self.library.store();
        store.play_finish_child(&play, memo.as_ref().map(|m| (play.step_key.as_str(), m)))?;
        if let (Some(memo), Some(parent)) = (memo, self.open.get_mut(&play.parent_play_sid)) {
            parent.play.step_outputs.insert(play.step_key.clone(), memo);
        }
        Ok(json!({}))
    }

    fn current_version(&self, name: &str) -> Result<(LogicVersion, String), ServiceError> {
        let logic = self.library.resolve_logic(name).map_err(|_| {
            ServiceError::not_found(format!("no logic named {name:?}"), "create it, or fix the name in logic.invoke")
        })?;
        let version = self.library.store().version_get(&logic.current_version_sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("logic {name:?} has no current version"), "create a version of it")
        })?;
        if version.binding.is_some() {
            return Err(ServiceError::InvalidState {
                message: format!("logic {name:?} is bound to another logic; running bound logics is not supported yet"),
                hint: String::new(),
            });
        }
        Ok((version, logic.name))
    }

    fn spec_of(&mut self, version: &LogicVersion, logic_name: &str) -> LogicSpec {
        if let Some(spec) = self.specs.get(&version.sid) {
            return spec.clone();
        }
        let entry = parse::read_signature_named(&version.python_source, logic_name)
            .map(|s| s.entry)
            .unwrap_or_default();
        let spec = LogicSpec {
            name: logic_name.to_string(),
            logic_sid: version.logic_sid.clone(),
            version_sid: version.sid.clone(),
            entry,
            python_source: version.python_source.clone(),
            inputs: version.inputs.clone(),
            outputs: version.outputs.clone(),
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

fn error_body(error: &ServiceError) -> Value {
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
