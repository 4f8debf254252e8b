//! Declared fields as [`LogicField`]s: from `inputs=`/`outputs=` literals, from a function's
//! parameters, and from a record class (TypedDict, dataclass, ...) used as a return type.

use hero_logic_api::{FieldType, LogicField};
use ruff_python_ast::{
    Expr, ExprDict, ExprList, ExprTuple, Operator, Parameters, Stmt, StmtClassDef,
};
use ruff_text_size::{Ranged, TextSize};
use serde_json::Value;

use super::docstring::{self, NameDoc, Section};
use super::literal;
use super::scope::Scope;

/// A declaration that cannot be read, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: TextSize,
    pub message: String,
}

impl Problem {
    pub fn new(node: &impl Ranged, message: impl Into<String>) -> Self {
        Problem {
            at: node.start(),
            message: message.into(),
        }
    }
}

/// What an annotation or type name says about a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeInfo {
    pub field_type: FieldType,
    /// `Optional[X]`, `X | None`: the caller may leave it out.
    pub optional: bool,
    /// TypedDict's `Required[...]` / `NotRequired[...]` say so outright.
    pub required: Option<bool>,
    /// From `Literal["a", "b"]`.
    pub options: Vec<String>,
}

impl TypeInfo {
    fn of(field_type: FieldType) -> Self {
        TypeInfo {
            field_type,
            ..TypeInfo::default()
        }
    }
}

/// Maps a type name, JSON Schema style (`string`) or Python style (`str`, `List`), to a field
/// type; anything unknown is `any`.
pub fn type_from_name(name: &str) -> FieldType {
    match name.trim().to_ascii_lowercase().as_str() {
        "str" | "string" => FieldType::String,
        "int" | "integer" => FieldType::Integer,
        "float" | "number" => FieldType::Number,
        "bool" | "boolean" => FieldType::Boolean,
        "dict" | "object" | "mapping" | "mutablemapping" | "typeddict" => FieldType::Object,
        "list" | "array" | "tuple" | "set" | "frozenset" | "sequence" | "iterable" => {
            FieldType::Array
        }
        _ => FieldType::Any,
    }
}

/// The type a JSON value has, for fields declared only by their default.
fn type_of_value(value: &Value) -> FieldType {
    match value {
        Value::String(_) => FieldType::String,
        Value::Number(n) if n.is_i64() || n.is_u64() => FieldType::Integer,
        Value::Number(_) => FieldType::Number,
        Value::Bool(_) => FieldType::Boolean,
        Value::Array(_) => FieldType::Array,
        Value::Object(_) => FieldType::Object,
        Value::Null => FieldType::Any,
    }
}

/// Reads a type annotation. Classes defined in the module count as objects.
pub fn annotation(expr: &Expr, scope: &Scope) -> TypeInfo {
    annotation_in(expr, scope, 0)
}

/// `string_depth` counts forward references inside forward references (`"'int'"`), so that a
/// crafted annotation cannot make this loop.
fn annotation_in(expr: &Expr, scope: &Scope, string_depth: u8) -> TypeInfo {
    match expr {
        Expr::Name(_) | Expr::Attribute(_) => named_type(expr, scope),
        Expr::StringLiteral(s) => forward_reference(s.value.to_str(), scope, string_depth),
        Expr::Subscript(sub) => {
            let args: Vec<&Expr> = match sub.slice.as_ref() {
                Expr::Tuple(t) => t.elts.iter().collect(),
                one => vec![one],
            };
            generic(&sub.value, &args, scope, string_depth)
        }
        Expr::BinOp(bin) if bin.op == Operator::BitOr => {
            let mut members = Vec::new();
            flatten_union(expr, &mut members);
            union(&members, scope, string_depth)
        }
        _ => TypeInfo::default(),
    }
}

fn named_type(expr: &Expr, scope: &Scope) -> TypeInfo {
    match last_name(expr) {
        Some(name) if scope.classes.contains_key(name) => TypeInfo::of(FieldType::Object),
        Some(name) => TypeInfo::of(type_from_name(name)),
        None => TypeInfo::default(),
    }
}

