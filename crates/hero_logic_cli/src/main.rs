//! `hero_logic`: command-line parsing and exit codes; the work is in the library.
//!
//! Exit codes: 0 success; 1 the Play failed, timed out or was cancelled (or the command
//! could not finish); 2 bad usage, or inputs or answers the daemon refused; 3 no daemon
//! answers (for `up`: one already runs); 4 the Play waits for a person; 130 interrupted.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hero_logic_cli::commands::admin_url::{self, AdminUrlArgs};
use hero_logic_cli::commands::again::{self, ForkArgs, RerunArgs};
use hero_logic_cli::commands::bench::{self, BenchArgs};
use hero_logic_cli::commands::cancel::{self, CancelArgs};
use hero_logic_cli::commands::import::{self, ImportArgs};
use hero_logic_cli::commands::list::{self, ListArgs};
use hero_logic_cli::commands::logs::{self, LogsArgs};
use hero_logic_cli::commands::plays::{self, PlaysArgs};
use hero_logic_cli::commands::resume::{self, ResumeArgs};
use hero_logic_cli::commands::run::{self, RunArgs};
use hero_logic_cli::commands::split::{self, SplitArgs};
use hero_logic_cli::commands::up::{self, UpArgs};
use hero_logic_cli::connect::DaemonArgs;
use hero_logic_cli::error::CliError;

/// The hero_logic terminal tool.
#[derive(Debug, Parser)]
#[command(name = "hero_logic", version, about)]
struct Cli {
    /// Given before the subcommand, these apply to it as if given after it
    #[command(flatten)]
    daemon: DaemonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the daemon and the web admin, and keep them running until Ctrl-C.
    Up(UpArgs),
    /// Print the web admin's login link (the one `up` prints) again.
    AdminUrl(AdminUrlArgs),
    /// Run a Logic: start a Play, show its tree live, ask its questions, print its output.
    Run(RunArgs),
    /// Answer a question a waiting Play asks; without a question id, list them.
    Resume(ResumeArgs),
    /// List a Logic's recent Plays, newest first.
    Plays(PlaysArgs),
    /// Run a top-level Play again: same logic, version, inputs and limits, as a new Play.
    Rerun(RerunArgs),
    /// Run a top-level Play again from step N: the steps before it are replayed from their
    /// recorded results (not run again), the rest runs fresh, optionally on another version.
    Fork(ForkArgs),
    /// List the Logics, with their latest run and success rate.
    List(ListArgs),
    /// Cancel a run (any of its Plays may be named).
    Cancel(CancelArgs),
    /// Print what a Play and its child Plays logged.
    Logs(LogsArgs),
    /// Measure child Plays/s, start latency and memory on a daemon of its own.
    Bench(BenchArgs),
    /// Import records of the old OSIS store (Workflow, WorkflowVersion, Example, Benchmark, Play).
    Import(ImportArgs),
    /// Split a file declaring several logics into one source per logic (writes nothing to the daemon).
    Split(SplitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match with_global_flags(cli.command, &cli.daemon) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("hero_logic: {err}");
            return ExitCode::from(err.exit_code());
        }
    };
    // One thread on purpose: children are spawned from this thread, and their
    // parent-death signal is tied to it (see process::die_with_parent).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("hero_logic: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Up(args) => match runtime.block_on(up::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("hero_logic up: {err}");
                ExitCode::from(err.exit_code() as u8)
            }
        },
        Command::AdminUrl(args) => finish("admin-url", admin_url::run(args)),
        Command::Run(args) => finish("run", runtime.block_on(run::run(args))),
        Command::Resume(args) => finish("resume", runtime.block_on(resume::run(args))),
        Command::Plays(args) => finish("plays", runtime.block_on(plays::run(args))),
        Command::Rerun(args) => finish("rerun", runtime.block_on(again::rerun(args))),
        Command::Fork(args) => finish("fork", runtime.block_on(again::fork(args))),
        Command::List(args) => finish("list", runtime.block_on(list::run(args))),
        Command::Cancel(args) => finish("cancel", runtime.block_on(cancel::run(args))),
        Command::Logs(args) => finish("logs", runtime.block_on(logs::run(args))),
        Command::Bench(args) => finish("bench", runtime.block_on(bench::run(args))),
        Command::Import(args) => finish("import", runtime.block_on(import::run(args))),
        Command::Split(args) => finish("split", runtime.block_on(split::run(args))),
    }
}

/// `hero_logic --data-dir X run ...` means `hero_logic run ... --data-dir X`: the flags given
/// before the subcommand fill the ones it was not given. Commands that start their own
/// processes (`up`, `bench`, `admin-url`) take a data dir but no socket.
fn with_global_flags(mut command: Command, global: &DaemonArgs) -> Result<Command, CliError> {
    if let Some(daemon) = client_daemon(&mut command) {
        daemon.fill_from(global);
        return Ok(command);
    }
    if global.socket.is_some() {
        return Err(CliError::Usage(
            "this command starts or finds its daemon by data dir and takes no --socket; use --data-dir DIR".into(),
        ));
    }
    if let Some(data_dir) = own_data_dir(&mut command) {
        if data_dir.is_none() {
            data_dir.clone_from(&global.data_dir);
        }
    }
    Ok(command)
}

/// The daemon flags of a command that talks to a running daemon.
fn client_daemon(command: &mut Command) -> Option<&mut DaemonArgs> {
    match command {
        Command::Run(args) => Some(&mut args.daemon),
        Command::Resume(args) => Some(&mut args.daemon),
        Command::Plays(args) => Some(&mut args.daemon),
        Command::List(args) => Some(&mut args.daemon),
        Command::Cancel(args) => Some(&mut args.daemon),
        Command::Logs(args) => Some(&mut args.daemon),
        Command::Rerun(args) => Some(&mut args.follow.daemon),
        Command::Fork(args) => Some(&mut args.follow.daemon),
        Command::Import(args) => Some(&mut args.daemon),
        Command::Split(args) => Some(&mut args.daemon),
        Command::Up(_) | Command::AdminUrl(_) | Command::Bench(_) => None,
    }
}

fn own_data_dir(command: &mut Command) -> Option<&mut Option<std::path::PathBuf>> {
    match command {
        Command::Up(args) => Some(&mut args.data_dir),
        Command::AdminUrl(args) => Some(&mut args.data_dir),
        Command::Bench(args) => Some(&mut args.data_dir),
        _ => None,
    }
}

/// The exit code of a client command, after printing its error if it has one.
fn finish(command: &str, result: Result<u8, CliError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("hero_logic {command}: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
