//! The fork server: one Python process per daemon (SDK and common modules imported once, no
//! user data, no secret) that forks one sandboxed child per Play (DESIGN.md §14).
//!
//! The daemon talks to it over a SOCK_SEQPACKET socketpair, one JSON object per packet
//! (`sdk/python/hero_tracing/forkserver.py` has the messages), the Play's fds attached with
//! SCM_RIGHTS. One long-lived thread starts the server, reads its reports and starts it
//! again when it dies; Plays start cold meanwhile.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::python::PythonRuntime;
use super::sandbox::{AheadCgroup, PlayCgroup};

/// Makes the cgroups of one process made ahead of time, by name; None when it cannot.
pub type AheadMaker = Arc<dyn Fn(&str) -> Option<AheadCgroup> + Send + Sync>;

/// Longest wait for the server to report a child's pid.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Raw wait status for a Play whose server died under it (killed by SIGKILL).
const LOST_STATUS: i32 = libc::SIGKILL;

/// The reports a started Play waits for: its pid, then its raw wait status.
struct Waiters {
    started: Sender<Result<(u32, Option<PlayCgroup>), SpawnError>>,
    exited: Sender<i32>,
}

#[derive(Default)]
struct State {
    /// The live server's control socket; None while it is (re)starting.
    control: Option<Arc<OwnedFd>>,
    /// Spawn requests sent, by Play sid, until the server reports the pid.
    starting: HashMap<String, Waiters>,
    /// Started Plays by host pid, until the server reports their exit.
    running: HashMap<u32, Sender<i32>>,
    /// Cgroups handed to the server for processes made ahead, by name, until a Play takes
    /// them over or the server releases them.
    ahead: HashMap<String, PlayCgroup>,
    /// Names given to cgroups made ahead so far.
    ahead_made: u64,
}

pub struct ForkServer {
    state: Arc<Mutex<State>>,
}

/// A Play started by the fork server: its host pid and where its exit status arrives.
pub struct Forked {
    pub pid: u32,
    pub exited: Receiver<i32>,
    /// The cgroups the process joined ahead of time (its Play's limits written), when it did.
    pub cgroup: Option<PlayCgroup>,
}

/// Why the server did not start a Play.
#[derive(Debug)]
pub enum SpawnError {
    /// Asked for a process made ahead in cgroups of its own (`cgroup_ahead`), none was ready.
    NotReady,
    Failed(String),
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::NotReady => f.write_str("no process made ahead is ready"),
            SpawnError::Failed(e) => f.write_str(e),
        }
    }
}

/// What a spawn sends the fork server: the shared part of the config (the server compares
/// its bytes, and reads it only when they change), the whole config (passed on to the Play's
/// process unread), and whether only a process made ahead in cgroups of its own will do.
pub struct Spawn<'a> {
    pub shared: &'a Value,
    pub config: &'a Value,
    pub cgroup_ahead: bool,
}

impl Spawn<'_> {
    /// Three lines in one packet: header, shared part, config (compact JSON has no newline).
    fn packet(&self, play_sid: &str) -> Vec<u8> {
        let header = json!({"op": "spawn", "play": play_sid, "cgroup_ahead": self.cgroup_ahead});
        format!("{header}\n{}\n{}", self.shared, self.config).into_bytes()
    }
}

/// How the server makes processes ahead of time.
pub struct Ahead {
    /// How many it keeps ready (`[engine] warm_runners`); 0 forks each Play when it starts.
    pub processes: usize,
    /// Makes their cgroups; None when Plays get no cgroup.
    pub cgroups: Option<AheadMaker>,
}

impl ForkServer {
    /// Starts the server and the thread that keeps it running.
    pub fn start(python: &PythonRuntime, ahead: Ahead) -> ForkServer {
        let state = Arc::new(Mutex::new(State::default()));
        let keeper = Arc::clone(&state);
        let python = python.clone();
        let spawned = std::thread::Builder::new().name("fork-server".into()).spawn(move || keep_running(&python, &keeper, &ahead));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no fork server: every Play starts cold");
        }
        ForkServer { state }
    }

    pub fn is_up(&self) -> bool {
        self.lock().control.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the server to fork the Play's process with these fds
    /// (channel, stdout, stderr, cgroup.procs...). Err when the server is down or refuses.
    pub fn spawn(&self, play_sid: &str, request: Spawn<'_>, fds: &[RawFd]) -> Result<Forked, SpawnError> {
        let (started_tx, started_rx) = mpsc::channel();
        let (exited_tx, exited_rx) = mpsc::channel();
        let control = {
            let mut state = self.lock();
            let control = state.control.clone().ok_or_else(|| SpawnError::Failed("the fork server is not running".into()))?;
            state.starting.insert(play_sid.to_string(), Waiters { started: started_tx, exited: exited_tx });
            control
        };
        if let Err(e) = send_with_fds(control.as_raw_fd(), &request.packet(play_sid), fds) {
            self.lock().starting.remove(play_sid);
            return Err(SpawnError::Failed(format!("cannot reach the fork server: {e}")));
        }
        match started_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok((pid, cgroup))) => Ok(Forked { pid, exited: exited_rx, cgroup }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.lock().starting.remove(play_sid);
                Err(SpawnError::Failed("the fork server did not start the Play in time".into()))
            }
        }
    }
}