/// A quoted annotation (`"Optional[int]"`) or a type name given as a string (`"integer"`).
fn forward_reference(text: &str, scope: &Scope, string_depth: u8) -> TypeInfo {
    // Bounded so the tiny tree parsed here is always shallow enough to walk and drop.
    const MAX_LEN: usize = 256;
    const MAX_DEPTH: u8 = 4;
    if text.len() > MAX_LEN || string_depth >= MAX_DEPTH {
        return TypeInfo::of(type_from_name(text));
    }
    match ruff_python_parser::parse_expression(text.trim()) {
        Ok(parsed) => annotation_in(parsed.expr(), scope, string_depth + 1),
        Err(_) => TypeInfo::of(type_from_name(text)),
    }
}

/// `Base[args]`: typing wrappers are looked through, containers keep their own type.
fn generic(base: &Expr, args: &[&Expr], scope: &Scope, depth: u8) -> TypeInfo {
    let first = || {
        args.first()
            .map(|a| annotation_in(a, scope, depth))
            .unwrap_or_default()
    };
    match last_name(base).unwrap_or("") {
        "Optional" => TypeInfo {
            optional: true,
            ..first()
        },
        "Union" => union(args, scope, depth),
        "Annotated" | "ReadOnly" | "Final" => first(),
        "Required" => TypeInfo {
            required: Some(true),
            ..first()
        },
        "NotRequired" => TypeInfo {
            required: Some(false),
            ..first()
        },
        "Literal" => literal_options(args),
        _ => named_type(base, scope),
    }
}

fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attr) => Some(attr.attr.as_str()),
        _ => None,
    }
}

fn flatten_union<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::BinOp(bin) if bin.op == Operator::BitOr => {
            flatten_union(&bin.left, out);
            flatten_union(&bin.right, out);
        }
        other => out.push(other),
    }
}

/// A union is optional when `None` is a member; it keeps a type only when every other member
/// agrees on it.
fn union(members: &[&Expr], scope: &Scope, depth: u8) -> TypeInfo {
    let is_none = |e: &&Expr| matches!(e, Expr::NoneLiteral(_)) || last_name(e) == Some("None");
    let optional = members.iter().any(is_none);
    let types: Vec<TypeInfo> = members
        .iter()
        .filter(|e| !is_none(e))
        .map(|e| annotation_in(e, scope, depth))
        .collect();
    let Some(first) = types.first() else {
        return TypeInfo {
            optional,
            ..TypeInfo::default()
        };
    };
    if types.iter().any(|t| t.field_type != first.field_type) {
        return TypeInfo {
            optional,
            ..TypeInfo::default()
        };
    }
    let mut options: Vec<String> = Vec::new();
    // Options only narrow the type when every member lists them (`Literal["a"] | Literal["b"]`).
    if types.iter().all(|t| !t.options.is_empty()) {
        for option in types.iter().flat_map(|t| t.options.iter()) {
            if !options.contains(option) {
                options.push(option.clone());
            }
        }
    }
    TypeInfo {
        field_type: first.field_type,
        optional: optional || first.optional,
        required: None,
        options,
    }
}

/// `Literal[...]`: strings become options of a string field; other kinds only give the type.
fn literal_options(args: &[&Expr]) -> TypeInfo {
    let values: Option<Vec<Value>> = args.iter().map(|a| literal::to_json(a)).collect();
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return TypeInfo::default();
    };
    let field_type = type_of_value(&values[0]);
    if values.iter().any(|v| type_of_value(v) != field_type) {
        return TypeInfo::default();
    }
    let options = values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    TypeInfo {
        field_type,
        options,
        ..TypeInfo::default()
    }
}

