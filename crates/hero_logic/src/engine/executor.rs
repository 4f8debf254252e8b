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

use super::python::PythonRuntime;
use super::runner::{CapturedOutput, RunPaths, Runner, RunnerEnv};
use super::sandbox::{self, Budget};
use super::session::{self, RunMode, Session};
use super::{Control, Core};
use crate::now_ms;

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
    let python = match &core.python {
        Ok(python) => python.clone(),
        Err(message) => return core.fail_unstarted(play, message.clone()),
    };
    if mode == RunMode::Fresh {
        play.status = PlayStatus::Running;
        play.started_at = now_ms();
        if let Err(e) = store.play_update(&play) {
            tracing::error!(%play_sid, error = %e, "cannot mark a Play running");
            return;
        }
        core.changed();
    }

    let mut runner = match acquire_runner(core, &python, play_sid, budget) {
        Ok(runner) => runner,
        Err(message) => return core.fail_unstarted(play, message),
    };
    tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "runner acquired");
    runner.write_pid_file();
    let pid = runner.pid;
    let (control_tx, control_rx) = mpsc::channel();
    core.register(play_sid, control_tx.clone());
    let stop = Arc::new(Mutex::new(None));
    let watchdog = spawn_watchdog(pid, budget, control_rx, Arc::clone(&stop));

    let name = logic_name(core, &version.logic_sid);
    let mut session = Session::new(core, runner.secret.clone(), play, &version, &name, mode, tree);
    if runner.connect() {
        if let Some((stream, ahead)) = runner.take_connection() {
            converse(&mut session, stream, ahead);
        }
    }
    // A runner that reported `finish` has said all it will: record the result now, so that
    // waiters do not wait for the process to exit and be reaped.
    let reported = session.finish.is_some() && stop.lock().unwrap_or_else(|p| p.into_inner()).is_none();
    if reported {
        finalize(core, &mut session, None, None, budget, String::new());
        core.changed();
    }
    tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "runner done");
    let exit = runner.child.wait();
    let _ = control_tx.send(Control::Done);
    let _ = watchdog.join();
    // Whatever the body left behind in its process group goes with it.
    sandbox::kill_group(pid);
    let tail = std::mem::replace(&mut runner.output, CapturedOutput::none()).join();
    let stop = *stop.lock().unwrap_or_else(|p| p.into_inner());
    if reported {
        append_late_output(core, play_sid, &tail);
    } else if stop != Some(Stop::Shutdown) {
        finalize(core, &mut session, exit.ok(), stop, budget, tail);
    }
    core.unregister(play_sid);
    runner.paths.clean();
    core.changed();
    tracing::debug!(%play_sid, us = clock.elapsed().as_micros() as u64, "run recorded");
}

/// A warm runner when one fits the budget (and a replacement is started in the background),
/// else a freshly spawned one.
fn acquire_runner(core: &Arc<Core>, python: &PythonRuntime, play_sid: &str, budget: Budget) -> Result<Runner, String> {
    let data_dir = &core.settings.data_dir;
    if let Some(runner) = core.warm.take(data_dir, play_sid, budget) {
        core.refill_warm();
        return Ok(runner);
    }
    let env = RunnerEnv {
        python,
        env_allow: &core.settings.env_allow,
        rpc_socket: &core.settings.rpc_socket,
        extra: &core.settings.runner_vars,
    };
    Runner::spawn(&env, data_dir, play_sid, budget)
}

/// The Play and, when it is resumed or recovered, its recorded descendants (one query).
fn load_run(core: &Core, play_sid: &str, mode: &RunMode) -> crate::store::StoreResult<Option<(hero_logic_api::Play, Vec<hero_logic_api::Play>)>> {
    let store = core.library.store();
    if *mode == RunMode::Fresh {
        return Ok(store.play_get(play_sid)?.map(|p| (p, Vec::new())));
    }
    let mut tree = store.play_tree(play_sid)?.into_iter();
    Ok(tree.next().map(|root| (root, tree.collect())))
}

/// Kills what a crashed daemon's runner of this Play left behind (the runner dies with its
/// daemon; processes its body started may not).
fn kill_orphans(data_dir: &Path, play_sid: &str) {
    let pid_file = RunPaths::new(data_dir, play_sid).pid_file;
    let Ok(text) = std::fs::read_to_string(&pid_file) else { return };
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    // Only a process group that still belongs to a hero_tracing runner of ours.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains("hero_tracing.runner") {
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

/// Serves the runner's requests until it closes the connection or breaks the protocol.
fn converse(session: &mut Session, stream: UnixStream, ahead: Vec<u8>) {
    let Ok(write_half) = stream.try_clone() else { return };
    if stream.set_read_timeout(Some(IDLE_FLUSH)).is_err() {
        return;
    }
    let mut writer = std::io::BufWriter::new(write_half);
    let mut lines = LineReader { stream, buffer: ahead };
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if let Err(e) = session.flush() {
                    tracing::error!(error = %e, "cannot write running children");
                }
                continue;
            }
            Err(_) => return,
        };
        tracing::trace!(line = %line.chars().take(60).collect::<String>(), "runner said");
        match session.handle_line(line.trim_end()) {
            Ok(Some(response)) => {
                let sent = writer
                    .write_all(response.as_bytes())
                    .and_then(|_| writer.write_all(b"\n"))
                    .and_then(|_| writer.flush());
                if sent.is_err() || session.finish.is_some() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "runner broke the protocol; dropping it");
                return;
            }
        }
    }
}

