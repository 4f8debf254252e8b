//! Parameter and result shapes of every method. Params are always passed by name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::{Binding, Logic, LogicField, Play};

/// `X.get`, `X.delete`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SidParams {
    pub sid: String,
}

/// `X.set`: creates the object when `sid` is empty or unknown, replaces it otherwise.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetParams<T> {
    pub object: T,
}

pub const DEFAULT_PAGE_LIMIT: u32 = 50;
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// `X.list`: newest first. Pass the previous page's `next_cursor` to continue.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `X.find`: equality filters on the object's fields plus paging, e.g.
/// `{"logic_sid": "0001", "limit": 10}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FindParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[serde(flatten)]
    pub filters: serde_json::Map<String, Value>,
}

/// A page of a list, newest first; `next_cursor` is empty on the last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: String,
}

/// `X.delete` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    pub deleted: bool,
}

/// `LogicService.logic_create`: a Logic and its first version in one call.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogicCreateParams {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub python_source: Option<String>,
    pub binding: Option<Binding>,
    /// Declared inputs; read from the source's `@logic(...)` decorator when omitted.
    pub inputs: Option<Vec<LogicField>>,
    pub outputs: Option<Vec<LogicField>>,
    /// Defaults to `v1`.
    pub version_label: Option<String>,
    pub notes: String,
}

/// `LogicService.logic_create_version`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogicCreateVersionParams {
    /// Name or sid of the Logic.
    pub logic: String,
    pub python_source: Option<String>,
    pub binding: Option<Binding>,
    pub inputs: Option<Vec<LogicField>>,
    pub outputs: Option<Vec<LogicField>>,
    /// Defaults to `v<N+1>`.
    pub version_label: Option<String>,
    pub notes: String,
    /// Make the new version current (default true).
    pub make_current: Option<bool>,
}

/// `LogicService.logic_set_current_version`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogicSetCurrentVersionParams {
    /// Name or sid of the Logic.
    pub logic: String,
    /// Sid or label of one of its versions.
    pub version: String,
}

/// `LogicService.logic_library_search`: ranked match over name, description and tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LibrarySearchParams {
    /// Words to look for; empty lists every Logic by name.
    pub query: String,
    /// Only Logics carrying every one of these tags.
    pub tags: Vec<String>,
    /// At most this many hits (default 50).
    pub limit: Option<u32>,
}

/// One hit of `logic_library_search`, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LibraryHit {
    pub logic: Logic,
    /// Higher is better: exact name > name prefix > name word > tag > description.
    pub score: f64,
    /// The current version's label.
    pub current_version_label: String,
}

/// `LogicService.logic_example_create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExampleCreateParams {
    /// Name or sid of the Logic.
    pub logic: String,
    /// Sid or label of a version to scope the example to; empty for every version.
    pub version: String,
    pub name: String,
    pub description: String,
    /// A JSON object, or a string holding one.
    #[serde(deserialize_with = "crate::types::object_or_json_text")]
    pub input_values: serde_json::Map<String, Value>,
    pub tags: Vec<String>,
}

/// `LogicService.logic_example_list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExampleListParams {
    /// Name or sid of the Logic.
    pub logic: String,
    /// Sid or label of a version: lists its own examples and the version-less ones.
    pub version: String,
}

/// Per-Play sandbox limits; each one left out takes the `service.toml` default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock budget of the whole top-level Play, in milliseconds.
    pub wall_clock_ms: Option<u64>,
    /// Address-space cap of the runner process, in MiB.
    pub memory_mb: Option<u64>,
    /// Highest number of open file descriptors.
    pub max_open_files: Option<u64>,
    /// Lets the Play use the network (no network namespace, no Landlock TCP rules). A
    /// version whose decorator says `network=True` gets it without asking.
    pub network: Option<bool>,
}

/// `LogicService.play_start`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayStartParams {
    /// Name or sid of the Logic.
    pub logic: String,
    /// Input values by name; checked against the version's declared inputs, defaults applied.
    pub inputs: serde_json::Map<String, Value>,
    /// Sid or label of the version to run; the current one when left out.
    pub version: Option<String>,
    /// Sid or name of an example whose inputs fill what `inputs` leaves out.
    pub example: Option<String>,
    pub limits: Option<Limits>,
}

