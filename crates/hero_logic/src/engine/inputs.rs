//! Checking a Play's inputs against the version's declared fields.

use hero_logic_api::{FieldType, LogicField};
use serde_json::{Map, Value};

use crate::error::{ServiceError, ServiceResult};

/// The inputs as the Play will receive them: declared types checked, defaults applied.
/// A version that declares no inputs takes whatever it is given.
pub fn check(declared: &[LogicField], given: Map<String, Value>) -> ServiceResult<Map<String, Value>> {
    if declared.is_empty() {
        return Ok(given);
    }
    if let Some(unknown) = given.keys().find(|k| !declared.iter().any(|f| &f.name == *k)) {
        let names: Vec<&str> = declared.iter().map(|f| f.name.as_str()).collect();
        return Err(ServiceError::validation(
            format!("inputs.{unknown}"),
            format!("unknown input {unknown:?}"),
            format!("this version declares: {}", names.join(", ")),
        ));
    }
    let mut checked = Map::new();
    for field in declared {
        match given.get(&field.name).filter(|v| !v.is_null()) {
            Some(value) => {
                check_value(field, value)?;
                checked.insert(field.name.clone(), value.clone());
            }
            None => match &field.default {
                Some(default) => {
                    checked.insert(field.name.clone(), default.clone());
                }
                None if field.required => {
                    return Err(ServiceError::validation(
                        format!("inputs.{}", field.name),
                        format!("missing required input {:?} ({})", field.name, field.field_type.as_str()),
                        describe(field),
                    ))
                }
                None => {}
            },
        }
    }
    Ok(checked)
}

fn check_value(field: &LogicField, value: &Value) -> ServiceResult<()> {
    if !field.field_type.accepts(value) {
        return Err(ServiceError::validation(
            format!("inputs.{}", field.name),
            format!("input {:?} must be {}, got {}", field.name, article(field.field_type), hero_logic_api::json_kind(value)),
            describe(field),
        ));
    }
    if let (false, Some(text)) = (field.options.is_empty(), value.as_str()) {
        if !field.options.iter().any(|o| o == text) {
            return Err(ServiceError::validation(
                format!("inputs.{}", field.name),
                format!("input {:?} is {text:?}, not one of its options", field.name),
                format!("use one of: {}", field.options.join(", ")),
            ));
        }
    }
    Ok(())
}

fn describe(field: &LogicField) -> String {
    if field.description.is_empty() {
        format!("pass {} as {}", field.name, article(field.field_type))
    } else {
        format!("{}: {}", field.name, field.description)
    }
}

fn article(t: FieldType) -> &'static str {
    match t {
        FieldType::String => "a string",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::Object => "an object",
        FieldType::Array => "an array",
        FieldType::Any => "any value",
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<LogicField> {
        vec![
            LogicField { name: "name".into(), field_type: FieldType::String, ..Default::default() },
            LogicField {
                name: "times".into(),
                field_type: FieldType::Integer,
                required: false,
                default: Some(json!(1)),
                ..Default::default()
            },
            LogicField {
                name: "mood".into(),
                field_type: FieldType::String,
                required: false,
                options: vec!["glad".into(), "sad".into()],
                ..Default::default()
            },
        ]
    }

    fn field_of(result: ServiceResult<Map<String, Value>>) -> String {
        match result {
            Err(ServiceError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_and_types_are_checked() {
        let given = json!({"name": "Ada"}).as_object().unwrap().clone();
        assert_eq!(Value::Object(check(&fields(), given).unwrap()), json!({"name": "Ada", "times": 1}));
        let wrong = json!({"name": "Ada", "times": 1.5}).as_object().unwrap().clone();
        assert_eq!(field_of(check(&fields(), wrong)), "inputs.times");
        let missing = Map::new();
        assert_eq!(field_of(check(&fields(), missing)), "inputs.name");
        let unknown = json!({"name": "Ada", "nmae": 1}).as_object().unwrap().clone();
        assert_eq!(field_of(check(&fields(), unknown)), "inputs.nmae");
        let bad_option = json!({"name": "Ada", "mood": "meh"}).as_object().unwrap().clone();
        assert_eq!(field_of(check(&fields(), bad_option)), "inputs.mood");
    }
}
