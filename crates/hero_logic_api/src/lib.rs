//! Wire types, method names, error codes and a small async client for the hero_logic daemon.

pub mod admin_token;
pub mod bench;
pub mod client;
pub mod error;
pub mod graph;
pub mod methods;
pub mod openrpc;
pub mod params;
pub mod schema_file;
pub mod service;
pub mod time;
pub mod types;

pub use client::{ClientError, RpcClient};
pub use graph::*;
pub use types::*;
