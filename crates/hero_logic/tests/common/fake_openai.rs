//! A scriptable OpenAI-compatible chat endpoint on 127.0.0.1, for tests only (nothing in the
//! product depends on it).
//!
//! Each test adds rules: a request whose messages contain a rule's text is answered with the
//! rule's next reply (the last one repeats), the request's model echoed, and fixed usage. A
//! request no rule matches gets HTTP 400 saying so. Every request is recorded with its
//! `Authorization` header and JSON body. Replies are deterministic: the same requests in the
//! same order get the same answers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// What one rule answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A completion with this content.
    Content(String),
    /// An HTTP error with this status; `{auth}` in the message is replaced by the request's
    /// Authorization header (to test that a provider echoing it leaks nothing).
    Error(u16, String),
}

struct Rule {
    contains: String,
    replies: Vec<Reply>,
    served: usize,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// One request the fake got.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

impl Seen {
    /// Every message's content, joined.
    pub fn text(&self) -> String {
        messages_text(&self.body)
    }
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

pub struct FakeOpenAi {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub const PROMPT_TOKENS: u64 = 100;
pub const COMPLETION_TOKENS: u64 = 50;

impl FakeOpenAi {
    pub fn start() -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = Arc::clone(&state);
                            std::thread::spawn(move || serve(stream, &state));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        FakeOpenAi { base_url, state, stop, thread: Some(thread) }
    }

    /// Requests whose messages contain `contains` get `replies` in order (the last repeats),
    /// with 100 prompt and 50 completion tokens each.
    pub fn on(&self, contains: &str, replies: &[&str]) -> &Self {
        let replies = replies.iter().map(|r| Reply::Content(r.to_string())).collect();
        self.rule(contains, replies, PROMPT_TOKENS, COMPLETION_TOKENS)
    }

    pub fn rule(&self, contains: &str, replies: Vec<Reply>, prompt_tokens: u64, completion_tokens: u64) -> &Self {
        assert!(!replies.is_empty(), "a rule needs a reply");
        let rule = Rule { contains: contains.to_string(), replies, served: 0, prompt_tokens, completion_tokens };
        self.state.lock().unwrap().rules.push(rule);
        self
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests had `text` in their messages.
    pub fn count(&self, text: &str) -> usize {
        self.requests().iter().filter(|s| s.text().contains(text)).count()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn messages_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["content"].as_str()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => authorization = Some(value),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer) = answer(state, &path, authorization.clone(), body);
    let text = answer.to_string();
    let reason = if status == 200 { "OK" } else { "Error" };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn answer(state: &Mutex<State>, path: &str, authorization: Option<String>, body: Value) -> (u16, Value) {
    let mut state = state.lock().unwrap();
    state.seen.push(Seen { path: path.to_string(), authorization: authorization.clone(), body: body.clone() });
    if path != "/v1/chat/completions" {
        return (404, json!({"error": {"message": format!("the fake serves /v1/chat/completions, not {path}")}}));
    }
    let text = messages_text(&body);
    let Some(rule) = state.rules.iter_mut().find(|r| text.contains(&r.contains)) else {
        return (400, json!({"error": {"message": format!("the fake has no rule for: {}", text.chars().take(300).collect::<String>())}}));
    };
    let reply = rule.replies[rule.served.min(rule.replies.len() - 1)].clone();
    rule.served += 1;
    match reply {
        Reply::Error(status, message) => {
            let message = message.replace("{auth}", authorization.as_deref().unwrap_or(""));
            (status, json!({"error": {"message": message, "type": "invalid_request_error"}}))
        }
        Reply::Content(content) => {
            let (prompt, completion) = (rule.prompt_tokens, rule.completion_tokens);
            (
                200,
                json!({
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                }),
            )
        }
    }
}
