//! The one place where service errors become JSON-RPC error objects.

use hero_logic_api::error::{self as codes, ErrorData};
use jsonrpsee::types::ErrorObjectOwned;

use crate::error::ServiceError;

impl From<ServiceError> for ErrorObjectOwned {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        let (mut line, mut column) = (None, None);
        let (code, kind, field, hint) = match error {
            ServiceError::Source { hint, line: l, column: c, .. } => {
                (line, column) = (l, c);
                (codes::VALIDATION, "source", "python_source".to_string(), hint)
            }
            ServiceError::NotFound { hint, .. } => (codes::NOT_FOUND, "not_found", String::new(), hint),
            ServiceError::Conflict { field, hint, .. } => (codes::CONFLICT, "conflict", field, hint),
            ServiceError::Validation { field, hint, .. } => (codes::VALIDATION, "validation", field, hint),
            ServiceError::InvalidParams { field, hint, .. } => (codes::INVALID_PARAMS, "invalid_params", field, hint),
            ServiceError::InvalidState { hint, .. } => (codes::INVALID_STATE, "invalid_state", String::new(), hint),
            ServiceError::Internal(_) => {
                tracing::error!(%message, "internal error answering a request");
                (codes::INTERNAL_ERROR, "internal", String::new(), "see the daemon's log".to_string())
            }
        };
        let data = ErrorData { kind: kind.to_string(), field, hint, line, column };
        ErrorObjectOwned::owned(code, message, Some(data))
    }
}
