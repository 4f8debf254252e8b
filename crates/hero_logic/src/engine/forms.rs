//! Pause forms: checking the `ui` a logic asks with, and the payload a person answers with.

use hero_logic_api::ResumeRequest;
use serde_json::{Map, Value};

use crate::error::{ServiceError, ServiceResult};

/// `timer` is a durable sleep (`logic.sleep`), answered by the daemon at `ui.wake_at`.
pub const KINDS: [&str; 6] = ["text", "number", "choice", "multi_choice", "confirm", "timer"];

/// Checks a form as a logic declares it; the message goes back to the body as an error.
pub fn check_form(ui: &Map<String, Value>) -> Result<(), String> {
    let kind = ui.get("kind").and_then(Value::as_str).unwrap_or("text");
    if !KINDS.contains(&kind) {
        return Err(format!("unknown pause kind {kind:?}; use one of {}", KINDS.join(", ")));
    }
    if matches!(kind, "choice" | "multi_choice") && options(ui).is_empty() {
        return Err(format!("a {kind} pause needs a non-empty list of string options"));
    }
    if kind == "timer" {
        let seconds = ui.get("seconds").and_then(Value::as_f64).filter(|s| s.is_finite() && *s >= 0.0);
        let wake_at = ui.get("wake_at").and_then(Value::as_u64);
        if seconds.is_none() && wake_at.is_none() {
            return Err("a timer pause needs `seconds` (a number >= 0) or `wake_at` (ms since the epoch); use logic.sleep or logic.sleep_until".into());
        }
    }
    Ok(())
}

