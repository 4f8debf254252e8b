//! Step keys: the same child call of the same code gets the same key on every run, whatever
//! order concurrent calls reach the daemon in (docs/protocol.md, "Step keys").

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where a child call sits among its parent's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// The `n`-th call (from 0) the parent's body made in order: from its own thread, or
    /// started by `logic.spawn`/`map`/`ainvoke`, numbered when the call was made.
    Ordered(u32),
    /// The `k`-th call (from 0) with these very name and arguments that came from a thread
    /// the SDK does not order (a user's ThreadPoolExecutor): keyed by content.
    Unordered(u32),
}

/// `<logic name>:<n>:<hash>` for an ordered call, `<logic name>:~<k>:<hash>` for an
/// unordered one; `hash` is the first 16 hex digits of the SHA-256 of the canonical JSON args.
pub fn step_key(logic_name: &str, position: Position, args: &Value) -> String {
    let hex = args_hash(args);
    match position {
        Position::Ordered(n) => format!("{logic_name}:{n}:{hex}"),
        Position::Unordered(k) => format!("{logic_name}:~{k}:{hex}"),
    }
}

/// The first 16 hex digits of the SHA-256 of the canonical JSON of `args`.
pub fn args_hash(args: &Value) -> String {
    // serde_json's map is ordered by key, so this is canonical JSON (sorted keys, no spaces).
    let canonical = serde_json::to_string(args).expect("JSON values always serialize");
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The position a key was made for; None for a key of another shape.
pub fn position_of(key: &str) -> Option<Position> {
    let mut parts = key.rsplitn(3, ':');
    let (_hash, middle) = (parts.next()?, parts.next()?);
    parts.next()?;
    match middle.strip_prefix('~') {
        Some(k) => k.parse().ok().map(Position::Unordered),
        None => middle.parse().ok().map(Position::Ordered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_argument_order_but_not_values() {
        let a = step_key("fib", Position::Ordered(0), &json!({"n": 3, "m": 1}));
        let b = step_key("fib", Position::Ordered(0), &json!({"m": 1, "n": 3}));
        assert_eq!(a, b);
        assert_ne!(a, step_key("fib", Position::Ordered(0), &json!({"n": 4, "m": 1})));
        assert_ne!(a, step_key("fib", Position::Ordered(1), &json!({"n": 3, "m": 1})));
        assert!(a.starts_with("fib:0:") && a.len() == "fib:0:".len() + 16, "{a}");
    }

    #[test]
    fn unordered_keys_are_marked_and_both_shapes_read_back() {
        let args = json!({"name": "P1"});
        let ordered = step_key("greeting", Position::Ordered(12), &args);
        let unordered = step_key("greeting", Position::Unordered(2), &args);
        assert!(unordered.starts_with("greeting:~2:"), "{unordered}");
        assert_eq!(position_of(&ordered), Some(Position::Ordered(12)));
        assert_eq!(position_of(&unordered), Some(Position::Unordered(2)));
        assert_eq!(position_of("nonsense"), None);
        assert_eq!(position_of("a:b:c"), None);
    }
}
