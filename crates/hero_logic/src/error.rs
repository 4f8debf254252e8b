//! The service layer's error: what went wrong, which field, and how to fix it.
//! `rpc::error` maps it onto JSON-RPC codes in one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    NotFound { message: String, hint: String },
    #[error("{message}")]
    Conflict { field: String, message: String, hint: String },
    #[error("{message}")]
    Validation { field: String, message: String, hint: String },
    /// The request is well-formed but its params have the wrong shape or type.
    #[error("{message}")]
    InvalidParams { field: String, message: String, hint: String },
    /// A Python source that cannot be saved; the position points into it.
    #[error("{message}")]
    Source { message: String, line: Option<u32>, column: Option<u32>, hint: String },
    #[error("{message}")]
    InvalidState { message: String, hint: String },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ServiceError::Validation { field: field.into(), message: message.into(), hint: hint.into() }
    }

    pub fn not_found(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ServiceError::NotFound { message: message.into(), hint: hint.into() }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ServiceError::Conflict { field: field.into(), message: message.into(), hint: hint.into() }
    }

    /// Prefixes the field path, so nested validators can report `inputs[2].name`.
    pub fn within(self, prefix: &str) -> Self {
        let join = |field: String| if field.is_empty() { prefix.to_string() } else { format!("{prefix}.{field}") };
        match self {
            ServiceError::Validation { field, message, hint } => {
                ServiceError::Validation { field: join(field), message, hint }
            }
            ServiceError::Conflict { field, message, hint } => ServiceError::Conflict { field: join(field), message, hint },
            other => other,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { kind, sid } => ServiceError::NotFound {
                message: format!("{kind} {sid} not found"),
                hint: format!("check the sid; {kind} lists show what exists"),
            },
            StoreError::Conflict { field, message } => ServiceError::Conflict {
                field: field.to_string(),
                message,
                hint: format!("choose another {field}"),
            },
            StoreError::BadQuery { field, message } => ServiceError::InvalidParams {
                field,
                message,
                hint: String::new(),
            },
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
