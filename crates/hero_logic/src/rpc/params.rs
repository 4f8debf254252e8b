//! Decoding by-name params with the path of the field that did not fit.

use jsonrpsee::types::Params;
use serde::de::DeserializeOwned;

use crate::error::ServiceError;

pub fn decode<P: DeserializeOwned>(params: &Params) -> Result<P, ServiceError> {
    let raw = params.as_str().unwrap_or("{}");
    if raw.trim_start().starts_with('[') {
        return Err(ServiceError::InvalidParams {
            field: String::new(),
            message: "params must be an object of named values, not a list".into(),
            hint: "send params as {\"name\": value, ...}; rpc.discover lists each method's params".into(),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = match error.path().to_string() {
            path if path == "." => String::new(),
            path => path,
        };
        let inner = error.into_inner().to_string();
        let message = if field.is_empty() { format!("invalid params: {inner}") } else { format!("invalid params at {field}: {inner}") };
        ServiceError::InvalidParams {
            field,
            message,
            hint: "rpc.discover describes every method's params and their types".into(),
        }
    })
}
