//! Small formatting helpers the templates rely on. Kept out of the templates so they are
//! tested once and the templates stay declarative.

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
    let secs = millis / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let minute_of_day = (secs % 86_400) / 60;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", minute_of_day / 60, minute_of_day % 60)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm); avoids pulling in a date crate for one column.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn formats_times_in_utc() {
        assert_eq!(format_time(0), "—");
        assert_eq!(format_time(1_000), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:30 UTC, a leap day.
        assert_eq!(format_time(1_709_251_170_000), "2024-02-29 23:59 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
