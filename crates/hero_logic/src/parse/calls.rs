//! Which calls are steps of the flow: the SDK's `logic.invoke` (and `map`, `spawn`,
//! `ainvoke`) / `logic.pause` / `ask_user.*`, and calls that leave the process (client
//! methods, HTTP requests).
//!
//! Calls of functions of the same file (Logics and helpers) are names, resolved by the graph
//! walker, which knows the scopes.

use std::collections::HashMap;

use hero_logic_api::{FlowStep, InvokeVia, PauseForm, PauseVia, RpcApi};
use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

use super::literal;
use super::names::{client_constructor, ClientKind, Imports};
use super::text;

/// Dotted names of the SDK's `logic` object (`flow` is its old name).
const LOGIC_OBJECTS: [&str; 4] = ["logic", "flow", "hero_tracing.logic", "hero_tracing.flow"];
const ASK_USER_OBJECTS: [&str; 2] = ["ask_user", "hero_tracing.ask_user"];
/// HTTP verbs that `requests`, `httpx` and their session objects have as methods.
const HTTP_VERBS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// A step found at a call, with the one-line label the UI shows for it.
pub struct Found {
    pub label: String,
    pub step: FlowStep,
}

/// What a call may refer to besides the call itself.
pub struct CallContext<'c, 'a> {
    pub text: &'c str,
    pub imports: &'c Imports,
    /// Module-level `NAME = <expr>`: options and URLs are often constants.
    pub constants: &'c HashMap<&'a str, &'a Expr>,
    /// Variables holding clients, in the function being walked.
    pub clients: &'c HashMap<String, ClientKind>,
}

impl CallContext<'_, '_> {
    fn constant<'e>(&self, expr: &'e Expr) -> &'e Expr
    where
        Self: 'e,
    {
        match expr {
            Expr::Name(name) => self
                .constants
                .get(name.id.as_str())
                .copied()
                .unwrap_or(expr),
            _ => expr,
        }
    }

    fn string_of(&self, expr: &Expr) -> Option<String> {
        literal::string(self.constant(expr)).map(str::to_owned)
    }
}

/// The step a call is, if it is one.
pub fn step_of(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    sdk_call(call, cx)
        .or_else(|| client_call(call, cx))
        .or_else(|| http_function(call, cx))
        .or_else(|| sdk_function(call, cx))
        .or_else(|| stdlib_marker(call, cx))
}

/// Module-level SDK functions that leave the process: `llm.chat`, `llm.chat_with_usage` (a
/// model call, made by the daemon) and `http_json(method, url, body)`.
fn sdk_function(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    let path = cx.imports.qualified(&call.func)?;
    match path.as_str() {
        "hero_tracing.llm.chat" | "hero_tracing.llm.chat_with_usage" => {
            let method = path.rsplit('.').next().unwrap_or("chat").to_owned();
            Some(Found {
                label: format!("llm.{method}"),
                step: FlowStep::Rpc { api: RpcApi::Model, service: "llm".to_owned(), method, host: None },
            })
        }
        "hero_tracing.client.http_json" | "hero_tracing.http_json" => {
            let args = &call.arguments;
            let verb = args
                .find_argument_value("method", 0)
                .and_then(|m| cx.string_of(m))
                .map_or(Verb::Unknown, |v| Verb::Known(v.to_ascii_uppercase()));
            Some(http(cx, "http_json", verb, args.find_argument_value("url", 1)))
        }
        _ => None,
    }
}

/// Standard-library calls the spec shows as markers in a flow (its walked example:
/// `re.search(...)` and `ast.parse(...)` in service_code_gen): matching and parsing, where a
/// model's answer is checked. Other stdlib calls (`re.sub` tidying a name) stay out of the
/// picture, which would otherwise drown the steps in markers.
const STDLIB_MARKERS: [&str; 5] = ["re.search", "re.match", "re.fullmatch", "ast.parse", "ast.literal_eval"];

fn stdlib_marker(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    let path = cx.imports.qualified(&call.func)?;
    if !STDLIB_MARKERS.contains(&path.as_str()) {
        return None;
    }
    let (module, function) = path.split_once('.')?;
    Some(Found {
        label: path.clone(),
        step: FlowStep::Rpc { api: RpcApi::Stdlib, service: module.to_owned(), method: function.to_owned(), host: None },
    })
}

