//! Validation of what clients write. Each check names the offending field and says how to fix it.

use std::collections::HashSet;

use hero_logic_api::{Binding, FieldType, LogicField};
use serde_json::Value;

use crate::error::{ServiceError, ServiceResult};

const MAX_NAME_LEN: usize = 64;

/// Logic names: `[a-z][a-z0-9_]*`, at most 64 characters.
pub fn logic_name(name: &str) -> ServiceResult<()> {
    let hint = "use lowercase letters, digits and underscores, starting with a letter, e.g. `summarize_text`";
    if name.is_empty() {
        return Err(ServiceError::validation("name", "name is required", hint));
    }
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_ok {
        return Err(ServiceError::validation("name", format!("invalid logic name {name:?}"), hint));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ServiceError::validation(
            "name",
            format!("logic name is {} characters long; the limit is {MAX_NAME_LEN}", name.len()),
            "shorten the name",
        ));
    }
    Ok(())
}

/// Version labels: 1-64 characters of letters, digits, `.`, `_`, `-`.
pub fn version_label(label: &str) -> ServiceResult<()> {
    let ok = !label.is_empty()
        && label.len() <= MAX_NAME_LEN
        && label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::validation(
            "version_label",
            format!("invalid version label {label:?}"),
            "use 1-64 letters, digits, '.', '_' or '-', e.g. `v2` or `2024.1`",
        ))
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Declared fields: Python identifiers, unique, defaults of the declared type.
/// `list` is `inputs` or `outputs`, used in the field path.
pub fn fields(list: &str, fields: &[LogicField]) -> ServiceResult<()> {
    let mut seen = HashSet::new();
    for (index, field) in fields.iter().enumerate() {
        let path = format!("{list}[{index}]");
        if !is_identifier(&field.name) {
            return Err(ServiceError::validation(
                format!("{path}.name"),
                format!("field name {:?} is not a Python identifier", field.name),
                "use letters, digits and underscores, not starting with a digit",
            ));
        }
        if !seen.insert(field.name.as_str()) {
            return Err(ServiceError::validation(
                format!("{path}.name"),
                format!("field {:?} is declared twice in {list}", field.name),
                "give each field a distinct name",
            ));
        }
        if let Some(default) = &field.default {
            if !default.is_null() && !field.field_type.accepts(default) {
                return Err(ServiceError::validation(
                    format!("{path}.default"),
                    format!("default {default} of field {:?} is not of type {}", field.name, field.field_type.as_str()),
                    "make the default match the field type (JSON text in a string is read as JSON), or change the type",
                ));
            }
        }
    }
    Ok(())
}

/// The OSIS value rule for defaults a client wrote (README, "OSIS-style values"): such clients
/// serialize every field, so `""` means "no default" — except on a `string` field that says
/// `keep_empty_default: true` — and a string default on a non-string field is JSON text.
pub fn osis_defaults(fields: &mut [LogicField]) {
    for field in fields {
        let Some(Value::String(text)) = &field.default else { continue };
        if field.field_type == FieldType::String {
            if text.is_empty() && !field.keep_empty_default {
                field.default = None;
            }
            continue;
        }
        if text.trim().is_empty() {
            field.default = None;
        } else if field.field_type != FieldType::Any {
            // Text that is not JSON of the field's type stays as it is, and `fields` says so.
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                if field.field_type.accepts(&value) {
                    field.default = Some(value);
                }
            }
        }
    }
}

/// Marks stored string fields whose default is `""`, so that a client writing back what it
/// read keeps that default (see `osis_defaults`).
pub fn mark_empty_defaults(fields: &mut [LogicField]) {
    for field in fields {
        field.keep_empty_default = field.field_type == FieldType::String && field.default.as_ref().is_some_and(|d| d == "");
    }
}

/// A version carries exactly one body: Python source or a binding.
pub fn body(python_source: &str, binding: Option<&Binding>) -> ServiceResult<()> {
    match (python_source.trim().is_empty(), binding) {
        (true, None) => Err(ServiceError::validation(
            "python_source",
            "a version needs python_source or a binding",
            "pass python_source with the logic's code, or binding {target, input_mappings, output_mappings}",
        )),
        (false, Some(_)) => Err(ServiceError::validation(
            "binding",
            "a version has either python_source or a binding, not both",
            "drop one of the two",
        )),
        (true, Some(b)) if b.target.trim().is_empty() => Err(ServiceError::validation(
            "binding.target",
            "a binding needs a target logic",
            "set binding.target to the name or sid of the logic to call",
        )),
        _ => Ok(()),
    }
}

/// Trims tags, drops empty ones and repeats, keeping first-seen order.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    tags.iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::FieldType;
    use serde_json::json;

    fn field_error(result: ServiceResult<()>) -> String {
        match result {
            Err(ServiceError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn logic_names() {
        assert!(logic_name("model_call2").is_ok());
        for bad in ["", "Model", "2fast", "has-dash", "has space", "_x"] {
            assert_eq!(field_error(logic_name(bad)), "name", "{bad}");
        }
        assert!(logic_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn field_paths_point_at_the_bad_field() {
        let good = LogicField { name: "n".into(), field_type: FieldType::Integer, ..Default::default() };
        let dup = good.clone();
        assert_eq!(field_error(fields("inputs", &[good.clone(), dup])), "inputs[1].name");
        let bad_default = LogicField { default: Some(json!("x")), ..good.clone() };
        assert_eq!(field_error(fields("outputs", &[bad_default])), "outputs[0].default");
        let bad_name = LogicField { name: "1x".into(), ..good };
        assert_eq!(field_error(fields("inputs", &[bad_name])), "inputs[0].name");
    }

    fn with_default(field_type: FieldType, default: Value, keep: bool) -> Option<Value> {
        let mut fields = [LogicField { name: "f".into(), field_type, default: Some(default), keep_empty_default: keep, ..Default::default() }];
        osis_defaults(&mut fields);
        fields[0].default.clone()
    }

    #[test]
    fn osis_empty_strings_mean_no_default() {
        for t in [FieldType::Integer, FieldType::Number, FieldType::Boolean, FieldType::Object, FieldType::Array, FieldType::Any] {
            assert_eq!(with_default(t, json!(""), false), None, "{t:?}");
        }
        assert_eq!(with_default(FieldType::String, json!(""), false), None);
        assert_eq!(with_default(FieldType::String, json!(""), true), Some(json!("")), "kept when the client says so");
        assert_eq!(with_default(FieldType::String, json!("x"), false), Some(json!("x")));
    }

    #[test]
    fn osis_string_defaults_of_other_types_are_json_text() {
        assert_eq!(with_default(FieldType::Integer, json!("5"), false), Some(json!(5)));
        assert_eq!(with_default(FieldType::Boolean, json!("true"), false), Some(json!(true)));
        assert_eq!(with_default(FieldType::Array, json!("[1]"), false), Some(json!([1])));
        assert_eq!(with_default(FieldType::Integer, json!("five"), false), Some(json!("five")), "left for `fields` to refuse");
        assert_eq!(with_default(FieldType::Any, json!("5"), false), Some(json!("5")), "any keeps a string as a string");
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated() {
        let tags = vec![" a ".to_string(), "b".into(), "a".into(), "".into()];
        assert_eq!(normalize_tags(&tags), ["a", "b"]);
    }
}
