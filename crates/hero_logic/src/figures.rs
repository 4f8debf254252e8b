//! Checked arithmetic for the figures a logic reports (tokens, cost): a report outside the
//! bounds is refused with a message, totals saturate, and whatever is already stored is read
//! back within the bounds, so no figure can panic a worker or break a client's JSON.

/// Largest token count, per report and per total: the largest integer every JSON reader
/// (JavaScript included) holds exactly.
pub const MAX_TOKENS: u64 = (1 << 53) - 1;
/// Largest cost in US dollars one report may add.
pub const MAX_COST_PER_REPORT_USD: f64 = 1e9;
/// Largest total cost; sums stop here instead of growing to infinity.
pub const MAX_COST_USD: f64 = 1e15;

/// A token count as reported: a whole number from 0 to `MAX_TOKENS`.
pub fn reported_tokens(name: &str, value: Option<&serde_json::Value>) -> Result<u64, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(0) };
    match value.as_u64() {
        Some(n) if n <= MAX_TOKENS => Ok(n),
        _ => Err(format!("{name} = {value} is not a whole number of tokens from 0 to {MAX_TOKENS}")),
    }
}

/// A cost as reported: a finite number of US dollars from 0 to `MAX_COST_PER_REPORT_USD`.
pub fn reported_cost(value: Option<&serde_json::Value>) -> Result<f64, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(0.0) };
    match value.as_f64() {
        Some(cost) if cost.is_finite() && (0.0..=MAX_COST_PER_REPORT_USD).contains(&cost) => Ok(cost),
        _ => Err(format!("cost_usd = {value} is not a number of US dollars from 0 to {MAX_COST_PER_REPORT_USD}")),
    }
}

pub fn add_tokens(total: u64, more: u64) -> u64 {
    total.saturating_add(more).min(MAX_TOKENS)
}

pub fn add_cost(total: f64, more: f64) -> f64 {
    stored_cost(stored_cost(total) + stored_cost(more))
}

/// A token count read back from the store (older builds wrote any `u64`, clamped to `i64`).
pub fn stored_tokens(value: i64) -> u64 {
    (value.max(0) as u64).min(MAX_TOKENS)
}

/// A cost read back from the store: NaN and negatives read as 0, infinity and huge sums as
/// the largest total.
pub fn stored_cost(value: f64) -> f64 {
    if value.is_nan() || value <= 0.0 {
        0.0
    } else {
        value.min(MAX_COST_USD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_outside_the_bounds_are_refused_with_the_figure() {
        assert_eq!(reported_tokens("prompt_tokens", Some(&json!(12))), Ok(12));
        assert_eq!(reported_tokens("prompt_tokens", None), Ok(0));
        let big: serde_json::Value = serde_json::from_str("1180591620717411303424").unwrap();
        let error = reported_tokens("prompt_tokens", Some(&big)).unwrap_err();
        assert!(error.contains("prompt_tokens") && error.contains("1.1805916207174113e+21"), "{error}");
        assert!(reported_tokens("completion_tokens", Some(&json!(u64::MAX))).is_err());
        assert!(reported_tokens("completion_tokens", Some(&json!(-1))).is_err());
        assert!(reported_tokens("completion_tokens", Some(&json!("7"))).is_err());
        assert_eq!(reported_cost(Some(&json!(0.25))), Ok(0.25));
        assert!(reported_cost(Some(&json!(-0.5))).unwrap_err().contains("cost_usd"));
        assert!(reported_cost(Some(&json!(1e308))).is_err());
    }

    #[test]
    fn totals_saturate_and_stored_extremes_read_back_finite() {
        assert_eq!(add_tokens(MAX_TOKENS - 1, MAX_TOKENS), MAX_TOKENS);
        assert_eq!(add_tokens(u64::MAX, u64::MAX), MAX_TOKENS);
        assert_eq!(add_cost(MAX_COST_USD, MAX_COST_USD), MAX_COST_USD);
        assert_eq!(stored_cost(f64::INFINITY), MAX_COST_USD);
        assert_eq!(stored_cost(f64::NAN), 0.0);
        assert_eq!(stored_cost(f64::NEG_INFINITY), 0.0);
        assert_eq!(stored_tokens(i64::MAX), MAX_TOKENS);
        assert_eq!(stored_tokens(-5), 0);
    }
}
