//! Turning Python text into a syntax tree that the rest of `parse/` may walk safely.
//!
//! ruff's parser never overflows the stack (it grows its own with `stacker`), but the tree it
//! returns is an ordinary nest of `Box`es: dropping or visiting a tree a hundred thousand
//! levels deep (`x = ------…1`) overflows a 2 MiB thread stack and aborts the daemon. So every
//! tree is measured before anyone walks it, and one that is too deep is rejected and freed on
//! a thread with a stack large enough for it.

use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor, TraversalSignal};
use ruff_python_ast::{AnyNodeRef, ModModule, PySourceType, PythonVersion};
use ruff_python_parser::{parse_unchecked, parse_unchecked_source, ParseOptions, Parsed, UnsupportedSyntaxErrorKind};
use ruff_source_file::LineIndex;
use ruff_text_size::{Ranged, TextSize};

use super::ParseError;

/// Larger sources are refused: a logic is hand-sized code, and the deep-tree fallback below
/// sizes its stack by the source length.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// Deepest syntax tree accepted. CPython itself refuses somewhere past ~3,000 levels
/// ("too many nested parentheses" at 200, RecursionError during compilation beyond), so no
/// runnable logic comes near this; walking this depth needs well under 1 MiB of stack.
pub const MAX_NESTING: usize = 1_000;

/// A syntactically valid module, shallow enough to walk recursively.
pub struct PySource<'src> {
    pub text: &'src str,
    pub module: ModModule,
    lines: LineIndex,
}

impl<'src> PySource<'src> {
    /// Parses `text` as a module; the first syntax error wins.
    pub fn parse(text: &'src str) -> Result<Self, ParseError> {
        if text.len() > MAX_SOURCE_BYTES {
            return Err(ParseError::TooLarge {
                bytes: text.len(),
                limit: MAX_SOURCE_BYTES,
            });
        }
        let lines = LineIndex::from_source_text(text);
        // `parse_module` would drop the tree itself on a syntax error, before it could be
        // measured, so take the unchecked result and decide here.
        let parsed = parse_unchecked_source(text, PySourceType::Python);
        if let Some(offset) = too_deep_at(parsed.syntax()) {
            drop_deep(parsed, text.len());
            let (line, column) = position(&lines, text, offset);
            return Err(ParseError::TooDeep {
                line,
                column,
                limit: MAX_NESTING,
            });
        }
        if let Some(error) = parsed.errors().first() {
            let (line, column) = position(&lines, text, error.location.start());
            return Err(ParseError::Syntax {
                line,
                column,
                message: error.error.to_string(),
            });
        }
        Ok(PySource {
            text,
            module: parsed.into_syntax(),
            lines,
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: TextSize) -> (u32, u32) {
        position(&self.lines, self.text, offset)
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: TextSize) -> u32 {
        self.position(offset).0
    }
}

/// The interpreter the daemon runs logics with, whose grammar a saved source must fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    target: PythonVersion,
    /// As the interpreter reported it (`3.11.7`).
    label: String,
}

impl Runtime {
    /// From `sys.version_info` as text (`3.11.7`); `None` when it does not read as one.
    pub fn from_version(label: &str) -> Option<Runtime> {
        let mut parts = label.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Runtime { target: PythonVersion { major, minor }, label: label.trim().to_string() })
    }

    /// Refuses the first construct of a module (already known to parse) that this interpreter
    /// cannot run: newer syntax (`type X = int`, PEP 701 f-strings) or older (`except X, e:`).
    pub fn check(&self, text: &str) -> Result<(), ParseError> {
        let options = ParseOptions::from(PySourceType::Python).with_target_version(self.target);
        let Some(parsed) = parse_unchecked(text, options).try_into_module() else { return Ok(()) };
        if too_deep_at(parsed.syntax()).is_some() {
            // `PySource::parse` reports the depth; this tree only has to be freed safely.
            drop_deep(parsed, text.len());
            return Ok(());
        }
        let Some(error) = parsed.unsupported_syntax_errors().first() else { return Ok(()) };
        let lines = LineIndex::from_source_text(text);
        let (line, column) = position(&lines, text, error.range.start());
        let hint = match error.kind {
            UnsupportedSyntaxErrorKind::UnparenthesizedExceptionTypes => {
                "`except X, e:` is Python 2: write `except X as e:` (several types: `except (X, Y) as e:`)".to_string()
            }
            _ => format!(
                "write it the Python {}.{} way, or run the daemon with a newer interpreter (HERO_LOGIC_PYTHON)",
                self.target.major, self.target.minor
            ),
        };
        Err(ParseError::Unsupported { line, column, message: error.to_string(), runtime: self.label.clone(), hint })
    }
}

fn position(lines: &LineIndex, text: &str, offset: TextSize) -> (u32, u32) {
    let at = lines.line_column(offset, text);
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(at.line.get()), clamp(at.column.get()))
}

/// Where the tree first goes deeper than [`MAX_NESTING`], if it does.
///
/// The visitor stops descending at the limit, so this walk itself stays shallow.
fn too_deep_at(module: &ModModule) -> Option<TextSize> {
    let mut meter = DepthMeter {
        depth: 0,
        too_deep_at: None,
    };
    source_order::walk_body(&mut meter, &module.body);
    meter.too_deep_at
}

struct DepthMeter {
    depth: usize,
    too_deep_at: Option<TextSize>,
}

impl<'a> SourceOrderVisitor<'a> for DepthMeter {
    fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
        // `leave_node` runs even for skipped nodes, so the count stays balanced.
        self.depth += 1;
        if self.too_deep_at.is_some() {
            return TraversalSignal::Skip;
        }
        if self.depth > MAX_NESTING {
            self.too_deep_at = Some(node.start());
            return TraversalSignal::Skip;
        }
        TraversalSignal::Traverse
    }

    fn leave_node(&mut self, _node: AnyNodeRef<'a>) {
        self.depth -= 1;
    }
}

