//! `hero_logic admin-url`: prints the web admin's login link again, read from the data dir's
//! token file (the admin makes it on first start), for a browser that has no cookie yet.

use std::path::PathBuf;

use clap::Args;
use hero_logic_api::admin_token;
use hero_logic_api::service::{ServiceConfig, ENV_ADMIN_ADDR};

use crate::commands::up::connectable;
use crate::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct AdminUrlArgs {
    /// Data dir the admin runs for [default: ~/.hero_logic; env HERO_LOGIC_HOME]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The admin's address [default: the one the admin of this data dir last ran on, else 127.0.0.1:9820; env HERO_LOGIC_ADMIN_ADDR]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(args: AdminUrlArgs) -> Result<u8, CliError> {
    let config = ServiceConfig::defaults();
    let data_dir = config.data_dir(args.data_dir.as_deref());
    let token_file = config.admin_token_file(None, &data_dir);
    let token = admin_token::read(&token_file).map_err(|err| CliError::Failed(err.to_string()))?;
    let env_set = std::env::var(ENV_ADMIN_ADDR).is_ok_and(|addr| !addr.is_empty());
    let listen = match (&args.listen, env_set, admin_token::remembered_addr(&token_file)) {
        (None, false, Some(remembered)) => remembered,
        _ => config.admin_listen(args.listen.as_deref()),
    };
    println!("{}", admin_token::dashboard_link(&connectable(&listen), &token));
    Ok(0)
}
