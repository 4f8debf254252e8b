//! `hero_logic run <logic>`: starts a Play, shows its tree while it runs, answers its
//! questions (from `--answer` values, then by asking in the terminal when stdin is one), then
//! prints its output (or why it did not succeed). The exit code tells scripts how it went.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use hero_logic_api::error as codes;
use hero_logic_api::params::{Limits, PlayStartParams, PlayTree, SidParams};
use hero_logic_api::admin_token;
use hero_logic_api::service::{ServiceConfig, ENV_ADMIN_ADDR};
use hero_logic_api::{methods, LogicVersion, Play, PlayStatus, ResumeRequest};
use serde_json::Value;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::ask::{self, Asked, Terminal};
use crate::commands::up::connectable;
use crate::connect::{settled, Daemon, DaemonArgs};
use crate::error::{CliError, EXIT_AWAITING, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE};
use crate::inputs::{self, parse_input, InputArg};
use crate::render::tree::{terminal_size, LineView, TreeView, TtyView};
use crate::render::{self, now_ms};

/// The fastest the tree is polled: smooth enough to watch, light enough for the daemon.
const MIN_POLL: Duration = Duration::from_millis(150);
/// The slowest: a huge tree is fetched less often, so watching never loads the daemon more
/// than the Play itself does.
const MAX_POLL: Duration = Duration::from_secs(2);
/// How long `--json` waits per call; the view is not drawn, so nothing needs a refresh.
const QUIET_WAIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The Logic to run, by name or sid
    pub logic: String,
    /// An input as KEY=VALUE (repeatable). VALUE is JSON when it parses as JSON (5, true,
    /// {"a":1}, "quoted"), else plain text (-i name=Ada)
    #[arg(short = 'i', long = "input", value_name = "KEY=VALUE", value_parser = parse_input)]
    pub inputs: Vec<InputArg>,
    /// Read the inputs from a JSON object in FILE (`-` for stdin); -i values override it
    #[arg(long, value_name = "FILE")]
    pub input_json: Option<PathBuf>,
    /// Run this version (sid or label) instead of the current one
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Print only the final Play, as JSON (for scripts)
    #[arg(long)]
    pub json: bool,
    /// Wall-clock budget of the Play in milliseconds; past it the Play ends `timed_out`
    /// [default: the daemon's, 300000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    /// Answer the Play's questions in order, without asking (repeatable). VALUE is read as
    /// if typed at the question (2 picks a choice's option 2, y confirms), or JSON the form
    /// takes as it is (3, ["a","b"]). Once they run out, questions are asked in the
    /// terminal, or `run` exits 4 when stdin is not one
    #[arg(long = "answer", value_name = "VALUE", allow_hyphen_values = true)]
    pub answers: Vec<String>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

/// How watching ended.
enum Watched {
    /// Boxed: a tree is large and `Interrupted` carries nothing.
    Settled(Box<PlayTree>),
    Interrupted,
}

