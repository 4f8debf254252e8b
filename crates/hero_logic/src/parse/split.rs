//! The multi-`@flow` split of the seed's migration: a file that declares several logics
//! becomes one source per logic.
//!
//! Each part is the file's text with the *other* decorated functions removed and every call to
//! one of them rewritten to `logic.invoke("<its logic name>", ...)` (positional arguments
//! named after the callee's parameters); everything else is kept byte for byte, so module
//! helpers, imports and constants stay available to every part. The entry's part is the
//! parent's new source.

use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor};
use ruff_python_ast::{Expr, ExprCall, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::scope::Scope;
use super::signature::{entry_point, logic_functions};
use super::source::PySource;
use super::ParseError;

/// One logic of a split file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPart {
    /// The Logic name its decorator declares (else its function name).
    pub logic_name: String,
    pub function: String,
    /// The source of that logic alone.
    pub source: String,
    /// The file's entry: its part is the parent's new source.
    pub entry: bool,
}

/// A split: the parts in file order, and what could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub parts: Vec<SplitPart>,
    /// Calls and references left as they were (each with its line), which will fail at run
    /// time once the function lives in another Logic.
    pub notes: Vec<String>,
}

/// Splits `text`; a file with one logic (or none) gives itself as its only part.
pub fn split_logics(text: &str) -> Result<Split, ParseError> {
    let source = PySource::parse(text)?;
    let scope = Scope::of(&source.module);
    let logics = logic_functions(&scope);
    let entry = entry_point(&source, &scope, None)?;
    if logics.len() < 2 {
        let part = SplitPart { logic_name: entry.logic_name, function: entry.function.name.to_string(), source: text.to_string(), entry: true };
        return Ok(Split { parts: vec![part], notes: Vec::new() });
    }
    let flows: Vec<Flow> = logics
        .iter()
        .filter_map(|(function, logic_name)| {
            let def = top_level_def(&source, function)?;
            Some(Flow { function: function.to_string(), logic_name: logic_name.clone(), def, params: positional_params(def) })
        })
        .collect();
    let invoker = invoker_name(&source);
    let mut notes = Vec::new();
    let parts = flows
        .iter()
        .map(|own| {
            let (text, mut part_notes) = part_source(&source, &flows, own, &invoker);
            notes.append(&mut part_notes);
            SplitPart {
                logic_name: own.logic_name.clone(),
                function: own.function.clone(),
                source: text,
                entry: own.function == entry.function.name.as_str(),
            }
        })
        .collect();
    notes.sort();
    notes.dedup();
    Ok(Split { parts, notes })
}

struct Flow<'a> {
    function: String,
    logic_name: String,
    def: &'a StmtFunctionDef,
    params: Vec<String>,
}

fn top_level_def<'a>(source: &'a PySource, name: &str) -> Option<&'a StmtFunctionDef> {
    source.module.body.iter().rev().find_map(|stmt| match stmt {
        Stmt::FunctionDef(def) if def.name.as_str() == name => Some(def),
        _ => None,
    })
}

fn positional_params(def: &StmtFunctionDef) -> Vec<String> {
    def.parameters.posonlyargs.iter().chain(&def.parameters.args).map(|p| p.parameter.name.to_string()).collect()
}

/// The local name of the SDK's `logic` (or its alias `flow`) in this file; the runner
/// provides `logic` when the file imports neither.
fn invoker_name(source: &PySource) -> String {
    let mut found: Option<String> = None;
    for stmt in &source.module.body {
        let Stmt::ImportFrom(import) = stmt else { continue };
        if import.level != 0 || import.module.as_ref().is_none_or(|m| m.as_str() != "hero_tracing") {
            continue;
        }
        for alias in &import.names {
            let local = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
            match alias.name.as_str() {
                "logic" => return local,
                "flow" => found = found.or(Some(local)),
                _ => {}
            }
        }
    }
    found.unwrap_or_else(|| "logic".into())
}

