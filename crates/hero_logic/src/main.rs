use std::process::ExitCode;

use clap::Parser;
use hero_logic::config::{Flags, ServerConfig};
use hero_logic::lock::{DataDirLock, LockError, EXIT_ALREADY_RUNNING};

fn main() -> ExitCode {
    let flags = Flags::parse();
    let config = match ServerConfig::resolve(&flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hero_logic_server: {e}");
            return ExitCode::from(2);
        }
    };
    if flags.info {
        print!("{}", config.describe());
        match hero_logic::engine::describe_protections(config.service.sandbox.allow_weaker) {
            Ok(protections) => {
                println!("\n# {}", protections.summary());
                if let Some(refusal) = &protections.refusal {
                    println!("# Plays are refused: {refusal}");
                }
            }
            Err(e) => println!("\n# sandbox: cannot probe ({e})"),
        }
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let _lock = match DataDirLock::acquire(&config.data_dir, &config.lock_path()) {
        Ok(lock) => lock,
        Err(e @ LockError::Held(..)) => {
            eprintln!("hero_logic_server: {e}");
            return ExitCode::from(EXIT_ALREADY_RUNNING as u8);
        }
        Err(e) => {
            eprintln!("hero_logic_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hero_logic_server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(hero_logic::daemon::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hero_logic_server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