/// Reads an `inputs=` / `outputs=` argument. `what` names it in messages.
///
/// Accepted: `{"x": "string"}`, `{"x": str}`, `{"x": {"type": ..., "description": ...,
/// "required": ..., "default": ..., "options": [...]}}`, `["a", "b"]`, a list of such dicts with
/// a `"name"` key, or a module-level name bound to one of those.
pub fn declared(expr: &Expr, scope: &Scope, what: &str) -> Result<Vec<LogicField>, Problem> {
    let expr = resolve_constant(expr, scope);
    match expr {
        Expr::Dict(dict) => {
            let mut fields: Vec<LogicField> = Vec::with_capacity(dict.items.len());
            for item in &dict.items {
                let Some(key) = &item.key else {
                    return Err(Problem::new(&item.value, format!("{what}= cannot use ** here; list every field")));
                };
                let name = literal::string(key)
                    .ok_or_else(|| Problem::new(key, format!("{what}= keys must be string literals (field names)")))?;
                push_field(&mut fields, field_from_value(name, &item.value, scope, what)?);
            }
            Ok(fields)
        }
        Expr::List(ExprList { elts, .. }) | Expr::Tuple(ExprTuple { elts, .. }) => {
            let mut fields = Vec::with_capacity(elts.len());
            for elt in elts {
                push_field(&mut fields, field_from_list_item(elt, scope, what)?);
            }
            Ok(fields)
        }
        _ => Err(Problem::new(
            expr,
            format!("{what}= must be a literal dict like {{\"x\": \"string\"}} or a list of names like [\"x\"]"),
        )),
    }
}

fn resolve_constant<'e>(expr: &'e Expr, scope: &Scope<'e>) -> &'e Expr {
    match expr {
        Expr::Name(name) => scope
            .constants
            .get(name.id.as_str())
            .copied()
            .unwrap_or(expr),
        _ => expr,
    }
}

/// A repeated name replaces the earlier one, as a repeated dict key does in Python.
fn push_field(fields: &mut Vec<LogicField>, field: LogicField) {
    match fields.iter_mut().find(|f| f.name == field.name) {
        Some(existing) => *existing = field,
        None => fields.push(field),
    }
}

fn field_from_list_item(elt: &Expr, scope: &Scope, what: &str) -> Result<LogicField, Problem> {
    if let Some(name) = literal::string(elt) {
        return Ok(LogicField {
            name: name.to_owned(),
            ..LogicField::default()
        });
    }
    if let Expr::Dict(spec) = elt {
        let name = spec_entry(spec, "name")
            .and_then(literal::string)
            .ok_or_else(|| {
                Problem::new(
                    elt,
                    format!("each field dict in {what}= needs a \"name\" string"),
                )
            })?;
        return field_from_spec(name, spec, scope, what);
    }
    Err(Problem::new(
        elt,
        format!("{what}= list items must be field names (strings) or dicts with a \"name\""),
    ))
}

fn field_from_value(
    name: &str,
    value: &Expr,
    scope: &Scope,
    what: &str,
) -> Result<LogicField, Problem> {
    match value {
        Expr::Dict(spec) => field_from_spec(name, spec, scope, what),
        Expr::StringLiteral(_)
        | Expr::Name(_)
        | Expr::Attribute(_)
        | Expr::Subscript(_)
        | Expr::BinOp(_) => Ok(field_of_type(name, annotation(value, scope))),
        Expr::NoneLiteral(_) => Ok(LogicField {
            name: name.to_owned(),
            ..LogicField::default()
        }),
        _ => Err(Problem::new(
            value,
            format!(
                "{what}[{name:?}]: expected a type like \"string\" or str, or a dict like \
                 {{\"type\": \"string\", \"description\": \"...\"}}"
            ),
        )),
    }
}

fn field_of_type(name: &str, info: TypeInfo) -> LogicField {
    LogicField {
        name: name.to_owned(),
        field_type: info.field_type,
        required: info.required.unwrap_or(!info.optional),
        options: info.options,
        ..LogicField::default()
    }
}

fn spec_entry<'e>(spec: &'e ExprDict, key: &str) -> Option<&'e Expr> {
    spec.items
        .iter()
        .find(|item| item.key.as_ref().and_then(literal::string) == Some(key))
        .map(|item| &item.value)
}

