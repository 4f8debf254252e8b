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

use hero_logic_api::{Binding, LogicVersion, Play, PlayStatus, ResumeRequest, ResumeUi};
use serde_json::{Map, Value};

use super::protocol::{self, Incoming, Memo, Notification, PlayIntro, RefusalBody, RefusalKind, Refused, Reply, Request, Verdict};
use super::lifecycle::{self, Event};
use super::logs::PlayLog;
use super::step::Position;
use super::{forms, inputs, step, Core};
use crate::error::ServiceError;
use crate::figures;
use crate::mapping::{self, Side};
use crate::now_ms;
use crate::parse;
use crate::store::PlayBatch;

/// One version of a Logic as this run knows it: what the runner is sent, and for a bound
/// version its mapping tables (the runner only sees the generated body that calls the
/// target; the daemon maps inputs and outputs around that call).
#[derive(Debug, Clone)]
pub struct LogicSpec {
    pub wire: protocol::LogicSpec,
    pub binding: Option<Binding>,
}

impl LogicSpec {
    /// The same version run under another Logic name (a local `@logic` function).
    fn renamed(&self, name: &str) -> LogicSpec {
        let mut spec = self.clone();
        spec.wire.name = name.to_string();
        spec
    }
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

/// How a runner connection ended, as far as the conversation tells.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The runner reported the top-level result with `finish` (a replay that diverged
    /// turns it into a failure).
    Finished(Finish),
    /// A pause waits for a person under this resume id; the chain is `awaiting_resume`.
    Suspended(String),
    /// The replay diverged from the recorded run, and the runner did not finish.
    Diverged(String),
    /// The connection ended with neither; the reason when the daemon dropped it.
    Ended(Option<String>),
}

/// The runner broke the protocol; the connection is dropped and the Play fails.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the runner broke the protocol: {0}")]
    Malformed(String),
    #[error("the runner did not present the Play's secret")]
    BadSecret,
    #[error("the runner sent {0:?} before hello")]
    NotGreeted(String),
    #[error("cannot record the end of child Play {0}: {1}")]
    Unrecorded(String, String),
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
    /// Log text since the last write (appended then; the Play's `logs` is never rewritten).
    log: PlayLog,
    /// `logic.output` values went over `engine.max_output_bytes` and were not kept; the
    /// Play fails when it ends.
    output_over: bool,
}

impl OpenPlay {
    fn new(play: Play, spec: LogicSpec, quiet: bool, caps: &super::Caps) -> OpenPlay {
        let log = PlayLog::after(&play.logs, caps.play_logs);
        OpenPlay { play, spec, pauses: 0, quiet, dirty: false, log, output_over: false }
    }
}

