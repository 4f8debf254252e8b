//! HTTP handlers, one module per role.

pub mod assets;
pub mod dashboard;
pub mod health;
pub mod legacy;
pub mod logic;
pub mod rpc_proxy;
