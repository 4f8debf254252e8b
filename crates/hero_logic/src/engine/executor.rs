//! Runs one top-level Play: socket, sandboxed runner, protocol session, and the verdict.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_logic_api::PlayStatus;
use serde_json::Map;

use super::runner::{CapturedOutput, RunPaths};
use super::sandbox::{self, Budget};
use super::lifecycle::{self, Event};
use super::session::{self, RunMode, RunOutcome, Session};
use super::{Control, Core};
use crate::now_ms;
use crate::store::PlayBatch;

/// Why the daemon stopped a run before it ended by itself.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    TimedOut,
    Cancelled,
    Shutdown,
}

/// Runs a top-level Play until it ends or waits for a person. A fresh run takes a `pending`
/// Play; a resumed or recovered one takes a `running` Play and replays its recorded tree.
/// Never panics on anything the Play does.
pub fn run(core: &Arc<Core>, play_sid: &str, budget: Budget, mode: RunMode) {
    let store = core.library.store();
    let clock = std::time::Instant::now();
    // A runner that just asked a question may still be exiting when the answer comes in; two
    // runs of one Play never overlap.
    core.wait_until_not_running(play_sid);
    let expected = if mode == RunMode::Fresh { PlayStatus::Pending } else { PlayStatus::Running };
    let (mut play, tree) = match load_run(core, play_sid, &mode) {
        Ok(Some((play, tree))) if play.status == expected => (play, tree),
        Ok(_) => return, // cancelled while queued, or gone
        Err(e) => {
            tracing::error!(%play_sid, error = %e, "cannot load a queued Play");
            return;
        }
    };
    if mode == RunMode::Recover {
        kill_orphans(&core.settings.data_dir, play_sid);
    }
    let version = match store.version_get(&play.logic_version_sid) {
        Ok(Some(v)) => v,
        _ => return core.fail_unstarted(play, "the Play's logic version no longer exists".into()),
    };
    let starter = match (&core.python, &core.starter) {
        (Ok(_), Some(starter)) => Arc::clone(starter),
        (Err(message), _) => return core.fail_unstarted(play, message.clone()),
        (Ok(_), None) => return core.fail_unstarted(play, "the Play sandbox is not set up".into()),
    };
    let budget = Budget { network: budget.network || version.network, ..budget };
    let mut runner = match starter.start(&core.settings.data_dir, play_sid, budget) {
        Ok(runner) => runner,
        Err(message) => return core.fail_unstarted(play, message),
    };
    tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "runner acquired");
    runner.write_pid_file();
    let pid = runner.pid;
    let (control_tx, control_rx) = mpsc::channel();
    core.register(play_sid, control_tx.clone());
    // Marked running while its process sets itself up (its first line is milliseconds
    // away), and registered first: a cancel either finds it registered or wins the mark.
    if mode == RunMode::Fresh && !mark_running(core, &mut play) {
        core.unregister(play_sid);
        return discard(runner);
    }
    let stop = Arc::new(Mutex::new(None));
    let watchdog = spawn_watchdog(pid, budget, control_rx, Arc::clone(&stop), runner.channel_cutter());

    let name = logic_name(core, &version.logic_sid);
    // The inherited channel is the authentication: hello carries no secret.
    let mut session = Session::new(core, String::new(), play, &version, &name, mode, tree);
    let outcome = match runner.connect().then(|| runner.take_connection()).flatten() {
        Some((stream, ahead)) => converse(&mut session, stream, ahead, core.settings.caps.protocol_line),
        None => RunOutcome::Ended(None),
    };
    runner.close_channel();
    // A runner that reported `finish` has said all it will: record the result now, so that
    // waiters do not wait for the process to exit and be reaped.
    let reported =
        matches!(outcome, RunOutcome::Finished(_)) && stop.lock().unwrap_or_else(|p| p.into_inner()).is_none();
    if reported {
        if let Some(verdict) = verdict(&outcome, None, None, budget, "") {
            finalize(core, &mut session, verdict, String::new());
        }
        core.changed();
    }
    tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "runner done");
    let end = RunEnd { core: Arc::clone(core), play_sid: play_sid.to_string(), runner, control_tx, watchdog, stop, budget, clock };
    if reported {
        // The Play is recorded: the worker moves on to the next one while the process exits
        // and is reaped, its cgroup removed and its last output drained.
        let spawned = std::thread::Builder::new().name("play-end".into()).spawn(move || end.close(&outcome, None));
        if let Err(e) = spawned {
            tracing::error!(%play_sid, error = %e, "cannot start the thread that ends a run");
        }
        return;
    }
    end.close(&outcome, Some(&mut session));
}

