//! HTTP handlers, one module per role.

pub mod api;
pub mod assets;
pub mod dashboard;
pub mod health;
pub mod legacy;
pub mod logic;
pub mod new_logic;
pub mod rpc_proxy;
pub mod runs;
