//! Python literal expressions as JSON values (for declared defaults).

use ruff_python_ast::{Expr, Number, UnaryOp};
use serde_json::{Map, Number as JsonNumber, Value};

/// The JSON value of a literal expression, or `None` when it is not a plain literal
/// (a call, a name, an f-string, a non-finite float, a dict with non-string keys, ...).
///
/// Strings, numbers (with unary minus), `True`/`False`/`None`, lists, tuples and dicts of
/// those are literals; this mirrors what `ast.literal_eval` would accept and JSON can carry.
pub fn to_json(expr: &Expr) -> Option<Value> {
    match expr {
        Expr::StringLiteral(s) => Some(Value::String(s.value.to_str().to_owned())),
        Expr::BooleanLiteral(b) => Some(Value::Bool(b.value)),
        Expr::NoneLiteral(_) => Some(Value::Null),
        Expr::NumberLiteral(n) => number(&n.value, false),
        Expr::UnaryOp(u) => match (u.op, u.operand.as_ref()) {
            (UnaryOp::USub, Expr::NumberLiteral(n)) => number(&n.value, true),
            (UnaryOp::UAdd, Expr::NumberLiteral(n)) => number(&n.value, false),
            _ => None,
        },
        Expr::List(l) => l
            .elts
            .iter()
            .map(to_json)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Expr::Tuple(t) => t
            .elts
            .iter()
            .map(to_json)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Expr::Dict(d) => {
            let mut object = Map::new();
            for item in &d.items {
                // `**other` spreads have no key and are not literal.
                let key = item.key.as_ref().and_then(string)?;
                object.insert(key.to_owned(), to_json(&item.value)?);
            }
            Some(Value::Object(object))
        }
        _ => None,
    }
}

/// The text of a plain string literal (implicit concatenation included).
pub fn string(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str()),
        _ => None,
    }
}

fn number(value: &Number, negate: bool) -> Option<Value> {
    match value {
        Number::Int(int) => {
            let n = int.as_i64()?;
            let n = if negate { n.checked_neg()? } else { n };
            Some(Value::Number(n.into()))
        }
        Number::Float(f) => {
            let f = if negate { -f } else { *f };
            JsonNumber::from_f64(f).map(Value::Number)
        }
        Number::Complex { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str) -> Option<Value> {
        let parsed = ruff_python_parser::parse_expression(text).expect("test expression parses");
        to_json(parsed.expr())
    }

    #[test]
    fn scalars() {
        assert_eq!(eval("'a' 'b'"), Some(json!("ab")));
        assert_eq!(eval("3"), Some(json!(3)));
        assert_eq!(eval("-3"), Some(json!(-3)));
        assert_eq!(eval("+2.5"), Some(json!(2.5)));
        assert_eq!(eval("0x10"), Some(json!(16)));
        assert_eq!(eval("True"), Some(json!(true)));
        assert_eq!(eval("None"), Some(Value::Null));
    }

    #[test]
    fn containers() {
        assert_eq!(
            eval("[1, (2, 'x'), {'k': None}]"),
            Some(json!([1, [2, "x"], {"k": null}]))
        );
    }

    #[test]
    fn non_literals() {
        for text in [
            "x", "f()", "f'{x}'", "1j", "1e999", "{1: 2}", "{**a}", "[x]", "-x", "b'x'",
        ] {
            assert_eq!(eval(text), None, "{text}");
        }
        // Beyond i64: refuse rather than round.
        assert_eq!(eval("123456789012345678901234567890"), None);
    }
}