/// `{"type": ..., "description": ..., "required": ..., "default": ..., "options": [...]}`.
/// Unknown keys are ignored so that sources written for a newer SDK still load.
fn field_from_spec(
    name: &str,
    spec: &ExprDict,
    scope: &Scope,
    what: &str,
) -> Result<LogicField, Problem> {
    let at = |key: &str| format!("{what}[{name:?}][{key:?}]");
    let info = match spec_entry(spec, "type").or_else(|| spec_entry(spec, "field_type")) {
        Some(Expr::NoneLiteral(_)) | None => None,
        Some(
            t @ (Expr::StringLiteral(_)
            | Expr::Name(_)
            | Expr::Attribute(_)
            | Expr::Subscript(_)
            | Expr::BinOp(_)),
        ) => Some(annotation(t, scope)),
        Some(other) => {
            return Err(Problem::new(
                other,
                format!("{}: expected a type name like \"string\"", at("type")),
            ))
        }
    };
    let description = match spec_entry(spec, "description") {
        None => String::new(),
        Some(d) => literal::string(d)
            .ok_or_else(|| {
                Problem::new(
                    d,
                    format!("{}: expected a string literal", at("description")),
                )
            })?
            .to_owned(),
    };
    let required = match spec_entry(spec, "required") {
        None => None,
        Some(Expr::BooleanLiteral(b)) => Some(b.value),
        Some(other) => {
            return Err(Problem::new(
                other,
                format!("{}: expected True or False", at("required")),
            ))
        }
    };
    let default = match spec_entry(spec, "default") {
        None => None,
        Some(d) => Some(literal::to_json(d).ok_or_else(|| {
            Problem::new(
                d,
                format!(
                    "{}: expected a literal (string, number, list, ...)",
                    at("default")
                ),
            )
        })?),
    };
    let options = match ["options", "enum", "choices"]
        .iter()
        .find_map(|k| spec_entry(spec, k))
    {
        None => Vec::new(),
        Some(list) => string_list(list).ok_or_else(|| {
            Problem::new(
                list,
                format!("{}: expected a list of strings", at("options")),
            )
        })?,
    };
    let info = info.unwrap_or_else(|| TypeInfo::of(implied_type(default.as_ref(), &options)));
    // A default means the caller may leave the field out; `None` as default says the same.
    let has_default = default.is_some();
    Ok(LogicField {
        name: name.to_owned(),
        field_type: info.field_type,
        description,
        required: required
            .or(info.required)
            .unwrap_or(!has_default && !info.optional),
        default: default.filter(|d| !d.is_null()),
        options: if options.is_empty() {
            info.options
        } else {
            options
        },
        ..LogicField::default()
    })
}

fn implied_type(default: Option<&Value>, options: &[String]) -> FieldType {
    match default {
        Some(value) => type_of_value(value),
        None if !options.is_empty() => FieldType::String,
        None => FieldType::Any,
    }
}

fn string_list(expr: &Expr) -> Option<Vec<String>> {
    let (Expr::List(ExprList { elts, .. }) | Expr::Tuple(ExprTuple { elts, .. })) = expr else {
        return None;
    };
    elts.iter()
        .map(|e| literal::string(e).map(str::to_owned))
        .collect()
}

/// The inputs a function's parameters imply. `self`/`cls` (as first parameter), `*args` and
/// `**kwargs` are not inputs. `docs` supply descriptions, and types where there is no
/// annotation.
pub fn from_parameters(params: &Parameters, docs: &[NameDoc], scope: &Scope) -> Vec<LogicField> {
    let mut fields = Vec::new();
    let all = params
        .posonlyargs
        .iter()
        .chain(&params.args)
        .chain(&params.kwonlyargs);
    for (index, param) in all.enumerate() {
        let name = param.parameter.name.as_str();
        if index == 0 && (name == "self" || name == "cls") {
            continue;
        }
        let doc = docs.iter().find(|d| d.name == name);
        let default_expr = param.default.as_deref();
        let default = default_expr.and_then(|d| literal::to_json(resolve_constant(d, scope)));
        let info = match (
            &param.parameter.annotation,
            doc.and_then(|d| d.type_hint.as_deref()),
        ) {
            (Some(annotation_expr), _) => annotation(annotation_expr, scope),
            (None, Some(hint)) => docstring_type(hint, scope),
            (None, None) => TypeInfo::of(default.as_ref().map_or(FieldType::Any, type_of_value)),
        };
        fields.push(LogicField {
            name: name.to_owned(),
            field_type: info.field_type,
            description: doc.map(|d| d.description.clone()).unwrap_or_default(),
            required: default_expr.is_none() && !info.optional,
            default: default.filter(|d| !d.is_null()),
            options: info.options,
            ..LogicField::default()
        });
    }
    fields
}

