//! Source text shown in a graph (conditions, loop headers, returned values): one line, short.

use ruff_text_size::TextRange;

/// Longest snippet kept, in characters; a condition longer than this is unreadable in a node
/// anyway, and the graph's size must not grow with a hostile source's line lengths.
pub const MAX_SNIPPET_CHARS: usize = 120;

/// The text of `range` on one line: line breaks (with the indentation after them and any
/// backslash before them) become single spaces, and long text is cut with `…`.
pub fn snippet(source: &str, range: TextRange) -> String {
    let raw = source
        .get(range.start().to_usize()..range.end().to_usize())
        .unwrap_or("");
    one_line(raw, MAX_SNIPPET_CHARS)
}

fn one_line(raw: &str, limit: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(limit * 4));
    let mut chars = 0;
    let mut pending_space = false;
    for line in raw.lines() {
        let line = line
            .trim_end()
            .strip_suffix('\\')
            .unwrap_or(line)
            .trim_end();
        let piece = if out.is_empty() {
            line
        } else {
            line.trim_start()
        };
        if piece.is_empty() {
            continue;
        }
        // No space after an opening bracket or before a closing one: `f(\n  x\n)` reads `f(x)`.
        let closes = piece.starts_with([')', ']', '}']);
        // A trailing comma before the closing bracket only helps multi-line layout.
        if closes && out.ends_with(',') {
            out.pop();
            chars -= 1;
        }
        let joins_tight = out.ends_with(['(', '[', '{']) || closes;
        if pending_space && !joins_tight {
            if chars >= limit {
                out.push('…');
                return out;
            }
            out.push(' ');
            chars += 1;
        }
        for c in piece.chars() {
            if chars >= limit {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
        pending_space = true;
    }
    out
}

/// A short display form of a string literal for a label.
pub fn shorten(text: &str) -> String {
    one_line(text, MAX_SNIPPET_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines() {
        assert_eq!(one_line("a and \\\n    b", 100), "a and b");
        assert_eq!(one_line("f(\n    x,\n    y\n)", 100), "f(x, y)");
        assert_eq!(one_line("for i in range(\n  3)", 100), "for i in range(3)");
        assert_eq!(one_line("{\n  'a': 1,\n}", 100), "{'a': 1}");
    }

    #[test]
    fn cuts_long_text_on_a_char_boundary() {
        assert_eq!(one_line("ééééé", 3), "ééé…");
        assert_eq!(one_line("abc", 3), "abc");
    }

    #[test]
    fn out_of_range_is_empty() {
        let range = TextRange::new(10.into(), 20.into());
        assert_eq!(snippet("short", range), "");
    }
}