/// Frees a tree too deep for the current stack.
///
/// A tree cannot be deeper than its source is long, and dropping one level takes a few hundred
/// bytes of stack at most, so a thread with that much stack can always drop it. If even that
/// thread cannot be started the tree is leaked: a bounded loss beats aborting the process.
fn drop_deep(parsed: Parsed<ModModule>, source_len: usize) {
    const STACK_PER_BYTE: usize = 512;
    let stack = (source_len + 1).saturating_mul(STACK_PER_BYTE).max(4 << 20);
    let mut slot = Some(parsed);
    let handle = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("parse-drop".into())
            .stack_size(stack)
            .spawn_scoped(scope, || drop(slot.take()))
            .map(|h| h.join())
    });
    // On spawn failure the closure never ran and `slot` still holds the tree.
    if handle.is_err() {
        std::mem::forget(slot.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse::on_small_stack;

    #[test]
    fn valid_module_parses() {
        let src = PySource::parse("def f(x):\n    return x\n").expect("valid");
        assert_eq!(src.module.body.len(), 1);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = PySource::parse("x = 1\ny = (2 +\n").err().expect("invalid");
        match err {
            ParseError::Syntax {
                line,
                column,
                message,
            } => {
                assert!(line >= 2, "line {line}");
                assert!(column >= 1);
                assert!(!message.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn syntax_error_column_counts_characters() {
        let err = PySource::parse("s = 'é' + )\n").err().expect("invalid");
        assert_eq!(
            err,
            ParseError::Syntax {
                line: 1,
                column: 11,
                message: err_message(&err)
            }
        );
    }

    fn err_message(err: &ParseError) -> String {
        match err {
            ParseError::Syntax { message, .. } => message.clone(),
            _ => String::new(),
        }
    }

    #[test]
    fn deep_trees_are_refused_without_overflowing() {
        let sources = [
            format!("x = {}1\n", "-".repeat(200_000)),
            format!("x = 1{}\n", "+1".repeat(100_000)),
            format!("x = a{}\n", ".b".repeat(100_000)),
            format!("x = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000)),
            // Deep and broken: the tree must still be freed safely.
            format!("x = {}1 +\n", "not ".repeat(100_000)),
        ];
        for source in sources {
            let err = on_small_stack(|| PySource::parse(&source).err());
            assert!(
                matches!(err, Some(ParseError::TooDeep { line: 1, .. })),
                "{err:?}"
            );
        }
    }

    #[test]
    fn nesting_just_under_the_limit_is_walkable() {
        // Each unary minus adds one node; stay a little under the limit.
        let source = format!("x = {}1\n", "-".repeat(MAX_NESTING - 10));
        let ok = on_small_stack(|| PySource::parse(&source).is_ok());
        assert!(ok);
    }

    #[test]
    fn deep_parentheses_alone_are_fine() {
        // Parentheses make no nodes, so only the parser's own (safe) recursion sees them.
        let source = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
        assert!(on_small_stack(|| PySource::parse(&source).is_ok()));
    }

    #[test]
    fn oversized_source_is_refused() {
        let source = "#".repeat(MAX_SOURCE_BYTES + 1);
        assert!(matches!(
            PySource::parse(&source),
            Err(ParseError::TooLarge { .. })
        ));
    }
}

#[cfg(test)]
mod runtime_tests {
    use super::*;

    fn refusal(version: &str, text: &str) -> Option<(u32, u32, String, String)> {
        PySource::parse(text).expect("the parser's own grammar accepts it");
        match Runtime::from_version(version).unwrap().check(text) {
            Ok(()) => None,
            Err(ParseError::Unsupported { line, column, message, hint, .. }) => Some((line, column, message, hint)),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_type_alias_needs_python_3_12() {
        let (line, column, message, _) = refusal("3.11.7", "x = 1\ntype Pair = tuple[int, int]\n").unwrap();
        assert_eq!((line, column), (2, 1));
        assert!(message.contains("Python 3.12"), "{message}");
        assert_eq!(refusal("3.12.1", "type Pair = tuple[int, int]\n"), None);
    }

    #[test]
    fn pep_701_f_strings_need_python_3_12() {
        for text in ["d = {}\ns = f\"{d[\"k\"]}\"\n", "s = f\"{'\\n'.join([])}\"\n", "s = f\"{1 # one\n}\"\n"] {
            let (line, _, message, _) = refusal("3.11.7", text).unwrap_or_else(|| panic!("{text:?} is 3.12 syntax"));
            assert_eq!(line, if text.starts_with("d =") { 2 } else { 1 }, "{text:?}");
            assert!(message.contains("3.12"), "{message}");
        }
        assert_eq!(refusal("3.11.7", "w = 3\ns = f\"{w!r:>{w}}\"\n"), None, "3.11 f-strings stay fine");
    }

    #[test]
    fn python_2_except_is_refused_with_a_python_3_hint() {
        let text = "try:\n    pass\nexcept ValueError, e:\n    pass\n";
        let (line, column, _, hint) = refusal("3.11.7", text).unwrap();
        assert_eq!((line, column), (3, 8));
        assert!(hint.contains("except X as e"), "{hint}");
    }

    #[test]
    fn versions_read_from_the_interpreters_text() {
        assert!(Runtime::from_version("3.11.7").is_some());
        assert!(Runtime::from_version("3.13").is_some());
        assert!(Runtime::from_version("three").is_none());
    }
}
