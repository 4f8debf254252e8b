//! The error type of the client commands (`run`, `plays`, `bench`) and the exit codes they
//! share. `up` keeps its own (`commands::up::UpError`), since it supervises rather than calls.

use std::fmt;
use std::path::PathBuf;

use hero_logic_api::error::{self as codes, ErrorData};
use hero_logic_api::ClientError;

/// The Play ended badly (failed, timed out, cancelled), or a command could not finish.
pub const EXIT_FAILED: u8 = 1;
/// The command line, or the inputs it carried, cannot work (clap uses 2 for its own errors too).
pub const EXIT_USAGE: u8 = 2;
/// No daemon answers on the socket.
pub const EXIT_UNREACHABLE: u8 = 3;
/// The Play waits for a person to answer a question.
pub const EXIT_AWAITING: u8 = 4;
/// Ctrl-C: the shell convention, 128 + SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or inputs, found before asking the daemon.
    #[error("{0}")]
    Usage(String),

    #[error(
        "no hero_logic daemon answers on {}: {source}\n\
         start one with `hero_logic up` (add --data-dir DIR for another data dir), \
         or point at a running one with --socket PATH or --data-dir DIR",
        socket.display()
    )]
    Unreachable { socket: PathBuf, source: std::io::Error },

    /// The daemon answered with a JSON-RPC error. (Boxed, like `Transport`'s source, to
    /// keep every `Result` of the crate small.)
    #[error("{}", RpcDisplay { message, data: data.as_deref() })]
    Rpc { method: String, code: i32, message: String, data: Option<Box<ErrorData>> },

    /// The daemon answered something that is not a well-formed JSON-RPC answer.
    #[error("{method}: {source}")]
    Transport { method: String, source: Box<ClientError> },

    #[error("interrupted")]
    Interrupted,

    /// Anything else that stops a command (a bench daemon that will not start, ...).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Unreachable { .. } => EXIT_UNREACHABLE,
            CliError::Rpc { code, .. } if is_callers_fault(*code) => EXIT_USAGE,
            CliError::Interrupted => EXIT_INTERRUPTED,
            _ => EXIT_FAILED,
        }
    }

    /// Sorts a client error: "nobody listens" gets its own exit code and advice.
    pub fn from_client(method: &str, error: ClientError) -> CliError {
        match error {
            ClientError::Connect { path, source } => CliError::Unreachable { socket: path, source },
            ClientError::Rpc { code, message, data } => {
                CliError::Rpc { method: method.to_string(), code, message, data: data.map(Box::new) }
            }
            other => CliError::Transport { method: method.to_string(), source: Box::new(other) },
        }
    }
}

/// Errors about what the caller asked for (a bad input, an unknown Logic) rather than about
/// the daemon: these exit with the usage code, so scripts can tell them from a failed Play.
fn is_callers_fault(code: i32) -> bool {
    matches!(code, codes::VALIDATION | codes::NOT_FOUND | codes::INVALID_PARAMS)
}

/// The message, then the field path, source position and hint on their own lines.
struct RpcDisplay<'a> {
    message: &'a str,
    data: Option<&'a ErrorData>,
}

impl fmt::Display for RpcDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        let Some(data) = self.data else { return Ok(()) };
        if !data.field.is_empty() {
            write!(f, "\n  field: {}", data.field)?;
        }
        match (data.line, data.column) {
            (Some(line), Some(column)) => write!(f, "\n  at:    line {line}, column {column}")?,
            (Some(line), None) => write!(f, "\n  at:    line {line}")?,
            _ => {}
        }
        if !data.hint.is_empty() {
            write!(f, "\n  hint:  {}", data.hint)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(code: i32, field: &str, hint: &str) -> CliError {
        let data =
            ErrorData { kind: "validation".into(), field: field.into(), hint: hint.into(), ..Default::default() };
        CliError::Rpc {
            method: "m".into(),
            code,
            message: "input \"n\" must be an integer".into(),
            data: Some(Box::new(data)),
        }
    }

    #[test]
    fn validation_shows_field_and_hint_and_is_a_usage_error() {
        let err = rpc(codes::VALIDATION, "inputs.n", "pass n as an integer");
        assert_eq!(err.to_string(), "input \"n\" must be an integer\n  field: inputs.n\n  hint:  pass n as an integer");
        assert_eq!(err.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn daemon_side_errors_are_failures() {
        assert_eq!(rpc(codes::INTERNAL_ERROR, "", "").exit_code(), EXIT_FAILED);
        assert_eq!(rpc(codes::INVALID_STATE, "", "").exit_code(), EXIT_FAILED);
    }

    #[test]
    fn unreachable_says_how_to_start_the_daemon() {
        let source = std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = CliError::from_client("m", ClientError::Connect { path: "/x/s.sock".into(), source });
        assert_eq!(err.exit_code(), EXIT_UNREACHABLE);
        let message = err.to_string();
        assert!(message.contains("/x/s.sock") && message.contains("hero_logic up"), "{message}");
    }
}
