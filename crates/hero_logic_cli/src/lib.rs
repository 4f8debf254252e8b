//! The `hero_logic` terminal tool. Each subcommand lives in `commands/`; `process` supervises
//! the daemons `up` and `bench` start; `connect` finds and calls a daemon; `render` turns
//! Plays into text; `ask` puts a Play's questions to the person at the terminal. Like every
//! client, it talks to the daemon only over JSON-RPC.

pub mod ask;
pub mod commands;
pub mod connect;
pub mod error;
pub mod inputs;
pub mod process;
pub mod render;
