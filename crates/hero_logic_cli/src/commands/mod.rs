//! One module per subcommand.

pub mod admin_url;
pub mod bench;
pub mod plays;
pub mod resume;
pub mod run;
pub mod up;
