//! Step keys: the same child call of the same code gets the same key on every run.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `<logic name>:<n>:<first 16 hex digits of SHA-256 of the canonical JSON args>`.
pub fn step_key(logic_name: &str, seq: u32, args: &Value) -> String {
    // serde_json's map is ordered by key, so this is canonical JSON (sorted keys, no spaces).
    let canonical = serde_json::to_string(args).expect("JSON values always serialize");
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{logic_name}:{seq}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_argument_order_but_not_values() {
        let a = step_key("fib", 0, &json!({"n": 3, "m": 1}));
        let b = step_key("fib", 0, &json!({"m": 1, "n": 3}));
        assert_eq!(a, b);
        assert_ne!(a, step_key("fib", 0, &json!({"n": 4, "m": 1})));
        assert_ne!(a, step_key("fib", 1, &json!({"n": 3, "m": 1})));
        assert!(a.starts_with("fib:0:") && a.len() == "fib:0:".len() + 16, "{a}");
    }
}
