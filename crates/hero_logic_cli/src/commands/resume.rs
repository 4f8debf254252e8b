//! `hero_logic resume <play> [<resume_id> <value>]`: answers one question a waiting Play
//! asked, without a terminal; or, without an id, lists the questions its run waits on.

use clap::Args;
use hero_logic_api::error as codes;
use hero_logic_api::params::PlayTree;
use hero_logic_api::{Play, ResumeRequest};
use serde_json::{json, Value};

use crate::commands::run::{print_json, report};
use crate::connect::{Daemon, DaemonArgs};
use crate::error::{CliError, EXIT_USAGE};
use crate::inputs::parse_value;
use crate::render::{self, table::table};

#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Any Play of the waiting run: the one that asks, one of its parents, or the top-level Play
    pub play_sid: String,
    /// The question to answer; without it, the run's waiting questions are listed
    #[arg(requires = "value")]
    pub resume_id: Option<String>,
    /// The answer: JSON when it parses (true, 3, ["a","b"], "quoted"), else text (today)
    #[arg(allow_hyphen_values = true)]
    pub value: Option<String>,
    /// After answering, wait until the run ends or asks again, and report it as `run` does
    #[arg(long)]
    pub wait: bool,
    /// Print the Play (or the questions) as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: ResumeArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.daemon);
    let result = match (&args.resume_id, &args.value) {
        (Some(resume_id), Some(value)) => answer(&daemon, &args, resume_id, parse_value(value)).await,
        _ => list(&daemon, &args).await,
    };
    // A refused answer, an unknown Play or a question no longer open: the caller's to fix.
    match result {
        Err(err @ CliError::Rpc { code: codes::INVALID_STATE, .. }) => {
            eprintln!("hero_logic resume: {err}");
            Ok(EXIT_USAGE)
        }
        other => other,
    }
}

async fn answer(daemon: &Daemon, args: &ResumeArgs, resume_id: &str, payload: Value) -> Result<u8, CliError> {
    let asker = daemon.resume(&args.play_sid, resume_id, payload).await?;
    if !args.wait {
        if args.json {
            return print_json(&asker).map(|_| 0);
        }
        println!("{resume_id} answered: {} ({}) is {}", asker.name, asker.sid, asker.status.as_str());
        return Ok(0);
    }
    let root = daemon.root_of(&asker.sid).await?;
    daemon.wait_settled(&root.sid).await?;
    let tree = daemon.tree(&root.sid).await?;
    if args.json {
        print_json(&tree.play)
    } else {
        eprintln!("{resume_id} answered; {} ({}) {}", root.name, root.sid, render::ended(tree.play.status));
        report(daemon, &tree).await
    }
}

async fn list(daemon: &Daemon, args: &ResumeArgs) -> Result<u8, CliError> {
    let root = daemon.root_of(&args.play_sid).await?;
    let tree = daemon.tree(&root.sid).await?;
    let open = render::open_questions(&tree);
    if args.json {
        let items: Vec<Value> = open.iter().map(|(asker, request)| question_json(asker, request)).collect();
        let text = serde_json::to_string_pretty(&items)
            .map_err(|e| CliError::Failed(format!("cannot encode the questions as JSON: {e}")))?;
        println!("{text}");
    } else if open.is_empty() {
        eprintln!("{} ({}) is {}; no question waits for an answer", root.name, root.sid, root.status.as_str());
    } else {
        println!("{}", questions_table(&tree));
        eprintln!("answer one with `hero_logic resume {} <RESUME_ID> <value>`", root.sid);
    }
    Ok(0)
}

/// One row per open question: its id, the Play that asks, the form, the prompt, the options.
pub fn questions_table(tree: &PlayTree) -> String {
    let rows: Vec<Vec<String>> = render::open_questions(tree)
        .into_iter()
        .map(|(asker, request)| {
            let prompt = if request.ui.prompt.is_empty() { &request.name } else { &request.ui.prompt };
            vec![
                request.id.clone(),
                format!("{} ({})", asker.name, asker.sid),
                request.ui.kind.clone(),
                prompt.clone(),
                request.ui.options.join(" | "),
            ]
        })
        .collect();
    table(&["RESUME_ID", "PLAY", "KIND", "PROMPT", "OPTIONS"], &rows)
}

/// The question as the daemon stores it, with the Play that asks.
fn question_json(asker: &Play, request: &ResumeRequest) -> Value {
    let mut value = serde_json::to_value(request).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("play_sid".into(), json!(asker.sid));
        map.insert("play_name".into(), json!(asker.name));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::{PlayStatus, ResumeUi};

    #[test]
    fn the_table_lists_each_open_question_with_its_asker() {
        let question = ResumeRequest {
            id: "choose_option:choice:0".into(),
            name: "choice".into(),
            ui: ResumeUi {
                kind: "choice".into(),
                prompt: "Which plan?".into(),
                options: vec!["basic".into(), "pro".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let tree = PlayTree {
            play: Play {
                sid: "000a".into(),
                name: "pick_plan".into(),
                status: PlayStatus::AwaitingResume,
                ..Default::default()
            },
            descendants: vec![Play {
                sid: "000c".into(),
                name: "choose_option".into(),
                parent_play_sid: "000a".into(),
                status: PlayStatus::AwaitingResume,
                pending_resumes: vec![question],
                ..Default::default()
            }],
        };
        let text = questions_table(&tree);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "RESUME_ID               PLAY                  KIND    PROMPT       OPTIONS");
        assert_eq!(lines[1], "choose_option:choice:0  choose_option (000c)  choice  Which plan?  basic | pro");
    }
}