/// `logic.invoke(...)`, `logic.pause(...)`, `ask_user.<form>(...)`.
fn sdk_call(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    let Expr::Attribute(attr) = call.func.as_ref() else {
        return None;
    };
    let owner = cx.imports.qualified(&attr.value)?;
    let method = attr.attr.as_str();
    if LOGIC_OBJECTS.contains(&owner.as_str()) {
        return match method {
            "invoke" => Some(invoke(call, cx, method, InvokeVia::LogicInvoke)),
            "map" | "spawn" | "ainvoke" => Some(invoke(call, cx, method, InvokeVia::Parallel)),
            "pause" => Some(pause(call, cx)),
            "sleep" | "sleep_until" => Some(sleep(call, cx, method)),
            _ => None,
        };
    }
    if ASK_USER_OBJECTS.contains(&owner.as_str()) {
        return PauseForm::from_name(method).map(|form| ask_user(call, cx, method, form));
    }
    None
}

/// `logic.invoke(...)` and its fan-out siblings `map`, `spawn`, `ainvoke` (`method`).
fn invoke(call: &ExprCall, cx: &CallContext, method: &str, via: InvokeVia) -> Found {
    // `invoke(name, /, **inputs)`: a `name=` keyword is an input of the child, not its name.
    let name = call.arguments.args.first().filter(|a| !a.is_starred_expr());
    let target = name.and_then(|n| cx.string_of(n));
    let label = match (&target, name) {
        (Some(target), _) => target.clone(),
        (None, Some(expr)) => format!("logic.{method}({})", text::snippet(cx.text, expr.range())),
        (None, None) => format!("logic.{method}(?)"),
    };
    Found {
        label,
        step: FlowStep::Invoke { target, via },
    }
}

/// `logic.pause(name, ui={...}, schema=...)`: the form and prompt come from a literal `ui`.
fn pause(call: &ExprCall, cx: &CallContext) -> Found {
    let name = call
        .arguments
        .find_argument_value("name", 0)
        .and_then(|n| cx.string_of(n));
    let ui = call
        .arguments
        .find_keyword("ui")
        .map(|k| cx.constant(&k.value));
    let ui_entry = |key: &str| match ui {
        Some(Expr::Dict(dict)) => dict
            .items
            .iter()
            .find(|item| item.key.as_ref().and_then(literal::string) == Some(key))
            .map(|item| &item.value),
        _ => None,
    };
    let form = match (ui, ui_entry("kind")) {
        // The SDK draws a text form when `ui` says no kind.
        (None | Some(Expr::NoneLiteral(_)), _) | (Some(Expr::Dict(_)), None) => {
            Some(PauseForm::Text)
        }
        (_, Some(kind)) => literal::string(kind).and_then(PauseForm::from_name),
        (Some(_), None) => None,
    };
    let prompt = ui_entry("prompt").and_then(|p| cx.string_of(p));
    let options = ui_entry("options").and_then(|o| string_list(cx.constant(o)));
    let shown = prompt.as_deref().or(name.as_deref());
    let label = match shown {
        Some(text) => format!("logic.pause: {}", text::shorten(text)),
        None => "logic.pause".to_owned(),
    };
    Found {
        label,
        step: FlowStep::Pause {
            via: PauseVia::LogicPause,
            form,
            name,
            prompt,
            options,
        },
    }
}

/// `logic.sleep(seconds)` / `logic.sleep_until(ms)`: a durable wait, shown as a marker with
/// its amount when the source writes it as it is.
fn sleep(call: &ExprCall, cx: &CallContext, method: &str) -> Found {
    let amount = call.arguments.args.first().filter(|a| !a.is_starred_expr());
    let written = amount.map(|a| text::shorten(&text::snippet(cx.text, a.range())));
    let (prompt, label) = match (method, written) {
        ("sleep", Some(amount)) => (Some(format!("{amount} s")), format!("logic.sleep: {amount} s")),
        (_, Some(at)) => (Some(format!("until {at}")), format!("logic.{method}: {at}")),
        (_, None) => (None, format!("logic.{method}")),
    };
    Found {
        label,
        step: FlowStep::Pause { via: PauseVia::LogicSleep, form: None, name: Some("sleep".to_owned()), prompt, options: None },
    }
}

