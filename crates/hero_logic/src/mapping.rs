//! The I/O mapping grammar of bound logics (DESIGN.md §8, seed 003).
//!
//! A bound version produces its target's inputs with `input_mappings` and its own outputs with
//! `output_mappings`. Each row is `target <- source`. The grammar lives here, once: the daemon
//! calls [`validate`] when a version is saved and [`evaluate`] when a bound Play runs, so a
//! table that saved cleanly can only fail at run time on data (a missing path), never on syntax.
//!
//! Sources:
//! - `inputs` / `inputs.<path>`: the bound Play's inputs (whole object, or a value inside it);
//! - `outputs` / `outputs.<path>`: the target's outputs, output mappings only;
//! - `literal:<text>`: a JSON string holding `<text>` verbatim;
//! - `literal_json:<json>`: any JSON value.
//!
//! A path is keys separated by `.`; an object is walked by key and an array by 0-based index
//! (`outputs.items.0.name`). A target is a key of the produced object; a dotted target (`a.b`)
//! nests. Row numbers in errors are 0-based indexes into the table, like the wire's arrays.

use hero_logic_api::types::{LogicField, Mapping};
use serde_json::{Map, Value};

/// Which table a row belongs to; it decides which roots a source may use and what an empty
/// table passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `input_mappings`: builds the target's inputs from the bound Play's inputs.
    Input,
    /// `output_mappings`: builds the bound Play's outputs from the target's outputs and the
    /// bound Play's inputs.
    Output,
}

impl Side {
    /// The table's name on the wire, for error field paths.
    pub fn table(self) -> &'static str {
        match self {
            Side::Input => "input_mappings",
            Side::Output => "output_mappings",
        }
    }

    /// The root an identity row of this table reads from.
    fn own_root(self) -> Root {
        match self {
            Side::Input => Root::Inputs,
            Side::Output => Root::Outputs,
        }
    }

    /// The source forms this table accepts, for messages.
    fn allowed(self) -> &'static str {
        match self {
            Side::Input => "`inputs.<path>`, `literal:<text>` or `literal_json:<json>`",
            Side::Output => {
                "`outputs.<path>`, `inputs.<path>`, `literal:<text>` or `literal_json:<json>`"
            }
        }
    }

    fn example(self) -> &'static str {
        match self {
            Side::Input => "e.g. `inputs.prompt`, `literal:concise` or `literal_json:42`",
            Side::Output => "e.g. `outputs.result.summary`, `inputs.prompt` or `literal:done`",
        }
    }
}

/// A refused row: which row (`row` is 0-based, as in the field path; messages say "row 1"
/// for the first, as a person counts the editor's rows), which of its fields, what is wrong
/// and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {}: {message}", .row + 1)]
pub struct MappingError {
    pub row: usize,
    /// `"target"` or `"source"`.
    pub field: &'static str,
    pub message: String,
    pub hint: String,
}

impl MappingError {
    fn at(row: usize, field: &'static str, refusal: Refusal) -> Self {
        MappingError {
            row,
            field,
            message: refusal.message,
            hint: refusal.hint,
        }
    }

    /// Where the error points in a binding, e.g. `input_mappings[2].source`, so the service
    /// layer can report it against the request field.
    pub fn field_path(&self, side: Side) -> String {
        format!("{}[{}].{}", side.table(), self.row, self.field)
    }
}

/// What is wrong with one part of a row; the caller knows the row and the field.
struct Refusal {
    message: String,
    hint: String,
}

impl Refusal {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Inputs,
    Outputs,
}

impl Root {
    fn name(self) -> &'static str {
        match self {
            Root::Inputs => "inputs",
            Root::Outputs => "outputs",
        }
    }
}

/// A parsed source.
enum Source<'a> {
    /// An empty `segments` means the whole root object.
    Path {
        root: Root,
        segments: Vec<&'a str>,
    },
    Literal(&'a str),
    Json(Value),
}

/// Checks every row of a table without data: targets present, distinct and non-overlapping,
/// sources well-formed and allowed on this side. Stops at the first bad row.
pub fn validate(side: Side, rows: &[Mapping]) -> Result<(), MappingError> {
    let mut taken: Vec<(usize, Vec<&str>)> = Vec::with_capacity(rows.len());
    for (row, mapping) in rows.iter().enumerate() {
        let segments =
            parse_target(&mapping.target).map_err(|r| MappingError::at(row, "target", r))?;
        check_overlap(&mapping.target, &segments, &taken)
            .map_err(|r| MappingError::at(row, "target", r))?;
        parse_source(side, &mapping.source).map_err(|r| MappingError::at(row, "source", r))?;
        taken.push((row, segments));
    }
    Ok(())
}