/// `LogicService.play_status`, `play_cancel`, `play_tree`, `play_rerun`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaySidParams {
    pub play_sid: String,
}

/// `LogicService.play_wait`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayWaitParams {
    pub play_sid: String,
    /// Longest wait in milliseconds (default 30000, at most 600000). The Play is returned
    /// as it is then, finished or not.
    pub timeout_ms: Option<u64>,
}

/// `LogicService.play_tree` result: the Play and every descendant, in creation order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlayTree {
    pub play: Play,
    pub descendants: Vec<Play>,
}

/// `LogicService.play_list_for_logic`: a Logic's top-level and child Plays, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayListForLogicParams {
    /// Name or sid of the Logic.
    pub logic: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `LogicService.play_list_for_version`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayListForVersionParams {
    pub version_sid: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `LogicService.play_resume`: answer a question a Play asked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayResumeParams {
    /// Any Play of the run: the one that asked, one of its ancestors, or the top-level Play.
    pub play_sid: String,
    /// The `id` of one of the asking Play's `pending_resumes`.
    pub resume_id: String,
    /// The answer, checked against the question's form (a choice must be one of its options,
    /// a number must parse, ...).
    pub payload: Value,
}

/// `LogicService.play_fork`: a new top-level Play that takes the recorded results of the
/// source's steps before `from_step` and runs from there fresh.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayForkParams {
    /// The top-level Play to fork.
    pub play_sid: String,
    /// The first step that runs again.
    pub from_step: StepRef,
    /// Sid or label of the version of the same Logic to run; the source's version when left out.
    #[serde(default)]
    pub version: Option<String>,
}

/// A step of a top-level Play: its place among the Play's child calls, from 0 (the `n` of
/// an ordered step key, the index in `sub_play_sids`), or its step key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StepRef {
    Index(u32),
    Key(String),
}

impl Default for StepRef {
    fn default() -> Self {
        StepRef::Index(0)
    }
}

impl std::fmt::Display for StepRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepRef::Index(n) => write!(f, "{n}"),
            StepRef::Key(key) => write!(f, "{key:?}"),
        }
    }
}

/// `LogicService.logic_parse_graph`: the static flow graph of one version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseGraphParams {
    pub version_sid: String,
}

/// `LogicService.logic_stats`: figures over the last N Plays of one version (any depth).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogicStatsParams {
    /// Name or sid of the Logic.
    pub logic: String,
    /// Sid or label of the version; the current one when left out.
    pub version: Option<String>,
    /// How many of the latest Plays to look at (default 50, at most 10000).
    pub last_n: Option<u32>,
}

/// Figures derived from Plays; nothing is stored for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LogicStats {
    pub logic_sid: String,
    pub version_sid: String,
    pub version_label: String,
    pub last_n: u32,
    /// Plays looked at (at most `last_n`).
    pub runs: u64,
    /// Plays per status.
    pub status_counts: std::collections::BTreeMap<String, u64>,
    /// Successes over finished Plays (0 when none finished).
    pub success_rate: f64,
    /// Durations of finished Plays, in milliseconds.
    pub p50_duration_ms: u64,
    pub p95_duration_ms: u64,
    pub max_duration_ms: u64,
    /// Per Play, each with its descendants rolled up.
    pub avg_tokens_prompt: f64,
    pub avg_tokens_completion: f64,
    pub avg_cost_usd: f64,
    pub total_tokens_prompt: u64,
    pub total_tokens_completion: u64,
    pub total_cost_usd: f64,
    /// When the latest Play was created, and its status ("" when there is none).
    pub latest_run_at: u64,
    pub latest_status: String,
    /// Durations of the looked-at Plays, newest first, with their status (for a chart).
    pub recent: Vec<RecentRun>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecentRun {
    pub play_sid: String,
    pub status: String,
    pub duration_ms: u64,
    pub created_at: u64,
}

