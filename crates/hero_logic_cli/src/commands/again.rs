//! `hero_logic rerun <play>` and `hero_logic fork <play> --from N`: a new top-level Play from
//! an earlier one: the same inputs run again, or, for a fork, the recorded steps before N
//! replayed (not run again) and the rest run fresh, optionally on another version.

use clap::Args;
use hero_logic_api::params::{PlayForkParams, PlaySidParams, StepRef};
use hero_logic_api::{methods, Play};

use crate::commands::run::{print_json, report};
use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;
use crate::render;

/// What `rerun` and `fork` share: how to report the new Play.
#[derive(Debug, Clone, Args)]
pub struct Follow {
    /// Wait until the new Play ends or asks a person, and report it as `run` does
    #[arg(long)]
    pub wait: bool,
    /// Print the new Play as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RerunArgs {
    /// The top-level Play to run again with the same logic, version, inputs and limits
    pub play_sid: String,
    #[command(flatten)]
    pub follow: Follow,
}

#[derive(Debug, Clone, Args)]
pub struct ForkArgs {
    /// The top-level Play to fork
    pub play_sid: String,
    /// The first step that runs again: its place among the Play's child calls, from 0, or
    /// its step key. The steps before it are replayed from their recorded results
    #[arg(long = "from", value_name = "N|STEP_KEY", value_parser = parse_step)]
    pub from_step: StepRef,
    /// Run this version of the logic (sid or label) instead of the forked Play's
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    #[command(flatten)]
    pub follow: Follow,
}

pub async fn rerun(args: RerunArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.follow.daemon);
    let play: Play = daemon.call(methods::PLAY_RERUN, PlaySidParams { play_sid: args.play_sid.clone() }).await?;
    follow(&daemon, &args.follow, play, &format!("re-run of {}", args.play_sid)).await
}

pub async fn fork(args: ForkArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.follow.daemon);
    let params =
        PlayForkParams { play_sid: args.play_sid.clone(), from_step: args.from_step.clone(), version: args.version.clone() };
    let play: Play = daemon.call(methods::PLAY_FORK, params).await?;
    follow(&daemon, &args.follow, play, &format!("fork of {} from step {}", args.play_sid, args.from_step)).await
}

/// Prints the new Play's sid (or, with `--wait`, how it ended).
async fn follow(daemon: &Daemon, how: &Follow, play: Play, what: &str) -> Result<u8, CliError> {
    if !how.wait {
        if how.json {
            return print_json(&play).map(|_| 0);
        }
        println!("{}", play.sid);
        eprintln!("{what}: Play {} of {} queued (--wait waits for it to end)", play.sid, play.name);
        return Ok(0);
    }
    daemon.wait_settled(&play.sid).await?;
    let tree = daemon.tree(&play.sid).await?;
    if how.json {
        print_json(&tree.play)
    } else {
        eprintln!("{what}: {} ({}) {}", tree.play.name, tree.play.sid, render::ended(tree.play.status));
        report(daemon, &tree).await
    }
}

/// A number is a step's place; anything else, its step key.
fn parse_step(text: &str) -> Result<StepRef, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("name a step: its place among the Play's child calls (0, 1, ...) or its step key".into());
    }
    Ok(text.parse().map(StepRef::Index).unwrap_or_else(|_| StepRef::Key(text.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_a_place_or_a_key() {
        assert_eq!(parse_step("2"), Ok(StepRef::Index(2)));
        assert_eq!(parse_step("fetch:2:00ff"), Ok(StepRef::Key("fetch:2:00ff".into())));
        assert!(parse_step(" ").is_err());
    }
}