/// Why a request was refused; the kind tells the runner what to raise.
enum Refusal {
    Service(ServiceError),
    /// A replayed step that failed in an earlier run: its message and its Play, and the
    /// callee's retry policy when the call follows it.
    ChildFailed { message: String, play_sid: String, timed_out: bool, retry: Option<Box<protocol::RetryPolicy>> },
    Nondeterminism(String),
    /// A `model_call` the daemon could not make, or the endpoint refused.
    Model(crate::model_call::ModelCallError),
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
    /// The answer to the runner's `hello` was sent before it asked (`answer_hello_ahead`).
    answered_ahead: bool,
    mode: RunMode,
    open: HashMap<String, OpenPlay>,
    /// Ordered child calls made so far by each parent in this run: the `n` of the step key
    /// when the runner sends no `seq`.
    calls: HashMap<String, u32>,
    /// Unordered calls so far per (parent, logic name, args hash): the `k` of the step key.
    unordered: HashMap<(String, String, String), u32>,
    specs: HashMap<String, LogicSpec>,
    /// Versions recorded Plays ran, by sid, as read by this run.
    versions: HashMap<String, LogicVersion>,
    /// Current versions by the name a call used, with the library generation they were read at.
    current: HashMap<String, (u64, LogicVersion, String)>,
    /// Children recorded by earlier runs, per parent, by where they were called.
    recorded: HashMap<String, HashMap<Slot, Play>>,
    /// The steps sent to the runner as memos, by parent sid and seq: only these can be
    /// taken by a `replayed` notification.
    offered: HashSet<(String, u32)>,
    /// Plays that wait for a person in this run, with their ancestors: written at the
    /// question, and afterwards only by the guarded last write of the run.
    waiting: HashSet<String>,
    /// Recorded children whose stored result this run used instead of running them, and
    /// that are not marked `replayed` yet.
    replayed: Vec<String>,
    /// Versions whose source the runner has already been sent.
    sent_sources: std::collections::HashSet<String>,
    /// Open children not written yet, in creation order. A child's start is written together
    /// with the next write of the run (its own end, as a rule), so a child step costs one
    /// commit; `flush` writes them for the live view when the run idles.
    unsaved: Vec<String>,
    finish: Option<Finish>,
    /// The resume id of the pause that suspended this run.
    suspended: Option<String>,
    /// The asking chain as the latest pause wrote it: the run's end writes it again only
    /// when something changed since.
    written_waiting: Vec<Play>,
    /// Set when replay diverged from the recorded run; the Play fails with it.
    fatal: Option<String>,
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
            answered_ahead: false,
            open: HashMap::new(),
            calls: HashMap::new(),
            unordered: HashMap::new(),
            waiting: HashSet::new(),
            specs: HashMap::new(),
            versions: HashMap::new(),
            current: HashMap::new(),
            recorded: HashMap::new(),
            offered: HashSet::new(),
            replayed: Vec::new(),
            unsaved: Vec::new(),
            sent_sources: Default::default(),
            finish: None,
            suspended: None,
            written_waiting: Vec::new(),
            fatal: None,
            mode,
        };
        session.recorded = recorded_children(&root, tree);
        let spec = session.spec_of(version, logic_name);
        let quiet = session.replays_quietly();
        let open = OpenPlay::new(root, spec, quiet, &core.settings.caps);
        session.open.insert(open.play.sid.clone(), open);
        session
    }

    /// The runner reported its result: nothing more is to be read.
    pub fn finished(&self) -> bool {
        self.finish.is_some()
    }

    /// How the run ended; `broken` is why the daemon dropped the connection, if it did.
    pub fn outcome(&self, broken: Option<String>) -> RunOutcome {
        if let Some(resume_id) = &self.suspended {
            return RunOutcome::Suspended(resume_id.clone());
        }
        match (&self.finish, &self.fatal) {
            (Some(finish), Some(fatal)) => {
                RunOutcome::Finished(Finish { status: PlayStatus::Failed, output: finish.output.clone(), error: fatal.clone() })
            }
            (Some(finish), None) => RunOutcome::Finished(finish.clone()),
            (None, Some(fatal)) => RunOutcome::Diverged(fatal.clone()),
            (None, None) => RunOutcome::Ended(broken),
        }
    }

    fn replays_quietly(&self) -> bool {
        matches!(self.mode, RunMode::Resume { .. })
    }

    /// Handles one line; returns the response line for a request, `None` for a notification.
    /// A malformed request is refused naming the field; a malformed notification, or anything
    /// before a good `hello`, breaks the connection.
    pub fn handle_line(&mut self, line: &str) -> Result<Option<String>, ProtocolError> {
        let incoming = match protocol::decode(line) {
            Ok(incoming) => incoming,
            Err(malformed) => {
                let op = protocol::RequestOp::parse(&malformed.op);
                return match (malformed.id, op, self.greeted) {
                    (Some(id), Some(op), true) => {
                        let error = RefusalBody { kind: RefusalKind::Protocol, message: malformed.message, play_sid: None, status: None, body: None, retry: None };
                        Ok(Some(encode(&Refused { id, op, ok: false, error })))
                    }
                    (_, _, true) => Err(ProtocolError::Malformed(malformed.message)),
                    _ if malformed.op != "hello" => Err(ProtocolError::NotGreeted(malformed.op)),
                    _ => Err(ProtocolError::Malformed(malformed.message)),
                };
            }
        };
        if !self.greeted {
            match &incoming {
                Incoming::Request(Request::Hello { id: HELLO_ID, secret, .. }) if *secret == self.secret && self.answered_ahead => {
                    self.greeted = true;
                    return Ok(None);
                }
                Incoming::Request(Request::Hello { secret, .. }) if *secret == self.secret && !self.answered_ahead => self.greeted = true,
                Incoming::Request(Request::Hello { secret, id, .. }) if *secret == self.secret => {
                    return Err(ProtocolError::Malformed(format!("hello has id {id}; the runner's first request has id {HELLO_ID}")))
                }
                Incoming::Request(Request::Hello { .. }) => return Err(ProtocolError::BadSecret),
                Incoming::Request(request) => return Err(ProtocolError::NotGreeted(request.op().as_str().into())),
                Incoming::Notification(_) => return Err(ProtocolError::NotGreeted("a notification".into())),
            }
        }
        let request = match incoming {
            Incoming::Notification(Notification::InvokeEnd { play_sid, status, output, error, traceback }) => {
                return match self.invoke_end(0, &play_sid, status, output, failure_text(&error, &traceback)) {
                    Ok(_) => Ok(None),
                    Err(e) => Err(ProtocolError::Unrecorded(play_sid, e.to_string())),
                };
            }
            Incoming::Notification(notification) => {
                self.notification(notification);
                return Ok(None);
            }
            Incoming::Request(request) => request,
        };
        let (id, op) = (request.id(), request.op());
        Ok(Some(match self.request(request) {
            Ok(reply) => encode(&reply),
            Err(refusal) => encode(&Refused { id, op, ok: false, error: refusal_body(&refusal) }),
        }))
    }

    fn request(&mut self, request: Request) -> Result<Reply, Refusal> {
        match request {
            Request::Hello { id, .. } => Ok(self.hello(id)),
            Request::Resolve { id, logic } => {
                let (version, logic_name) = self.current_version(&logic)?;
                // The importer only wraps the Logic in a callable; its source is compiled at
                // the first call, so this answer does not count as having sent it.
                Ok(Reply::Resolve { id, ok: true, logic: self.spec_of(&version, &logic_name).wire })
            }
            Request::InvokeStart { id, parent, logic, args, local, seq, unordered, attempt, follow_policy } => {
                let order = if unordered.unwrap_or(false) { Order::Unordered } else { Order::Seq(seq) };
                let attempt = attempt.unwrap_or(0);
                let follow_policy = follow_policy.unwrap_or(false) && attempt == 0;
                self.invoke_start(id, &parent, &logic, Call { args, local, order, attempt, follow_policy })
            }
            Request::InvokeEnd { id, play_sid, status, output, error, traceback } => {
                Ok(self.invoke_end(id, &play_sid, status, output, failure_text(&error, &traceback))?)
            }
            Request::Pause { id, play_sid, name, ui, schema } => self.pause(id, &play_sid, &name, ui, schema),
            request @ Request::ModelCall { .. } => self.model_call(request),
            Request::Finish { status: Verdict::TimedOut, .. } => Err(Refusal::Service(ServiceError::validation(
                "status",
                "the top-level Play cannot end timed_out: its wall clock is the daemon's to enforce",
                "end it success or failed",
            ))),
            Request::Finish { id, status, output, error, traceback } => {
                let root = &self.open[&self.root_sid];
                let (status, output, error) =
                    self.bound_result(root, status_of(status), output, failure_text(&error, &traceback));
                self.finish = Some(Finish { status, output, error });
                Ok(Reply::Finish { id, ok: true })
            }
        }
    }

    fn notification(&mut self, notification: Notification) {
        let sid = match &notification {
            Notification::Log { play_sid, .. } | Notification::Output { play_sid, .. } | Notification::Stats { play_sid, .. } => play_sid,
            Notification::Replayed { play_sid, seqs } => return self.memos_taken(&play_sid.clone(), seqs),
            Notification::InvokeEnd { .. } => return,
        };
        let caps = self.core.settings.caps;
        let Some(open) = self.open.get_mut(sid) else {
            tracing::debug!(%sid, "notification for a Play that is not open in this run");
            return;
        };
        let play = &mut open.play;
        match notification {
            Notification::Log { .. } | Notification::Stats { .. } if open.quiet => return,
            Notification::Log { text, .. } => open.log.push(&text, caps.log_line, caps.play_logs),
            Notification::Output { values, .. } => {
                if json_size(&play.output_data) + json_size(&values) > caps.output {
                    open.output_over = true;
                } else {
                    play.output_data.extend(values);
                }
            }
            Notification::Replayed { .. } | Notification::InvokeEnd { .. } => return,
            Notification::Stats { prompt_tokens, completion_tokens, cost_usd, .. } => {
                match figures::checked_report(prompt_tokens, completion_tokens, cost_usd) {
                    Ok(()) => add_stats(play, prompt_tokens, completion_tokens, cost_usd),
                    Err(reason) => {
                        tracing::warn!(play = %play.sid, %reason, "stats report refused");
                        let line = format!("[hero_logic] stats report refused, nothing of it was added: {reason}\n");
                        open.log.push(&line, caps.log_line, caps.play_logs);
                    }
                }
            }
        }
        open.dirty = true;
    }

    /// Makes the chat completion with the daemon's endpoint and key, and records its tokens
    /// and cost (measured from the endpoint's answer) on the calling Play, which must be open
    /// in this run. A replayed body that calls again is charged again: the endpoint was.
    fn model_call(&mut self, request: Request) -> Result<Reply, Refusal> {
        let Some((id, play_sid, chat)) = crate::model_call::ChatRequest::of(request) else {
            return Err(ServiceError::Internal("model_call got another request".into()).into());
        };
        if !self.open.contains_key(&play_sid) {
            return Err(ServiceError::validation("play_sid", format!("Play {play_sid:?} is not open in this run"), "").into());
        }
        let completion = crate::model_call::call(&self.core.settings.models, chat).map_err(Refusal::Model)?;
        let caps = self.core.settings.caps;
        if let Some(open) = self.open.get_mut(&play_sid) {
            let usage = &completion.usage;
            add_stats(&mut open.play, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd);
            open.log.push(&crate::model_call::log_line(usage, now_ms()), caps.log_line, caps.play_logs);
            open.dirty = true;
        }
        Ok(Reply::ModelCall { id, ok: true, response: completion.response, usage: completion.usage })
    }

    /// The answer to the `hello` a runner sends first (always with id 1), to be written
    /// before it asks: the runner then finds it waiting instead of paying a round trip. Only
    /// for a channel whose fd is the authentication (the secret is empty): the answer
    /// carries the Play's inputs and source. Its `hello` is then still checked, and not
    /// answered again; any other first line is refused as before.
    pub fn answer_hello_ahead(&mut self) -> Option<String> {
        if !self.secret.is_empty() || self.greeted || self.answered_ahead {
            return None;
        }
        self.answered_ahead = true;
        Some(encode(&self.hello(HELLO_ID)))
    }

    fn hello(&mut self, id: u64) -> Reply {
        let root = &self.open[&self.root_sid];
        let play = PlayIntro { sid: root.play.sid.clone(), name: root.play.name.clone(), inputs: root.play.input_data.clone() };
        let spec = root.spec.clone();
        let memo = self.memo_of(&self.root_sid.clone(), &spec);
        Reply::Hello { id, ok: true, play, logic: self.wire(&spec), memo }
    }

    /// The finished steps of `play_sid` recorded at ordered positions, for the runner to
    /// take without asking (up to MEMO_BYTES of them). Only steps whose key is exactly what
    /// `replay_step` checks a call against with those args: a call the runner matches with
    /// a memo is one the daemon would have answered from it. None for a bound Play, whose
    /// children's args the daemon makes from its mappings.
    fn memo_of(&mut self, play_sid: &str, spec: &LogicSpec) -> Vec<Memo> {
        let Some(children) = self.recorded.get(play_sid).filter(|_| spec.binding.is_none()) else { return Vec::new() };
        let outputs = self.open.get(play_sid).map(|p| &p.play.step_outputs);
        let mut steps: Vec<(u32, &Play)> = children
            .iter()
            .filter_map(|(slot, play)| match slot {
                Slot::Seq(n) if memoizable(play, *n) => Some((*n, play)),
                _ => None,
            })
            .collect();
        steps.sort_unstable_by_key(|(n, _)| *n);
        let mut memo = Vec::with_capacity(steps.len());
        let mut bytes = 0;
        for (seq, play) in steps {
            let output = outputs
                .and_then(|o| o.get(&play.step_key).cloned())
                .unwrap_or_else(|| Value::Object(play.output_data.clone()));
            bytes += json_size(&play.input_data) + json_size(&output);
            if bytes > MEMO_BYTES {
                break;
            }
            memo.push(Memo { seq, logic: play.name.clone(), args: play.input_data.clone(), output });
        }
        self.offered.extend(memo.iter().map(|m| (play_sid.to_string(), m.seq)));
        memo
    }

    /// The runner used these memos of `parent_sid`: each step is taken as a cached
    /// `invoke_start` of it would have been. A seq that names no step offered as a memo is
    /// ignored (it changes nothing; a call at it still goes through `invoke_start`).
    fn memos_taken(&mut self, parent_sid: &str, seqs: &[u32]) {
        for &n in seqs {
            if !self.offered.remove(&(parent_sid.to_string(), n)) {
                continue;
            }
            let Some(recorded) = self.recorded.get_mut(parent_sid).and_then(|c| c.remove(&Slot::Seq(n))) else { continue };
            self.position(parent_sid, Order::Seq(Some(n)), &recorded.name, &recorded.input_data);
            let key = recorded.step_key.clone();
            self.take_memo(parent_sid, &key, &recorded);
        }
    }

    /// A recorded step's stored result, taken for this run (each step key is replayed once
    /// per run: its memo is taken, not copied).
    fn take_memo(&mut self, parent_sid: &str, key: &str, recorded: &Play) -> Value {
        let memo = self.open.get_mut(parent_sid).and_then(|p| p.play.step_outputs.remove(key));
        self.note_replayed(recorded);
        memo.unwrap_or_else(|| Value::Object(recorded.output_data.clone()))
    }

    fn invoke_start(&mut self, id: u64, parent_sid: &str, name: &str, call: Call) -> Result<Reply, Refusal> {
        let Call { args, local, order, attempt, follow_policy } = call;
        let (parent_sid, name) = (parent_sid.to_string(), name.to_string());
        let parent = self.open.get(&parent_sid).ok_or_else(|| {
            ServiceError::validation("parent", format!("Play {parent_sid:?} is not running in this run"), "")
        })?;
        let parent_spec = parent.spec.clone();
        let args = match &parent_spec.binding {
            Some(binding) => map_side(Side::Input, binding, &parent.play.input_data, None)
                .map_err(|m| ServiceError::validation("args", m, "fix the bound version's input mappings"))?,
            None => args,
        };
        let position = self.position(&parent_sid, order, &name, &args);
        let slot = match position {
            Position::Ordered(n) => Slot::Seq(n),
            Position::Unordered(_) => Slot::Key(step::step_key(&name, position, &Value::Object(args.clone()))),
        };
        if let Some(recorded) = self.recorded.get_mut(&parent_sid).and_then(|c| c.remove(&slot)) {
            return self.replay_step(id, &parent_sid, &parent_spec, position, &name, local, args, recorded, follow_policy);
        }
        let sent = args.clone();
        let (spec, args) = if local {
            (parent_spec.renamed(&name), args)
        } else {
            let (version, logic_name) = self.current_version(&name)?;
            let checked = inputs::check(&version.inputs, args).map_err(|e| e.within(&name))?;
            (self.spec_of(&version, &logic_name), checked)
        };
        let key = call_key(&name, position, &sent, &args);
        // A call by name under the callee's own policy is its first attempt.
        let attempt = if follow_policy && !local && spec.wire.retry.as_ref().is_some_and(|r| r.applies()) { 1 } else { attempt };
        let now = now_ms();
        let child = Play {
            logic_sid: spec.wire.logic_sid.clone(),
            logic_version_sid: spec.wire.version_sid.clone(),
            name: name.clone(),
            parent_play_sid: parent_sid,
            step_key: key.clone(),
            status: lifecycle::created(lifecycle::Origin::Child),
            input_data: args,
            attempt,
            started_at: now,
            created_at: now,
            ..Default::default()
        };
        let child = Play { sid: self.core.next_sid()?, ..child };
        self.unsaved.push(child.sid.clone());
        let response = started(id, &child, key, &spec, self.wire(&spec), Vec::new());
        self.open.insert(child.sid.clone(), OpenPlay::new(child, spec, false, &self.core.settings.caps));
        Ok(response)
    }

    /// Where this call sits among its parent's calls: the runner's `seq` (or the daemon's
    /// count when it sends none), or, for an `unordered` call, the occurrence of this name
    /// and these arguments among the parent's unordered calls.
    fn position(&mut self, parent_sid: &str, order: Order, name: &str, args: &Map<String, Value>) -> Position {
        let seq = match order {
            Order::Seq(seq) => seq,
            Order::Unordered => {
                let hash = step::args_hash(&Value::Object(args.clone()));
                let count = self.unordered.entry((parent_sid.to_string(), name.to_string(), hash)).or_insert(0);
                *count += 1;
                return Position::Unordered(*count - 1);
            }
        };
        let counted = self.calls.entry(parent_sid.to_string()).or_insert(0);
        let n = seq.unwrap_or(*counted);
        *counted = (*counted).max(n.saturating_add(1));
        Position::Ordered(n)
    }

    /// A child call at a position an earlier run recorded: its stored result, or the same
    /// child re-entered when it had not finished.
    #[allow(clippy::too_many_arguments)]
    fn replay_step(
        &mut self,
        id: u64,
        parent_sid: &str,
        parent_spec: &LogicSpec,
        position: Position,
        name: &str,
        local: bool,
        sent: Map<String, Value>,
        recorded: Play,
        follow_policy: bool,
    ) -> Result<Reply, Refusal> {
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
            let output = self.take_memo(parent_sid, &key, &recorded);
            let sid = recorded.sid.clone();
            return Ok(Reply::InvokeStart {
                id,
                ok: true,
                play_sid: sid,
                step_key: key,
                cached: true,
                output: Some(output),
                logic: None,
                args: None,
                bound: false,
                memo: Vec::new(),
            });
        }
        if recorded.status.is_terminal() {
            // The runner decides again whether to try once more: by the policy the first
            // attempt ran under.
            let retry = if follow_policy && recorded.attempt == 1 && !local {
                let version = self.recorded_version(&recorded)?;
                self.spec_of(&version, name).wire.retry.map(Box::new)
            } else {
                None
            };
            let refusal = Refusal::ChildFailed {
                message: recorded.error_message.clone(),
                play_sid: recorded.sid.clone(),
                timed_out: recorded.status == PlayStatus::TimedOut,
                retry,
            };
            self.note_replayed(&recorded);
            return Err(refusal);
        }
        // Unfinished: the same child Play runs again from its start, replaying its own steps.
        let spec = if local {
            parent_spec.renamed(name)
        } else {
            let version = self.recorded_version(&recorded)?;
            self.spec_of(&version, name)
        };
        if let Some(parent) = self.open.get_mut(parent_sid) {
            parent.quiet = false;
        }
        let mut child = recorded;
        lifecycle::apply(&mut child, Event::Reenter).map_err(|e| ServiceError::Internal(format!("Play {}: {e}", child.sid)))?;
        let memo = self.memo_of(&child.sid, &spec);
        let response = started(id, &child, key, &spec, self.wire(&spec), memo);
        let quiet = self.replays_quietly();
        self.open.insert(child.sid.clone(), OpenPlay::new(child, spec, quiet, &self.core.settings.caps));
        Ok(response)
    }

    /// The version a recorded Play ran, read once per run (a replay checks every memoized
    /// step's inputs against it).
    fn recorded_version(&mut self, recorded: &Play) -> Result<LogicVersion, ServiceError> {
        if let Some(version) = self.versions.get(&recorded.logic_version_sid) {
            return Ok(version.clone());
        }
        let version = self.core.library.store().version_get(&recorded.logic_version_sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("the version Play {} ran no longer exists", recorded.sid), "")
        })?;
        self.versions.insert(version.sid.clone(), version.clone());
        Ok(version)
    }

    fn pause(&mut self, id: u64, sid: &str, name: &str, ui_fields: Map<String, Value>, schema: Value) -> Result<Reply, Refusal> {
        let sid = sid.to_string();
        let name = Some(name.to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| "pause".into());
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
            return Ok(Reply::Pause { id, ok: true, answered: true, payload: Some(answer.clone()), resume_id: None });
        }
        let mut ui: ResumeUi = serde_json::from_value(Value::Object(ui_fields)).unwrap_or_default();
        if ui.kind.is_empty() {
            ui.kind = "text".into();
        }
        if ui.kind == super::timers::KIND && !ui.extra.contains_key("wake_at") {
            // Fixed when first asked: a replay of the same sleep keeps the recorded time.
            let seconds = ui.extra.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
            ui.extra.insert("wake_at".into(), (now_ms() + (seconds * 1000.0).round() as u64).into());
        }
        if !open.play.pending_resumes.iter().any(|r| r.id == resume_id) {
            open.play.pending_resumes.push(ResumeRequest {
                id: resume_id.clone(),
                name,
                schema,
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
                if let Err(e) = lifecycle::apply(&mut open.play, Event::Ask) {
                    tracing::warn!(sid = %open.play.sid, error = %e, "a Play of an asking chain is not running");
                }
            }
        }
        self.waiting.extend(chain.iter().cloned());
        let store = self.core.library.store();
        let mut batch = self.unsaved_batch(None);
        let rows: Vec<Play> =
            chain.iter().filter(|s| !self.unsaved.contains(s)).filter_map(|s| self.open.get(s)).map(|o| o.play.clone()).collect();
        if self.suspended.is_none() {
            batch.updates = rows;
            store.play_batch(&batch, None)?;
            self.suspended = Some(resume_id.clone());
        } else {
            // A later question of the same run: an answer to the first may already have
            // moved the chain on, which this write must not undo.
            store.play_batch(&batch, None)?;
            let chain_rows = PlayBatch { updates: rows, ..Default::default() };
            store.play_batch(&chain_rows, Some((&self.root_sid, PlayStatus::AwaitingResume)))?;
        }
        self.unsaved.clear();
        self.written_waiting = chain.iter().filter_map(|s| self.open.get(s)).map(|o| o.play.clone()).collect();
        let asked = self.open.get(&sid).and_then(|o| o.play.pending_resumes.iter().find(|r| r.id == resume_id));
        if let Some(at) = asked.and_then(super::timers::wake_at) {
            self.core.timers.add(at, &sid, &resume_id);
        }
        self.core.changed();
        Ok(Reply::Pause { id, ok: true, answered: false, payload: None, resume_id: Some(resume_id) })
    }

    fn invoke_end(
        &mut self,
        id: u64,
        sid: &str,
        status: Verdict,
        output: Map<String, Value>,
        error: String,
    ) -> Result<Reply, ServiceError> {
        let sid = sid.to_string();
        if sid == self.root_sid {
            return Err(ServiceError::validation("play_sid", "the top-level Play ends with finish", ""));
        }
        let mut closing = self
            .open
            .remove(&sid)
            .ok_or_else(|| ServiceError::validation("play_sid", format!("Play {sid:?} is not open"), ""))?;
        let closing_log = closing.log.take();
        let (status, output, error) = self.bound_result(&closing, status_of(status), output, error);
        let bound = closing.spec.binding.is_some();
        let mut play = closing.play;
        if bound {
            // A bound Play's output is exactly what its output mappings produce.
            play.output_data.clear();
        }
        close(&mut play, lifecycle::ending(status), output, error);
        let memo = (status == PlayStatus::Success).then(|| Value::Object(play.output_data.clone()));
        // The child's ancestors that are not written yet go in the same commit, so a recorded
        // result is always reachable from the top-level Play.
        let mut batch = self.unsaved_batch(Some(&play));
        if !closing_log.is_empty() {
            batch.logs.push((play.sid.clone(), closing_log));
        }
        if !self.unsaved.contains(&play.sid) {
            batch.updates.push(play.clone());
        }
        if let Some(memo) = &memo {
            batch.memos.push((play.parent_play_sid.clone(), play.step_key.clone(), memo.clone()));
        }
        self.core.library.store().play_batch(&batch, None)?;
        self.unsaved.clear();
        if let (Some(memo), Some(parent)) = (memo, self.open.get_mut(&play.parent_play_sid)) {
            parent.play.step_outputs.insert(play.step_key.clone(), memo);
        }
        // Only the child ended (its ancestors written here stay running).
        self.core.changed_play(&play.sid);
        if bound {
            // The caller gets the mapped result, not what the generated body returned.
            let verdict = match play.status {
                PlayStatus::Success => Verdict::Success,
                PlayStatus::TimedOut => Verdict::TimedOut,
                _ => Verdict::Failed,
            };
            return Ok(Reply::InvokeEnd {
                id,
                ok: true,
                status: Some(verdict),
                output: Some(play.output_data),
                error: Some(play.error_message),
            });
        }
        Ok(Reply::InvokeEnd { id, ok: true, status: None, output: None, error: None })
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
    /// `sub_play_sids` stay in call order): the open ones, and `closing`, just taken out;
    /// and the log text that arrived since the last write (appended after the rows are in).
    fn unsaved_batch(&mut self, closing: Option<&Play>) -> PlayBatch {
        let new_children = self
            .unsaved
            .iter()
            .filter_map(|sid| match closing {
                Some(play) if play.sid == *sid => Some(play.clone()),
                _ => self.open.get(sid).map(|o| o.play.clone()),
            })
            .collect();
        PlayBatch { new_children, logs: self.take_logs(), ..Default::default() }
    }

    /// The open children not written yet and the logs not written yet, taken for the run's
    /// last write (its closed Plays join the same commit).
    pub fn take_unwritten(&mut self) -> PlayBatch {
        let batch = self.unsaved_batch(None);
        self.unsaved.clear();
        batch
    }

    /// Log text of the open Plays not written yet, taken for a write.
    pub fn take_logs(&mut self) -> Vec<(String, String)> {
        let mut logs: Vec<(String, String)> = self
            .open
            .values_mut()
            .map(|o| (o.play.sid.clone(), o.log.take()))
            .filter(|(_, text)| !text.is_empty())
            .collect();
        logs.sort();
        logs
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
        self.core.library.store().play_batch(&batch, None)?;
        self.unsaved.clear();
        for open in self.open.values_mut() {
            open.dirty = false;
        }
        self.core.changed();
        Ok(())
    }

    /// A Play's result as reported, or, for a bound version that succeeded, its output
    /// mappings applied (a mapping that fails fails the Play, naming the row). An output over
    /// `engine.max_output_bytes` fails the Play.
    fn bound_result(
        &self,
        open: &OpenPlay,
        status: PlayStatus,
        output: Map<String, Value>,
        error: String,
    ) -> (PlayStatus, Map<String, Value>, String) {
        let (status, output, error) = match (&open.spec.binding, status) {
            (Some(binding), PlayStatus::Success) => match map_side(Side::Output, binding, &open.play.input_data, Some(&output)) {
                Ok(mapped) => (PlayStatus::Success, mapped, error),
                Err(message) => (PlayStatus::Failed, Map::new(), message),
            },
            _ => (status, output, error),
        };
        let limit = self.core.settings.caps.output;
        let size = json_size(&output) + if open.spec.binding.is_some() { 0 } else { json_size(&open.play.output_data) };
        if size > limit || open.output_over {
            let message = format!(
                "the output of Play {} is over the limit of {limit} bytes (engine.max_output_bytes in service.toml); \
                 return less, or keep large data outside the Play",
                open.play.sid
            );
            return (PlayStatus::Failed, Map::new(), message);
        }
        (status, output, error)
    }

    /// The current version of the Logic `name` and its name, looked up once per run while
    /// the library does not change (a loop calling one child asks this on every step).
    fn current_version(&mut self, name: &str) -> Result<(LogicVersion, String), ServiceError> {
        let generation = self.core.library.store().library_generation();
        if let Some((seen, version, logic_name)) = self.current.get(name) {
            if *seen == generation {
                return Ok((version.clone(), logic_name.clone()));
            }
        }
        let (version, logic_name) = self.look_up_current_version(name)?;
        self.current.insert(name.to_string(), (generation, version.clone(), logic_name.clone()));
        Ok((version, logic_name))
    }

    fn look_up_current_version(&self, name: &str) -> Result<(LogicVersion, String), ServiceError> {
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
    fn wire(&mut self, spec: &LogicSpec) -> protocol::LogicSpec {
        let mut wire = spec.wire.clone();
        if !self.sent_sources.insert(spec.wire.version_sid.clone()) {
            wire.python_source.clear();
        }
        wire
    }

    fn spec_of(&mut self, version: &LogicVersion, logic_name: &str) -> LogicSpec {
        if let Some(spec) = self.specs.get(&version.sid) {
            return spec.clone();
        }
        let (entry, python_source, retry) = match &version.binding {
            Some(binding) => {
                let target = self.core.library.resolve_logic(&binding.target).map(|l| l.name).unwrap_or_else(|_| binding.target.clone());
                (BOUND_ENTRY.to_string(), bound_body(&target), None)
            }
            None => {
                let signature = parse::read_signature_named(&version.python_source, logic_name).ok();
                let (entry, retry) = signature.map(|s| (s.entry, s.retry)).unwrap_or_default();
                (entry, version.python_source.clone(), retry)
            }
        };
        let wire = protocol::LogicSpec {
            name: logic_name.to_string(),
            logic_sid: version.logic_sid.clone(),
            version_sid: version.sid.clone(),
            entry,
            python_source,
            inputs: version.inputs.clone(),
            outputs: version.outputs.clone(),
            retry,
        };
        let spec = LogicSpec { wire, binding: version.binding.clone() };
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

    /// Whether these Plays (the run's open ones, taken at its end) are the asking chain
    /// exactly as the latest pause wrote it: nothing to write again.
    pub fn as_written_waiting(&self, plays: &[Play]) -> bool {
        plays.len() == self.written_waiting.len() && plays.iter().all(|p| self.written_waiting.contains(p))
    }

    /// Sids of the recorded children whose stored result was used and that are not marked
    /// `replayed` (for the UI) yet.
    pub fn take_replayed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.replayed)
    }

    fn note_replayed(&mut self, recorded: &Play) {
        if !recorded.replayed {
            self.replayed.push(recorded.sid.clone());
        }
    }
}