/// `LogicService.logic_dashboard`: no params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {}

/// One row of the dashboard: a Logic with its latest run and recent success rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DashboardRow {
    pub logic: Logic,
    pub current_version_label: String,
    /// Latest Play of the Logic (any depth): when, and its status ("" when none).
    pub latest_run_at: u64,
    pub latest_status: String,
    /// Successes over finished Plays among its last 50.
    pub success_rate: f64,
    /// Plays among its last 50 (50 means "50 or more").
    pub recent_runs: u64,
}

/// `LogicService.logic_binding_identity`: identity mapping tables for binding to a target.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingIdentityParams {
    /// Name or sid of the target Logic.
    pub target: String,
}

/// `LogicService.play_watch`: wait for the next change, for live views.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayWatchParams {
    pub play_sid: String,
    /// The `version` of the last answer (0 the first time): the call returns at once when the
    /// daemon changed anything since, else at the next change.
    pub since: u64,
    /// Longest wait in milliseconds (default 30000, at most 600000).
    pub timeout_ms: Option<u64>,
}

/// `LogicService.play_watch` result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlayWatch {
    /// Pass it back as `since` to wait for the next change.
    pub version: u64,
    pub tree: PlayTree,
}

/// `LogicService.engine_info`: no params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineInfoParams {}

/// `LogicService.engine_info` result: the engine's settings (`[engine]` in service.toml, or
/// the daemon's flags) and its load right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct EngineInfo {
    /// Top-level Plays run at once; more wait in a FIFO queue.
    pub pool_size: u64,
    /// Whether Plays start from the fork server (`[sandbox] fork_server`); else each starts
    /// a fresh interpreter.
    pub fork_server: bool,
    /// What start-up does with Plays a crash left running: `replay` or `fail`.
    pub recover: String,
    /// Start-up replays one Play gets before it is failed instead.
    pub recover_attempts: u64,
    /// Top-level Plays holding a worker now.
    pub running: u64,
    /// Top-level Plays waiting for a worker.
    pub queued: u64,
    /// The default wall-clock budget of a Play, in milliseconds: how long one Play can hold
    /// a worker unless `play_start {limits}` sets another.
    pub wall_clock_ms: u64,
}

/// `LogicService.models_config`: no params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfigParams {}

/// `LogicService.models_config` result: the models table (shipped `models.toml` merged with
/// `<data dir>/models.toml`) and the model endpoint settings. The API key is never included.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelsConfig {
    /// Prices by model name.
    pub models: std::collections::BTreeMap<String, ModelPrice>,
    /// Every alias (lowercase) and the model name it stands for.
    pub aliases: std::collections::BTreeMap<String, String>,
    /// Where the user's override is read from, and whether that file exists.
    pub override_path: String,
    pub override_found: bool,
    pub endpoint: ModelEndpoint,
}

/// What one model costs, in US dollars per million tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelPrice {
    pub prompt_per_million: f64,
    pub completion_per_million: f64,
    /// Other names the model answers to (a provider prefix, a `-latest` name, ...).
    pub aliases: Vec<String>,
    /// `shipped` (models.toml in the release) or `user` (the data dir's models.toml).
    pub source: String,
}

/// The OpenAI-compatible endpoint `model_call` uses (`[models]` in service.toml).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelEndpoint {
    /// Base URL up to `/v1`; "" when none is configured.
    pub base_url: String,
    /// The environment variable the daemon reads the API key from.
    pub api_key_env: String,
    /// Whether that variable was set (non-empty) when the daemon started.
    pub key_set: bool,
    /// The model used when a caller names none ("" = none).
    pub default_model: String,
}

/// `LogicService.sandbox_info`: no params.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxInfoParams {}

