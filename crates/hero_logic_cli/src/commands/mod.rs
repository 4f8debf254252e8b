//! One module per subcommand.

pub mod admin_url;
pub mod again;
pub mod bench;
pub mod cancel;
pub mod import;
pub mod list;
pub mod logs;
pub mod plays;
pub mod resume;
pub mod run;
pub mod split;
pub mod up;
