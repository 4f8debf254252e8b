//! The `@logic(...)` entry function of a source and the signature it declares.

use std::collections::HashSet;

use hero_logic_api::LogicField;
use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor};
use ruff_python_ast::{Arguments, Expr, StmtFunctionDef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::docstring::{self, Section};
use super::fields::{self, Problem};
use super::literal;
use super::scope::Scope;
use super::source::PySource;
use super::ParseError;

/// What a logic's source declares about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signature {
    /// The decorator's `name=`, else the entry function's name; always set by the readers here.
    pub name: Option<String>,
    /// The decorator's `description=`, else the first paragraph of the entry's docstring.
    pub description: Option<String>,
    /// The entry function's name.
    pub entry: String,
    pub inputs: Vec<LogicField>,
    pub outputs: Vec<LogicField>,
    /// 1-based line of the entry function's `def`.
    pub line: u32,
    /// The decorator's `network=True`: its Plays may use the network.
    pub network: bool,
    /// The decorator's retry policy, when it gives one: calls by name follow it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// `@logic(retries=, backoff_s=, backoff_factor=, retry_on=, timeout_s=)` as written; the SDK
/// checks the values (at import, and again when a call by name follows them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetryPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// Exception class names (`ValueError`, `Failed`, `TimedOut`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

impl RetryPolicy {
    /// More than one attempt, or a time limit: a call under it is a retried one.
    pub fn applies(&self) -> bool {
        self.retries.unwrap_or(0) > 0 || self.timeout_s.is_some()
    }
}

/// Reads the signature of the logic a source defines.
///
/// The entry is the function decorated with `@logic(...)` (also `@flow`, `@hero_tracing.logic`,
/// aliases from `import ... as`, bare `@logic`). With several, the first rule that decides:
/// 1. a decorator's `entry="fn"` names it (`entry=True` marks the decorated function itself);
/// 2. the only one no other decorated function of the file calls (by name or through
///    `logic.invoke("<its name>")`): helpers are called, the entry is not;
/// 3. among those, the one whose function name equals its decorator's `name=`;
/// 4. the last one in the file (the conventional place for a main function).
pub fn read_signature(source: &str) -> Result<Signature, ParseError> {
    read(source, None)
}

/// Like [`read_signature`], but when several functions are decorated, prefers the one
/// declaring `logic_name` (as `name=` or as its function name), after an explicit `entry=`.
pub fn read_signature_named(source: &str, logic_name: &str) -> Result<Signature, ParseError> {
    read(source, Some(logic_name))
}

fn read(text: &str, wanted: Option<&str>) -> Result<Signature, ParseError> {
    let source = PySource::parse(text)?;
    let scope = Scope::of(&source.module);
    let candidates = candidates(&scope);
    let entry = choose_entry(&candidates, &scope, wanted).map_err(|e| e.into_error(&source))?;
    build(&entry, &scope, &source).map_err(|p| declaration_error(&source, p))
}

/// The entry function of a parsed source and the Logic name it declares, for the flow graph.
pub(super) struct EntryPoint<'a> {
    pub function: &'a StmtFunctionDef,
    pub logic_name: String,
}

/// Chooses the entry as [`read_signature_named`] does, without reading the declared fields:
/// a graph is still worth drawing when the decorator's `inputs=` cannot be read.
pub(super) fn entry_point<'a>(
    source: &PySource,
    scope: &Scope<'a>,
    wanted: Option<&str>,
) -> Result<EntryPoint<'a>, ParseError> {
    let candidates = candidates(scope);
    let entry = choose_entry(&candidates, scope, wanted).map_err(|e| e.into_error(source))?;
    let logic_name = entry
        .meta
        .declared_name()
        .unwrap_or(entry.function.name.as_str())
        .to_owned();
    Ok(EntryPoint {
        function: entry.function,
        logic_name,
    })
}

