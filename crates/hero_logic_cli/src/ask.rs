//! Asking a Play's questions in the terminal (`hero_logic run` when stdin is one): how each
//! form is shown, how typed text becomes an answer, and the ask-send-retry loop.
//!
//! The daemon is the judge of an answer: what is typed is turned into the closest payload
//! (a choice's number into its option, `y` into `true`, ...) and sent; a refusal is shown with
//! the daemon's message and hint, and the question is asked again.

use std::io::{BufRead, IsTerminal, Write};

use hero_logic_api::error as codes;
use hero_logic_api::{Play, ResumeRequest};
use serde_json::Value;
use tokio::signal::unix::Signal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::connect::Daemon;
use crate::error::CliError;

/// How asking one question ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// The daemon took the answer, or the question was answered elsewhere meanwhile (the
    /// admin, another terminal): either way the run goes on.
    Answered,
    /// Stdin ended (Ctrl-D) before an answer: the Play keeps waiting.
    Closed,
    /// Ctrl-C at the question: the Play keeps waiting.
    Interrupted,
}

/// The terminal's lines, read on a thread of their own so that waiting for a person never
/// blocks the runtime and Ctrl-C still ends the wait. Started at the first question, so
/// stdin is left alone by runs that never ask.
pub struct Terminal {
    lines: UnboundedReceiver<String>,
}

impl Terminal {
    pub fn new() -> Terminal {
        let (sender, lines) = unbounded_channel();
        // Detached: it ends at end of input, or with the process while it waits for a line.
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut line = String::new();
            loop {
                line.clear();
                match stdin.lock().read_line(&mut line) {
                    Ok(1..) if sender.send(line.clone()).is_ok() => {}
                    _ => break,
                }
            }
        });
        Terminal { lines }
    }

    /// Drops whatever was typed before the question was shown (an Enter pressed while the
    /// tree was running must not answer it).
    fn discard_typed_ahead(&mut self) {
        if std::io::stdin().is_terminal() {
            // SAFETY: tcflush only discards the terminal's pending input.
            unsafe { libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH) };
        }
        while self.lines.try_recv().is_ok() {}
    }

    /// One line without its line ending, or `None` at end of input.
    async fn line(&mut self) -> Option<String> {
        let line = self.lines.recv().await?;
        Some(line.trim_end_matches(['\n', '\r']).to_string())
    }

    /// One line, or with `multiline` every line up to an empty one, joined by `\n`.
    async fn answer(&mut self, multiline: bool) -> Option<String> {
        if !multiline {
            return self.line().await;
        }
        let mut lines: Vec<String> = Vec::new();
        loop {
            match self.line().await {
                Some(line) if line.is_empty() => break,
                Some(line) => lines.push(line),
                None if lines.is_empty() => return None,
                None => break,
            }
        }
        Some(lines.join("\n"))
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

/// Asks `request` (which `asker` asked) until the daemon takes an answer or the person leaves.
pub async fn ask(
    daemon: &Daemon,
    asker: &Play,
    request: &ResumeRequest,
    terminal: &mut Terminal,
    interrupt: &mut Signal,
) -> Result<Asked, CliError> {
    terminal.discard_typed_ahead();
    say(&question(asker, request));
    loop {
        say(&cue(request));
        let typed = tokio::select! {
            typed = terminal.answer(multiline(request)) => typed,
            _ = interrupt.recv() => {
                say("\n");
                return Ok(Asked::Interrupted);
            }
        };
        let Some(typed) = typed else {
            say("\n");
            return Ok(Asked::Closed);
        };
        match daemon.resume(&asker.sid, &request.id, interpret(request, &typed)).await {
            Ok(_) => return Ok(Asked::Answered),
            Err(CliError::Rpc { code: codes::VALIDATION, message, data, .. }) => {
                let hint = data.map(|d| d.hint).unwrap_or_default();
                let hint = if hint.is_empty() { String::new() } else { format!("\n  hint: {hint}") };
                say(&format!("  not accepted: {message}{hint}\n"));
            }
            Err(err @ CliError::Rpc { code: codes::INVALID_STATE, .. }) => {
                // Answered elsewhere, or the Play was cancelled: watching shows which.
                say(&format!("  {err}\n"));
                return Ok(Asked::Answered);
            }
            Err(err) => return Err(err),
        }
    }
}

/// To the terminal (stderr: stdout keeps the tree and the output, or the JSON).
fn say(text: &str) {
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

fn multiline(request: &ResumeRequest) -> bool {
    request.ui.kind == "text" && request.ui.extra.get("multiline").and_then(Value::as_bool).unwrap_or(false)
}

fn hint<'a>(request: &'a ResumeRequest, key: &str) -> Option<&'a Value> {
    request.ui.extra.get(key).filter(|v| !v.is_null())
}