/// `ask_user.<form>(prompt, [options], name=...)`, as the SDK defines them.
fn ask_user(call: &ExprCall, cx: &CallContext, method: &str, form: PauseForm) -> Found {
    let args = &call.arguments;
    let prompt_expr = args.find_argument_value("prompt", 0);
    let prompt = prompt_expr.and_then(|p| cx.string_of(p));
    let options = match form {
        PauseForm::Choice | PauseForm::MultiChoice => args
            .find_argument_value("options", 1)
            .and_then(|o| string_list(cx.constant(o))),
        _ => None,
    };
    let name = args
        .find_keyword("name")
        .and_then(|k| cx.string_of(&k.value));
    let label = match (&prompt, prompt_expr) {
        (Some(prompt), _) => format!("ask_user.{method}: {}", text::shorten(prompt)),
        (None, Some(expr)) => format!(
            "ask_user.{method}: {}",
            text::snippet(cx.text, expr.range())
        ),
        (None, None) => format!("ask_user.{method}"),
    };
    Found {
        label,
        step: FlowStep::Pause {
            via: PauseVia::AskUser,
            form: Some(form),
            name,
            prompt,
            options,
        },
    }
}

fn string_list(expr: &Expr) -> Option<Vec<String>> {
    let elts = match expr {
        Expr::List(list) => &list.elts,
        Expr::Tuple(tuple) => &tuple.elts,
        _ => return None,
    };
    elts.iter()
        .map(|e| literal::string(e).map(str::to_owned))
        .collect()
}

/// A method call on a client object: `c.method(...)` where `c` holds one, or
/// `SomeClient(...).method(...)` in one go. Attribute chains (`c.chat.completions.create`)
/// name the method by the whole chain.
fn client_call(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    let mut path: Vec<&str> = Vec::new();
    let mut at = call.func.as_ref();
    let mut variable: Option<&str> = None;
    let kind = loop {
        match at {
            Expr::Attribute(attr) => {
                path.push(attr.attr.as_str());
                at = &attr.value;
            }
            Expr::Name(name) if !path.is_empty() => {
                variable = Some(name.id.as_str());
                break cx.clients.get(name.id.as_str())?.clone();
            }
            Expr::Call(inner) if !path.is_empty() => {
                break client_constructor(&cx.imports.qualified(&inner.func)?)?;
            }
            _ => return None,
        }
    };
    path.reverse();
    let method = path.join(".");
    match kind {
        ClientKind::HeroLogic => Some(hero_logic_call(call, cx, &method)),
        ClientKind::Http(library) => {
            let (verb, url) = http_method_call(call, &method)?;
            Some(http(cx, library, verb, url))
        }
        ClientKind::Rpc => Some(generic_rpc_call(call, cx, &method, variable)),
        ClientKind::Service(service) => Some(Found {
            label: format!("{service}.{method}"),
            step: FlowStep::Rpc {
                api: RpcApi::Client,
                service,
                method,
                host: None,
            },
        }),
    }
}

/// A call on a `hero_tracing.client.RpcClient`: `c.call("method")` reads `service.method`, the
/// service being the method's own dotted prefix, else the variable holding the client
/// (`catalog = RpcClient(...)`; `catalog.call("logic_list")` -> `catalog.logic_list`); its
/// convenience methods (`discover`) read `rpc.<method>`.
fn generic_rpc_call(call: &ExprCall, cx: &CallContext, method: &str, variable: Option<&str>) -> Found {
    let named = (method == "call")
        .then(|| call.arguments.find_argument_value("method", 0).and_then(|m| cx.string_of(m)))
        .flatten();
    let (service, method) = match (named, method) {
        (Some(full), _) => match full.rsplit_once('.') {
            Some((service, method)) => (service.to_owned(), method.to_owned()),
            None => (variable.unwrap_or("rpc").to_owned(), full),
        },
        (None, "call") => (variable.unwrap_or("rpc").to_owned(), "call".to_owned()),
        (None, other) => ("rpc".to_owned(), other.to_owned()),
    };
    Found {
        label: format!("{service}.{method}"),
        step: FlowStep::Rpc { api: RpcApi::Client, service, method, host: None },
    }
}

/// The service prefix `hero_tracing.client.Client.call` adds to a bare method name.
const HERO_SERVICE: &str = "LogicService";

