//! `GET /logics/new` and `POST /logics`: create a Logic (and its first version) from a name,
//! a description and a starting source, then open its view.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use hero_logic_api::methods::LOGIC_CREATE;
use hero_logic_api::{ClientError, Logic};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AdminError;
use crate::state::AppState;
use crate::view;

/// The name the template starts with before the person types one.
pub const PLACEHOLDER_NAME: &str = "my_logic";

/// A small, working logic to start from: one input, one output, a log line. `{name}` is filled
/// with the Logic's name and `{description}` with its description as a JSON string, which is a
/// Python string literal too. The New Logic page hands this text to its script (the boot JSON),
/// which fills the slots the same way as the person types; there is no other copy.
pub const TEMPLATE: &str = r#"from hero_tracing import logic


@logic(
    name="{name}",
    description={description},
    inputs={
        "text": {"type": "string", "description": "What to work on.", "required": True},
    },
    outputs={
        "result": {"type": "string", "description": "What came out of it."},
    },
)
def {name}(text: str) -> dict:
    logic.log(f"got {len(text)} characters")
    return {"result": text.strip()}
"#;

/// The template with its slots filled, in one pass (a slot's text is never read as a slot).
pub fn template_source(name: &str, description: &str) -> String {
    let name = if name.is_empty() { PLACEHOLDER_NAME } else { name };
    let description = serde_json::Value::from(description).to_string();
    let mut out = String::with_capacity(TEMPLATE.len() + 2 * name.len() + description.len());
    let mut rest = TEMPLATE;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{name}") {
            out.push_str(name);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{description}") {
            out.push_str(&description);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// What the page's script starts from.
#[derive(Serialize)]
struct Boot {
    template: &'static str,
    placeholder_name: &'static str,
}

fn boot_json() -> String {
    view::script_json(&Boot { template: TEMPLATE, placeholder_name: PLACEHOLDER_NAME })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewLogicForm {
    pub name: String,
    pub description: String,
    /// Comma- or space-separated.
    pub tags: String,
    pub python_source: String,
}

#[derive(Template)]
#[template(path = "new_logic.html")]
struct NewLogicPage {
    form: NewLogicForm,
    /// The error as a whole, and the field it is about (`name`, `python_source`, ...).
    error: String,
    error_field: String,
    hint: String,
    boot_json: String,
}

pub async fn new_logic_page() -> Result<Html<String>, AdminError> {
    let form = NewLogicForm { python_source: template_source("", ""), ..Default::default() };
    let page = NewLogicPage {
        form,
        error: String::new(),
        error_field: String::new(),
        hint: String::new(),
        boot_json: boot_json(),
    };
    Ok(Html(page.render()?))
}

pub async fn create_logic(State(state): State<AppState>, Form(mut form): Form<NewLogicForm>) -> Response {
    form.name = form.name.trim().to_string();
    form.description = form.description.trim().to_string();
    // Without the page's script the template still carries the placeholder name; a source
    // nobody touched follows the form's name and description.
    if form.python_source.trim().is_empty() || form.python_source == template_source("", "") {
        form.python_source = template_source(&form.name, &form.description);
    }
    let tags: Vec<String> = form
        .tags
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let params = json!({
        "name": form.name,
        "description": form.description,
        "tags": tags,
        "python_source": form.python_source,
    });
    match state.call::<Logic>(LOGIC_CREATE, params).await {
        Ok(logic) => Redirect::to(&view::logic_href(&logic.sid)).into_response(),
        Err(AdminError::Daemon(ClientError::Rpc { message, data, .. })) => {
            let data = data.unwrap_or_default();
            let mut error = message;
            if let (Some(line), Some(column)) = (data.line, data.column) {
                if !error.contains("line") {
                    error = format!("{error} (line {line}, column {column})");
                }
            }
            let page = NewLogicPage {
                form,
                error,
                error_field: data.field,
                hint: data.hint,
                boot_json: boot_json(),
            };
            // 200, not 422: the page is the form again, and browsers log any 4xx document as a
            // console error.
            match page.render() {
                Ok(html) => Html(html).into_response(),
                Err(err) => AdminError::from(err).into_response(),
            }
        }
        Err(other) => other.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_the_logic_and_escapes_the_description() {
        let source = template_source("shout", r#"Says "hi" \ loudly"#);
        assert!(source.contains(r#"name="shout""#));
        assert!(source.contains("def shout(text: str)"));
        assert!(source.contains(r#"description="Says \"hi\" \\ loudly""#), "{source}");
        assert!(template_source("", "").contains("def my_logic("));
        assert!(template_source("", "").contains(r#"logic.log(f"got {len(text)} characters")"#), "only the two slots are filled");
        assert!(template_source("{description}", "x").contains(r#"name="{description}""#), "a slot's text is not filled again");
    }
}