/// A hint's value as a person reads it: text without quotes, anything else as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Who asks and what: the prompt, then the options numbered from 1.
pub fn question(asker: &Play, request: &ResumeRequest) -> String {
    let prompt = if request.ui.prompt.is_empty() { &request.name } else { &request.ui.prompt };
    let mut text = format!("\n{} ({}) asks:\n  {prompt}\n", asker.name, asker.sid);
    if matches!(request.ui.kind.as_str(), "choice" | "multi_choice") {
        let default = hint(request, "default");
        for (n, option) in request.ui.options.iter().enumerate() {
            let mark = if default.and_then(Value::as_str) == Some(option) { " (default)" } else { "" };
            text.push_str(&format!("  {:>2}) {option}{mark}\n", n + 1));
        }
    }
    text
}

/// The line the answer is typed on: what kind of answer, its bounds and its default.
pub fn cue(request: &ResumeRequest) -> String {
    let default = hint(request, "default");
    let with_default = |what: String| match default {
        Some(d) => format!("  {what} [Enter: {}] > ", shown(d)),
        None => format!("  {what} > "),
    };
    match request.ui.kind.as_str() {
        "confirm" => match default.and_then(Value::as_bool) {
            Some(true) => "  y/n [Enter: y] > ".to_string(),
            Some(false) => "  y/n [Enter: n] > ".to_string(),
            None => "  y/n > ".to_string(),
        },
        "number" => {
            let integer = hint(request, "integer").and_then(Value::as_bool).unwrap_or(false);
            let mut what = if integer { "whole number" } else { "number" }.to_string();
            match (hint(request, "min"), hint(request, "max")) {
                (Some(min), Some(max)) => what.push_str(&format!(", {} to {}", shown(min), shown(max))),
                (Some(min), None) => what.push_str(&format!(", at least {}", shown(min))),
                (None, Some(max)) => what.push_str(&format!(", at most {}", shown(max))),
                (None, None) => {}
            }
            with_default(what)
        }
        "choice" => with_default("number or text".to_string()),
        "multi_choice" => {
            let mut what = "numbers, comma-separated".to_string();
            match (hint(request, "min"), hint(request, "max")) {
                (Some(min), Some(max)) => what.push_str(&format!(", pick {} to {}", shown(min), shown(max))),
                (Some(min), None) => what.push_str(&format!(", pick at least {}", shown(min))),
                (None, Some(max)) => what.push_str(&format!(", pick at most {}", shown(max))),
                (None, None) => {}
            }
            with_default(what)
        }
        _ => {
            let mut what = "text".to_string();
            if let Some(placeholder) = hint(request, "placeholder").map(shown).filter(|p| !p.is_empty()) {
                what.push_str(&format!(", e.g. {placeholder}"));
            }
            if multiline(request) {
                what.push_str("; several lines, an empty line ends");
                match default {
                    Some(d) => format!("  {what} [empty: {}]\n", shown(d)),
                    None => format!("  {what}\n"),
                }
            } else {
                with_default(what)
            }
        }
    }
}