/// Runs a table. An empty table passes its side's object through unchanged (inputs for an
/// input table, outputs for an output table); otherwise the result holds exactly the mapped
/// targets. `outputs` is `None` before the target has run.
///
/// Rows are evaluated and inserted in order; `serde_json::Map` orders keys by name unless
/// serde_json's `preserve_order` feature is on.
pub fn evaluate(
    side: Side,
    rows: &[Mapping],
    inputs: &Map<String, Value>,
    outputs: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, MappingError> {
    if rows.is_empty() {
        return Ok(passthrough(side, inputs, outputs));
    }
    // A stored table may predate a grammar change; refuse it with the same messages as at save,
    // and after this every target is known to nest without clashing.
    validate(side, rows)?;
    let mut produced = Map::new();
    for (row, mapping) in rows.iter().enumerate() {
        let value = resolve(side, mapping, inputs, outputs)
            .map_err(|r| MappingError::at(row, "source", r))?;
        let segments =
            parse_target(&mapping.target).map_err(|r| MappingError::at(row, "target", r))?;
        insert(&mut produced, &segments, value).map_err(|r| MappingError::at(row, "target", r))?;
    }
    Ok(produced)
}

/// Identity rows for an input table: each declared field read from the same-named input.
pub fn identity(fields: &[LogicField]) -> Vec<Mapping> {
    identity_from(Root::Inputs, fields)
}

/// Identity rows for an output table: each declared field read from the same-named output.
pub fn identity_outputs(fields: &[LogicField]) -> Vec<Mapping> {
    identity_from(Root::Outputs, fields)
}

/// Whether a row only copies a value to the same place (`x <- inputs.x` in an input table,
/// `x <- outputs.x` in an output table), so the UI can dim it. The whole source path must equal
/// the target: a selection such as `summary <- outputs.result.summary` is deliberate wiring and
/// stays highlighted.
pub fn is_identity_row(side: Side, row: &Mapping) -> bool {
    let root = side.own_root().name();
    row.source
        .strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|path| !path.is_empty() && path == row.target)
}

fn identity_from(root: Root, fields: &[LogicField]) -> Vec<Mapping> {
    fields
        .iter()
        .map(|f| Mapping {
            target: f.name.clone(),
            source: format!("{}.{}", root.name(), f.name),
        })
        .collect()
}

fn passthrough(
    side: Side,
    inputs: &Map<String, Value>,
    outputs: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    match side {
        Side::Input => inputs.clone(),
        Side::Output => outputs.cloned().unwrap_or_default(),
    }
}

// ---- targets ---------------------------------------------------------------------------------

fn parse_target(target: &str) -> Result<Vec<&str>, Refusal> {
    if target.trim().is_empty() {
        return Err(Refusal::new(
            "target is empty",
            "name the field this row produces, e.g. `prompt` (or `a.b` for a nested field)",
        ));
    }
    let segments: Vec<&str> = target.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Refusal::new(
            format!("target `{target}` has an empty segment"),
            "separate nested keys with a single `.`, with no leading or trailing `.`",
        ));
    }
    Ok(segments)
}

/// Two targets clash when they are equal, or when one nests inside the other (`a` and `a.b`):
/// the second would overwrite or be unable to enter the first.
fn check_overlap(
    target: &str,
    segments: &[&str],
    taken: &[(usize, Vec<&str>)],
) -> Result<(), Refusal> {
    for (row, other) in taken {
        let shared = segments.len().min(other.len());
        if segments[..shared] != other[..shared] {
            continue;
        }
        let other_name = other.join(".");
        return Err(if segments.len() == other.len() {
            Refusal::new(
                format!("duplicate target `{target}` (row {} already produces it)", row + 1),
                "give each row its own target, or delete one of the two rows",
            )
        } else {
            Refusal::new(
                format!("target `{target}` overlaps `{other_name}` from row {}", row + 1),
                "a field cannot be both a value and an object of nested fields; rename one target",
            )
        });
    }
    Ok(())
}

/// Puts `value` at the nested `segments`, creating intermediate objects.
fn insert(
    produced: &mut Map<String, Value>,
    segments: &[&str],
    value: Value,
) -> Result<(), Refusal> {
    let Some((last, parents)) = segments.split_last() else {
        return Err(Refusal::new(
            "target is empty",
            "name the field this row produces",
        ));
    };
    let mut node = produced;
    for segment in parents {
        let slot = node
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        // `validate` rules out clashes; this arm keeps a bug from becoming a panic.
        node = match slot {
            Value::Object(map) => map,
            _ => {
                return Err(Refusal::new(
                    format!("target segment `{segment}` is already a value, not an object"),
                    "rename one of the overlapping targets",
                ))
            }
        };
    }
    node.insert(last.to_string(), value);
    Ok(())
}

// ---- sources ---------------------------------------------------------------------------------

fn parse_source(side: Side, source: &str) -> Result<Source<'_>, Refusal> {
    // Literal prefixes first: their text may contain dots and anything else.
    if let Some(text) = source.strip_prefix("literal:") {
        return Ok(Source::Literal(text));
    }
    if let Some(json) = source.strip_prefix("literal_json:") {
        return parse_json(json).map(Source::Json);
    }
    if source.trim().is_empty() {
        return Err(Refusal::new(
            format!(
                "source is empty; a {} row takes {}",
                side.table(),
                side.allowed()
            ),
            side.example(),
        ));
    }
    let (root_name, path) = match source.split_once('.') {
        Some((root, path)) => (root, Some(path)),
        None => (source, None),
    };
    let root = parse_root(side, source, root_name)?;
    let segments = parse_path(source, path)?;
    Ok(Source::Path { root, segments })
}

