//! `hero_logic logs <play>`: what a Play printed and logged, and what its child Plays did,
//! one block per Play in call order.

use clap::Args;
use hero_logic_api::params::PlayTree;
use hero_logic_api::Play;

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The Play, by sid
    pub play: String,
    /// Only this Play's own logs, not its children's
    #[arg(long)]
    pub own: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub async fn run(args: LogsArgs) -> Result<u8, CliError> {
    let daemon = Daemon::connect(&args.daemon);
    let tree = daemon.tree(&args.play).await?;
    let text = logs_text(&tree, args.own);
    if text.is_empty() {
        eprintln!("Play {} logged nothing", tree.play.sid);
    } else {
        print!("{text}");
    }
    Ok(0)
}

/// A header per Play that logged something (`== name (sid) status`, indented by depth), then
/// its lines; Plays that logged nothing are left out.
pub fn logs_text(tree: &PlayTree, own: bool) -> String {
    let mut text = String::new();
    let mut stack: Vec<(&Play, usize)> = vec![(&tree.play, 0)];
    while let Some((play, depth)) = stack.pop() {
        if !play.logs.trim().is_empty() {
            let indent = "  ".repeat(depth);
            text.push_str(&format!("{indent}== {} ({}) {}\n", play.name, play.sid, play.status.as_str()));
            for line in play.logs.trim_end().lines() {
                text.push_str(&format!("{indent}{line}\n"));
            }
        }
        if own {
            continue;
        }
        let children: Vec<&Play> = tree.descendants.iter().filter(|p| p.parent_play_sid == play.sid).collect();
        // Pushed in reverse so the first call is printed first.
        stack.extend(children.into_iter().rev().map(|child| (child, depth + 1)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(sid: &str, parent: &str, logs: &str) -> Play {
        Play { sid: sid.into(), name: format!("l{sid}"), parent_play_sid: parent.into(), logs: logs.into(), ..Default::default() }
    }

    #[test]
    fn children_follow_their_parent_in_call_order_and_silent_plays_are_left_out() {
        let tree = PlayTree {
            play: play("a", "", "start\n"),
            descendants: vec![play("b", "a", "one\ntwo"), play("c", "a", ""), play("d", "c", "deep"), play("e", "a", "last")],
        };
        assert_eq!(
            logs_text(&tree, false),
            "== la (a) pending\nstart\n  == lb (b) pending\n  one\n  two\n    == ld (d) pending\n    deep\n  == le (e) pending\n  last\n"
        );
        assert_eq!(logs_text(&tree, true), "== la (a) pending\nstart\n");
    }
}
