//! The static flow graph of a LogicVersion, as `LogicService.logic_parse_graph` returns it
//! (DESIGN.md §9). The server builds it from the Python source without running it; the admin
//! draws it in the idle Flow view and lays Play trees over it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the static parse sees in one version: its entry function and, in the order they run,
/// the calls a Play tree is made of (invocations, RPC/HTTP calls, pauses) and the control flow
/// around them (loops, branches, try blocks, returns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowGraph {
    pub version_sid: String,
    /// The entry function; absent when the source has none or cannot be read, and for a
    /// bound version.
    pub entry: Option<FlowEntry>,
    /// Top-level steps of the entry function, in execution order.
    pub nodes: Vec<FlowNode>,
    /// Why the source could not be read (`nodes` is then empty).
    pub error: Option<FlowError>,
    /// The walk stopped early: helpers nested deeper than the parser follows, or a graph too
    /// large to draw. What is there is right, but not everything is there.
    pub truncated: bool,
    /// Served from the store: graphs are computed once per version, which never changes.
    pub cached: bool,
}

/// The function a Play of this version starts in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowEntry {
    /// The Python function's name.
    pub function: String,
    /// The Logic name its `@logic(name=...)` declares (the function's name when none).
    pub logic: String,
    /// 1-based position of the function's name.
    pub line: u32,
    pub column: u32,
}

/// A source the parser could not read. Positions are 1-based; columns count characters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowError {
    /// Absent when the error is about the whole source (too large, no entry function).
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// One step of the flow. `kind` says which, and which of the other fields it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowNode {
    /// 1-based line and column (in characters) where the step starts.
    pub line: u32,
    pub column: u32,
    /// One line to show, e.g. `greeting`, `HTTP GET api.example.com`, `for item in items`.
    pub label: String,
    /// Set when the step sits in a helper function of the same file that the entry (or
    /// another helper) calls: the helper's name. The step shows where the helper is called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<String>,
    #[serde(flatten)]
    pub step: FlowStep,
}

/// The kinds of step, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlowStep {
    /// A call of another Logic: a child Play at run time.
    Invoke {
        /// The Logic's name; absent when the name is computed at run time.
        target: Option<String>,
        via: InvokeVia,
    },
    /// A call that leaves the process: a method of an RPC client, or an HTTP request.
    Rpc {
        api: RpcApi,
        /// The service (`LogicService`, `Model` for a `ModelClient`), or for HTTP the library
        /// (`requests`, `httpx`, `urllib`).
        service: String,
        /// The method (`play_start`, `chat.completions.create`); for HTTP the verb (`GET`).
        method: String,
        /// HTTP only: the host, when the URL is a literal (or starts with one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// A question to a person: the Play waits in `awaiting_resume` until it is answered.
    Pause {
        via: PauseVia,
        /// The form: from the `ask_user.*` method, or `ui={"kind": ...}` of `logic.pause`
        /// (text when it says none); absent when not a literal.
        form: Option<PauseForm>,
        /// The question's name when it is a literal (ask_user's `name=`, logic.pause's first
        /// argument).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The prompt, when it is a literal string.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
        /// The options of a choice, when they are a literal list of strings (or a module
        /// constant bound to one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        options: Option<Vec<String>>,
    },
    /// A `for` or `while` loop, or a comprehension that contains steps.
    Loop {
        style: LoopStyle,
        /// The loop header as written, e.g. `for i in range(1, n + 1)`.
        header: String,
        children: Vec<FlowNode>,
        /// The loop's `else:` block.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        orelse: Vec<FlowNode>,
    },
    /// An `if`/`elif`/`else` chain, or a `match` (one branch per `case`).
    If { branches: Vec<FlowBranch> },
    /// A `try` statement.
    Try {
        body: Vec<FlowNode>,
        handlers: Vec<FlowHandler>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        orelse: Vec<FlowNode>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        finalbody: Vec<FlowNode>,
    },
    /// A `return` (in a helper, it ends the helper, not the Logic).
    Return {
        /// The returned expression as written (shortened when long).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
}

/// How a Logic is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum InvokeVia {
    /// `logic.invoke("name", ...)`.
    #[serde(rename = "logic.invoke")]
    LogicInvoke,
    /// `logic.map("name", [...])`, `logic.spawn("name", ...)` or `logic.ainvoke("name", ...)`:
    /// children that run beside each other (every call of a map fills this one node).
    #[serde(rename = "parallel")]
    Parallel,
    /// A call of another `@logic` function of the same file.
    #[serde(rename = "local")]
    Local,
    /// A call of a name imported as a Logic: `from word_stats import word_stats`.
    #[serde(rename = "import")]
    Import,
    /// The version is bound to another Logic (§8): it runs the target.
    #[serde(rename = "binding")]
    Binding,
}

/// Which kind of client makes an RPC step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RpcApi {
    /// `hero_tracing.client.Client`: JSON-RPC to the hero_logic daemon.
    HeroLogic,
    /// An object built by a `*Client(...)` constructor.
    Client,
    /// `requests`, `httpx`, `urllib.request`, `hero_tracing.client.http_json`.
    Http,
    /// `hero_tracing.llm.chat` / `chat_with_usage`: a model call (its tokens land on the Play).
    Model,
    /// A standard-library call the flow shows as a marker (`re.search`, `ast.parse`).
    Stdlib,
}

/// Which SDK call pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PauseVia {
    #[serde(rename = "logic.pause")]
    LogicPause,
    #[serde(rename = "ask_user")]
    AskUser,
    /// `logic.sleep(seconds)` / `logic.sleep_until(ms)`: a timer the daemon answers itself
    /// (no form; `prompt` says for how long when the source has it as a literal).
    #[serde(rename = "logic.sleep")]
    LogicSleep,
}

/// The form a pause shows (`ResumeRequest.ui.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseForm {
    Text,
    Number,
    Choice,
    MultiChoice,
    Confirm,
}

impl PauseForm {
    /// The form named by an `ask_user` method or a `ui["kind"]` value.
    pub fn from_name(name: &str) -> Option<PauseForm> {
        Some(match name {
            "text" => PauseForm::Text,
            "number" => PauseForm::Number,
            "choice" => PauseForm::Choice,
            "multi_choice" => PauseForm::MultiChoice,
            "confirm" => PauseForm::Confirm,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoopStyle {
    For,
    While,
    /// A list/set/dict comprehension or generator expression.
    Comprehension,
}

/// One branch of an `if` chain or a `match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowBranch {
    pub line: u32,
    pub column: u32,
    /// The condition as written (`n <= 1`, `case "a" | "b"`); absent for `else`.
    pub condition: Option<String>,
    pub children: Vec<FlowNode>,
}

/// One `except` clause.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FlowHandler {
    pub line: u32,
    pub column: u32,
    /// The exception expression as written (`ValueError`, `(KeyError, TypeError)`); absent
    /// for a bare `except:`.
    pub exception: Option<String>,
    /// The `as` name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `except*` (an exception group handler).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub star: bool,
    pub children: Vec<FlowNode>,
}