/// Every `@logic` function of the module, by function name, with the Logic name it declares:
/// calling one runs that Logic as a child Play.
pub(super) fn logic_functions<'a>(scope: &Scope<'a>) -> Vec<(&'a str, String)> {
    candidates(scope)
        .iter()
        .map(|c| (c.function.name.as_str(), c.logic_name().to_owned()))
        .collect()
}

/// A function carrying the decorator.
struct Candidate<'a> {
    function: &'a StmtFunctionDef,
    /// `None` for a bare `@logic`.
    args: Option<&'a Arguments>,
}

impl<'a> Candidate<'a> {
    fn kwarg(&self, name: &str) -> Option<&'a Expr> {
        self.args?.find_keyword(name).map(|k| &k.value)
    }

    /// `name=`, or a first positional string (`@logic("greeting")`), if a string literal.
    fn declared_name(&self) -> Option<&'a str> {
        let expr = self.kwarg("name").or_else(|| self.args?.args.first())?;
        literal::string(expr)
    }

    fn logic_name(&self) -> &'a str {
        self.declared_name().unwrap_or(self.function.name.as_str())
    }
}

fn candidates<'a>(scope: &Scope<'a>) -> Vec<Candidate<'a>> {
    let mut found = Vec::new();
    for function in &scope.functions {
        for decorator in &function.decorator_list {
            let candidate = match &decorator.expression {
                Expr::Call(call) if scope.is_decorator(&call.func) => Candidate {
                    function,
                    args: Some(&call.arguments),
                },
                bare if scope.is_decorator(bare) => Candidate {
                    function,
                    args: None,
                },
                _ => continue,
            };
            found.push(candidate);
            break;
        }
    }
    found
}

/// The chosen entry: whose decorator gives the metadata, and which function runs.
struct Entry<'c, 'a> {
    meta: &'c Candidate<'a>,
    function: &'a StmtFunctionDef,
}

enum EntryError {
    None { hint: String },
    Bad(Problem),
}

impl EntryError {
    fn into_error(self, source: &PySource) -> ParseError {
        match self {
            EntryError::None { hint } => ParseError::NoEntry { hint },
            EntryError::Bad(problem) => declaration_error(source, problem),
        }
    }
}

fn choose_entry<'c, 'a>(
    candidates: &'c [Candidate<'a>],
    scope: &Scope<'a>,
    wanted: Option<&str>,
) -> Result<Entry<'c, 'a>, EntryError> {
    let Some(last) = candidates.last() else {
        return Err(EntryError::None {
            hint: no_entry_hint(scope),
        });
    };
    if let Some(entry) = explicit_entry(candidates, scope)? {
        return Ok(entry);
    }
    let own = |c: &'c Candidate<'a>| Entry {
        meta: c,
        function: c.function,
    };
    if let Some(name) = wanted {
        let named = candidates.iter().rev().find(|c| c.logic_name() == name);
        if let Some(c) = named.or_else(|| {
            candidates
                .iter()
                .rev()
                .find(|c| c.function.name.as_str() == name)
        }) {
            return Ok(own(c));
        }
    }
    if candidates.len() == 1 {
        return Ok(own(last));
    }
    let roots = uncalled(candidates);
    if let [only] = roots.as_slice() {
        return Ok(own(only));
    }
    let pool: Vec<&Candidate> = if roots.is_empty() {
        candidates.iter().collect()
    } else {
        roots
    };
    let self_named = pool
        .iter()
        .rev()
        .find(|c| c.declared_name() == Some(c.function.name.as_str()));
    Ok(own(self_named.or(pool.last()).copied().unwrap_or(last)))
}