/// Marks a fresh Play running, unless it is no longer pending (cancelled while queued).
/// Lost in a crash, the Play is still pending and is started afresh: no step of it can be
/// recorded before a durable write, which makes this one durable too.
fn mark_running(core: &Core, play: &mut hero_logic_api::Play) -> bool {
    if let Err(e) = lifecycle::apply(play, Event::Start) {
        tracing::error!(play_sid = %play.sid, error = %e, "cannot start a queued Play");
        return false;
    }
    play.started_at = now_ms();
    match core.library.store().play_update_lazily(play, PlayStatus::Pending) {
        Ok(marked) => {
            core.changed();
            marked
        }
        Err(e) => {
            tracing::error!(play_sid = %play.sid, error = %e, "cannot mark a Play running");
            false
        }
    }
}

/// The process of a Play that will not run: killed and reaped, its output and paths gone.
fn discard(mut runner: super::runner::Runner) {
    runner.kill_all();
    let _ = runner.wait();
    std::mem::replace(&mut runner.output, CapturedOutput::none()).join();
    runner.paths.clean();
    runner.remove_cgroup();
}

/// What is left of a run once the runner stopped talking: its process, watchdog and output.
struct RunEnd {
    core: Arc<Core>,
    play_sid: String,
    runner: super::runner::Runner,
    control_tx: mpsc::Sender<Control>,
    watchdog: std::thread::JoinHandle<()>,
    stop: Arc<Mutex<Option<Stop>>>,
    budget: Budget,
    clock: std::time::Instant,
}

impl RunEnd {
    /// Waits for the process (the namespace's PID 1 goes with the body; the watchdog still
    /// applies meanwhile), kills whatever is left (its group, its cgroup) so no escaped
    /// descendant keeps a pipe, or the engine, waiting; then records the verdict with the
    /// runner's own output, or (`session` None: the runner reported it) adds that output.
    fn close(self, outcome: &RunOutcome, session: Option<&mut Session>) {
        let RunEnd { core, play_sid, mut runner, control_tx, watchdog, stop, budget, clock } = self;
        let exit = runner.wait();
        let _ = control_tx.send(Control::Done);
        let _ = watchdog.join();
        runner.kill_all();
        let tail = std::mem::replace(&mut runner.output, CapturedOutput::none()).join();
        let stop = *stop.lock().unwrap_or_else(|p| p.into_inner());
        match session {
            None => append_late_output(&core, &play_sid, &tail),
            Some(session) => {
                if let Some(verdict) = verdict(outcome, stop, exit.ok(), budget, &tail) {
                    finalize(&core, session, verdict, tail);
                }
            }
        }
        // Its work dir and pid file go before the Play is free to run again: a resume waits
        // for the unregister and then makes the same paths afresh.
        runner.paths.clean();
        core.unregister(&play_sid);
        core.changed();
        tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "run recorded");
        runner.remove_cgroup();
    }
}

/// The Play and, when it is resumed, recovered or forked, its recorded descendants.
fn load_run(core: &Core, play_sid: &str, mode: &RunMode) -> crate::store::StoreResult<Option<(hero_logic_api::Play, Vec<hero_logic_api::Play>)>> {
    let store = core.library.store();
    if *mode == RunMode::Fresh {
        match store.play_get(play_sid)? {
            // A fork starts with steps copied from the Play it was forked from.
            Some(play) if !play.sub_play_sids.is_empty() => {}
            found => return Ok(found.map(|p| (p, Vec::new()))),
        }
    }
    let kept = match mode {
        RunMode::Resume { .. } => core.take_answered_tree(play_sid),
        _ => None,
    };
    let mut tree = match kept {
        Some(tree) => tree,
        None => store.play_tree(play_sid)?,
    }
    .into_iter();
    Ok(tree.next().map(|root| (root, tree.collect())))
}

/// Kills what a crashed daemon's runner of this Play left behind (the runner dies with its
/// daemon; processes its body started may not).
pub(super) fn kill_orphans(data_dir: &Path, play_sid: &str) {
    let pid_file = RunPaths::new(data_dir, play_sid).pid_file;
    let Ok(text) = std::fs::read_to_string(&pid_file) else { return };
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    // Only a process group that still belongs to a hero_tracing runner of ours.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains("hero_tracing.") {
        sandbox::kill_group(pid);
    }
    let _ = std::fs::remove_file(pid_file);
}