/// Runs the command; the result is the exit code.
pub async fn run(args: RunArgs) -> Result<u8, CliError> {
    let inputs = inputs::collect(args.input_json.as_deref(), &args.inputs)?;
    // Installed before the Play starts, so a Ctrl-C at any point cancels it.
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| CliError::Failed(format!("cannot catch Ctrl-C: {e}")))?;
    let daemon = Daemon::connect(&args.daemon);
    let params = PlayStartParams {
        logic: args.logic.clone(),
        inputs,
        version: args.version.clone(),
        limits: args.timeout_ms.map(|ms| Limits { wall_clock_ms: Some(ms), ..Default::default() }),
        ..Default::default()
    };
    let play: Play = daemon.call(methods::PLAY_START, params).await?;
    let mut view = if args.json { None } else { Some(view_for_stdout()) };
    let mut answers: VecDeque<String> = args.answers.iter().cloned().collect();
    // Questions are asked in the terminal only when a person can type at it.
    let interactive = std::io::stdin().is_terminal();
    let mut terminal: Option<Terminal> = None;
    loop {
        let tree = match watch(&daemon, &play.sid, &mut view, &mut interrupt).await? {
            Watched::Settled(tree) => tree,
            Watched::Interrupted => return cancel(&daemon, &play.sid, args.json).await,
        };
        let open = render::open_questions(&tree);
        let Some(&(asker, request)) = open.first().filter(|_| tree.play.status == PlayStatus::AwaitingResume) else {
            if !answers.is_empty() {
                eprintln!("note: {} --answer value(s) were not needed", answers.len());
            }
            return finish(&daemon, &tree, args.json).await;
        };
        if let Some(raw) = answers.pop_front() {
            let answer = ask::interpret_answer(request, &raw);
            if let Err(err) = daemon.resume(&asker.sid, &request.id, answer.clone()).await {
                return refused(&daemon, &tree, asker, request, &answer, err, args.json);
            }
            if let Some(view) = view.as_mut() {
                view.resumed();
            }
            continue;
        }
        if !interactive {
            return finish(&daemon, &tree, args.json).await;
        }
        if let Some(view) = view.as_mut() {
            view.detach();
        }
        let terminal = terminal.get_or_insert_with(Terminal::new);
        match ask::ask(&daemon, asker, request, terminal, &mut interrupt).await? {
            Asked::Answered => {
                if let Some(view) = view.as_mut() {
                    view.resumed();
                }
            }
            Asked::Closed => return finish(&daemon, &tree, args.json).await,
            // A waiting Play holds no process and can be answered later: it is not cancelled.
            Asked::Interrupted => {
                finish(&daemon, &tree, args.json).await?;
                return Ok(EXIT_INTERRUPTED);
            }
        }
    }
}

/// How the run stands once watching stops: the final Play as JSON, or the output, the
/// failure or the questions still open.
async fn finish(daemon: &Daemon, tree: &PlayTree, json: bool) -> Result<u8, CliError> {
    if json {
        print_json(&tree.play)
    } else {
        report(daemon, tree).await
    }
}

/// An `--answer` the daemon did not take: say why, and leave the Play waiting.
fn refused(
    daemon: &Daemon,
    tree: &PlayTree,
    asker: &Play,
    request: &ResumeRequest,
    answer: &Value,
    err: CliError,
    json: bool,
) -> Result<u8, CliError> {
    let CliError::Rpc { code, .. } = &err else { return Err(err) };
    if !matches!(*code, codes::VALIDATION | codes::INVALID_STATE) {
        return Err(err);
    }
    let prompt = if request.ui.prompt.is_empty() { &request.name } else { &request.ui.prompt };
    eprintln!("--answer {answer} was not accepted for {prompt:?} ({}, asked by {}): {err}", request.id, asker.sid);
    if json {
        print_json(&tree.play)?;
    } else {
        print_questions(daemon, tree);
    }
    Ok(EXIT_USAGE)
}

/// Redrawn in place on a terminal, one line per event anywhere else (pipes, CI logs).
fn view_for_stdout() -> Box<dyn TreeView> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        let color = std::env::var_os("NO_COLOR").is_none();
        Box::new(TtyView::new(stdout, color, terminal_size()))
    } else {
        Box::new(LineView::new(stdout))
    }
}

/// Follows the Play until it ends or asks a person, drawing the tree when there is a view.
async fn watch(
    daemon: &Daemon,
    play_sid: &str,
    view: &mut Option<Box<dyn TreeView>>,
    interrupt: &mut Signal,
) -> Result<Watched, CliError> {
    loop {
        let fetch = Instant::now();
        let tree = daemon.tree(play_sid).await?;
        if let Some(view) = view.as_mut() {
            // A closed stdout must not stop the Play from being followed to its end.
            let _ = view.update(&tree, now_ms());
        }
        if settled(&tree.play) {
            return Ok(Watched::Settled(Box::new(tree)));
        }
        // play_wait returns as soon as the Play ends, so the last frame is never late.
        let pause = if view.is_some() { (fetch.elapsed() * 2).clamp(MIN_POLL, MAX_POLL) } else { QUIET_WAIT };
        tokio::select! {
            waited = daemon.wait(play_sid, pause) => { waited?; }
            _ = interrupt.recv() => return Ok(Watched::Interrupted),
        }
    }
}

