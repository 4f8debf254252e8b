//! A Play's inputs from the command line: `-i key=value` pairs over an optional JSON object
//! read from a file or stdin (`--input-json`); and the values of answers (`--answer`, `resume`).

use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::CliError;

/// One `-i key=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputArg {
    pub key: String,
    pub value: Value,
}

/// Parses `key=value`. The value is JSON when it parses as JSON (`5`, `true`, `{"a": 1}`,
/// `"quoted"`), else the text itself, so `-i name=Ada` needs no quoting.
pub fn parse_input(text: &str) -> Result<InputArg, String> {
    let (key, raw) =
        text.split_once('=').ok_or_else(|| format!("{text:?} is not key=value; write e.g. -i name=Ada or -i n=5"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("{text:?} has no name before '='; write e.g. -i name=Ada"));
    }
    Ok(InputArg { key: key.to_string(), value: parse_value(raw) })
}

/// A value from the command line (`-i`, `--answer`, `resume`): JSON when it parses as JSON
/// (`5`, `true`, `["a", "b"]`, `"quoted"`), else the text itself.
pub fn parse_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// The inputs object: the JSON file's object (if any), then each `-i` over it in order.
pub fn collect(json_file: Option<&Path>, args: &[InputArg]) -> Result<Map<String, Value>, CliError> {
    let mut inputs = match json_file {
        Some(path) => read_object(path)?,
        None => Map::new(),
    };
    for arg in args {
        inputs.insert(arg.key.clone(), arg.value.clone());
    }
    Ok(inputs)
}

/// Reads a JSON object from `path`, or from stdin when `path` is `-`.
fn read_object(path: &Path) -> Result<Map<String, Value>, CliError> {
    let (origin, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read the inputs from stdin: {e}")))?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read --input-json {}: {e}", path.display())))?;
        (path.display().to_string(), text)
    };
    object_from(&origin, &text)
}

fn object_from(origin: &str, text: &str) -> Result<Map<String, Value>, CliError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(CliError::Usage(format!(
            "the inputs in {origin} must be a JSON object like {{\"name\": \"Ada\"}}, not {}",
            hero_logic_api::json_kind(&other)
        ))),
        Err(e) => Err(CliError::Usage(format!("the inputs in {origin} are not valid JSON: {e}"))),
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        parse_input(text).expect("parses").value
    }

    #[test]
    fn values_are_json_when_they_parse_else_text() {
        assert_eq!(value("n=5"), json!(5));
        assert_eq!(value("x=2.5"), json!(2.5));
        assert_eq!(value("ok=true"), json!(true));
        assert_eq!(value(r#"o={"a": [1]}"#), json!({"a": [1]}));
        assert_eq!(value("name=Ada"), json!("Ada"));
        assert_eq!(value(r#"id="123""#), json!("123"));
        assert_eq!(value("empty="), json!(""));
        // Only the first '=' splits: the rest belongs to the value.
        assert_eq!(value("eq=a=b"), json!("a=b"));
    }

    #[test]
    fn malformed_pairs_say_how_to_write_them() {
        assert!(parse_input("name").unwrap_err().contains("-i name=Ada"));
        assert!(parse_input("=x").unwrap_err().contains("no name"));
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("in.json");
        std::fs::write(&file, r#"{"name": "Bob", "greeting": "Hi"}"#).expect("write");
        let args = [parse_input("name=Ada").expect("parses")];
        let inputs = collect(Some(&file), &args).expect("collects");
        assert_eq!(Value::Object(inputs), json!({"name": "Ada", "greeting": "Hi"}));
    }

    #[test]
    fn the_file_must_hold_an_object() {
        let err = object_from("in.json", "[1, 2]").unwrap_err();
        assert!(err.to_string().contains("must be a JSON object"), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(object_from("in.json", "{").unwrap_err().to_string().contains("not valid JSON"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = collect(Some(Path::new("/nonexistent/in.json")), &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/in.json"), "{err}");
    }
}