/// The payload for what was typed. Empty input takes the form's default when it has one;
/// what cannot be read as the form's kind is sent as typed, for the daemon to explain.
pub fn interpret(request: &ResumeRequest, typed: &str) -> Value {
    let trimmed = typed.trim();
    if trimmed.is_empty() {
        if let Some(default) = hint(request, "default") {
            return default.clone();
        }
    }
    let text = || Value::String(trimmed.to_string());
    let options = &request.ui.options;
    match request.ui.kind.as_str() {
        "confirm" => match trimmed.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" => Value::Bool(true),
            "n" | "no" | "false" => Value::Bool(false),
            _ => text(),
        },
        "number" => serde_json::from_str::<Value>(trimmed).ok().filter(Value::is_number).unwrap_or_else(text),
        "choice" => option_for(trimmed, options).map(Value::String).unwrap_or_else(text),
        "multi_choice" => Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(option_for(item, options).unwrap_or_else(|| item.to_string())))
                .collect(),
        ),
        // Text is sent as typed, spaces and all.
        _ => Value::String(typed.to_string()),
    }
}

/// The payload for an `--answer VALUE`: what typing VALUE at the question would send (`2`
/// picks a choice's option 2, `y` confirms), except JSON the form takes as it is (a number
/// for a number or text question, `["a","b"]` for a multi_choice, `true` for a confirm).
pub fn interpret_answer(request: &ResumeRequest, raw: &str) -> Value {
    match crate::inputs::parse_value(raw) {
        Value::String(text) => interpret(request, &text),
        Value::Array(items) if request.ui.kind == "multi_choice" => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => interpret_option(&text, &request.ui.options),
                    Value::Number(n) => interpret_option(&n.to_string(), &request.ui.options),
                    other => other,
                })
                .collect(),
        ),
        Value::Number(_) if request.ui.kind == "choice" || request.ui.kind == "multi_choice" => interpret(request, raw),
        other => other,
    }
}

fn interpret_option(typed: &str, options: &[String]) -> Value {
    Value::String(option_for(typed, options).unwrap_or_else(|| typed.to_string()))
}

