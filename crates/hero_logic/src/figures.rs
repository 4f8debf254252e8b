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

/// Checks one stats report: token counts from 0 to `MAX_TOKENS`, a finite cost from 0 to
/// `MAX_COST_PER_REPORT_USD`. The error names the first figure out of bounds.
pub fn checked_report(prompt_tokens: u64, completion_tokens: u64, cost_usd: f64) -> Result<(), String> {
    for (name, value) in [("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)] {
        if value > MAX_TOKENS {
            return Err(format!("{name} = {value} is more tokens than any model call reports (at most {MAX_TOKENS})"));
        }
    }
    if !(cost_usd.is_finite() && (0.0..=MAX_COST_PER_REPORT_USD).contains(&cost_usd)) {
        return Err(format!("cost_usd = {cost_usd:?} is not a number of US dollars from 0 to {MAX_COST_PER_REPORT_USD}"));
    }
    Ok(())
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

    #[test]
    fn reports_outside_the_bounds_are_refused_with_the_figure() {
        assert_eq!(checked_report(12, 0, 0.25), Ok(()));
        assert_eq!(checked_report(MAX_TOKENS, MAX_TOKENS, MAX_COST_PER_REPORT_USD), Ok(()));
        let error = checked_report(0, u64::MAX, 0.0).unwrap_err();
        assert!(error.contains("completion_tokens = 18446744073709551615"), "{error}");
        assert!(checked_report(0, 0, -0.5).unwrap_err().contains("cost_usd = -0.5"));
        assert!(checked_report(0, 0, 1e308).is_err());
        assert!(checked_report(0, 0, f64::NAN).is_err());
        assert!(checked_report(0, 0, f64::INFINITY).is_err());
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