fn logic_name(core: &Core, logic_sid: &str) -> String {
    core.library.store().logic_get(logic_sid).ok().flatten().map(|l| l.name).unwrap_or_default()
}

/// How long the runner may be silent before the run's unwritten child starts are written,
/// so that a live view sees running children.
const IDLE_FLUSH: Duration = Duration::from_millis(25);

/// Serves the runner's requests until it finishes, closes the connection or breaks the
/// protocol, and says how the run ended.
fn converse(session: &mut Session, stream: UnixStream, ahead: Vec<u8>, max_line: usize) -> RunOutcome {
    answer_hello_ahead(session, &stream);
    let broken = serve(session, stream, ahead, max_line);
    session.outcome(broken)
}

/// Writes the answer to the runner's `hello` before it is asked (see
/// `Session::answer_hello_ahead`). A runner that is gone already is seen when its
/// conversation reads end-of-file.
fn answer_hello_ahead(session: &mut Session, mut stream: &UnixStream) {
    if let Some(answer) = session.answer_hello_ahead() {
        let _ = stream.write_all(answer.as_bytes()).and_then(|_| stream.write_all(b"\n"));
    }
}

/// The conversation itself; returns why the daemon dropped the runner, if it did.
fn serve(session: &mut Session, stream: UnixStream, ahead: Vec<u8>, max_line: usize) -> Option<String> {
    let Ok(write_half) = stream.try_clone() else { return None };
    if stream.set_read_timeout(Some(IDLE_FLUSH)).is_err() {
        return None;
    }
    let mut writer = std::io::BufWriter::new(write_half);
    let mut lines = LineReader { stream, buffer: ahead, max_line, searched: 0 };
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return None,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if let Err(e) = session.flush() {
                    tracing::error!(error = %e, "cannot write running children");
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Some(e.to_string()),
            Err(_) => return None,
        };
        tracing::trace!(line = %line.chars().take(60).collect::<String>(), "runner said");
        match session.handle_line(line.trim_end()) {
            Ok(Some(response)) => {
                let sent = writer
                    .write_all(response.as_bytes())
                    .and_then(|_| writer.write_all(b"\n"))
                    .and_then(|_| writer.flush());
                if sent.is_err() || session.finished() {
                    return None;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "runner broke the protocol; dropping it");
                return Some(e.to_string());
            }
        }
    }
}

/// Newline-delimited reading that survives read timeouts without losing partial lines, and
/// holds at most `max_line` bytes of a line.
struct LineReader {
    stream: UnixStream,
    buffer: Vec<u8>,
    max_line: usize,
    /// How much of `buffer` is known to hold no newline, so a long line is scanned once.
    searched: usize,
}

impl LineReader {
    /// The next complete line; `Ok(None)` at end of stream; a timeout as an error.
    fn next_line(&mut self) -> std::io::Result<Option<String>> {
        let mut chunk = [0u8; 16384];
        loop {
            if let Some(offset) = self.buffer[self.searched..].iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=self.searched + offset).collect();
                self.searched = 0;
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            self.searched = self.buffer.len();
            if self.buffer.len() > self.max_line {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the runner sent a protocol line of more than {} bytes (engine.max_protocol_line_bytes in \
                         service.toml); a Play's output, logs or arguments must stay under it",
                        self.max_line
                    ),
                ));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Kills the run's process group when its wall-clock budget runs out or it is cancelled.
fn spawn_watchdog(
    pid: u32,
    budget: Budget,
    control: mpsc::Receiver<Control>,
    stop: Arc<Mutex<Option<Stop>>>,
    channel: Option<UnixStream>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let reason = match control.recv_timeout(Duration::from_millis(budget.wall_clock_ms)) {
            Ok(Control::Done) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Control::Cancel) => Stop::Cancelled,
            Ok(Control::Shutdown) => Stop::Shutdown,
            Err(RecvTimeoutError::Timeout) => Stop::TimedOut,
        };
        *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        sandbox::kill_group(pid);
        // A descendant that escaped the kill must not hold the conversation open.
        if let Some(channel) = channel {
            let _ = channel.shutdown(std::net::Shutdown::Both);
        }
    })
}