/// What `invoke_start` asks for, besides the parent and the Logic.
struct Call {
    args: Map<String, Value>,
    local: bool,
    order: Order,
    /// 0 for a plain call; 1, 2, ... for the attempts of a retried one.
    attempt: u32,
    /// A call by name without options of its own: the callee's policy, if any, applies.
    follow_policy: bool,
}

/// What `invoke_start` says of a call's place: its `seq` (None: the daemon counts), or
/// `unordered`.
#[derive(Debug, Clone, Copy)]
enum Order {
    Seq(Option<u32>),
    Unordered,
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
/// Each recorded Play is moved to its parent's map, not copied: a resume after hundreds of
/// steps spent milliseconds copying them.
fn recorded_children(root: &Play, tree: Vec<Play>) -> HashMap<String, HashMap<Slot, Play>> {
    let mut order: Vec<(String, Vec<String>)> = vec![(root.sid.clone(), root.sub_play_sids.clone())];
    let mut by_sid: HashMap<String, Play> = HashMap::with_capacity(tree.len());
    for play in tree {
        order.push((play.sid.clone(), play.sub_play_sids.clone()));
        by_sid.insert(play.sid.clone(), play);
    }
    order
        .into_iter()
        .filter_map(|(parent, children)| {
            let plays: HashMap<Slot, Play> = children
                .iter()
                .enumerate()
                .filter_map(|(i, sid)| by_sid.remove(sid).map(|p| (i, p)))
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

/// Finishes a Play in memory by `event`: status, output merged over what `logic.output`
/// gave, times. A Play that already ended stays as it was (false).
pub fn close(play: &mut Play, event: Event, output: Map<String, Value>, error: String) -> bool {
    if let Err(e) = lifecycle::apply(play, event) {
        tracing::warn!(sid = %play.sid, error = %e, "not closing a Play");
        return false;
    }
    let now = now_ms();
    play.output_data.extend(output);
    play.error_message = error;
    play.completed_at = now;
    play.duration_ms = now.saturating_sub(play.started_at);
    true
}

/// Adds a checked stats report to the Play's totals; the totals saturate.
fn add_stats(play: &mut Play, prompt: u64, completion: u64, cost: f64) {
    play.total_tokens_prompt = figures::add_tokens(play.total_tokens_prompt, prompt);
    play.total_tokens_completion = figures::add_tokens(play.total_tokens_completion, completion);
    play.total_cost_usd = figures::add_cost(play.total_cost_usd, cost);
}

fn status_of(verdict: Verdict) -> PlayStatus {
    match verdict {
        Verdict::Success => PlayStatus::Success,
        Verdict::Failed => PlayStatus::Failed,
        Verdict::TimedOut => PlayStatus::TimedOut,
    }
}

/// The reply that hands the runner a child to run.
fn started(id: u64, child: &Play, step_key: String, spec: &LogicSpec, logic: protocol::LogicSpec, memo: Vec<Memo>) -> Reply {
    Reply::InvokeStart {
        id,
        ok: true,
        play_sid: child.sid.clone(),
        step_key,
        cached: false,
        output: None,
        logic: Some(logic),
        args: Some(child.input_data.clone()),
        bound: spec.binding.is_some(),
        memo,
    }
}

/// The id of a runner's first request, its `hello` (docs/protocol.md).
const HELLO_ID: u64 = 1;

/// How much recorded args and output one `memo` carries at most; later steps are asked for.
const MEMO_BYTES: usize = 4 << 20;

/// A recorded step a call can be matched with on the runner's side: it succeeded, and its
/// key is that of an ordered call at `n` with its recorded args (validation applies defaults
/// and drops nulls, so it gives recorded args back unchanged).
fn memoizable(recorded: &Play, n: u32) -> bool {
    recorded.status == PlayStatus::Success
        && recorded.step_key == step::step_key(&recorded.name, Position::Ordered(n), &Value::Object(recorded.input_data.clone()))
}

/// The length of `value`'s JSON, counted as it is written rather than built: every step's
/// output is measured against `engine.max_output_bytes`.
fn json_size(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map(|()| counter.0).unwrap_or(0)
}

fn encode<T: serde::Serialize>(line: &T) -> String {
    serde_json::to_string(line).expect("protocol types always serialize")
}

fn failure_text(error: &str, traceback: &str) -> String {
    match (error.is_empty(), traceback.is_empty()) {
        (_, true) => error.to_string(),
        (true, false) => traceback.to_string(),
        (false, false) => format!("{error}\n\n{traceback}"),
    }
}

fn refusal_body(refusal: &Refusal) -> RefusalBody {
    let error = match refusal {
        Refusal::ChildFailed { message, play_sid, timed_out, retry } => {
            return RefusalBody {
                kind: if *timed_out { RefusalKind::ChildTimedOut } else { RefusalKind::ChildFailed },
                message: message.clone(),
                play_sid: Some(play_sid.clone()),
                status: None,
                body: None,
                retry: retry.as_deref().cloned(),
            }
        }
        Refusal::Nondeterminism(message) => {
            return RefusalBody { kind: RefusalKind::Nondeterminism, message: message.clone(), play_sid: None, status: None, body: None, retry: None }
        }
        Refusal::Model(error) => {
            let kind = if error.is_configuration() {
                RefusalKind::NotConfigured
            } else if matches!(error, crate::model_call::ModelCallError::NoMessages) {
                RefusalKind::Validation
            } else {
                RefusalKind::ModelError
            };
            let (status, body) = error.answer();
            return RefusalBody { kind, message: error.to_string(), play_sid: None, status, body, retry: None };
        }
        Refusal::Service(error) => error,
    };
    let kind = match error {
        ServiceError::NotFound { .. } => RefusalKind::NotFound,
        ServiceError::Validation { .. } | ServiceError::InvalidParams { .. } => RefusalKind::Validation,
        ServiceError::Conflict { .. } => RefusalKind::Conflict,
        ServiceError::InvalidState { .. } => RefusalKind::InvalidState,
        ServiceError::Source { .. } => RefusalKind::Source,
        ServiceError::Internal(_) => RefusalKind::Internal,
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
    RefusalBody { kind, message, play_sid: None, status: None, body: None, retry: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_size_is_the_length_of_the_json_text() {
        let values = serde_json::json!({"name": "Zoë \"quoted\"\n", "n": [1, 2.5, null, true], "nested": {"k": "\u{1F600}"}});
        assert_eq!(json_size(&values), serde_json::to_string(&values).unwrap().len());
        assert_eq!(json_size(values.as_object().unwrap()), serde_json::to_string(&values).unwrap().len());
        assert_eq!(json_size(&Map::new()), 2);
    }

    #[test]
    fn a_failure_text_joins_message_and_traceback() {
        assert_eq!(failure_text("boom", ""), "boom");
        assert_eq!(failure_text("", "Traceback ..."), "Traceback ...");
        assert_eq!(failure_text("boom", "Traceback ..."), "boom\n\nTraceback ...");
    }

    #[test]
    fn refusals_carry_their_kind_and_a_failed_step_its_play() {
        let failed = refusal_body(&Refusal::ChildFailed { message: "broke".into(), play_sid: "00c1".into(), timed_out: false, retry: None });
        assert_eq!((failed.kind, failed.play_sid.as_deref()), (RefusalKind::ChildFailed, Some("00c1")));
        let invalid = refusal_body(&Refusal::Service(ServiceError::validation("ui", "unknown kind", "see ask_user")));
        assert_eq!(invalid.kind, RefusalKind::Validation);
        assert!(invalid.message.contains("(ui); see ask_user"), "{}", invalid.message);
        let missing = refusal_body(&Refusal::Service(ServiceError::not_found("no logic named \"x\"", "")));
        assert_eq!((missing.kind, missing.play_sid), (RefusalKind::NotFound, None));
    }
}
