//! Static parse of logic sources (DESIGN.md §9), in Rust, without running Python.
//!
//! Two readers share one syntax tree (`source::PySource`): the signature (`@logic(...)` and the
//! entry function's parameters, to fill a version's declared inputs/outputs when they are not
//! given), and the flow graph (invocations, RPC/HTTP calls, pauses, loops, branches, try
//! blocks and returns of the entry function, with helpers followed where they are called).
//!
//! Parsing uses ruff's parser, which accepts current syntax (PEP 701 f-strings, `match`,
//! `type X = ...`, generic functions, `except*`) regardless of the target version; a saved
//! source is also checked against the grammar of the interpreter the daemon runs
//! (`Runtime::check`), so what saves also runs.

mod calls;
mod docstring;
mod fields;
mod graph;
mod literal;
mod names;
mod scope;
mod signature;
mod source;
mod split;
mod stdlib;
mod text;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod golden_tests;

pub use graph::{binding_graph, flow_graph, MAX_HELPER_DEPTH, MAX_NODES};
pub use signature::{read_signature, read_signature_named, RetryPolicy, Signature};
pub use source::{Runtime, MAX_NESTING, MAX_SOURCE_BYTES};
pub use split::{split_logics, Split, SplitPart};

/// Why a source's signature could not be read. Positions are 1-based; columns count
/// characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },

    /// Valid Python, but not for the interpreter the daemon runs (`message` names the version
    /// that has the syntax).
    #[error("syntax error at line {line}, column {column}: {message}; the daemon runs Python {runtime}")]
    Unsupported {
        line: u32,
        column: u32,
        message: String,
        runtime: String,
        hint: String,
    },

    #[error("no @logic entry function: {hint}")]
    NoEntry { hint: String },

    /// The decorator's arguments cannot be read statically (not literals, wrong shapes).
    #[error("invalid @logic declaration at line {line}, column {column}: {message}")]
    Declaration {
        line: u32,
        column: u32,
        message: String,
    },

    #[error("source is {bytes} bytes; the limit is {limit}")]
    TooLarge { bytes: usize, limit: usize },

    #[error(
        "code nested more than {limit} levels deep at line {line}, column {column}; \
         split the expression into smaller ones"
    )]
    TooDeep {
        line: u32,
        column: u32,
        limit: usize,
    },
}

impl ParseError {
    /// Line and column, when the error points into the source.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            ParseError::Syntax { line, column, .. }
            | ParseError::Declaration { line, column, .. }
            | ParseError::Unsupported { line, column, .. }
            | ParseError::TooDeep { line, column, .. } => Some((*line, *column)),
            ParseError::NoEntry { .. } | ParseError::TooLarge { .. } => None,
        }
    }
}

/// Runs `f` on a thread with the 2 MiB stack tokio and the test harness use, so a stack
/// regression shows as a crash in tests rather than passing on a roomy main thread.
#[cfg(test)]
pub(crate) fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(scope, f)
            .expect("spawn test thread")
            .join()
            .expect("test thread panicked")
    })
}

/// A test source parsed into its module.
#[cfg(test)]
pub(crate) fn test_module(source: &str) -> ruff_python_ast::ModModule {
    ruff_python_parser::parse_module(source).expect("test source parses").into_syntax()
}

#[cfg(test)]
mod seed_tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn seed_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics")
    }

    #[test]
    fn every_seed_logic_parses() {
        let mut checked = 0;
        let entries = std::fs::read_dir(seed_dir()).expect("seed_logics/ exists");
        for entry in entries {
            let path = entry.expect("readable dir entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("py") {
                continue;
            }
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8 file name")
                .to_owned();
            let source = std::fs::read_to_string(&path).expect("readable seed file");
            let signature =
                read_signature(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                signature.name.as_deref(),
                Some(stem.as_str()),
                "{}",
                path.display()
            );
            assert!(
                signature
                    .description
                    .as_deref()
                    .is_some_and(|d| !d.is_empty()),
                "{stem}: description"
            );
            assert!(!signature.inputs.is_empty(), "{stem}: inputs");
            assert!(!signature.outputs.is_empty(), "{stem}: outputs");
            for field in signature.inputs.iter().chain(&signature.outputs) {
                assert!(
                    !field.description.is_empty(),
                    "{stem}.{}: description",
                    field.name
                );
            }
            checked += 1;
        }
        assert!(checked >= 8, "expected the seed logics, found {checked}");
    }

    fn seed(name: &str) -> Signature {
        let path = seed_dir().join(format!("{name}.py"));
        let source = std::fs::read_to_string(&path).expect("readable seed file");
        read_signature(&source).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn field_names(fields: &[hero_logic_api::LogicField]) -> Vec<&str> {
        fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn seed_signatures_match_their_contracts() {
        use hero_logic_api::FieldType;
        use serde_json::json;

        let greeting = seed("greeting");
        assert_eq!(field_names(&greeting.inputs), ["name", "greeting"]);
        assert!(greeting.inputs[0].required);
        assert_eq!(greeting.inputs[1].default, Some(json!("Hello")));
        assert!(!greeting.inputs[1].required);
        assert_eq!(field_names(&greeting.outputs), ["message"]);

        let fib = seed("fib");
        assert_eq!(fib.inputs[0].field_type, FieldType::Integer);
        assert_eq!(field_names(&fib.outputs), ["value"]);

        let pipeline = seed("text_pipeline");
        assert_eq!(
            field_names(&pipeline.outputs),
            ["word_count", "top_words", "summary"]
        );

        let fails = seed("always_fails");
        assert_eq!(fails.inputs[0].default, Some(json!("on purpose")));

        let gate = seed("approval_gate");
        assert_eq!(gate.outputs[0].field_type, FieldType::Boolean);
    }
}