/// One edit of the text: replace `range` with `text` (an insertion when the range is empty).
struct Edit {
    range: TextRange,
    text: String,
}

fn part_source(source: &PySource, flows: &[Flow], own: &Flow, invoker: &str) -> (String, Vec<String>) {
    let text = source.text;
    let removed: Vec<TextRange> = flows.iter().filter(|f| f.function != own.function).map(|f| whole_lines(text, def_range(f.def))).collect();
    let mut finder = FlowUses { flows, own: &own.function, calls: Vec::new(), references: Vec::new(), callee_ranges: Vec::new() };
    for stmt in &source.module.body {
        finder.visit_stmt(stmt);
    }
    let outside = |range: TextRange| !removed.iter().any(|r| r.contains_range(range));
    let mut edits: Vec<Edit> = removed.iter().map(|r| Edit { range: *r, text: String::new() }).collect();
    let mut notes = Vec::new();
    for (call, flow) in finder.calls.iter().filter(|(c, _)| outside(c.range())) {
        match invoke_edits(call, flow, invoker) {
            Ok(mut call_edits) => edits.append(&mut call_edits),
            Err(why) => notes.push(format!("line {}: {why}", source.line(call.start()))),
        }
    }
    for (range, name) in finder.references.iter().filter(|(r, _)| outside(*r) && !finder.callee_ranges.contains(r)) {
        notes.push(format!("line {}: {name} is used other than by a call; it now lives in Logic of its own", source.line(range.start())));
    }
    (apply(text, edits), notes)
}

/// `fetch(a, b=1)` -> `logic.invoke("fetch", x=a, b=1)`: the callee's name and opening
/// parenthesis are replaced, each positional argument gets its parameter's name.
fn invoke_edits(call: &ExprCall, flow: &Flow, invoker: &str) -> Result<Vec<Edit>, String> {
    let args = &call.arguments;
    if args.args.iter().any(|a| matches!(a, Expr::Starred(_))) {
        return Err(format!("call of {} with *args left as it was (logic.invoke takes named inputs)", flow.function));
    }
    if args.args.len() > flow.params.len() {
        return Err(format!("call of {} with more positional arguments than it has parameters left as it was", flow.function));
    }
    let open = TextRange::new(call.func.start(), args.start() + TextSize::from(1));
    let has_args = !args.args.is_empty() || !args.keywords.is_empty();
    let head = format!("{invoker}.invoke({:?}{}", flow.logic_name, if has_args { ", " } else { "" });
    let mut edits = vec![Edit { range: open, text: head }];
    for (arg, param) in args.args.iter().zip(&flow.params) {
        edits.push(Edit { range: TextRange::empty(arg.start()), text: format!("{param}=") });
    }
    Ok(edits)
}

/// Applies edits from the end, so earlier offsets stay valid. At one offset, a replacement
/// goes first and an insertion after it, which leaves the inserted text in front.
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by(|a, b| b.range.start().cmp(&a.range.start()).then_with(|| b.range.len().cmp(&a.range.len())));
    let mut out = text.to_string();
    for edit in edits {
        out.replace_range(std::ops::Range::<usize>::from(edit.range), &edit.text);
    }
    out
}

/// A function with its decorators.
fn def_range(def: &StmtFunctionDef) -> TextRange {
    let start = def.decorator_list.first().map_or(def.start(), |d| d.start().min(def.start()));
    TextRange::new(start, def.end())
}

/// Widens `range` to whole lines, the final newline included.
fn whole_lines(text: &str, range: TextRange) -> TextRange {
    let start = usize::from(range.start());
    let end = usize::from(range.end());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    TextRange::new(TextSize::try_from(line_start).unwrap_or_default(), TextSize::try_from(line_end).unwrap_or(range.end()))
}

/// Calls of and references to the other flows of the file.
struct FlowUses<'f, 'a> {
    flows: &'f [Flow<'a>],
    own: &'f str,
    calls: Vec<(&'a ExprCall, &'f Flow<'a>)>,
    references: Vec<(TextRange, String)>,
    /// The name part of each rewritten call, so it is not also reported as a reference.
    callee_ranges: Vec<TextRange>,
}

