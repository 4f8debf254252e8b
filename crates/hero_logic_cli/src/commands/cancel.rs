//! `hero_logic cancel <play>`: stops a run, whichever of its Plays is named.

use clap::Args;

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct CancelArgs {
    /// Any Play of the run (the top-level one, or a child)
    pub play: String,
    /// Print the cancelled Play as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: CancelArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.daemon);
    let play = daemon.cancel(&args.play).await?;
    if args.json {
        return crate::commands::run::print_json(&play).map(|_| 0);
    }
    println!("{} ({}) {}", play.name, play.sid, play.status.as_str());
    Ok(0)
}