/// `int`, `list[str]`, `str, optional` as written in a docstring.
fn docstring_type(hint: &str, scope: &Scope) -> TypeInfo {
    let (hint, optional) = match hint.rsplit_once(',') {
        Some((head, tail)) if tail.trim() == "optional" => (head, true),
        _ => (hint, false),
    };
    let info = forward_reference(hint, scope, 0);
    TypeInfo {
        optional: info.optional || optional,
        ..info
    }
}

/// Fills empty descriptions from a docstring.
/// A declared input that says nothing about being optional takes the entry parameter's
/// default: the function runs without it, so callers need not pass it.
pub fn fill_optional_from_parameters(fields: &mut [LogicField], parameters: &[LogicField]) {
    for field in fields
        .iter_mut()
        .filter(|f| f.required && f.default.is_none())
    {
        if let Some(param) = parameters
            .iter()
            .find(|p| p.name == field.name && !p.required)
        {
            field.required = false;
            field.default = param.default.clone();
        }
    }
}

pub fn fill_descriptions(fields: &mut [LogicField], docs: &[NameDoc]) {
    for field in fields.iter_mut().filter(|f| f.description.is_empty()) {
        if let Some(doc) = docs.iter().find(|d| d.name == field.name) {
            field.description = doc.description.clone();
        }
    }
}

/// The fields of a record class: annotated class attributes (TypedDict, dataclass, pydantic
/// model, NamedTuple, ...), base classes of this module first. Descriptions come from an
/// attribute's own docstring or the class docstring's `Attributes:` section.
pub fn from_class(class: &StmtClassDef, scope: &Scope) -> Vec<LogicField> {
    let mut fields = Vec::new();
    collect_class_fields(class, scope, &mut fields, 0);
    fields
}

fn collect_class_fields(
    class: &StmtClassDef,
    scope: &Scope,
    fields: &mut Vec<LogicField>,
    depth: u8,
) {
    // Also stops `class A(B)` / `class B(A)` loops.
    const MAX_BASES_DEPTH: u8 = 8;
    if depth >= MAX_BASES_DEPTH {
        return;
    }
    for base in class.bases() {
        if let Some(parent) = last_name(base).and_then(|n| scope.classes.get(n)) {
            collect_class_fields(parent, scope, fields, depth + 1);
        }
    }
    // `class R(TypedDict, total=False)`: fields are optional unless marked Required.
    let total = !class.keywords().iter().any(|k| {
        k.arg.as_ref().is_some_and(|a| a.as_str() == "total")
            && matches!(&k.value, Expr::BooleanLiteral(b) if !b.value)
    });
    let docs = docstring::of_body(&class.body)
        .map(|d| docstring::names(d, Section::Attributes))
        .unwrap_or_default();
    for (index, stmt) in class.body.iter().enumerate() {
        let Stmt::AnnAssign(assign) = stmt else {
            continue;
        };
        let Expr::Name(target) = assign.target.as_ref() else {
            continue;
        };
        if is_class_var(&assign.annotation) {
            continue;
        }
        let info = annotation(&assign.annotation, scope);
        let default = assign.value.as_deref().and_then(literal::to_json);
        let description = class
            .body
            .get(index + 1)
            .and_then(attribute_docstring)
            .map(docstring::clean)
            .or_else(|| {
                docs.iter()
                    .find(|d| d.name == target.id.as_str())
                    .map(|d| d.description.clone())
            });
        let required = info
            .required
            .unwrap_or(total && assign.value.is_none() && !info.optional);
        push_field(
            fields,
            LogicField {
                name: target.id.to_string(),
                field_type: info.field_type,
                description: description.unwrap_or_default(),
                required,
                default: default.filter(|d| !d.is_null()),
                options: info.options,
                ..LogicField::default()
            },
        );
    }
}

fn attribute_docstring(stmt: &Stmt) -> Option<&str> {
    match stmt {
        Stmt::Expr(expr) => literal::string(&expr.value),
        _ => None,
    }
}