impl<'f, 'a> SourceOrderVisitor<'a> for FlowUses<'f, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                if let Expr::Name(name) = call.func.as_ref() {
                    if let Some(flow) = self.flows.iter().find(|f| f.function == name.id.as_str() && f.function != self.own) {
                        self.calls.push((call, flow));
                        self.callee_ranges.push(name.range());
                    }
                }
            }
            Expr::Name(name) if name.id.as_str() != self.own && self.flows.iter().any(|f| f.function == name.id.as_str()) => {
                self.references.push((name.range(), name.id.to_string()));
            }
            _ => {}
        }
        source_order::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"from hero_tracing import flow
import json

LIMIT = 3

def helper(x):
    return x * 2


@flow(name="fetch_catalog", inputs={"query": "string"})
def fetch_catalog(query, limit=LIMIT):
    return {"items": [query] * helper(limit)}


@flow(name="summarize")
def summarize(items):
    return {"summary": json.dumps(items)}


@flow(name="agent", entry=True)
def agent(prompt):
    found = fetch_catalog(prompt, limit=2)  # keep this comment
    return summarize(items=fetch_catalog(prompt)["items"])
"#;

    fn part<'s>(split: &'s Split, name: &str) -> &'s SplitPart {
        split.parts.iter().find(|p| p.logic_name == name).unwrap()
    }

    #[test]
    fn each_flow_becomes_a_part_and_calls_become_invocations() {
        let split = split_logics(FILE).unwrap();
        let names: Vec<&str> = split.parts.iter().map(|p| p.logic_name.as_str()).collect();
        assert_eq!(names, ["fetch_catalog", "summarize", "agent"]);
        let agent = part(&split, "agent");
        assert!(agent.entry);
        let expected = FILE
            .replace("@flow(name=\"fetch_catalog\", inputs={\"query\": \"string\"})\ndef fetch_catalog(query, limit=LIMIT):\n    return {\"items\": [query] * helper(limit)}\n", "")
            .replace("@flow(name=\"summarize\")\ndef summarize(items):\n    return {\"summary\": json.dumps(items)}\n", "")
            .replace("fetch_catalog(prompt, limit=2)", "flow.invoke(\"fetch_catalog\", query=prompt, limit=2)")
            .replace("summarize(items=fetch_catalog(prompt)[\"items\"])", "flow.invoke(\"summarize\", items=flow.invoke(\"fetch_catalog\", query=prompt)[\"items\"])");
        assert_eq!(agent.source, expected, "everything else is kept byte for byte");
        assert!(split.notes.is_empty(), "{:?}", split.notes);
    }

    #[test]
    fn every_part_parses_and_declares_one_logic() {
        let split = split_logics(FILE).unwrap();
        for part in &split.parts {
            let again = split_logics(&part.source).unwrap();
            assert_eq!(again.parts.len(), 1, "{}", part.source);
            assert_eq!(again.parts[0].logic_name, part.logic_name);
            assert!(part.source.contains("def helper(x):") && part.source.contains("LIMIT = 3"), "helpers stay");
        }
    }

    #[test]
    fn a_single_logic_is_its_own_only_part() {
        let text = "from hero_tracing import logic\n\n@logic(name=\"one\")\ndef one():\n    return {}\n";
        let split = split_logics(text).unwrap();
        assert_eq!(split.parts.len(), 1);
        assert_eq!(split.parts[0].source, text);
    }

    #[test]
    fn what_cannot_be_rewritten_is_reported() {
        let text = FILE.replace("found = fetch_catalog(prompt, limit=2)", "found = fetch_catalog(*[prompt])\n    keep = summarize");
        let split = split_logics(&text).unwrap();
        assert!(split.notes.iter().any(|n| n.contains("*args")), "{:?}", split.notes);
        assert!(split.notes.iter().any(|n| n.contains("summarize is used other than by a call")), "{:?}", split.notes);
    }
}