/// `client.call("play_start", ...)` or a convenience method (`client.play_start(...)`): the
/// daemon method called, named as `Client.call` would send it.
fn hero_logic_call(call: &ExprCall, cx: &CallContext, method: &str) -> Found {
    let full = if method == "call" {
        call.arguments
            .find_argument_value("method", 0)
            .and_then(|m| cx.string_of(m))
            .map(|m| match m.contains('.') {
                true => m,
                false => format!("{HERO_SERVICE}.{m}"),
            })
    } else {
        Some(format!("{HERO_SERVICE}.{method}"))
    };
    let (service, method) = match full.as_deref().and_then(|f| f.rsplit_once('.')) {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => ("hero_logic".to_owned(), "call".to_owned()),
    };
    Found {
        label: format!("{service}.{method}"),
        step: FlowStep::Rpc {
            api: RpcApi::HeroLogic,
            service,
            method,
            host: None,
        },
    }
}

/// The verb and URL argument of an HTTP client's method (`get(url)`, `request("POST", url)`);
/// `None` for methods that send nothing (`close`, `mount`, ...).
fn http_method_call<'c>(call: &'c ExprCall, method: &str) -> Option<(Verb, Option<&'c Expr>)> {
    let args = &call.arguments;
    if HTTP_VERBS.contains(&method) {
        return Some((
            Verb::Known(method.to_ascii_uppercase()),
            args.find_argument_value("url", 0),
        ));
    }
    match method {
        "request" | "stream" => {
            let verb = args
                .find_argument_value("method", 0)
                .and_then(literal::string)
                .map_or(Verb::Unknown, |v| Verb::Known(v.to_ascii_uppercase()));
            Some((verb, args.find_argument_value("url", 1)))
        }
        _ => None,
    }
}

enum Verb {
    Known(String),
    /// Computed at run time.
    Unknown,
}

/// Module-level HTTP functions: `requests.get(url)`, `httpx.request(m, url)`,
/// `urllib.request.urlopen(url_or_request, data)`.
fn http_function(call: &ExprCall, cx: &CallContext) -> Option<Found> {
    let path = cx.imports.qualified(&call.func)?;
    let (module, function) = path.rsplit_once('.')?;
    match module {
        "requests" | "httpx" => {
            let library = if module == "requests" {
                "requests"
            } else {
                "httpx"
            };
            let (verb, url) = http_method_call(call, function)?;
            Some(http(cx, library, verb, url))
        }
        "urllib.request" if function == "urlopen" => Some(urlopen(call, cx)),
        _ => None,
    }
}

/// `urlopen(url, data=None)` is a GET unless it sends data; `urlopen(Request(url, data,
/// method=...))` says its verb in the Request.
fn urlopen(call: &ExprCall, cx: &CallContext) -> Found {
    let args = &call.arguments;
    let target = args.find_argument_value("url", 0);
    let sends_data = args.find_argument_value("data", 1).is_some();
    let request = match target {
        Some(Expr::Call(inner))
            if cx
                .imports
                .qualified(&inner.func)
                .is_some_and(|p| p == "urllib.request.Request") =>
        {
            Some(inner)
        }
        _ => None,
    };
    let (verb, url) = match request {
        Some(request) => {
            let rargs = &request.arguments;
            let posts = sends_data || rargs.find_argument_value("data", 1).is_some();
            let verb = match rargs.find_keyword("method") {
                Some(m) => literal::string(&m.value)
                    .map_or(Verb::Unknown, |v| Verb::Known(v.to_ascii_uppercase())),
                None => Verb::Known(if posts { "POST" } else { "GET" }.to_owned()),
            };
            (verb, rargs.find_argument_value("url", 0))
        }
        None => (
            Verb::Known(if sends_data { "POST" } else { "GET" }.to_owned()),
            target,
        ),
    };
    http(cx, "urllib", verb, url)
}

fn http(cx: &CallContext, library: &str, verb: Verb, url: Option<&Expr>) -> Found {
    let host = url.and_then(|u| host_of(cx, u));
    let verb = match verb {
        Verb::Known(v) => v,
        Verb::Unknown => "REQUEST".to_owned(),
    };
    let label = match &host {
        Some(host) => format!("HTTP {verb} {host}"),
        None => format!("HTTP {verb}"),
    };
    Found {
        label,
        step: FlowStep::Rpc {
            api: RpcApi::Http,
            service: library.to_owned(),
            method: verb,
            host,
        },
    }
}

