//! Small formatting helpers the templates rely on. Kept out of the templates so they are
//! tested once and the templates stay declarative.

use hero_logic_api::time::UtcTime;
use hero_logic_api::Millis;

/// Percent-encodes everything except RFC 3986 unreserved characters, so the result is safe
/// both as one path segment and as one query value.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `/logics/{sid}`, with the sid encoded.
pub fn logic_href(sid: &str) -> String {
    format!("/logics/{}", encode_component(sid))
}

/// `/logics/{logic_sid}?play={play_sid}`: the logic view with a Play overlaid.
pub fn play_href(logic_sid: &str, play_sid: &str) -> String {
    format!("{}?play={}", logic_href(logic_sid), encode_component(play_sid))
}

/// The dashboard URL for a search text and an optional tag; empty parts are left out.
pub fn dashboard_href(query: &str, tag: &str) -> String {
    let mut parts = Vec::new();
    if !query.is_empty() {
        parts.push(format!("q={}", encode_component(query)));
    }
    if !tag.is_empty() {
        parts.push(format!("tag={}", encode_component(tag)));
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/?{}", parts.join("&"))
    }
}

/// `2024-03-05 14:07 UTC`; `—` for 0, which the store uses for "never".
pub fn format_time(millis: Millis) -> String {
    if millis == 0 {
        return "—".to_string();
    }
    let t = UtcTime::from_millis(millis);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year, t.month, t.day, t.hour, t.minute)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

/// `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, then the date; `never` for 0.
pub fn relative_time(millis: Millis, now: Millis) -> String {
    if millis == 0 {
        return "never".to_string();
    }
    let secs = now.saturating_sub(millis) / 1000;
    match secs {
        0..=9 => "just now".to_string(),
        10..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        86_400..=2_591_999 => format!("{} d ago", secs / 86_400),
        _ => format_time(millis).chars().take(10).collect(),
    }
}

/// `63 ms`, `5.06 s`, `2 min 3 s`, `1 h 2 min`.
pub fn format_duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => {
            let secs = ms as f64 / 1000.0;
            if secs < 10.0 {
                format!("{secs:.2} s")
            } else {
                format!("{secs:.1} s")
            }
        }
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// A rate in 0..=1 as a whole percentage, `87%`.
pub fn percent(rate: f64) -> String {
    format!("{:.0}%", (rate.clamp(0.0, 1.0) * 100.0).round())
}

/// JSON that can sit inside `<script type="application/json">`: `<`, `>`, `&` and the two
/// line separators JavaScript once treated as newlines are written as `\u` escapes, so no
/// string in the data can close the element.
pub fn script_json(value: &impl serde::Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(ch),
        }
    }
    out
}

/// One day in milliseconds.
pub const DAY_MS: Millis = 86_400_000;

/// `YYYY-MM-DD` (a day in UTC) to the millisecond it starts; an error says what was wrong.
pub fn parse_day(text: &str) -> Result<Millis, String> {
    let bad = || format!("{text:?} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-05");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (year, month, day): (i64, u32, u32) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    if hero_logic_api::time::civil_from_days(days) != (year, month, day) {
        return Err(format!("{text:?} is not a day of the calendar"));
    }
    Ok(days as Millis * DAY_MS)
}

/// (year, month, day) to days since 1970-01-01, the inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(encode_component("a b&c=d/e?f"), "a%20b%26c%3Dd%2Fe%3Ff");
        assert_eq!(encode_component("été"), "%C3%A9t%C3%A9");
        assert_eq!(encode_component("model_call-2.x~"), "model_call-2.x~");
    }

    #[test]
    fn dashboard_href_leaves_out_empty_parts() {
        assert_eq!(dashboard_href("", ""), "/");
        assert_eq!(dashboard_href("a b", ""), "/?q=a%20b");
        assert_eq!(dashboard_href("", "llm"), "/?tag=llm");
        assert_eq!(dashboard_href("x", "y&z"), "/?q=x&tag=y%26z");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_709_251_170_000;
        assert_eq!(relative_time(0, now), "never");
        assert_eq!(relative_time(now - 3_000, now), "just now");
        assert_eq!(relative_time(now - 42_000, now), "42 s ago");
        assert_eq!(relative_time(now - 5 * 60_000 - 10, now), "5 min ago");
        assert_eq!(relative_time(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(relative_time(now - 2 * 86_400_000, now), "2 d ago");
        assert_eq!(relative_time(now - 90 * 86_400_000, now), "2023-12-01");
        assert_eq!(relative_time(now + 5_000, now), "just now", "a clock a little ahead is not the future");
    }

    #[test]
    fn durations_and_percentages() {
        assert_eq!(format_duration(63), "63 ms");
        assert_eq!(format_duration(5_057), "5.06 s");
        assert_eq!(format_duration(12_345), "12.3 s");
        assert_eq!(format_duration(123_000), "2 min 3 s");
        assert_eq!(format_duration(3_720_000), "1 h 2 min");
        assert_eq!(percent(0.874), "87%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(f64::NAN.max(0.0)), "0%");
    }

    #[test]
    fn script_json_cannot_close_its_element() {
        let text = script_json(&serde_json::json!({"s": "</script><!-- & \u{2028}"}));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back["s"], "</script><!-- & \u{2028}");
    }

    #[test]
    fn formats_times_in_utc() {
        assert_eq!(format_time(0), "—");
        assert_eq!(format_time(1_000), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:30 UTC, a leap day.
        assert_eq!(format_time(1_709_251_170_000), "2024-02-29 23:59 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn days_parse_to_their_first_millisecond_and_bad_ones_say_how_to_write_them() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(parse_day("2024-03-05"), Ok(1_709_596_800_000));
        assert_eq!(parse_day("2024-02-29"), Ok(1_709_164_800_000));
        assert!(parse_day("2023-02-29").unwrap_err().contains("not a day of the calendar"));
        for bad in ["yesterday", "2024-3-5", "2024-13-01", "24-03-05", ""] {
            assert!(parse_day(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
    }
}
