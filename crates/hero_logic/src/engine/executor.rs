//! Runs one top-level Play: socket, sandboxed runner, protocol session, and the verdict.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_logic_api::PlayStatus;
use serde_json::Map;

use super::sandbox::{self, Budget};
use super::session::{self, RunMode, Session};
use super::{Control, Core};
use crate::now_ms;

/// Most bytes of the runner's own stdout/stderr kept for the Play's logs.
const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

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
pub fn run(core: &Core, play_sid: &str, budget: Budget, mode: RunMode) {
    let store = core.library.store();
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

    let paths = RunPaths::new(&core.settings.data_dir, play_sid);
    let secret = random_hex(16);
    let listener = match paths.prepare().and_then(|_| bind_private(&paths.socket)) {
        Ok(listener) => listener,
        Err(e) => return core.fail_unstarted(play, format!("cannot prepare the run under {}: {e}", paths.run_dir.display())),
    };
    let env = sandbox::runner_env(
        &core.settings.env_allow,
        vec![
            ("HERO_LOGIC_EVENT_SOCKET".into(), paths.socket.display().to_string()),
            ("HERO_LOGIC_PLAY_SECRET".into(), secret.clone()),
            ("HERO_LOGIC_PLAY_SID".into(), play_sid.to_string()),
            ("HERO_LOGIC_MEMORY_MB".into(), budget.memory_mb.to_string()),
            ("HERO_LOGIC_SOCKET".into(), core.settings.rpc_socket.display().to_string()),
        ],
    );
    let mut command = sandbox::runner_command(&python.interpreter, &python.bootstrap(), &paths.work_dir, &env, budget);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            paths.clean();
            return core.fail_unstarted(
                play,
                format!("cannot start the Python runner {}: {e}", python.interpreter.display()),
            );
        }
    };
    let pid = child.id();
    let _ = std::fs::write(&paths.pid_file, pid.to_string());
    let (control_tx, control_rx) = mpsc::channel();
    core.register(play_sid, control_tx.clone());
    let output = capture_output(&mut child);
    let stop = Arc::new(Mutex::new(None));
    let watchdog = spawn_watchdog(pid, budget, control_rx, Arc::clone(&stop));

    let name = logic_name(core, &version.logic_sid);
    let mut session = Session::new(core, secret, play, &version, &name, mode, tree);
    if let Some(stream) = accept_runner(&listener, &mut child) {
        converse(&mut session, stream);
    }
    let exit = child.wait();
    let _ = control_tx.send(Control::Done);
    let _ = watchdog.join();
    // Whatever the body left behind in its process group goes with it.
    sandbox::kill_group(pid);
    let tail = output.join();
    let stop = *stop.lock().unwrap_or_else(|p| p.into_inner());
    if stop != Some(Stop::Shutdown) {
        finalize(core, &mut session, exit.ok(), stop, budget, tail);
    }
    core.unregister(play_sid);
    paths.clean();
    core.changed();
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

/// The per-Play paths: the event socket and the working directory.
struct RunPaths {
    run_dir: PathBuf,
    socket: PathBuf,
    pid_file: PathBuf,
    work_dir: PathBuf,
}

impl RunPaths {
    fn new(data_dir: &Path, play_sid: &str) -> RunPaths {
        let run_dir = data_dir.join("run");
        RunPaths {
            socket: run_dir.join(format!("{play_sid}.sock")),
            pid_file: run_dir.join(format!("{play_sid}.pid")),
            work_dir: data_dir.join("work").join(play_sid),
            run_dir,
        }
    }

    fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.run_dir)?;
        std::fs::set_permissions(&self.run_dir, std::fs::Permissions::from_mode(0o700))?;
        std::fs::create_dir_all(&self.work_dir)?;
        std::fs::set_permissions(&self.work_dir, std::fs::Permissions::from_mode(0o700))?;
        match std::fs::remove_file(&self.socket) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn clean(&self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Waits for the runner to connect; `None` when it exits (or is killed) first.
fn accept_runner(listener: &UnixListener, child: &mut Child) -> Option<UnixStream> {
    loop {
        let mut fd = libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd that lives across the call.
        let ready = unsafe { libc::poll(&mut fd, 1, 20) };
        if ready > 0 {
            return listener.accept().ok().map(|(stream, _)| stream);
        }
        if !matches!(child.try_wait(), Ok(None)) {
            return None;
        }
    }
}

/// How long the runner may be silent before the run's unwritten child starts are written,
/// so that a live view sees running children.
const IDLE_FLUSH: Duration = Duration::from_millis(25);

/// Serves the runner's requests until it closes the connection or breaks the protocol.
fn converse(session: &mut Session, stream: UnixStream) {
    let Ok(write_half) = stream.try_clone() else { return };
    if stream.set_read_timeout(Some(IDLE_FLUSH)).is_err() {
        return;
    }
    let mut writer = std::io::BufWriter::new(write_half);
    let mut lines = LineReader::new(stream);
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
        match session.handle_line(line.trim_end()) {
            Ok(Some(response)) => {
                let sent = writer
                    .write_all(response.as_bytes())
                    .and_then(|_| writer.write_all(b"\n"))
                    .and_then(|_| writer.flush());
                if sent.is_err() {
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
    fn new(stream: UnixStream) -> Self {
        LineReader { stream, buffer: Vec::with_capacity(8192) }
    }

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

/// The runner's own stdout and stderr, read on two threads so neither pipe fills up.
struct CapturedOutput {
    readers: Vec<std::thread::JoinHandle<Vec<u8>>>,
}

impl CapturedOutput {
    fn join(self) -> String {
        let mut text = String::new();
        for reader in self.readers {
            if let Ok(bytes) = reader.join() {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        text
    }
}

fn capture_output(child: &mut Child) -> CapturedOutput {
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(std::thread::spawn(move || read_tail(out)));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(std::thread::spawn(move || read_tail(err)));
    }
    CapturedOutput { readers }
}

fn read_tail(mut pipe: impl Read) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut chunk) {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > OUTPUT_TAIL_BYTES * 2 {
            tail.drain(..tail.len() - OUTPUT_TAIL_BYTES);
        }
    }
    if tail.len() > OUTPUT_TAIL_BYTES {
        tail.drain(..tail.len() - OUTPUT_TAIL_BYTES);
    }
    tail
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
        let guard = (root.sid.clone(), PlayStatus::AwaitingResume);
        let mut chain = vec![root];
        chain.extend(children);
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

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buffer)).is_err() {
        // No /dev/urandom (odd sandbox): fall back to time and address entropy, still per-Play.
        let seed = now_ms() ^ (&buffer as *const _ as u64) ^ u64::from(std::process::id());
        buffer.iter_mut().enumerate().for_each(|(i, b)| *b = (seed >> ((i % 8) * 8)) as u8 ^ i as u8);
    }
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