fn parse_json(json: &str) -> Result<Value, Refusal> {
    serde_json::from_str(json).map_err(|e| {
        Refusal::new(
            format!("`literal_json:` holds bad JSON: {e}"),
            "write one JSON value after the colon, e.g. `literal_json:42` or \
             `literal_json:{\"k\": [1, 2]}`; for plain text use `literal:<text>`",
        )
    })
}

fn parse_root(side: Side, source: &str, root_name: &str) -> Result<Root, Refusal> {
    match (root_name, side) {
        ("inputs", _) => Ok(Root::Inputs),
        ("outputs", Side::Output) => Ok(Root::Outputs),
        // The input table runs before the target, so there are no outputs to read yet.
        ("outputs", Side::Input) => Err(Refusal::new(
            "`outputs.` is only allowed in output mappings: input mappings run before the target",
            "read from `inputs.<path>` or use `literal:` / `literal_json:`",
        )),
        _ => Err(Refusal::new(
            format!(
                "unknown source root `{root_name}`; a {} row takes {}",
                side.table(),
                side.allowed()
            ),
            root_hint(side, source, root_name),
        )),
    }
}

/// Points at the likely slip behind an unknown root before falling back to examples.
fn root_hint(side: Side, source: &str, root_name: &str) -> String {
    let trimmed = source.trim();
    if trimmed.starts_with("{{") && trimmed.ends_with("}}") {
        return "drop the template braces: write `inputs.x`, not `{{inputs.x}}`".into();
    }
    if trimmed != source {
        return "remove the spaces around the source".into();
    }
    match root_name {
        "input" | "in" => "the root is `inputs` (plural)".into(),
        "output" | "out" => "the root is `outputs` (plural)".into(),
        _ if source.starts_with("literal") => {
            "a literal needs a colon: `literal:<text>` or `literal_json:<json>`".into()
        }
        _ => side.example().into(),
    }
}

fn parse_path<'a>(source: &str, path: Option<&'a str>) -> Result<Vec<&'a str>, Refusal> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Refusal::new(
            format!("source `{source}` has an empty path segment"),
            "separate keys with a single `.`, e.g. `inputs.a.b`; write `inputs` alone for the \
             whole object",
        ));
    }
    Ok(segments)
}

// ---- evaluation ------------------------------------------------------------------------------

fn resolve(
    side: Side,
    mapping: &Mapping,
    inputs: &Map<String, Value>,
    outputs: Option<&Map<String, Value>>,
) -> Result<Value, Refusal> {
    match parse_source(side, &mapping.source)? {
        Source::Literal(text) => Ok(Value::String(text.to_string())),
        Source::Json(value) => Ok(value),
        Source::Path { root, segments } => {
            let base = match root {
                Root::Inputs => Some(inputs),
                Root::Outputs => outputs,
            };
            let Some(base) = base else {
                return Err(Refusal::new(
                    format!("source `{}`: no outputs are available yet", mapping.source),
                    "outputs exist only once the target has run",
                ));
            };
            walk(root, base, &segments).map_err(|r| Refusal {
                message: format!("source `{}`: {}", mapping.source, r.message),
                hint: r.hint,
            })
        }
    }
}

/// Follows `segments` from the root object. Errors name the path walked so far
/// (`outputs.items`) and the segment that is missing.
fn walk(root: Root, base: &Map<String, Value>, segments: &[&str]) -> Result<Value, Refusal> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(Value::Object(base.clone()));
    };
    let mut walked = root.name().to_string();
    let mut current = field(&walked, base, first)?;
    walked.push('.');
    walked.push_str(first);
    for segment in rest {
        current = step(&walked, current, segment)?;
        walked.push('.');
        walked.push_str(segment);
    }
    Ok(current.clone())
}

fn step<'v>(walked: &str, value: &'v Value, segment: &str) -> Result<&'v Value, Refusal> {
    match value {
        Value::Object(map) => field(walked, map, segment),
        Value::Array(items) => index(walked, items, segment),
        other => Err(Refusal::new(
            format!("`{walked}` is {}, so it has no `{segment}`", hero_logic_api::json_kind(other)),
            "only objects (by key) and arrays (by index) can be walked into",
        )),
    }
}

fn field<'v>(walked: &str, map: &'v Map<String, Value>, key: &str) -> Result<&'v Value, Refusal> {
    map.get(key).ok_or_else(|| {
        Refusal::new(
            format!("`{walked}` has no field `{key}`"),
            available_keys(walked, map),
        )
    })
}

/// The keys that do exist, so a typo is easy to spot; capped to keep messages short.
fn available_keys(walked: &str, map: &Map<String, Value>) -> String {
    const SHOWN: usize = 10;
    if map.is_empty() {
        return format!("`{walked}` is an empty object in this run");
    }
    let mut keys: Vec<String> = map.keys().take(SHOWN).map(|k| format!("`{k}`")).collect();
    if map.len() > SHOWN {
        keys.push(format!("and {} more", map.len() - SHOWN));
    }
    format!("`{walked}` has: {}", keys.join(", "))
}