/// Rule 1: the first decorator with an `entry=` argument decides.
fn explicit_entry<'c, 'a>(
    candidates: &'c [Candidate<'a>],
    scope: &Scope<'a>,
) -> Result<Option<Entry<'c, 'a>>, EntryError> {
    for candidate in candidates {
        let Some(value) = candidate.kwarg("entry") else {
            continue;
        };
        match value {
            Expr::BooleanLiteral(b) if b.value => {
                return Ok(Some(Entry {
                    meta: candidate,
                    function: candidate.function,
                }));
            }
            Expr::BooleanLiteral(_) | Expr::NoneLiteral(_) => continue,
            _ => {}
        }
        let Some(target) = literal::string(value) else {
            return Err(EntryError::Bad(Problem::new(
                value,
                "entry= must be the entry function's name as a string, or True",
            )));
        };
        // A decorated target speaks for itself; an undecorated one borrows this decorator.
        if let Some(decorated) = candidates
            .iter()
            .find(|c| c.function.name.as_str() == target)
        {
            return Ok(Some(Entry {
                meta: decorated,
                function: decorated.function,
            }));
        }
        let function = scope.function(target).ok_or_else(|| {
            EntryError::Bad(Problem::new(
                value,
                format!("entry={target:?} names no top-level function of this file"),
            ))
        })?;
        return Ok(Some(Entry {
            meta: candidate,
            function,
        }));
    }
    Ok(None)
}

/// Rule 2: candidates that no *other* candidate calls (recursion does not count).
fn uncalled<'c, 'a>(candidates: &'c [Candidate<'a>]) -> Vec<&'c Candidate<'a>> {
    let calls: Vec<Calls> = candidates.iter().map(|c| Calls::of(c.function)).collect();
    candidates
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !calls.iter().enumerate().any(|(j, made)| {
                j != *i
                    && (made.functions.contains(c.function.name.as_str())
                        || made.invoked.contains(c.logic_name()))
            })
        })
        .map(|(_, c)| c)
        .collect()
}

/// Names a function body calls directly or invokes as logics.
#[derive(Default)]
struct Calls<'a> {
    functions: HashSet<&'a str>,
    invoked: HashSet<&'a str>,
}

impl<'a> Calls<'a> {
    fn of(function: &'a StmtFunctionDef) -> Self {
        let mut calls = Calls::default();
        source_order::walk_body(&mut calls, &function.body);
        calls
    }
}

impl<'a> SourceOrderVisitor<'a> for Calls<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            match call.func.as_ref() {
                Expr::Name(name) => {
                    self.functions.insert(name.id.as_str());
                }
                Expr::Attribute(attr) if matches!(attr.attr.as_str(), "invoke" | "map" | "spawn" | "ainvoke") => {
                    // The name is positional-only: `name=` would be an input of the child.
                    if let Some(target) = call.arguments.args.first().and_then(literal::string) {
                        self.invoked.insert(target);
                    }
                }
                _ => {}
            }
        }
        source_order::walk_expr(self, expr);
    }
}

fn no_entry_hint(scope: &Scope) -> String {
    const SHOWN: usize = 5;
    if scope.functions.is_empty() {
        return "the source defines no top-level function; write `@logic(name=\"...\", inputs={...}, \
                outputs={...})` above the entry function's `def`"
            .into();
    }
    let mut names: Vec<&str> = scope
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .take(SHOWN)
        .collect();
    if scope.functions.len() > SHOWN {
        names.push("...");
    }
    format!(
        "none of the top-level functions ({}) is decorated with @logic; add `@logic(name=\"{}\")` \
         (from hero_tracing import logic) above the entry function",
        names.join(", "),
        scope.functions[scope.functions.len() - 1].name.as_str(),
    )
}

