//! Validation of what clients write. Each check names the offending field and says how to fix it.

use std::collections::HashSet;

use hero_logic_api::{Binding, LogicField};

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
                    "make the default match the field type, or change the type",
                ));
            }
        }
    }
    Ok(())
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

    #[test]
    fn tags_are_trimmed_and_deduplicated() {
        let tags = vec![" a ".to_string(), "b".into(), "a".into(), "".into()];
        assert_eq!(normalize_tags(&tags), ["a", "b"]);
    }
}
