//! The `hero_logic` terminal tool. Each subcommand lives in `commands/`; `process` supervises
//! the children `up` starts. Like every client, it talks to the daemon only over JSON-RPC.

pub mod commands;
pub mod process;
