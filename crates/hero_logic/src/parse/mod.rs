//! Static parse of logic sources (DESIGN.md §9), in Rust, without running Python.
//!
//! This first cut reads the `@logic(...)` decorator and the entry function's signature, to fill
//! a version's declared inputs/outputs when they are not given. The flow graph (invocations,
//! pauses, loops, ...) will walk the same [`source::PySource`] tree.
//!
//! Parsing uses ruff's parser, which accepts current syntax (PEP 701 f-strings, `match`,
//! `type X = ...`, generic functions, `except*`) regardless of the target version.

mod docstring;
mod fields;
mod literal;
mod scope;
mod signature;
pub mod source;

pub use signature::{read_signature, read_signature_named, Signature};

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
            | ParseError::TooDeep { line, column, .. } => Some((*line, *column)),
            ParseError::NoEntry { .. } | ParseError::TooLarge { .. } => None,
        }
    }
}