/// Newline-delimited reading that survives read timeouts without losing partial lines.
struct LineReader {
    stream: UnixStream,
    buffer: Vec<u8>,
}

impl LineReader {
    /// The next complete line; `Ok(None)` at end of stream; a timeout as an error.
    fn next_line(&mut self) -> std::io::Result<Option<String>> {
        let mut chunk = [0u8; 16384];
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
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
    })
}

/// Writes the verdict on the top-level Play and on every child the run left open.
fn finalize(core: &Core, session: &mut Session, exit: Option<ExitStatus>, stop: Option<Stop>, budget: Budget, tail: String) {
    let store = core.library.store();
    if let Err(e) = session.flush() {
        tracing::error!(error = %e, "cannot write the run's open children");
    }
    let replayed = session.take_replayed();
    if !replayed.is_empty() {
        if let Err(e) = store.plays_update(&replayed, None) {
            tracing::error!(error = %e, "cannot mark replayed steps");
        }
    }
    let (mut root, children) = session.take_open();
    append_runner_output(&mut root, &tail);
    if session.suspended.is_some() && stop.is_none() {
        // Waiting for a person: the chain keeps its `awaiting_resume`, with the logs so far;
        // unless an answer or a cancel already moved it on, which this must not undo.
        // Branches the question stopped midway (they shared its thread or event loop) wait
        // with it: they go on from their start on resume, under the same sids.
        let guard = (root.sid.clone(), PlayStatus::AwaitingResume);
        let mut chain = vec![root];
        chain.extend(children.into_iter().map(|mut child| {
            if child.status == PlayStatus::Running {
                child.status = PlayStatus::AwaitingResume;
            }
            child
        }));
        if let Err(e) = store.plays_update(&chain, Some((&guard.0, guard.1))) {
            tracing::error!(error = %e, "cannot record a waiting Play");
        }
        return;
    }
    let finish = session.finish.take().map(|finish| match session.fatal.take() {
        Some(fatal) => session::Finish { status: PlayStatus::Failed, output: finish.output, error: fatal },
        None => finish,
    });
    let (status, output, message) = match (stop, finish) {
        (Some(Stop::Cancelled), _) => (PlayStatus::Cancelled, Map::new(), "cancelled by play_cancel".to_string()),
        (Some(Stop::Shutdown), _) => unreachable!("a run stopped by shutdown is left for the next start"),
        (Some(Stop::TimedOut), _) => (
            PlayStatus::TimedOut,
            Map::new(),
            format!("the wall-clock budget of {} ms ran out; the runner's process group was killed", budget.wall_clock_ms),
        ),
        (None, Some(finish)) => (finish.status, finish.output, finish.error),
        (None, None) => (PlayStatus::Failed, Map::new(), describe_exit(exit, &tail)),
    };
    for mut child in children {
        let child_status = if status == PlayStatus::Success { PlayStatus::Failed } else { status };
        let note = format!("the run ended before this step finished: {}", first_line(&message));
        session::close(&mut child, child_status, Map::new(), note);
        if let Err(e) = store.play_update(&child) {
            tracing::error!(sid = %child.sid, error = %e, "cannot record an unfinished child");
        }
    }
    session::close(&mut root, status, output, message);
    if let Err(e) = store.play_update(&root) {
        tracing::error!(sid = %root.sid, error = %e, "cannot record a Play's result");
    }
}

/// What the runner wrote to its real stdout/stderr after a Play was recorded (rare: an
/// interpreter warning at exit) joins the top-level Play's logs.
fn append_late_output(core: &Core, play_sid: &str, tail: &str) {
    if tail.trim().is_empty() {
        return;
    }
    let store = core.library.store();
    if let Ok(Some(mut root)) = store.play_get(play_sid) {
        append_runner_output(&mut root, tail);
        if let Err(e) = store.play_update(&root) {
            tracing::error!(%play_sid, error = %e, "cannot add the runner's last output");
        }
    }
}

fn append_runner_output(root: &mut hero_logic_api::Play, tail: &str) {
    if tail.trim().is_empty() {
        return;
    }
    root.logs.push_str("[runner output]\n");
    root.logs.push_str(tail);
    if !tail.ends_with('\n') {
        root.logs.push('\n');
    }
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
