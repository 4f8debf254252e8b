//! One module per subcommand.

pub mod bench;
pub mod plays;
pub mod run;
pub mod up;