/// The host of a URL given as a literal, a module constant, or an f-string whose literal
/// start holds the whole host (`f"https://api.example.com/v1/{path}"`).
fn host_of(cx: &CallContext, url: &Expr) -> Option<String> {
    match cx.constant(url) {
        Expr::StringLiteral(s) => host_in(s.value.to_str(), false),
        Expr::FString(f) => {
            let mut start = String::new();
            for part in f.value.iter() {
                match part {
                    ruff_python_ast::FStringPart::Literal(lit) => start.push_str(&lit.value),
                    ruff_python_ast::FStringPart::FString(fs) => {
                        for element in &fs.elements {
                            match element {
                                ruff_python_ast::InterpolatedStringElement::Literal(l) => {
                                    start.push_str(&l.value)
                                }
                                // The host must end before the first interpolation.
                                ruff_python_ast::InterpolatedStringElement::Interpolation(_) => {
                                    return host_in(&start, true)
                                }
                            }
                        }
                    }
                }
            }
            host_in(&start, false)
        }
        _ => None,
    }
}

/// `scheme://[user@]host[:port]/...` -> `host[:port]`. With `cut_short`, the text stops where
/// an interpolation begins, so the host counts only if something ends it before that.
fn host_in(url: &str, cut_short: bool) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']);
    if cut_short && end.is_none() {
        return None;
    }
    let authority = &rest[..end.unwrap_or(rest.len())];
    // Never show credentials written into a URL.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| text::shorten(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host_in("https://api.example.com/v1", false).as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            host_in("http://user:pw@h:8080?q", false).as_deref(),
            Some("h:8080")
        );
        assert_eq!(
            host_in("https://example.com", false).as_deref(),
            Some("example.com")
        );
        assert_eq!(host_in("https://api.", true), None);
        assert_eq!(host_in("https://api.x/", true).as_deref(), Some("api.x"));
        assert_eq!(host_in("no scheme", false), None);
        assert_eq!(host_in("https:///path", false), None);
    }

    /// `(api, label)` of every rpc leaf of a source's graph, in source order.
    fn rpc_leaves(source: &str) -> Vec<(String, String)> {
        fn walk(value: &serde_json::Value, found: &mut Vec<(String, String)>) {
            match value {
                serde_json::Value::Object(map) => {
                    if map.get("kind").and_then(|k| k.as_str()) == Some("rpc") {
                        let text = |key: &str| map.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                        found.push((text("api"), text("label")));
                    }
                    map.values().for_each(|v| walk(v, found));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
                _ => {}
            }
        }
        let graph = serde_json::to_value(super::super::flow_graph(source, None)).expect("serializes");
        let mut found = Vec::new();
        walk(&graph["nodes"], &mut found);
        found.sort_by_key(|(_, label)| source.find(label.split(' ').next().unwrap_or("")).unwrap_or(0));
        found
    }

    #[test]
    fn model_calls_http_json_rpc_clients_and_stdlib_markers_are_leaves() {
        let source = include_str!("testdata/graph/sdk_calls.py");
        let leaves = rpc_leaves(source);
        let has = |api: &str, label: &str| leaves.iter().any(|(a, l)| a == api && l == label);
        assert!(has("model", "llm.chat"), "{leaves:?}");
        assert!(has("model", "llm.chat_with_usage"), "{leaves:?}");
        assert!(has("http", "HTTP POST api.example.org"), "{leaves:?}");
        assert!(has("client", "catalog.logic_list"), "{leaves:?}");
        assert!(has("client", "LogicService.play_status"), "{leaves:?}");
        assert!(has("client", "rpc.discover"), "{leaves:?}");
        assert!(has("stdlib", "re.search"), "{leaves:?}");
        assert!(has("stdlib", "ast.parse"), "{leaves:?}");
        assert!(!leaves.iter().any(|(_, l)| l.starts_with("Rpc.")), "{leaves:?}");
    }

    #[test]
    fn the_model_call_seed_shows_its_model_call() {
        let source = include_str!("../../../../seed_logics/model_call.py");
        assert!(rpc_leaves(source).iter().any(|(api, label)| api == "model" && label == "llm.chat_with_usage"));
    }
}