fn build(entry: &Entry, scope: &Scope, source: &PySource) -> Result<Signature, Problem> {
    let meta = entry.meta;
    let function = entry.function;
    let doc = docstring::of_body(&function.body);
    let param_docs = doc
        .map(|d| docstring::names(d, Section::Params))
        .unwrap_or_default();

    let name = match meta
        .kwarg("name")
        .or_else(|| meta.args.and_then(|a| a.args.first()))
    {
        None => function.name.to_string(),
        Some(expr) => string_arg(expr, "name")?.to_owned(),
    };
    let description = match meta.kwarg("description") {
        Some(expr) if !expr.is_none_literal_expr() => {
            Some(string_arg(expr, "description")?.to_owned())
        }
        _ => doc.and_then(docstring::summary),
    };
    let inputs = match meta.kwarg("inputs").filter(|e| !e.is_none_literal_expr()) {
        Some(expr) => {
            let mut inputs = fields::declared(expr, scope, "inputs")?;
            fields::fill_descriptions(&mut inputs, &param_docs);
            let parameters = fields::from_parameters(&function.parameters, &param_docs, scope);
            fields::fill_optional_from_parameters(&mut inputs, &parameters);
            inputs
        }
        None => fields::from_parameters(&function.parameters, &param_docs, scope),
    };
    let outputs = match meta.kwarg("outputs").filter(|e| !e.is_none_literal_expr()) {
        Some(expr) => fields::declared(expr, scope, "outputs")?,
        None => returned_record(function, scope),
    };
    let network = match meta.kwarg("network") {
        None => false,
        Some(Expr::BooleanLiteral(flag)) => flag.value,
        Some(expr) => return Err(Problem::new(expr, "network= must be True or False".to_string())),
    };
    Ok(Signature {
        name: Some(name),
        description,
        entry: function.name.to_string(),
        inputs,
        outputs,
        line: source.line(function.name.range.start()),
        network,
        retry: retry_policy(meta)?,
    })
}

/// The decorator's retry options, read as literals so that a call by name can follow them.
fn retry_policy(meta: &Candidate) -> Result<Option<RetryPolicy>, Problem> {
    let number = |name: &str| -> Result<Option<f64>, Problem> {
        match meta.kwarg(name) {
            None => Ok(None),
            Some(expr) if expr.is_none_literal_expr() => Ok(None),
            Some(expr) => match literal::to_json(expr).and_then(|v| v.as_f64()) {
                Some(n) => Ok(Some(n)),
                None => Err(Problem::new(expr, format!("{name}= must be a number literal, so that calls by name follow it"))),
            },
        }
    };
    let retries = match meta.kwarg("retries") {
        None => None,
        Some(expr) => match literal::to_json(expr).and_then(|v| v.as_i64()) {
            Some(n) => Some(n),
            None => return Err(Problem::new(expr, "retries= must be a whole number literal, so that calls by name follow it".to_string())),
        },
    };
    let retry_on = match meta.kwarg("retry_on") {
        None => None,
        Some(expr) if expr.is_none_literal_expr() => None,
        Some(expr) => Some(exception_names(expr)?),
    };
    let policy = RetryPolicy {
        retries,
        backoff_s: number("backoff_s")?,
        backoff_factor: number("backoff_factor")?,
        retry_on,
        timeout_s: number("timeout_s")?,
    };
    Ok((policy != RetryPolicy::default()).then_some(policy))
}

/// `retry_on=`'s classes by their names: `ValueError`, `logic.Failed` -> `Failed`, `"KeyError"`.
fn exception_names(expr: &Expr) -> Result<Vec<String>, Problem> {
    let one = |item: &Expr| -> Result<String, Problem> {
        match item {
            Expr::Name(name) => Ok(name.id.to_string()),
            Expr::Attribute(attribute) => Ok(attribute.attr.to_string()),
            Expr::StringLiteral(s) if !s.value.to_str().is_empty() => Ok(s.value.to_str().to_string()),
            other => Err(Problem::new(other, "retry_on= takes exception classes or their names".to_string())),
        }
    };
    match expr {
        Expr::List(list) => list.elts.iter().map(one).collect(),
        Expr::Tuple(tuple) => tuple.elts.iter().map(one).collect(),
        single => Ok(vec![one(single)?]),
    }
}