/// What a run leaves on its Plays.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// The chain waits for a person, as the pause left it.
    Waiting,
    /// The top-level Play ends with this; children the run left open end with it too.
    Closed { status: PlayStatus, output: Map<String, serde_json::Value>, message: String },
}

/// How the run ended, from what the runner said (`outcome`), why the daemon stopped it
/// (`stop`) and how the process exited. None for a run stopped by the daemon's shutdown: it
/// is left `running` for the next start to recover.
fn verdict(outcome: &RunOutcome, stop: Option<Stop>, exit: Option<ExitStatus>, budget: Budget, tail: &str) -> Option<Verdict> {
    let closed = |status, output, message| Some(Verdict::Closed { status, output, message });
    match (stop, outcome) {
        (Some(Stop::Shutdown), _) => None,
        (Some(Stop::Cancelled), _) => closed(PlayStatus::Cancelled, Map::new(), "cancelled by play_cancel".to_string()),
        (Some(Stop::TimedOut), _) => closed(
            PlayStatus::TimedOut,
            Map::new(),
            format!("the wall-clock budget of {} ms ran out; the runner's process group was killed", budget.wall_clock_ms),
        ),
        (None, RunOutcome::Suspended(resume_id)) => {
            tracing::debug!(%resume_id, "the run waits for a person");
            Some(Verdict::Waiting)
        }
        (None, RunOutcome::Finished(finish)) => closed(finish.status, finish.output.clone(), finish.error.clone()),
        (None, RunOutcome::Diverged(message)) => closed(PlayStatus::Failed, Map::new(), message.clone()),
        (None, RunOutcome::Ended(broken)) => {
            let exit = describe_exit(exit, tail);
            let message = match broken {
                Some(reason) => format!("{reason}; {exit}"),
                None => exit,
            };
            closed(PlayStatus::Failed, Map::new(), message)
        }
    }
}

/// Writes the verdict on the top-level Play and on every child the run left open.
fn finalize(core: &Core, session: &mut Session, verdict: Verdict, tail: String) {
    let (status, output, message) = match verdict {
        Verdict::Waiting => return record_waiting(core, session, tail),
        Verdict::Closed { status, output, message } => (status, output, message),
    };
    // One commit: the children not written yet, the logs not written yet and every open
    // Play closed; replayed steps only get their flag set here (not a rewrite each).
    let mut batch = session.take_unwritten();
    batch.replayed = session.take_replayed();
    let (mut root, children) = session.take_open();
    if let Some(text) = runner_output(&tail) {
        batch.logs.push((root.sid.clone(), text));
    }
    for mut child in children {
        let child_status = if status == PlayStatus::Success { PlayStatus::Failed } else { status };
        let note = format!("the run ended before this step finished: {}", first_line(&message));
        session::close(&mut child, lifecycle::ending(child_status), Map::new(), note);
        batch.updates.push(child);
    }
    session::close(&mut root, lifecycle::ending(status), output, message);
    batch.updates.push(root);
    if let Err(e) = core.library.store().play_batch(&batch, None) {
        tracing::error!(error = %e, "cannot record a Play's result");
    }
}

/// Waiting for a person: the chain keeps its `awaiting_resume`, with the logs so far; unless
/// an answer or a cancel already moved it on, which this must not undo. Branches the
/// question stopped midway (they shared its thread or event loop) wait with it: they go on
/// from their start on resume, under the same sids.
fn record_waiting(core: &Core, session: &mut Session, tail: String) {
    let store = core.library.store();
    if let Err(e) = session.flush() {
        tracing::error!(error = %e, "cannot write the run's open children");
    }
    let replayed = session.take_replayed();
    let mut logs = session.take_logs();
    let (root, children) = session.take_open();
    if let Some(text) = runner_output(&tail) {
        logs.push((root.sid.clone(), text));
    }
    let guard = root.sid.clone();
    let mut updates = vec![root];
    updates.extend(children.into_iter().map(|mut child| {
        if child.status == PlayStatus::Running {
            let _ = lifecycle::apply(&mut child, Event::Ask);
        }
        child
    }));
    let batch = PlayBatch { updates, logs, replayed, ..Default::default() };
    // As the pause left it: a second commit would cost an fsync and make a resume that came
    // meanwhile read the run's whole tree again (the answer kept the tree it read).
    if batch.logs.is_empty() && batch.replayed.is_empty() && session.as_written_waiting(&batch.updates) {
        return;
    }
    if let Err(e) = store.play_batch(&batch, Some((&guard, PlayStatus::AwaitingResume))) {
        tracing::error!(error = %e, "cannot record a waiting Play");
    }
}