fn options(ui: &Map<String, Value>) -> Vec<String> {
    ui.get("options")
        .and_then(Value::as_array)
        .map(|o| o.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn bound(request: &ResumeRequest, ui_key: &str, schema_key: &str) -> Option<f64> {
    request.ui.extra.get(ui_key).and_then(Value::as_f64).or_else(|| request.schema.get(schema_key).and_then(Value::as_f64))
}

fn invalid(message: String, hint: impl Into<String>) -> ServiceError {
    ServiceError::validation("payload", message, hint)
}

/// The answer as the logic will receive it: typed by the form's kind, or why it does not fit.
pub fn check_answer(request: &ResumeRequest, payload: &Value) -> ServiceResult<Value> {
    let opts = &request.ui.options;
    match request.ui.kind.as_str() {
        "number" => number(request, payload),
        "confirm" => confirm(payload),
        "choice" => {
            let choice = payload.as_str().ok_or_else(|| invalid(format!("the answer must be one of the options, got {payload}"), format!("options: {}", opts.join(", "))))?;
            if opts.iter().any(|o| o == choice) {
                Ok(payload.clone())
            } else {
                Err(invalid(format!("{choice:?} is not one of the options"), format!("options: {}", opts.join(", "))))
            }
        }
        "multi_choice" => multi_choice(request, payload, opts),
        // Waking a sleep early: whatever was sent, the sleep returns None.
        "timer" => Ok(Value::Null),
        _ => match payload {
            Value::String(_) => Ok(payload.clone()),
            _ => Err(invalid(format!("the answer must be text, got {payload}"), "send a JSON string")),
        },
    }
}

fn number(request: &ResumeRequest, payload: &Value) -> ServiceResult<Value> {
    let value = match payload {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|v| v.is_finite())
    .ok_or_else(|| invalid(format!("the answer must be a number, got {payload}"), "send a number such as 3 or 2.5"))?;
    let integer = request.ui.extra.get("integer").and_then(Value::as_bool).unwrap_or(false)
        || request.schema.get("type").and_then(Value::as_str) == Some("integer");
    if integer && value.fract() != 0.0 {
        return Err(invalid(format!("the answer must be a whole number, got {value}"), "send an integer"));
    }
    if let Some(min) = bound(request, "min", "minimum") {
        if value < min {
            return Err(invalid(format!("{value} is below the minimum {min}"), format!("send a number of at least {min}")));
        }
    }
    if let Some(max) = bound(request, "max", "maximum") {
        if value > max {
            return Err(invalid(format!("{value} is above the maximum {max}"), format!("send a number of at most {max}")));
        }
    }
    let whole = value.fract() == 0.0 && value.abs() < 9.0e15;
    Ok(if integer || (whole && !matches!(payload, Value::Number(n) if n.is_f64())) {
        Value::from(value as i64)
    } else {
        Value::from(value)
    })
}

fn confirm(payload: &Value) -> ServiceResult<Value> {
    let answer = match payload {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" => Some(true),
            "no" | "n" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    };
    answer.map(Value::Bool).ok_or_else(|| invalid(format!("the answer must be yes or no, got {payload}"), "send true or false"))
}

fn multi_choice(request: &ResumeRequest, payload: &Value, opts: &[String]) -> ServiceResult<Value> {
    let picked = payload
        .as_array()
        .ok_or_else(|| invalid(format!("the answer must be a list of options, got {payload}"), format!("options: {}", opts.join(", "))))?;
    let mut seen = Vec::new();
    for item in picked {
        let text = item.as_str().filter(|t| opts.iter().any(|o| o == t)).ok_or_else(|| {
            invalid(format!("{item} is not one of the options"), format!("options: {}", opts.join(", ")))
        })?;
        if seen.contains(&text) {
            return Err(invalid(format!("{text:?} is picked twice"), "pick each option at most once"));
        }
        seen.push(text);
    }
    let count = seen.len() as f64;
    if let Some(min) = bound(request, "min", "minItems") {
        if count < min {
            return Err(invalid(format!("pick at least {min} options, got {count}"), ""));
        }
    }
    if let Some(max) = bound(request, "max", "maxItems") {
        if count > max {
            return Err(invalid(format!("pick at most {max} options, got {count}"), ""));
        }
    }
    Ok(payload.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::ResumeUi;
    use serde_json::json;

    fn request(kind: &str, options: &[&str], extra: Value) -> ResumeRequest {
        ResumeRequest {
            ui: ResumeUi {
                kind: kind.into(),
                prompt: "?".into(),
                options: options.iter().map(|o| o.to_string()).collect(),
                extra: extra.as_object().cloned().unwrap_or_default(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn answers_are_typed_and_bad_ones_refused() {
        let n = request("number", &[], json!({"min": 0, "max": 10, "integer": true}));
        assert_eq!(check_answer(&n, &json!("7")).unwrap(), json!(7));
        assert!(check_answer(&n, &json!(7.5)).is_err());
        assert!(check_answer(&n, &json!(11)).is_err());
        assert!(check_answer(&n, &json!("seven")).is_err());
        let f = request("number", &[], json!({}));
        assert_eq!(check_answer(&f, &json!(2.5)).unwrap(), json!(2.5));
        let c = request("confirm", &[], json!({}));
        assert_eq!(check_answer(&c, &json!("yes")).unwrap(), json!(true));
        assert!(check_answer(&c, &json!("maybe")).is_err());
        let ch = request("choice", &["a", "b"], json!({}));
        assert_eq!(check_answer(&ch, &json!("b")).unwrap(), json!("b"));
        assert!(check_answer(&ch, &json!("c")).is_err());
        let m = request("multi_choice", &["a", "b", "c"], json!({"max": 2}));
        assert_eq!(check_answer(&m, &json!(["a", "c"])).unwrap(), json!(["a", "c"]));
        assert!(check_answer(&m, &json!(["a", "a"])).is_err());
        assert!(check_answer(&m, &json!(["a", "b", "c"])).is_err());
        assert!(check_answer(&m, &json!("a")).is_err());
        let t = request("text", &[], json!({}));
        assert!(check_answer(&t, &json!(3)).is_err());
    }

    #[test]
    fn forms_need_known_kinds_and_options() {
        assert!(check_form(json!({"kind": "choice", "options": []}).as_object().unwrap()).is_err());
        assert!(check_form(json!({"kind": "slider"}).as_object().unwrap()).is_err());
        assert!(check_form(json!({"kind": "confirm", "prompt": "ok?"}).as_object().unwrap()).is_ok());
    }
}