fn string_arg<'e>(expr: &'e Expr, what: &str) -> Result<&'e str, Problem> {
    literal::string(expr)
        .ok_or_else(|| Problem::new(expr, format!("{what}= must be a string literal")))
}

/// The fields of the return annotation when it is a record class of this file.
fn returned_record(function: &StmtFunctionDef, scope: &Scope) -> Vec<LogicField> {
    let class_name = match function.returns.as_deref() {
        Some(Expr::Name(name)) => name.id.as_str(),
        Some(Expr::StringLiteral(s)) => s.value.to_str().trim(),
        _ => return Vec::new(),
    };
    match scope.classes.get(class_name) {
        Some(class) => fields::from_class(class, scope),
        None => Vec::new(),
    }
}

fn declaration_error(source: &PySource, problem: Problem) -> ParseError {
    let (line, column) = source.position(problem.at);
    ParseError::Declaration {
        line,
        column,
        message: problem.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::FieldType;
    use serde_json::json;

    fn sig(source: &str) -> Signature {
        read_signature(source).unwrap_or_else(|e| panic!("{e}\n---\n{source}"))
    }

    const GREETING: &str = r#"
"""Module docstring."""
from hero_tracing import logic

@logic(
    name="greeting",
    description="Greets.",
    inputs={"name": {"type": "string", "description": "Who."}, "greeting": {"type": "string", "default": "Hello"}},
    outputs={"message": "string"},
)
def main(name, greeting="Hello"):
    return {"message": f"{greeting}, {name}"}
"#;

    #[test]
    fn the_decorators_retry_policy_is_read_for_calls_by_name() {
        assert_eq!(sig(GREETING).retry, None, "no policy unless given");
        let given = "from hero_tracing import logic\n\n@logic(name=\"f\", retries=2, backoff_s=0.5, \
                     retry_on=[ValueError, logic.Failed, \"KeyError\"], timeout_s=3)\ndef f():\n    pass\n";
        let policy = sig(given).retry.expect("a policy");
        assert_eq!(policy.retries, Some(2));
        assert_eq!((policy.backoff_s, policy.backoff_factor, policy.timeout_s), (Some(0.5), None, Some(3.0)));
        assert_eq!(policy.retry_on.as_deref(), Some(&["ValueError".to_string(), "Failed".into(), "KeyError".into()][..]));
        assert!(policy.applies());
        let waits_only = "from hero_tracing import logic\n\n@logic(name=\"f\", backoff_s=1)\ndef f():\n    pass\n";
        assert!(!sig(waits_only).retry.unwrap().applies(), "no retries, no timeout: a plain call");
        let vague = "from hero_tracing import logic\n\nN = 3\n\n@logic(name=\"f\", retries=N)\ndef f():\n    pass\n";
        let err = read_signature(vague).unwrap_err().to_string();
        assert!(err.contains("retries= must be a whole number literal"), "{err}");
    }

    #[test]
    fn the_decorator_may_ask_for_the_network() {
        assert!(!sig(GREETING).network, "no network unless asked");
        let asks = "from hero_tracing import logic\n\n@logic(name=\"f\", network=True)\ndef f():\n    pass\n";
        assert!(sig(asks).network);
        let vague = "from hero_tracing import logic\n\n@logic(name=\"f\", network=\"yes\")\ndef f():\n    pass\n";
        let error = read_signature(vague).unwrap_err().to_string();
        assert!(error.contains("network= must be True or False"), "{error}");
    }

    #[test]
    fn declared_signature() {
        let s = sig(GREETING);
        assert_eq!(s.name.as_deref(), Some("greeting"));
        assert_eq!(s.description.as_deref(), Some("Greets."));
        assert_eq!(s.entry, "main");
        assert_eq!(s.line, 11);
        assert_eq!(s.inputs.len(), 2);
        assert!(s.inputs[0].required);
        assert_eq!(
            (s.inputs[1].required, s.inputs[1].default.clone()),
            (false, Some(json!("Hello")))
        );
        assert_eq!(s.outputs[0].field_type, FieldType::String);
    }

    #[test]
    fn a_parameter_default_makes_a_declared_input_optional() {
        let s = sig(
            "from hero_tracing import logic\n\n@logic(inputs={\"exit\": \"boolean\", \"n\": \"integer\"})\ndef f(n, exit: bool = False):\n    return {}\n",
        );
        assert!(s.inputs[1].required, "n has no default");
        assert!(!s.inputs[0].required);
        assert_eq!(s.inputs[0].default, Some(serde_json::json!(false)));
    }

    #[test]
    fn derived_signature() {
        let s = sig(r#"
from typing import TypedDict, Literal

class Out(TypedDict):
    total: int
    """The total."""

@logic
async def add_up(self, values: list[int], mode: Literal["sum", "max"] = "sum", *rest, **extra) -> Out:
    """Adds numbers up.

    Still the summary.

    Args:
        values: Numbers to add.
    """
"#);
        assert_eq!(s.name.as_deref(), Some("add_up"));
        assert_eq!(s.description.as_deref(), Some("Adds numbers up."));
        let names: Vec<&str> = s.inputs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["values", "mode"]);
        assert_eq!(
            (s.inputs[0].field_type, s.inputs[0].description.as_str()),
            (FieldType::Array, "Numbers to add.")
        );
        assert_eq!(s.inputs[1].options, ["sum", "max"]);
        assert_eq!(s.outputs.len(), 1);
        assert_eq!(
            (
                s.outputs[0].name.as_str(),
                s.outputs[0].description.as_str()
            ),
            ("total", "The total.")
        );
    }

    /// Issue 5, item 2: every annotation mapping, one parameter each.
    #[test]
    fn every_parameter_mapping() {
        let s = sig(r#"
from typing import Literal, Optional, TypedDict

class Point(TypedDict):
    x: int

@logic
def f(s: str, i: int, n: float, b: bool, d: dict, td: Point, l: list[int],
      o: Optional[int], u: str | None, lit: Literal["a", "b"], dflt: int = 7):
    """F.

    Args:
        s: A string.
    """
"#);
        let expected = [
            ("s", FieldType::String, true),
            ("i", FieldType::Integer, true),
            ("n", FieldType::Number, true),
            ("b", FieldType::Boolean, true),
            ("d", FieldType::Object, true),
            ("td", FieldType::Object, true),
            ("l", FieldType::Array, true),
            ("o", FieldType::Integer, false),
            ("u", FieldType::String, false),
            ("lit", FieldType::String, true),
            ("dflt", FieldType::Integer, false),
        ];
        let got: Vec<(&str, FieldType, bool)> = s
            .inputs
            .iter()
            .map(|f| (f.name.as_str(), f.field_type, f.required))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(s.inputs[9].options, ["a", "b"]);
        assert_eq!(s.inputs[10].default, Some(json!(7)));
        assert_eq!(s.inputs[0].description, "A string.");
    }

    #[test]
    fn no_outputs_without_record_return() {
        assert!(sig("@logic\ndef f(x: int) -> dict:\n    return {}\n")
            .outputs
            .is_empty());
        assert!(sig("@logic\ndef f(x: int):\n    return {}\n")
            .outputs
            .is_empty());
    }

    #[test]
    fn decorator_spellings() {
        for source in [
            "@logic(name='n')\ndef f(): ...",
            "@flow(name='n')\ndef f(): ...",
            "import hero_tracing\n@hero_tracing.logic(name='n')\ndef f(): ...",
            "import hero_tracing\n@hero_tracing.flow(name='n')\ndef f(): ...",
            "from hero_tracing import logic as lg\n@lg('n')\ndef f(): ...",
            "@other\n@logic(name='n')\ndef f(): ...",
        ] {
            assert_eq!(sig(source).name.as_deref(), Some("n"), "{source}");
        }
        assert_eq!(
            sig("@logic\ndef plain(): ...").name.as_deref(),
            Some("plain")
        );
    }

    #[test]
    fn docstring_descriptions_fill_declared_inputs() {
        let s = sig("@logic(inputs={'x': 'int'})\ndef f(x):\n    \"\"\"F.\n\n    Args:\n        x: The x.\n    \"\"\"\n");
        assert_eq!(s.inputs[0].description, "The x.");
    }

    #[test]
    fn entry_kwarg_decides() {
        let source = r#"
@logic(name="helper")
def helper(): ...

@logic(name="main_logic", entry="run")
def declared(): ...

def run(a: int): ...
"#;
        let s = sig(source);
        assert_eq!(
            (s.name.as_deref(), s.entry.as_str()),
            (Some("main_logic"), "run")
        );
        assert_eq!(s.inputs[0].field_type, FieldType::Integer);

        let s = sig("@logic(name='a')\ndef a(): ...\n@logic(name='b', entry=True)\ndef b(): ...\n@logic(name='c')\ndef c(): ...\n");
        assert_eq!(s.entry, "b");
        let s = sig(
            "@logic(name='a', entry='c')\ndef a(): ...\n@logic(name='c_logic')\ndef c(): ...\n",
        );
        assert_eq!(s.name.as_deref(), Some("c_logic"));
    }

    #[test]
    fn entry_kwarg_errors() {
        for (source, needle) in [
            (
                "@logic(entry='nope')\ndef f(): ...",
                "names no top-level function",
            ),
            ("@logic(entry=3)\ndef f(): ...", "entry= must be"),
        ] {
            match read_signature(source) {
                Err(ParseError::Declaration {
                    line: 1, message, ..
                }) => assert!(message.contains(needle), "{message}"),
                other => panic!("{source}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_uncalled_function_is_the_entry() {
        // Entry first, helpers after; the pipeline invokes one helper by logic name and
        // calls the other directly.
        let source = r#"
@logic(name="pipeline")
def run(text):
    clean = logic.invoke("normalize", text=text)
    return {"n": count(clean["text"])}

@logic(name="normalize")
def normalize(text): ...

@logic(name="count")
def count(text): ...
"#;
        assert_eq!(sig(source).name.as_deref(), Some("pipeline"));
    }

    #[test]
    fn fallbacks_among_several() {
        // Independent functions: prefer function name == logic name, else the last.
        let s = sig("@logic(name='x')\ndef a(): ...\n@logic(name='b')\ndef b(): ...\n@logic(name='y')\ndef c(): ...\n");
        assert_eq!(s.entry, "b");
        let s = sig("@logic(name='x')\ndef a(): ...\n@logic(name='y')\ndef c(): ...\n");
        assert_eq!(s.entry, "c");
        // Mutual calls leave no root: fall back over all of them.
        let s = sig("@logic\ndef a():\n    b()\n@logic\ndef b():\n    a()\n");
        assert_eq!(s.entry, "b");
    }

    #[test]
    fn named_reader_prefers_the_wanted_logic() {
        let source = "@logic(name='x')\ndef a(): ...\n@logic(name='y')\ndef b(): ...\n";
        assert_eq!(
            read_signature_named(source, "x")
                .map(|s| s.entry)
                .ok()
                .as_deref(),
            Some("a")
        );
        assert_eq!(
            read_signature_named(source, "b")
                .map(|s| s.entry)
                .ok()
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            read_signature_named(source, "zzz")
                .map(|s| s.entry)
                .ok()
                .as_deref(),
            Some("b")
        );
    }

    #[test]
    fn no_entry_hints() {
        match read_signature("") {
            Err(ParseError::NoEntry { hint }) => {
                assert!(hint.contains("no top-level function"), "{hint}")
            }
            other => panic!("{other:?}"),
        }
        match read_signature("def main(): ...\nclass C:\n    @logic\n    def m(self): ...\n") {
            Err(ParseError::NoEntry { hint }) => {
                assert!(hint.contains("(main)") && hint.contains("@logic"), "{hint}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_metadata_is_reported_with_position() {
        match read_signature("@logic(\n    name=NAME,\n)\ndef f(): ...\n") {
            Err(ParseError::Declaration {
                line,
                column,
                message,
            }) => {
                assert_eq!((line, column), (2, 10));
                assert!(message.contains("name="), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_signature("@logic(inputs={'x': 1})\ndef f(x): ..."),
            Err(ParseError::Declaration { .. })
        ));
    }

    #[test]
    fn modern_syntax_parses() {
        let bodies = [
            ("pep701_fstring", "    d = {'a': 1}\n    return {'s': f\"{d[\"a\"]} {f'{d['a']}'}\"}\n"),
            ("match", "    match x:\n        case {'k': [1, *rest]} if rest:\n            pass\n        case _:\n            pass\n"),
            ("walrus", "    if (n := len(x)) > 1:\n        return {'n': n}\n"),
            ("except_star", "    try:\n        pass\n    except* ValueError as eg:\n        pass\n"),
            ("async_comprehension", "    return [y async for y in x]\n"),
        ];
        for (label, body) in bodies {
            let source = format!("@logic\nasync def f(x):\n{body}");
            assert_eq!(sig(&source).entry, "f", "{label}");
        }
        let s = sig("type Alias = int\ntype Pair[T] = tuple[T, T]\n@logic\ndef f[T](x: T, y: Alias) -> None: ...\n");
        assert_eq!(s.inputs.len(), 2);
        let s = sig("class Box[T]:\n    item: T\n@logic\ndef f(x: int) -> Box: ...\n");
        assert_eq!(s.outputs[0].name, "item");
    }

    #[test]
    fn syntax_errors_have_positions() {
        match read_signature("@logic\ndef f(x):\n    return {'a': }\n") {
            Err(ParseError::Syntax {
                line,
                column,
                message,
            }) => {
                assert_eq!(line, 3);
                assert!(column > 1);
                assert!(!message.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut inputs: Vec<String> = vec![
            String::new(),
            "\0\u{1}\u{ffff}\u{feff}".into(),
            "@".into(),
            "@logic".into(),
            "@logic(".into(),
            "@logic(inputs={".into(),
            "def".into(),
            "\"\"\"".into(),
            "f'{".into(),
            "\t\t  \n\tx\n  y".into(),
            "é = 'ü' +".into(),
            "\u{feff}@logic\ndef f(): ...".into(),
            "@logic(inputs=[{'name': 3}])\ndef f(): ...".into(),
            "@logic(inputs={'x': {'type': 3}})\ndef f(): ...".into(),
            "@logic(inputs=INPUTS)\ndef f(): ...\nINPUTS = INPUTS".into(),
            "@logic()\ndef f(x: 'Optional[' = ..., y: '\"\\'' = 1e999): ...".into(),
            "(".repeat(10_000),
            ")".repeat(10_000),
            format!(
                "@logic\ndef f(x={}1{}): ...",
                "[".repeat(3_000),
                "]".repeat(3_000)
            ),
            format!(
                "@logic\ndef f(x: {}int{}): ...",
                "Optional[".repeat(2_000),
                "]".repeat(2_000)
            ),
            // Deep but under the nesting limit: the readers' own recursion must cope.
            format!(
                "@logic\ndef f(x: {}int{}): ...",
                "Optional[".repeat(450),
                "]".repeat(450)
            ),
            format!(
                "@logic(inputs={{'x': {}1{}}})\ndef f(): ...",
                "[".repeat(450),
                "]".repeat(450)
            ),
        ];
        // Binary-ish bytes, lossily decoded as the daemon would.
        let bytes: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        for input in &inputs {
            let _ = read_signature(input);
            let _ = read_signature_named(input, "f");
        }
    }
}