fn index<'v>(walked: &str, items: &'v [Value], segment: &str) -> Result<&'v Value, Refusal> {
    // Only plain digits index an array: `-1`, `first` or `1.5`-like keys are refused by name.
    if !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::new(
            format!("`{walked}` is an array, and `{segment}` is not an index"),
            "index arrays with a 0-based number, e.g. `items.0`",
        ));
    }
    // All digits but too large for usize is just another index past the end.
    segment
        .parse::<usize>()
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| {
            Refusal::new(
                format!("`{walked}` has no index {segment}"),
                format!(
                    "`{walked}` has {} item(s) in this run; indexes start at 0",
                    items.len()
                ),
            )
        })
}


/// The input fields a table reads: one field per distinct first segment of its
/// `<root>.<path>` sources (a bound logic declares these when the client gives none). A field
/// passed whole to a declared input of the target (row `name <- inputs.who` gives `who` the
/// target's `name`) takes that input's type, description, requiredness and default; any other
/// is `any`.
pub fn source_fields(rows: &[Mapping], root: &str, target_inputs: &[LogicField]) -> Vec<LogicField> {
    let prefix = format!("{root}.");
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        if let Some(first) = row.source.strip_prefix(&prefix).and_then(|path| path.split('.').next()) {
            if !first.is_empty() && !names.iter().any(|n| n == first) {
                names.push(first.to_string());
            }
        }
    }
    let declared = |name: &str| {
        let whole = format!("{prefix}{name}");
        rows.iter()
            .filter(|row| row.source == whole)
            .find_map(|row| target_inputs.iter().find(|f| f.name == row.target))
    };
    names.into_iter().map(|name| typed_like(declared(&name), name)).collect()
}

/// The output fields a table produces: one per distinct first target segment; a field that
/// is a declared output of the target taken whole (`answer <- outputs.message`) has its type
/// and description, any other is `any`.
pub fn target_fields(rows: &[Mapping], target_outputs: &[LogicField]) -> Vec<LogicField> {
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        let first = row.target.split('.').next().unwrap_or_default();
        if !first.is_empty() && !names.iter().any(|n| n == first) {
            names.push(first.to_string());
        }
    }
    let declared = |name: &str| {
        rows.iter()
            .filter(|row| row.target == name)
            .filter_map(|row| row.source.strip_prefix("outputs."))
            .find_map(|source| target_outputs.iter().find(|f| f.name == source))
    };
    names.into_iter().map(|name| typed_like(declared(&name), name)).collect()
}