/// The option `typed` names: its exact text, its text in another case, or its number.
fn option_for(typed: &str, options: &[String]) -> Option<String> {
    if let Some(option) = options.iter().find(|o| *o == typed) {
        return Some(option.clone());
    }
    let folded: Vec<&String> = options.iter().filter(|o| o.eq_ignore_ascii_case(typed)).collect();
    if let [only] = folded[..] {
        return Some(only.clone());
    }
    let n: usize = typed.parse().ok()?;
    options.get(n.checked_sub(1)?).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::ResumeUi;
    use serde_json::json;

    fn form(kind: &str, options: &[&str], hints: Value) -> ResumeRequest {
        ResumeRequest {
            id: "l:q:0".into(),
            name: "q".into(),
            ui: ResumeUi {
                kind: kind.into(),
                prompt: "Which?".into(),
                options: options.iter().map(|o| o.to_string()).collect(),
                extra: hints.as_object().cloned().unwrap_or_default(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn choices_take_the_number_or_the_text() {
        let f = form("choice", &["now", "today", "this week"], json!({}));
        assert_eq!(interpret(&f, "2"), json!("today"));
        assert_eq!(interpret(&f, " this week "), json!("this week"));
        assert_eq!(interpret(&f, "TODAY"), json!("today"));
        // Not an option: sent as typed, for the daemon to refuse with the options.
        assert_eq!(interpret(&f, "4"), json!("4"));
        assert_eq!(interpret(&f, "0"), json!("0"));
        assert_eq!(interpret(&f, "later"), json!("later"));
        // An option that looks like a number is its own text first.
        let numeric = form("choice", &["3", "1"], json!({}));
        assert_eq!(interpret(&numeric, "1"), json!("1"));
        assert_eq!(interpret(&numeric, "2"), json!("1"));
    }

    #[test]
    fn answers_from_flags_read_as_typed_at_the_question() {
        let choice = form("choice", &["now", "today", "this week"], json!({}));
        assert_eq!(interpret_answer(&choice, "2"), json!("today"));
        assert_eq!(interpret_answer(&choice, "today"), json!("today"));
        assert_eq!(interpret_answer(&choice, "\"this week\""), json!("this week"));
        let multi = form("multi_choice", &["a", "b", "c"], json!({}));
        assert_eq!(interpret_answer(&multi, "1,3"), json!(["a", "c"]));
        assert_eq!(interpret_answer(&multi, "[2, \"c\"]"), json!(["b", "c"]));
        assert_eq!(interpret_answer(&multi, "2"), json!(["b"]));
        let confirm = form("confirm", &[], json!({}));
        assert_eq!(interpret_answer(&confirm, "yes"), json!(true));
        assert_eq!(interpret_answer(&confirm, "false"), json!(false));
        let number = form("number", &[], json!({"default": 3}));
        assert_eq!(interpret_answer(&number, "7"), json!(7));
        assert_eq!(interpret_answer(&number, ""), json!(3));
        let text = form("text", &[], json!({}));
        assert_eq!(interpret_answer(&text, "Ada"), json!("Ada"));
        assert_eq!(interpret_answer(&text, "{\"a\": 1}"), json!({"a": 1}));
    }

    #[test]
    fn multi_choices_are_comma_separated_numbers_or_texts() {
        let f = form("multi_choice", &["a", "b", "c"], json!({"min": 1}));
        assert_eq!(interpret(&f, "1, 3"), json!(["a", "c"]));
        assert_eq!(interpret(&f, "b,,c"), json!(["b", "c"]));
        assert_eq!(interpret(&f, "1,z"), json!(["a", "z"]));
        assert_eq!(interpret(&f, ""), json!([]));
    }

    #[test]
    fn confirm_takes_y_n_and_the_default() {
        let f = form("confirm", &[], json!({"default": true}));
        assert_eq!(interpret(&f, "y"), json!(true));
        assert_eq!(interpret(&f, "No"), json!(false));
        assert_eq!(interpret(&f, ""), json!(true));
        assert_eq!(interpret(&f, "maybe"), json!("maybe"));
        assert_eq!(interpret(&form("confirm", &[], json!({})), ""), json!(""));
        assert_eq!(cue(&f), "  y/n [Enter: y] > ");
        assert_eq!(cue(&form("confirm", &[], json!({"default": null}))), "  y/n > ");
    }

    #[test]
    fn numbers_parse_or_go_as_typed() {
        let f = form("number", &[], json!({"min": 1, "max": 10, "integer": true, "default": 3}));
        assert_eq!(interpret(&f, "7"), json!(7));
        assert_eq!(interpret(&f, "2.5"), json!(2.5));
        assert_eq!(interpret(&f, ""), json!(3));
        assert_eq!(interpret(&f, "seven"), json!("seven"));
        assert_eq!(cue(&f), "  whole number, 1 to 10 [Enter: 3] > ");
        assert_eq!(cue(&form("number", &[], json!({"max": 2.5}))), "  number, at most 2.5 > ");
    }

    #[test]
    fn text_is_sent_as_typed() {
        let f = form("text", &[], json!({"placeholder": "Ada"}));
        assert_eq!(interpret(&f, " two words "), json!(" two words "));
        assert_eq!(interpret(&f, "{\"a\": 1}"), json!("{\"a\": 1}"));
        assert_eq!(cue(&f), "  text, e.g. Ada > ");
        let long = form("text", &[], json!({"multiline": true}));
        assert!(multiline(&long) && cue(&long).contains("an empty line ends"));
    }

    #[test]
    fn questions_name_the_asker_and_number_the_options() {
        let asker = Play { sid: "000f".into(), name: "choose_option".into(), ..Default::default() };
        let f = form("choice", &["basic", "pro"], json!({"default": "pro"}));
        assert_eq!(question(&asker, &f), "\nchoose_option (000f) asks:\n  Which?\n   1) basic\n   2) pro (default)\n");
        assert_eq!(cue(&f), "  number or text [Enter: pro] > ");
    }
}
