//! `hero_logic split FILE`: one source per `@logic`/`@flow` function of a file, split by the
//! daemon's parser (the same split `hero_logic import` applies to an old Workflow).

use std::path::PathBuf;

use clap::Args;
use hero_logic_api::methods;
use hero_logic_api::params::{SplitParams, SplitResult};

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct SplitArgs {
    /// A Python file declaring several logics
    pub file: PathBuf,
    /// Write one `<logic name>.py` per logic into this directory instead of printing them
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the parts as JSON ({parts: [{logic_name, function, python_source, entry}], notes})
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: SplitArgs) -> Result<u8, CliError> {
    let python_source = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", args.file.display())))?;
    let daemon = Daemon::connect(&args.daemon);
    let split: SplitResult = daemon.call(methods::LOGIC_SPLIT, SplitParams { python_source }).await?;
    for note in &split.notes {
        eprintln!("note: {note}");
    }
    if args.json {
        let text = serde_json::to_string_pretty(&split).map_err(|e| CliError::Failed(format!("cannot encode the parts: {e}")))?;
        println!("{text}");
    } else if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        for part in &split.parts {
            let path = dir.join(format!("{}.py", part.logic_name));
            std::fs::write(&path, &part.python_source).map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
            println!("{}{}", path.display(), if part.entry { " (entry)" } else { "" });
        }
    } else {
        for part in &split.parts {
            println!("# ---- logic {}{}", part.logic_name, if part.entry { " (entry)" } else { "" });
            print!("{}", part.python_source);
        }
    }
    Ok(0)
}