/// `LogicService.sandbox_info` result: the protections the daemon's start probe found for a
/// Play's process, what bounds a Play in total, and whether Plays are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SandboxInfo {
    /// Protection name (`userns`, `pidns`, `netns`, `landlock_fs`, `cgroup`, ...) -> on.
    pub active: std::collections::BTreeMap<String, bool>,
    /// Why a protection is off, or a detail (`landlock_fs`: the ABI).
    pub notes: std::collections::BTreeMap<String, String>,
    pub total_memory_bound: String,
    pub process_bound: String,
    /// Protections of the full level that are off.
    pub missing: Vec<String>,
    /// `[sandbox] allow_weaker`.
    pub allow_weaker: bool,
    /// Why Plays are refused, and the setting that would accept the weaker level; absent when
    /// Plays run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// One line: what is on, what is missing, the bounds.
    pub summary: String,
    /// Plays start from the fork server (else cold).
    pub fork_server: bool,
}

/// `LogicService.logic_import`: records of the old OSIS store (Workflow, WorkflowVersion,
/// Example, Benchmark, Play), converted to the current model. Idempotent: a record already
/// imported is reported unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImportParams {
    pub records: Vec<ImportRecord>,
    /// Report what would change, write nothing.
    pub dry_run: bool,
}

/// One old record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImportRecord {
    /// `workflow`, `workflowversion`, `example`, `benchmark` or `play`; empty to read it from
    /// the record's `_type` or its shape.
    pub kind: String,
    /// Where it came from (a file path), repeated in the report.
    pub origin: String,
    pub record: Value,
}

/// What an import did (or, dry, would do), record by record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: Vec<ImportItem>,
    pub updated: Vec<ImportItem>,
    pub unchanged: Vec<ImportItem>,
    /// Records with no place in the current model (Benchmarks: stats derive from Plays).
    pub dropped: Vec<ImportItem>,
    /// Records that could not be imported, with the reason; nothing of them was written.
    pub refused: Vec<ImportItem>,
}

/// One record in an import report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ImportItem {
    /// `logic`, `logicversion`, `logicexample`, `play`, or the old kind for dropped and refused ones.
    pub kind: String,
    pub sid: String,
    pub name: String,
    pub origin: String,
    /// What was not carried over as it was (fields without a place, flattened spans, a status
    /// changed), or why the record was dropped or refused.
    pub notes: Vec<String>,
}

/// `LogicService.logic_split`: one source per `@logic`/`@flow` function of a file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SplitParams {
    pub python_source: String,
}

/// The parts of a split file, in file order, and what could not be rewritten.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SplitResult {
    pub parts: Vec<SplitPart>,
    /// Calls or references left as they were, with their line; they fail at run time once
    /// the function lives in a Logic of its own.
    pub notes: Vec<String>,
}

/// One logic of a split file: the file's text without the other logics' functions, calls to
/// them rewritten to `logic.invoke("name", ...)`, the rest byte for byte.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct SplitPart {
    pub logic_name: String,
    pub function: String,
    pub python_source: String,
    /// The file's entry: its part is the parent Logic's new source.
    pub entry: bool,
}

/// `LogicService.play_search`: every Play matching all the given filters, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlaySearchParams {
    /// Name or sid of a Logic; absent = every Logic.
    pub logic: Option<String>,
    /// One of `pending`, `running`, `awaiting_resume`, `success`, `failed`, `cancelled`,
    /// `timed_out`; absent = any.
    pub status: Option<String>,
    /// Plays created at or after this time (ms since the epoch).
    pub since: Option<crate::types::Millis>,
    /// Plays created before this time (ms since the epoch).
    pub until: Option<crate::types::Millis>,
    /// Case-insensitive text looked for in the inputs, outputs and error message.
    pub text: Option<String>,
    /// Only Plays started by a caller, not by another Play (default true).
    pub top_level_only: Option<bool>,
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `LogicService.play_inbox`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlayInboxParams {}

/// One question waiting for a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct InboxItem {
    /// The Play that asked (may be a child Play).
    pub play_sid: String,
    /// The top-level Play it belongs to, whose view shows it.
    pub root_play_sid: String,
    pub logic_sid: String,
    pub logic_name: String,
    pub request: crate::types::ResumeRequest,
}

/// `LogicService.play_inbox`'s answer: the open questions, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Inbox {
    pub items: Vec<InboxItem>,
}