/// A field named `name`, declared like `like` when there is one, else of type `any`.
fn typed_like(like: Option<&LogicField>, name: String) -> LogicField {
    match like {
        Some(field) => LogicField { name, ..field.clone() },
        None => LogicField { name, ..Default::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(target: &str, source: &str) -> Mapping {
        Mapping {
            target: target.into(),
            source: source.into(),
        }
    }

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test fixture is not an object: {other}"),
        }
    }

    fn run_in(rows: &[Mapping], inputs: Value) -> Result<Value, MappingError> {
        evaluate(Side::Input, rows, &obj(inputs), None).map(Value::Object)
    }

    fn run_out(rows: &[Mapping], inputs: Value, outputs: Value) -> Result<Value, MappingError> {
        evaluate(Side::Output, rows, &obj(inputs), Some(&obj(outputs))).map(Value::Object)
    }

    fn refused(side: Side, rows: &[Mapping]) -> MappingError {
        match validate(side, rows) {
            Err(e) => e,
            Ok(()) => panic!("expected {rows:?} to be refused"),
        }
    }

    fn field(name: &str) -> LogicField {
        LogicField {
            name: name.into(),
            ..LogicField::default()
        }
    }

    // ---- evaluation ----

    #[test]
    fn rename() {
        let out = run_in(
            &[row("prompt", "inputs.user_prompt")],
            json!({"user_prompt": "hi", "x": 1}),
        );
        assert_eq!(out.unwrap(), json!({"prompt": "hi"}));
    }

    #[test]
    fn empty_input_table_passes_inputs_through() {
        let inputs = json!({"a": 1, "b": {"c": [1, 2]}});
        assert_eq!(run_in(&[], inputs.clone()).unwrap(), inputs);
    }

    #[test]
    fn empty_output_table_passes_outputs_through() {
        let outputs = json!({"result": "ok"});
        assert_eq!(
            run_out(&[], json!({"a": 1}), outputs.clone()).unwrap(),
            outputs
        );
        // Before the target has run there is nothing to pass through.
        let none = evaluate(Side::Output, &[], &obj(json!({"a": 1})), None).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn identity_rows_match_passthrough_on_declared_fields() {
        let fields = [field("prompt"), field("mode")];
        let rows = identity(&fields);
        assert_eq!(
            rows,
            vec![row("prompt", "inputs.prompt"), row("mode", "inputs.mode")]
        );
        let inputs = json!({"prompt": "p", "mode": "m"});
        assert_eq!(run_in(&rows, inputs.clone()).unwrap(), inputs);

        let rows = identity_outputs(&fields);
        assert_eq!(
            rows,
            vec![row("prompt", "outputs.prompt"), row("mode", "outputs.mode")]
        );
        let outputs = json!({"prompt": "P", "mode": "M"});
        assert_eq!(run_out(&rows, json!({}), outputs.clone()).unwrap(), outputs);
        assert!(identity(&[]).is_empty());
    }

    #[test]
    fn non_empty_table_keeps_only_mapped_targets() {
        let out = run_in(&[row("a", "inputs.a")], json!({"a": 1, "b": 2})).unwrap();
        assert_eq!(out, json!({"a": 1}));
    }

    #[test]
    fn literal_is_a_verbatim_string() {
        let rows = [
            row("mode", "literal:concise"),
            row("empty", "literal:"),
            row("odd", "literal:inputs.x: {not json} "),
            row("num", "literal:42"),
        ];
        let out = run_in(&rows, json!({})).unwrap();
        assert_eq!(
            out,
            json!({"mode": "concise", "empty": "", "odd": "inputs.x: {not json} ", "num": "42"})
        );
    }

    #[test]
    fn literal_json_object_and_number() {
        let rows = [
            row("cfg", r#"literal_json:{"k": [1, 2], "n": null}"#),
            row("n", "literal_json:42"),
            row("f", "literal_json: -1.5 "),
            row("s", r#"literal_json:"text""#),
            row("b", "literal_json:true"),
        ];
        let out = run_in(&rows, json!({})).unwrap();
        assert_eq!(
            out,
            json!({"cfg": {"k": [1, 2], "n": null}, "n": 42, "f": -1.5, "s": "text", "b": true})
        );
    }

    #[test]
    fn literal_json_bad_json_is_refused_with_serde_message() {
        let rows = [row("ok", "literal:x"), row("cfg", "literal_json:{oops}")];
        let e = refused(Side::Input, &rows);
        assert_eq!((e.row, e.field), (1, "source"));
        assert!(e.message.contains("bad JSON"), "{e}");
        assert!(
            e.message.contains("key must be a string"),
            "serde's reason missing: {e}"
        );
        assert!(e.hint.contains("literal:<text>"));

        let e = refused(Side::Output, &[row("x", "literal_json:")]);
        assert!(e.message.contains("EOF"), "{e}");
        let e = refused(Side::Output, &[row("x", "literal_json:1 2")]);
        assert!(e.message.contains("trailing characters"), "{e}");
    }

    #[test]
    fn nested_selection() {
        let outputs = json!({"result": {"summary": {"text": "short", "len": 5}}});
        let rows = [row("summary", "outputs.result.summary.text")];
        assert_eq!(
            run_out(&rows, json!({}), outputs).unwrap(),
            json!({"summary": "short"})
        );
    }

    #[test]
    fn array_index() {
        let outputs = json!({"items": [{"name": "a"}, {"name": "b"}], "grid": [[1, 2], [3, 4]]});
        let rows = [
            row("second", "outputs.items.1.name"),
            row("cell", "outputs.grid.1.0"),
        ];
        assert_eq!(
            run_out(&rows, json!({}), outputs).unwrap(),
            json!({"second": "b", "cell": 3})
        );
    }

    #[test]
    fn numeric_key_of_an_object_is_a_key() {
        let out = run_in(&[row("v", "inputs.m.0")], json!({"m": {"0": "zero"}})).unwrap();
        assert_eq!(out, json!({"v": "zero"}));
    }

    #[test]
    fn whole_object_sources() {
        let inputs = json!({"q": 1});
        let outputs = json!({"r": [1]});
        let rows = [row("all_in", "inputs"), row("all_out", "outputs")];
        assert_eq!(
            run_out(&rows, inputs, outputs).unwrap(),
            json!({"all_in": {"q": 1}, "all_out": {"r": [1]}})
        );
    }

    #[test]
    fn output_table_mixes_outputs_inputs_and_literals() {
        let rows = [
            row("answer", "outputs.text"),
            row("echo", "inputs.prompt"),
            row("source", "literal:bound"),
        ];
        let out = run_out(&rows, json!({"prompt": "p"}), json!({"text": "t"})).unwrap();
        assert_eq!(out, json!({"answer": "t", "echo": "p", "source": "bound"}));
    }

    #[test]
    fn dotted_targets_nest_and_merge() {
        let rows = [
            row("meta.model", "literal:small"),
            row("meta.limits.tokens", "literal_json:100"),
            row("text", "inputs.t"),
        ];
        let out = run_in(&rows, json!({"t": "x"})).unwrap();
        assert_eq!(
            out,
            json!({"meta": {"model": "small", "limits": {"tokens": 100}}, "text": "x"})
        );
    }

    #[test]
    fn values_are_copied_not_moved() {
        // The same source may feed several targets.
        let rows = [row("a", "inputs.x"), row("b", "inputs.x")];
        assert_eq!(
            run_in(&rows, json!({"x": [1]})).unwrap(),
            json!({"a": [1], "b": [1]})
        );
    }

    // ---- run-time failures ----

    #[test]
    fn missing_path_names_row_source_and_segment() {
        let rows = [
            row("a", "literal:x"),
            row("b", "outputs.count"),
            row("c", "outputs.items.3.name"),
        ];
        let outputs = json!({"count": 2, "items": [{"name": "a"}, {"name": "b"}]});
        let e = run_out(&rows, json!({}), outputs).unwrap_err();
        assert_eq!((e.row, e.field), (2, "source"));
        assert_eq!(
            e.to_string(),
            "row 3: source `outputs.items.3.name`: `outputs.items` has no index 3"
        );
        assert!(e.hint.contains("2 item(s)"), "{}", e.hint);
    }

    #[test]
    fn missing_key_lists_the_keys_that_exist() {
        let e = run_in(
            &[row("p", "inputs.promt")],
            json!({"prompt": "x", "mode": "y"}),
        )
        .unwrap_err();
        assert_eq!(e.row, 0);
        assert_eq!(
            e.message,
            "source `inputs.promt`: `inputs` has no field `promt`"
        );
        assert!(
            e.hint.contains("`prompt`") && e.hint.contains("`mode`"),
            "{}",
            e.hint
        );

        let e = run_in(&[row("p", "inputs.a.b")], json!({"a": {}})).unwrap_err();
        assert_eq!(
            e.message,
            "source `inputs.a.b`: `inputs.a` has no field `b`"
        );
        assert!(e.hint.contains("empty object"), "{}", e.hint);

        let many: Map<String, Value> = (0..15).map(|i| (format!("k{i:02}"), json!(i))).collect();
        let e = run_in(&[row("p", "inputs.nope")], Value::Object(many)).unwrap_err();
        assert!(e.hint.contains("and 5 more"), "{}", e.hint);
    }

    #[test]
    fn outputs_before_the_target_ran_is_an_error() {
        let e = evaluate(Side::Output, &[row("a", "outputs.x")], &Map::new(), None).unwrap_err();
        assert_eq!((e.row, e.field), (0, "source"));
        assert!(e.message.contains("no outputs"), "{e}");
    }

    #[test]
    fn evaluate_refuses_what_validate_refuses() {
        // A stored table that never went through save-time validation.
        let e = run_in(
            &[row("a", "inputs.x"), row("a", "inputs.y")],
            json!({"x": 1, "y": 2}),
        )
        .unwrap_err();
        assert_eq!((e.row, e.field), (1, "target"));
        let e = run_in(&[row("a", "outputs.x")], json!({})).unwrap_err();
        assert_eq!((e.row, e.field), (0, "source"));
    }

    #[test]
    fn odd_walks_fail_cleanly() {
        let inputs = json!({
            "s": "text", "n": 5, "b": true, "z": null,
            "arr": [10, 20], "nested": {"arr": [[]]}
        });
        let cases: &[(&str, &str)] = &[
            ("inputs.s.0", "`inputs.s` is a string, so it has no `0`"),
            ("inputs.s.len", "`inputs.s` is a string, so it has no `len`"),
            ("inputs.n.x", "`inputs.n` is an integer"),
            ("inputs.b.x", "`inputs.b` is a boolean"),
            ("inputs.z.x", "`inputs.z` is null"),
            (
                "inputs.arr.-1",
                "`inputs.arr` is an array, and `-1` is not an index",
            ),
            ("inputs.arr.first", "`first` is not an index"),
            ("inputs.arr.1e3", "`1e3` is not an index"),
            ("inputs.arr.+1", "`+1` is not an index"),
            ("inputs.arr. 1", "` 1` is not an index"),
            ("inputs.arr.2", "`inputs.arr` has no index 2"),
            (
                "inputs.arr.18446744073709551616",
                "has no index 18446744073709551616",
            ),
            (
                "inputs.arr.99999999999999999999999999999999",
                "has no index 9999",
            ),
            (
                "inputs.nested.arr.0.0",
                "`inputs.nested.arr.0` has no index 0",
            ),
            (
                "inputs.nested.arr.0.x",
                "`inputs.nested.arr.0` is an array, and `x` is not an index",
            ),
        ];
        for (source, expected) in cases {
            let e =
                run_in(&[row("t", "literal:ok"), row("v", source)], inputs.clone()).unwrap_err();
            assert_eq!((e.row, e.field), (1, "source"), "{source}");
            assert!(e.message.contains(expected), "{source}: {e}");
        }
    }

    #[test]
    fn unicode_and_odd_keys_walk_by_exact_name() {
        let inputs = json!({"é": {"ключ": "v", " sp ": 1}});
        let rows = [row("a", "inputs.é.ключ"), row("b", "inputs.é. sp ")];
        assert_eq!(run_in(&rows, inputs).unwrap(), json!({"a": "v", "b": 1}));
    }

    // ---- validation: one test per refusal, each checks row and field ----

    #[test]
    fn valid_tables_pass() {
        let rows = [
            row("a", "inputs"),
            row("b", "inputs.x.0.y"),
            row("c.d", "literal:"),
            row("c.e", "literal_json:[1]"),
        ];
        assert_eq!(validate(Side::Input, &rows), Ok(()));
        let rows = [
            row("a", "outputs"),
            row("b", "outputs.items.0"),
            row("c", "inputs.q"),
        ];
        assert_eq!(validate(Side::Output, &rows), Ok(()));
        assert_eq!(validate(Side::Input, &[]), Ok(()));
    }

    #[test]
    fn unknown_root_says_which_roots_are_allowed() {
        let rows = [row("a", "inputs.a"), row("b", "input.b")];
        let e = refused(Side::Input, &rows);
        assert_eq!((e.row, e.field), (1, "source"));
        assert!(e.message.contains("unknown source root `input`"), "{e}");
        assert!(
            e.message
                .contains("`inputs.<path>`, `literal:<text>` or `literal_json:<json>`"),
            "{e}"
        );
        assert!(
            !e.message.contains("outputs"),
            "input side must not offer outputs: {e}"
        );
        assert!(e.hint.contains("plural"), "{}", e.hint);

        let e = refused(Side::Output, &[row("a", "result.x")]);
        assert_eq!((e.row, e.field), (0, "source"));
        assert!(e.message.contains("`outputs.<path>`"), "{e}");

        // Near misses get a pointed hint.
        let hint = |source: &str| refused(Side::Input, &[row("a", source)]).hint;
        assert!(hint("{{inputs.x}}").contains("braces"));
        assert!(hint(" inputs.x").contains("spaces"));
        assert!(hint("literal x").contains("colon"));
        assert!(hint("Literal:x").contains("e.g."));
        assert!(hint("inputsx").contains("e.g."));
    }

    #[test]
    fn outputs_in_an_input_mapping_is_refused() {
        let rows = [
            row("a", "literal:x"),
            row("b", "inputs.b"),
            row("c", "outputs.c"),
        ];
        let e = refused(Side::Input, &rows);
        assert_eq!((e.row, e.field), (2, "source"));
        assert!(e.message.contains("only allowed in output mappings"), "{e}");
        let e = refused(Side::Input, &[row("a", "outputs")]);
        assert_eq!((e.row, e.field), (0, "source"));
    }

    #[test]
    fn empty_source_is_refused() {
        let e = refused(Side::Output, &[row("a", "inputs.a"), row("b", "  ")]);
        assert_eq!((e.row, e.field), (1, "source"));
        assert!(e.message.starts_with("source is empty"), "{e}");
    }

    #[test]
    fn empty_target_is_refused() {
        let e = refused(Side::Input, &[row("a", "inputs.a"), row("", "inputs.b")]);
        assert_eq!((e.row, e.field), (1, "target"));
        assert_eq!(e.message, "target is empty");
        let e = refused(Side::Input, &[row(" \t", "inputs.b")]);
        assert_eq!((e.row, e.field), (0, "target"));
    }

    #[test]
    fn empty_target_segment_is_refused() {
        for (i, target) in ["a..b", ".a", "a.", "."].iter().enumerate() {
            let mut rows: Vec<Mapping> = (0..i)
                .map(|n| row(&format!("ok{n}"), "literal:x"))
                .collect();
            rows.push(row(target, "literal:y"));
            let e = refused(Side::Input, &rows);
            assert_eq!((e.row, e.field), (i, "target"), "{target}");
            assert!(e.message.contains("empty segment"), "{e}");
        }
    }

    #[test]
    fn duplicate_targets_are_refused() {
        let rows = [
            row("a", "inputs.a"),
            row("b", "inputs.b"),
            row("a", "literal:x"),
        ];
        let e = refused(Side::Input, &rows);
        assert_eq!((e.row, e.field), (2, "target"));
        assert_eq!(
            e.message,
            "duplicate target `a` (row 1 already produces it)"
        );
        let e = refused(
            Side::Output,
            &[row("m.x", "inputs.a"), row("m.x", "outputs.b")],
        );
        assert_eq!((e.row, e.field), (1, "target"));
    }

    #[test]
    fn overlapping_targets_are_refused() {
        let e = refused(
            Side::Input,
            &[row("a", "literal:x"), row("a.b", "literal:y")],
        );
        assert_eq!((e.row, e.field), (1, "target"));
        assert!(e.message.contains("overlaps `a` from row 1"), "{e}");
        let e = refused(
            Side::Input,
            &[row("a.b.c", "literal:x"), row("a", "literal:y")],
        );
        assert_eq!((e.row, e.field), (1, "target"));
        // Siblings and look-alike prefixes are fine.
        let rows = [
            row("a.b", "literal:x"),
            row("a.c", "literal:y"),
            row("ab", "literal:z"),
        ];
        assert_eq!(validate(Side::Input, &rows), Ok(()));
    }

    #[test]
    fn empty_path_segments_are_refused() {
        for (i, source) in [
            "inputs..x",
            "inputs.",
            "inputs.a.",
            "outputs..",
            "outputs.a..b",
        ]
        .iter()
        .enumerate()
        {
            let mut rows: Vec<Mapping> = (0..i)
                .map(|n| row(&format!("ok{n}"), "literal:x"))
                .collect();
            rows.push(row("t", source));
            let e = refused(Side::Output, &rows);
            assert_eq!((e.row, e.field), (i, "source"), "{source}");
            assert!(e.message.contains("empty path segment"), "{e}");
        }
    }

    #[test]
    fn bound_fields_take_the_targets_declared_types() {
        use hero_logic_api::types::FieldType;
        let typed = |name: &str, field_type: FieldType| LogicField { name: name.into(), field_type, description: format!("{name} of the target"), ..Default::default() };
        let inputs = [typed("name", FieldType::String), typed("count", FieldType::Integer)];
        let rows = [row("name", "inputs.who"), row("count", "inputs.extra.n"), row("greeting", "literal:Hi")];
        let fields = source_fields(&rows, "inputs", &inputs);
        assert_eq!(fields.iter().map(|f| (f.name.as_str(), f.field_type)).collect::<Vec<_>>(), [("who", FieldType::String), ("extra", FieldType::Any)]);
        assert_eq!(fields[0].description, "name of the target");
        let outputs = [typed("message", FieldType::String)];
        let rows = [row("answer", "outputs.message"), row("echo", "inputs.who"), row("deep.x", "outputs.message")];
        let fields = target_fields(&rows, &outputs);
        assert_eq!(fields.iter().map(|f| (f.name.as_str(), f.field_type)).collect::<Vec<_>>(), [("answer", FieldType::String), ("echo", FieldType::Any), ("deep", FieldType::Any)]);
    }

    #[test]
    fn error_display_and_field_path() {
        let e = refused(Side::Output, &[row("a", "inputs.a"), row("b", "nope")]);
        assert!(
            e.to_string()
                .starts_with("row 2: unknown source root `nope`"),
            "{e}"
        );
        assert_eq!(e.field_path(Side::Output), "output_mappings[1].source");
        let e = refused(Side::Input, &[row("", "inputs.a")]);
        assert_eq!(e.field_path(Side::Input), "input_mappings[0].target");
    }

    // ---- identity rows ----

    #[test]
    fn identity_row_detection() {
        assert!(is_identity_row(Side::Input, &row("x", "inputs.x")));
        assert!(is_identity_row(Side::Output, &row("x", "outputs.x")));
        assert!(is_identity_row(Side::Input, &row("a.b", "inputs.a.b")));
        // Renames, selections, cross-side reads and literals are wiring worth highlighting.
        assert!(!is_identity_row(Side::Input, &row("y", "inputs.x")));
        assert!(!is_identity_row(Side::Output, &row("x", "outputs.r.x")));
        assert!(!is_identity_row(Side::Output, &row("x", "inputs.x")));
        assert!(!is_identity_row(Side::Input, &row("x", "outputs.x")));
        assert!(!is_identity_row(Side::Input, &row("x", "literal:x")));
        assert!(!is_identity_row(Side::Input, &row("x", "inputsx")));
        assert!(!is_identity_row(Side::Input, &row("", "inputs.")));
        assert!(!is_identity_row(Side::Input, &row("inputs", "inputs")));
        for m in identity(&[field("p"), field("q")]) {
            assert!(is_identity_row(Side::Input, &m));
        }
        for m in identity_outputs(&[field("p")]) {
            assert!(is_identity_row(Side::Output, &m));
        }
    }

    // ---- never panics ----

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Pieces that exercise every branch: roots, literals, digits, signs, dots, oddities.
        const PIECES: &[&str] = &[
            "inputs",
            "outputs",
            "literal:",
            "literal_json:",
            ".",
            "..",
            "0",
            "1",
            "-1",
            "99",
            "18446744073709551616",
            "a",
            "b",
            "s",
            "items",
            "{",
            "}",
            "\"",
            "[",
            "]",
            " ",
            "é",
            "null",
            "input",
        ];

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(PIECES), 0..8).prop_map(|p| p.concat())
        }

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z0-9]{0,3}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[abs0-9]{1,2}|items", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn object() -> impl Strategy<Value = Map<String, Value>> {
            prop::collection::btree_map("[abs0-9]{1,2}|items", json_value(), 0..5)
                .prop_map(|m| m.into_iter().collect())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn evaluate_returns_ok_or_a_row_error(
                rows in prop::collection::vec((text(), text()), 0..5),
                inputs in object(),
                outputs in prop::option::of(object()),
                output_side in any::<bool>(),
            ) {
                let side = if output_side { Side::Output } else { Side::Input };
                let rows: Vec<Mapping> = rows.into_iter().map(|(t, s)| row(&t, &s)).collect();
                match evaluate(side, &rows, &inputs, outputs.as_ref()) {
                    Ok(_) => prop_assert!(validate(side, &rows).is_ok()),
                    Err(e) => {
                        prop_assert!(e.row < rows.len());
                        prop_assert!(e.field == "target" || e.field == "source");
                        prop_assert!(!e.message.is_empty() && !e.hint.is_empty());
                    }
                }
            }
        }
    }
}