/// What the runner wrote to its real stdout/stderr after a Play was recorded (rare: an
/// interpreter warning at exit) joins the top-level Play's logs.
fn append_late_output(core: &Core, play_sid: &str, tail: &str) {
    let Some(text) = runner_output(tail) else { return };
    let batch = PlayBatch { logs: vec![(play_sid.to_string(), text)], ..Default::default() };
    if let Err(e) = core.library.store().play_batch(&batch, None) {
        tracing::error!(%play_sid, error = %e, "cannot add the runner's last output");
    }
}

/// The runner's own output as it joins the top-level Play's logs; None when there is none.
fn runner_output(tail: &str) -> Option<String> {
    if tail.trim().is_empty() {
        return None;
    }
    let newline = if tail.ends_with('\n') { "" } else { "\n" };
    Some(format!("[runner output]\n{tail}{newline}"))
}

fn describe_exit(exit: Option<ExitStatus>, tail: &str) -> String {
    let what = match exit {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("the runner exited with code {code} before finishing"),
            (None, Some(signal)) => format!("the runner was killed by signal {}", sandbox::signal_name(signal)),
            _ => "the runner ended before finishing".to_string(),
        },
        None => "the runner could not be waited for".to_string(),
    };
    let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    if last.is_empty() {
        what
    } else {
        format!("{what}; its last output: {}", last.trim())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::session::Finish;

    const BUDGET: Budget = Budget { wall_clock_ms: 1000, memory_mb: 256, max_open_files: 64, max_processes: 64, network: false };

    fn status_of(verdict: Option<Verdict>) -> Option<PlayStatus> {
        match verdict? {
            Verdict::Waiting => Some(PlayStatus::AwaitingResume),
            Verdict::Closed { status, .. } => Some(status),
        }
    }

    #[test]
    fn a_stop_wins_over_what_the_runner_said() {
        let finished = RunOutcome::Finished(Finish { status: PlayStatus::Success, output: Map::new(), error: String::new() });
        assert_eq!(status_of(verdict(&finished, Some(Stop::Cancelled), None, BUDGET, "")), Some(PlayStatus::Cancelled));
        assert_eq!(status_of(verdict(&finished, Some(Stop::TimedOut), None, BUDGET, "")), Some(PlayStatus::TimedOut));
        assert_eq!(verdict(&finished, Some(Stop::Shutdown), None, BUDGET, ""), None, "left for the next start");
        assert_eq!(status_of(verdict(&finished, None, None, BUDGET, "")), Some(PlayStatus::Success));
        let waiting = RunOutcome::Suspended("main:q:0".into());
        assert_eq!(verdict(&waiting, None, None, BUDGET, ""), Some(Verdict::Waiting));
    }

    #[test]
    fn a_run_that_ended_without_finish_fails_saying_why() {
        let Some(Verdict::Closed { status, message, .. }) =
            verdict(&RunOutcome::Ended(Some("the runner broke the protocol: x".into())), None, None, BUDGET, "Traceback\nBoom\n")
        else {
            panic!("closed")
        };
        assert_eq!(status, PlayStatus::Failed);
        assert!(message.starts_with("the runner broke the protocol: x; "), "{message}");
        assert!(message.ends_with("its last output: Boom"), "{message}");
        let Some(Verdict::Closed { message, .. }) = verdict(&RunOutcome::Diverged("diverged".into()), None, None, BUDGET, "")
        else {
            panic!("closed")
        };
        assert_eq!(message, "diverged");
    }

    #[test]
    fn lines_survive_timeouts_and_split_reads() {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut lines = LineReader { stream: a, buffer: b"{\"op\"".to_vec(), max_line: 64, searched: 0 };
        assert!(lines.next_line().is_err(), "a timeout, not a line");
        b.write_all(b": 1}\nnext").unwrap();
        assert_eq!(lines.next_line().unwrap().as_deref(), Some("{\"op\": 1}\n"));
        drop(b);
        assert_eq!(lines.next_line().unwrap(), None);
    }

    #[test]
    fn a_line_over_the_cap_is_refused_not_buffered() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut lines = LineReader { stream: a, buffer: Vec::new(), max_line: 10, searched: 0 };
        b.write_all(&[b'x'; 64]).unwrap();
        let error = lines.next_line().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("more than 10 bytes"), "{error}");
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod replay_tests;
