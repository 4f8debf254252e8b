//! `hero_logic`: command-line parsing and exit codes; the work is in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hero_logic_cli::commands::up::{self, UpArgs};

/// The hero_logic terminal tool.
#[derive(Debug, Parser)]
#[command(name = "hero_logic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the daemon and the web admin, and keep them running until Ctrl-C.
    Up(UpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One thread on purpose: children are spawned from this thread, and their
    // parent-death signal is tied to it (see process::die_with_parent).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("hero_logic: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Up(args) => match runtime.block_on(up::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("hero_logic up: {err}");
                ExitCode::from(err.exit_code() as u8)
            }
        },
    }
}
