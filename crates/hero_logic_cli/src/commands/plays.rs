//! `hero_logic plays <logic>`: the Logic's recent Plays, newest first.

use clap::Args;
use hero_logic_api::params::{Page, PlayListForLogicParams, MAX_PAGE_LIMIT};
use hero_logic_api::{methods, Play};

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;
use crate::render::{self, now_ms, table::table};

#[derive(Debug, Clone, Args)]
pub struct PlaysArgs {
    /// The Logic, by name or sid
    pub logic: String,
    /// How many Plays to list, newest first
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_LIMIT)))]
    pub limit: u32,
    /// Print the page of Plays as JSON ({items, next_cursor})
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: PlaysArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.daemon);
    let params = PlayListForLogicParams { logic: args.logic.clone(), limit: Some(args.limit), cursor: None };
    let page: Page<Play> = daemon.call(methods::PLAY_LIST_FOR_LOGIC, params).await?;
    if args.json {
        let text = serde_json::to_string_pretty(&page)
            .map_err(|e| CliError::Failed(format!("cannot encode the Plays as JSON: {e}")))?;
        println!("{text}");
    } else if page.items.is_empty() {
        eprintln!("{} has no Plays yet; start one with `hero_logic run {}`", args.logic, args.logic);
    } else {
        println!("{}", plays_table(&page.items, now_ms()));
        if !page.next_cursor.is_empty() {
            eprintln!("(the {} newest; more with --limit)", page.items.len());
        }
    }
    Ok(0)
}

/// One row per Play. Child Plays (this Logic called by another) name their parent.
pub fn plays_table(plays: &[Play], now: u64) -> String {
    let rows: Vec<Vec<String>> = plays.iter().map(|play| row(play, now)).collect();
    table(&["SID", "STATUS", "STARTED", "DURATION", "PARENT", "ERROR"], &rows)
}

fn row(play: &Play, now: u64) -> Vec<String> {
    let started = if play.started_at == 0 { "not yet".to_string() } else { render::relative(play.started_at, now) };
    let took = render::elapsed(play, now).map(render::duration).unwrap_or_else(|| "-".into());
    let parent = if play.parent_play_sid.is_empty() { "-".to_string() } else { play.parent_play_sid.clone() };
    vec![
        play.sid.clone(),
        play.status.as_str().to_string(),
        started,
        took,
        parent,
        render::first_line(&play.error_message).to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use hero_logic_api::PlayStatus;

    #[test]
    fn rows_show_status_time_duration_and_first_error_line() {
        let now = 1_000_000_000_000;
        let plays = [
            Play {
                sid: "000b".into(),
                status: PlayStatus::Failed,
                started_at: now - 90_000,
                duration_ms: 42,
                error_message: "boom\n\nTraceback ...".into(),
                ..Default::default()
            },
            Play { sid: "000c".into(), parent_play_sid: "000a".into(), ..Default::default() },
        ];
        let text = plays_table(&plays, now);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SID   STATUS   STARTED  DURATION  PARENT  ERROR");
        assert_eq!(lines[1], "000b  failed   1m ago   42 ms     -       boom");
        assert_eq!(lines[2], "000c  pending  not yet  -         000a");
    }
}