pub fn print_json(play: &Play) -> Result<u8, CliError> {
    let text = serde_json::to_string_pretty(play)
        .map_err(|e| CliError::Failed(format!("cannot encode the Play as JSON: {e}")))?;
    println!("{text}");
    Ok(exit_code(play.status))
}

fn exit_code(status: PlayStatus) -> u8 {
    match status {
        PlayStatus::Success => 0,
        PlayStatus::AwaitingResume => EXIT_AWAITING,
        _ => EXIT_FAILED,
    }
}

/// The output on success, the error (then its traceback) otherwise, the questions on a pause.
pub async fn report(daemon: &Daemon, tree: &PlayTree) -> Result<u8, CliError> {
    let play = &tree.play;
    match play.status {
        PlayStatus::Success => print_output(daemon, play).await,
        PlayStatus::AwaitingResume => print_questions(daemon, tree),
        _ => print_failure(play),
    }
    Ok(exit_code(play.status))
}

async fn print_output(daemon: &Daemon, play: &Play) {
    // The declared outputs only order the lines; without them the output still prints.
    let declared = daemon
        .call::<LogicVersion>(methods::LOGIC_VERSION.get, SidParams { sid: play.logic_version_sid.clone() })
        .await
        .map(|v| v.outputs)
        .unwrap_or_default();
    let text = render::output_text(&play.output_data, &declared);
    if text.is_empty() {
        eprintln!("{} ({}) succeeded with no output", play.name, play.sid);
    } else {
        println!("{text}");
    }
}

fn print_failure(play: &Play) {
    let (message, traceback) = render::split_traceback(&play.error_message);
    let message = if message.is_empty() { "no error message" } else { message };
    eprintln!("{} ({}) {}: {message}", play.name, play.sid, render::ended(play.status));
    if let Some(traceback) = traceback {
        eprintln!("\n{traceback}");
    }
    let _ = std::io::stderr().flush();
}

fn print_questions(daemon: &Daemon, tree: &PlayTree) {
    let play = &tree.play;
    eprintln!("{} ({}) waits for a person:", play.name, play.sid);
    for (asker, request) in render::open_questions(tree) {
        eprintln!("  {}", render::question_line(asker, request));
    }
    let admin = admin_address(daemon);
    eprintln!(
        "answer with `hero_logic resume {} <resume_id> <value>`, in the web admin \
         (http://{}/logics/{}?play={}) or with LogicService.play_resume",
        play.sid,
        connectable(&admin),
        play.logic_sid,
        play.sid
    );
}

/// Where the web admin of this daemon listens: the address its admin last ran on (noted
/// beside the token in the daemon's data dir, so `up --listen` is followed), else the
/// configured one.
fn admin_address(daemon: &Daemon) -> String {
    let config = ServiceConfig::defaults();
    let remembered = daemon
        .socket()
        .parent()
        .map(|data_dir| config.admin_token_file(None, data_dir))
        .and_then(|token_file| admin_token::remembered_addr(&token_file));
    let env_set = std::env::var(ENV_ADMIN_ADDR).is_ok_and(|addr| !addr.is_empty());
    match remembered {
        Some(addr) if !env_set => addr,
        _ => config.admin_listen(None),
    }
}

/// Ctrl-C: the Play is ours, so it is cancelled rather than left running unwatched.
async fn cancel(daemon: &Daemon, play_sid: &str, json: bool) -> Result<u8, CliError> {
    let cancelled = daemon.cancel(play_sid).await;
    match &cancelled {
        Ok(play) => eprintln!("interrupted: cancelled Play {} ({})", play.sid, play.status.as_str()),
        // It may have ended in the meantime; say so rather than fail.
        Err(err) => eprintln!("interrupted: Play {play_sid} was not cancelled: {err}"),
    }
    if let (true, Ok(play)) = (json, cancelled) {
        print_json(&play)?;
    }
    Ok(EXIT_INTERRUPTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_status() {
        assert_eq!(exit_code(PlayStatus::Success), 0);
        for status in [PlayStatus::Failed, PlayStatus::TimedOut, PlayStatus::Cancelled] {
            assert_eq!(exit_code(status), EXIT_FAILED);
        }
        assert_eq!(exit_code(PlayStatus::AwaitingResume), EXIT_AWAITING);
    }
}
