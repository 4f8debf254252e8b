//! The hero_logic daemon: store, JSON-RPC, static parse and seed loading.

pub mod config;
pub mod daemon;
mod embedded;
pub mod engine;
pub mod error;
pub mod figures;
pub mod import;
pub mod library;
pub mod lock;
pub mod mapping;
pub mod model_call;
pub mod models;
pub mod parse;
pub mod private;
pub mod rpc;
pub mod seed;
pub mod stats;
pub mod store;
pub mod validate;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
