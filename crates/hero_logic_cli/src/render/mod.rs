//! Turning Plays into text: durations and times, a Play's output and failure, tables, and
//! (in `tree`) the live view of a running Play tree.

pub mod table;
pub mod tree;

use std::time::{SystemTime, UNIX_EPOCH};

use hero_logic_api::params::PlayTree;
use hero_logic_api::{LogicField, Play, PlayStatus, ResumeRequest};
use serde_json::{Map, Value};

/// Milliseconds since the Unix epoch, the unit of every time on a Play.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `830 ms`, `4.21 s`, `12.3 s`, `2m05s`, `1h02m`: short, and precise where it matters.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..10_000 => format!("{:.2} s", ms as f64 / 1000.0),
        10_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// How long a Play has run: its final duration once it ended, the time so far while it runs,
/// nothing before it started.
pub fn elapsed(play: &Play, now: u64) -> Option<u64> {
    if play.started_at == 0 {
        None
    } else if play.status.is_terminal() {
        Some(play.duration_ms)
    } else {
        // The daemon's clock and ours are the same machine's; clamp any skew.
        Some(now.saturating_sub(play.started_at))
    }
}

/// `2026-03-01T12:34:56Z` (UTC, seconds).
pub fn iso_utc(ms: u64) -> String {
    let t = hero_logic_api::time::UtcTime::from_millis(ms);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// `12s ago`, `5m ago`, `3h ago`, `2d ago` within a week; the ISO time beyond.
pub fn relative(then_ms: u64, now_ms: u64) -> String {
    let ago = now_ms.saturating_sub(then_ms) / 1000;
    match ago {
        0..60 => format!("{ago}s ago"),
        60..3_600 => format!("{}m ago", ago / 60),
        3_600..86_400 => format!("{}h ago", ago / 3_600),
        86_400..604_800 => format!("{}d ago", ago / 86_400),
        _ => iso_utc(then_ms),
    }
}

pub fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim_end()
}

/// A Play's output for a person: one `key: value` line per field when every value is plain
/// (declared outputs first, in their order), else the whole object as pretty JSON.
pub fn output_text(output: &Map<String, Value>, declared: &[LogicField]) -> String {
    if output.is_empty() {
        return String::new();
    }
    if !output.values().all(is_plain) {
        return serde_json::to_string_pretty(output).unwrap_or_default();
    }
    let declared_names = declared.iter().map(|f| f.name.as_str()).filter(|n| output.contains_key(*n));
    let others = output.keys().map(String::as_str).filter(|k| !declared.iter().any(|f| f.name == *k));
    declared_names.chain(others).map(|key| format!("{key}: {}", plain(&output[key]))).collect::<Vec<_>>().join("\n")
}

fn is_plain(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// Strings as they are (no quotes); other scalars as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Splits a Play's `error_message` into the message and the traceback the daemon appended
/// after a blank line (`<error>\n\n<traceback>`).
pub fn split_traceback(error: &str) -> (&str, Option<&str>) {
    match error.split_once("\n\nTraceback") {
        Some((message, _)) => (message.trim_end(), Some(error[message.len()..].trim())),
        None => (error.trim_end(), None),
    }
}

/// A one-word description of how a Play ended, for messages.
pub fn ended(status: PlayStatus) -> &'static str {
    match status {
        PlayStatus::Success => "succeeded",
        PlayStatus::Failed => "failed",
        PlayStatus::Cancelled => "was cancelled",
        PlayStatus::TimedOut => "timed out",
        PlayStatus::AwaitingResume => "waits for an answer",
        PlayStatus::Pending => "has not started",
        PlayStatus::Running => "is running",
    }
}

/// The unanswered questions anywhere in the tree, with the Play that asks each.
pub fn open_questions(tree: &PlayTree) -> Vec<(&Play, &ResumeRequest)> {
    std::iter::once(&tree.play)
        .chain(&tree.descendants)
        .flat_map(|play| play.pending_resumes.iter().filter(|r| r.resumed_at == 0).map(move |r| (play, r)))
        .collect()
}

/// One question as a line: what is asked, what kind of answer, and the ids to answer it with.
pub fn question_line(play: &Play, request: &ResumeRequest) -> String {
    let prompt = if request.ui.prompt.is_empty() { &request.name } else { &request.ui.prompt };
    let mut kind = request.ui.kind.clone();
    if !request.ui.options.is_empty() {
        kind = format!("{kind}: {}", request.ui.options.join(" | "));
    }
    format!("{} ({}) asks: {prompt} [{kind}] (resume_id {})", play.name, play.sid, request.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(999), "999 ms");
        assert_eq!(duration(4_213), "4.21 s");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(125_000), "2m05s");
        assert_eq!(duration(3_720_000), "1h02m");
    }

    #[test]
    fn iso_dates_are_right() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_795_267_434_937), "2026-11-21T13:23:54Z");
    }

    #[test]
    fn recent_times_are_relative() {
        let now = 1_000_000_000_000;
        assert_eq!(relative(now - 5_000, now), "5s ago");
        assert_eq!(relative(now - 300_000, now), "5m ago");
        assert_eq!(relative(now - 7_200_000, now), "2h ago");
        assert_eq!(relative(now - 2 * 86_400_000, now), "2d ago");
        assert_eq!(relative(now - 30 * 86_400_000, now), iso_utc(now - 30 * 86_400_000));
        assert_eq!(relative(now + 5_000, now), "0s ago");
    }

    #[test]
    fn plain_outputs_are_key_value_lines_in_declared_order() {
        let output = json!({"b": 2, "a": "text", "extra": true});
        let declared = [
            LogicField { name: "b".into(), ..Default::default() },
            LogicField { name: "a".into(), ..Default::default() },
        ];
        let text = output_text(output.as_object().expect("object"), &declared);
        assert_eq!(text, "b: 2\na: text\nextra: true");
    }

    #[test]
    fn nested_outputs_are_pretty_json() {
        let output = json!({"list": [1, 2]});
        let text = output_text(output.as_object().expect("object"), &[]);
        assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), output);
        assert!(text.contains('\n'));
    }

    #[test]
    fn traceback_is_split_from_the_message() {
        let error = "ValueError: bad\n\nTraceback (most recent call last):\n  File \"x\", line 1\nValueError: bad";
        let (message, traceback) = split_traceback(error);
        assert_eq!(message, "ValueError: bad");
        assert!(traceback.expect("traceback").starts_with("Traceback (most recent call last):"));
        assert_eq!(split_traceback("plain failure\n"), ("plain failure", None));
    }

    #[test]
    fn first_line_skips_blank_lines() {
        assert_eq!(first_line("\n  \nboom\nmore"), "boom");
        assert_eq!(first_line(""), "");
    }
}