/// The fork server's keeper: start it, read its reports until it dies, start it again.
fn keep_running(python: &PythonRuntime, state: &Arc<Mutex<State>>, ahead: &Ahead) {
    let mut quick_deaths = 0u32;
    loop {
        let began = Instant::now();
        match launch(python, ahead.processes) {
            Ok((mut child, control)) => {
                let control = Arc::new(control);
                state.lock().unwrap_or_else(|p| p.into_inner()).control = Some(Arc::clone(&control));
                tracing::info!(pid = child.id(), "fork server started");
                read_reports(control.as_raw_fd(), state, ahead.cgroups.as_ref());
                let status = child.wait();
                lose_everything(state);
                tracing::warn!(?status, "the fork server died; Plays start cold until it is back");
            }
            Err(e) => tracing::warn!(error = %e, "cannot start the fork server; Plays start cold"),
        }
        quick_deaths = if began.elapsed() < Duration::from_secs(5) { quick_deaths + 1 } else { 0 };
        // A server that cannot stay up is not restarted in a tight loop.
        std::thread::sleep(Duration::from_millis(100u64 << quick_deaths.min(8)));
    }
}

fn launch(python: &PythonRuntime, processes: usize) -> std::io::Result<(std::process::Child, OwnedFd)> {
    let (ours, theirs) = seqpacket_pair()?;
    let theirs_fd = theirs.as_raw_fd();
    let mut command = Command::new(&python.interpreter);
    command
        .args(["-I", "-S", "-c", &python.bootstrap(&format!("import hero_tracing.forkserver as f; f.main({processes})"))])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()))
        .env("LANG", std::env::var("LANG").unwrap_or_else(|_| "C.UTF-8".into()))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: only async-signal-safe calls (setsid, prctl, dup2) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::dup2(theirs_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    drop(theirs);
    Ok((child, ours))
}

fn read_reports(control: RawFd, state: &Arc<Mutex<State>>, cgroups: Option<&AheadMaker>) {
    let mut buffer = vec![0u8; 65536];
    loop {
        // SAFETY: reading into our own buffer.
        let n = unsafe { libc::recv(control, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        let Ok(report) = serde_json::from_slice::<Value>(&buffer[..n as usize]) else { continue };
        if report["op"] == "need_cgroup" {
            send_ahead_cgroup(control, state, cgroups);
            continue;
        }
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let play = report["play"].as_str().unwrap_or_default();
        match report["op"].as_str() {
            Some("started") => {
                let pid = report["pid"].as_u64().unwrap_or(0) as u32;
                let cgroup = report["cgroup"].as_str().and_then(|name| state.ahead.remove(name));
                if let Some(waiters) = state.starting.remove(play) {
                    state.running.insert(pid, waiters.exited);
                    let _ = waiters.started.send(Ok((pid, cgroup)));
                }
            }
            Some("failed") => {
                if let Some(waiters) = state.starting.remove(play) {
                    let error = if report["not_ready"] == true {
                        SpawnError::NotReady
                    } else {
                        SpawnError::Failed(format!("the fork server refused: {}", report["error"]))
                    };
                    let _ = waiters.started.send(Err(error));
                }
            }
            Some("exited") => {
                let pid = report["pid"].as_u64().unwrap_or(0) as u32;
                if let Some(exited) = state.running.remove(&pid) {
                    let _ = exited.send(report["status"].as_i64().unwrap_or(LOST_STATUS as i64) as i32);
                }
            }
            Some("release") => {
                // Removed outside the lock: removal waits for what is left in it to die.
                let released = state.ahead.remove(report["cgroup"].as_str().unwrap_or_default());
                drop(state);
                drop(released);
            }
            _ => {}
        }
    }
}

/// Answers the server's `need_cgroup`: the cgroup.procs files, then the limit files, of a
/// fresh cgroup for a process made ahead; `no_cgroup` when none can be made.
fn send_ahead_cgroup(control: RawFd, state: &Arc<Mutex<State>>, cgroups: Option<&AheadMaker>) {
    let name = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.ahead_made += 1;
        format!("ahead-{}", state.ahead_made)
    };
    let Some(ahead) = cgroups.and_then(|make| make(&name)) else {
        let _ = send_with_fds(control, br#"{"op": "no_cgroup"}"#, &[]);
        return;
    };
    let mut fds: Vec<RawFd> = ahead.cgroup.procs.iter().map(|f| f.as_raw_fd()).collect();
    fds.extend(ahead.limits.iter().map(|(_, f)| f.as_raw_fd()));
    let names: Vec<&str> = ahead.limits.iter().map(|(n, _)| n.as_str()).collect();
    let message = json!({"op": "cgroup", "id": name, "procs": ahead.cgroup.procs.len(), "limits": names}).to_string();
    let mut cgroup = ahead.cgroup;
    if send_with_fds(control, message.as_bytes(), &fds).is_ok() {
        cgroup.procs.clear();
        state.lock().unwrap_or_else(|p| p.into_inner()).ahead.insert(name, cgroup);
    }
}

/// The server died: its Plays died with it (PR_SET_PDEATHSIG); whoever waits hears so.
fn lose_everything(state: &Arc<Mutex<State>>) {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.control = None;
    state.ahead.clear();
    for (_, waiters) in state.starting.drain() {
        let _ = waiters.started.send(Err(SpawnError::Failed("the fork server died".into())));
    }
    for (_, exited) in state.running.drain() {
        let _ = exited.send(LOST_STATUS);
    }
}

fn seqpacket_pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two fds into the array.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// One packet carrying `fds` as SCM_RIGHTS.
pub fn send_with_fds(socket: RawFd, data: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    let mut control = vec![0u8; space.max(1)];
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer holds one cmsghdr with room for the fds.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cmsg), fd_bytes);
        }
    }
    // SAFETY: msg describes valid buffers.
    if unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