fn is_class_var(annotation: &Expr) -> bool {
    let base = match annotation {
        Expr::Subscript(sub) => &sub.value,
        other => other,
    };
    last_name(base) == Some("ClassVar")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::parse::test_module as module;

    fn type_of(annotation_text: &str) -> TypeInfo {
        let m = module("class Record: ...\n");
        let scope = Scope::of(&m);
        let parsed =
            ruff_python_parser::parse_expression(annotation_text).expect("annotation parses");
        annotation(parsed.expr(), &scope)
    }

    #[test]
    fn type_names_map() {
        let cases = [
            ("str", FieldType::String),
            ("string", FieldType::String),
            ("int", FieldType::Integer),
            ("integer", FieldType::Integer),
            ("float", FieldType::Number),
            ("number", FieldType::Number),
            ("bool", FieldType::Boolean),
            ("boolean", FieldType::Boolean),
            ("dict", FieldType::Object),
            ("object", FieldType::Object),
            ("list", FieldType::Array),
            ("array", FieldType::Array),
            ("any", FieldType::Any),
            ("bytes", FieldType::Any),
        ];
        for (name, expected) in cases {
            assert_eq!(type_from_name(name), expected, "{name}");
        }
    }

    #[test]
    fn annotations_map() {
        let cases = [
            ("str", FieldType::String, false),
            ("typing.List[int]", FieldType::Array, false),
            ("list[str]", FieldType::Array, false),
            ("dict[str, int]", FieldType::Object, false),
            ("Record", FieldType::Object, false),
            ("Optional[int]", FieldType::Integer, true),
            ("int | None", FieldType::Integer, true),
            ("None | str", FieldType::String, true),
            ("Union[int, None]", FieldType::Integer, true),
            ("int | str", FieldType::Any, false),
            ("'Optional[float]'", FieldType::Number, true),
            ("Annotated[int, 'meta']", FieldType::Integer, false),
            ("Any", FieldType::Any, false),
            ("Callable[[int], int]", FieldType::Any, false),
        ];
        for (text, field_type, optional) in cases {
            let info = type_of(text);
            assert_eq!(
                (info.field_type, info.optional),
                (field_type, optional),
                "{text}"
            );
        }
    }

    #[test]
    fn literal_gives_options() {
        let info = type_of("Literal['fast', 'slow']");
        assert_eq!(info.field_type, FieldType::String);
        assert_eq!(info.options, ["fast", "slow"]);
        assert_eq!(type_of("Literal[1, 2]").field_type, FieldType::Integer);
        assert_eq!(type_of("Literal[1, 'a']").field_type, FieldType::Any);
        assert_eq!(type_of("Optional[Literal['a']]").options, ["a"]);
    }

    #[test]
    fn nested_forward_references_stop() {
        assert_eq!(type_of(r#"'"int"'"#).field_type, FieldType::Integer);
        let m = module("");
        let scope = Scope::of(&m);
        assert_eq!(
            forward_reference("'int'", &scope, 4).field_type,
            FieldType::Any,
            "depth limit reached"
        );
        assert_eq!(type_of("'not valid ['").field_type, FieldType::Any);
    }

    fn declared_from(source: &str) -> Result<Vec<LogicField>, Problem> {
        let m = module(source);
        let scope = Scope::of(&m);
        let Some(Stmt::Expr(last)) = m.body.last() else {
            panic!("expression expected")
        };
        declared(&last.value, &scope, "inputs")
    }

    #[test]
    fn declared_dict_forms() {
        let fields = declared_from(
            r#"
{
    "a": "string",
    "b": int,
    "c": {"type": "integer", "description": "C.", "required": False, "default": 3},
    "d": {"default": 1.5},
    "e": {"type": "string", "options": ["x", "y"]},
    "f": Optional[str],
    "g": {"description": "no type"},
    "h": {"type": "number", "default": None},
}
"#,
        )
        .expect("valid");
        let by = |n: &str| {
            fields
                .iter()
                .find(|f| f.name == n)
                .cloned()
                .expect("field present")
        };
        assert_eq!(
            (by("a").field_type, by("a").required),
            (FieldType::String, true)
        );
        assert_eq!(by("b").field_type, FieldType::Integer);
        let c = by("c");
        assert_eq!(
            (c.field_type, c.required, c.default, c.description.as_str()),
            (FieldType::Integer, false, Some(json!(3)), "C.")
        );
        assert_eq!(
            (by("d").field_type, by("d").required),
            (FieldType::Number, false)
        );
        assert_eq!(by("e").options, ["x", "y"]);
        assert!(!by("f").required);
        assert_eq!(
            (by("g").field_type, by("g").required),
            (FieldType::Any, true)
        );
        assert_eq!((by("h").required, by("h").default.clone()), (false, None));
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b", "c", "d", "e", "f", "g", "h"],
            "declaration order kept"
        );
    }

    #[test]
    fn declared_list_forms() {
        let fields = declared_from(r#"["a", {"name": "b", "type": "boolean"}]"#).expect("valid");
        assert_eq!(fields[0].field_type, FieldType::Any);
        assert!(fields[0].required);
        assert_eq!(fields[1].field_type, FieldType::Boolean);
    }

    #[test]
    fn declared_through_a_constant() {
        let fields = declared_from("INPUTS = {'x': 'number'}\nINPUTS\n").expect("valid");
        assert_eq!(fields[0].field_type, FieldType::Number);
    }

    #[test]
    fn declared_errors_say_what_is_wrong() {
        for (source, needle) in [
            ("{1: 'string'}", "keys must be string literals"),
            ("{**base}", "cannot use **"),
            ("{'x': 3}", "expected a type"),
            ("{'x': {'default': compute()}}", "expected a literal"),
            ("{'x': {'required': 'yes'}}", "True or False"),
            ("{'x': {'options': 'abc'}}", "list of strings"),
            ("[3]", "list items"),
            ("make_inputs()", "must be a literal dict"),
        ] {
            let problem = declared_from(source).expect_err(source);
            assert!(
                problem.message.contains(needle),
                "{source}: {}",
                problem.message
            );
        }
    }

    fn params_of(source: &str) -> Vec<LogicField> {
        let m = module(source);
        let scope = Scope::of(&m);
        let function = scope.functions[0];
        let docs = docstring::of_body(&function.body)
            .map(|d| docstring::names(d, Section::Params))
            .unwrap_or_default();
        from_parameters(&function.parameters, &docs, &scope)
    }

    #[test]
    fn parameters_become_inputs() {
        let fields = params_of(
            r#"
LIMIT = 10
def run(self, text: str, /, n: int = 3, *args, mode: Literal["a", "b"] = "a", note: str | None = None,
        limit=LIMIT, tags: list[str] = [], loose, **kwargs):
    """Run.

    Args:
        text: The text.
        loose (float): Documented type.
    """
"#,
        );
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["text", "n", "mode", "note", "limit", "tags", "loose"]
        );
        assert_eq!(
            (
                fields[0].field_type,
                fields[0].required,
                fields[0].description.as_str()
            ),
            (FieldType::String, true, "The text.")
        );
        assert_eq!(
            (fields[1].required, fields[1].default.clone()),
            (false, Some(json!(3)))
        );
        assert_eq!(
            (fields[2].field_type, fields[2].options.clone()),
            (FieldType::String, vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            (fields[3].required, fields[3].default.clone()),
            (false, None)
        );
        assert_eq!(
            (fields[4].field_type, fields[4].default.clone()),
            (FieldType::Integer, Some(json!(10)))
        );
        assert_eq!(fields[5].field_type, FieldType::Array);
        assert_eq!(
            (fields[6].field_type, fields[6].required),
            (FieldType::Number, true)
        );
    }

    #[test]
    fn record_class_fields() {
        let m = module(
            r#"
class Base(TypedDict):
    id: int
class Result(Base, total=False):
    """Result.

    Attributes:
        total: The sum.
    """
    total: float
    label: Required[str]
    "The label."
    kind: ClassVar[str] = "x"
    size: int = 2
"#,
        );
        let scope = Scope::of(&m);
        let fields = from_class(scope.classes["Result"], &scope);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "total", "label", "size"]);
        assert!(fields[0].required, "base class is total");
        assert_eq!(
            (fields[1].required, fields[1].description.as_str()),
            (false, "The sum.")
        );
        assert_eq!(
            (fields[2].required, fields[2].description.as_str()),
            (true, "The label.")
        );
        assert_eq!(fields[3].default, Some(json!(2)));
    }

    #[test]
    fn recursive_bases_terminate() {
        let m = module("class A(B):\n    a: int\nclass B(A):\n    b: int\n");
        let scope = Scope::of(&m);
        assert!(!from_class(scope.classes["A"], &scope).is_empty());
    }
}
