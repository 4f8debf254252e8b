//! Runner processes: spawning one into its sandbox, connecting to it, and a small pool of
//! warm runners that have started Python, imported the SDK and said hello, so that a Play
//! starts without paying for an interpreter start (DESIGN.md §12).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::python::PythonRuntime;
use super::sandbox::{self, Budget};
use crate::now_ms;

/// Most bytes of the runner's own stdout/stderr kept for the Play's logs.
const OUTPUT_TAIL_BYTES: usize = 64 * 1024;
/// How long a warm runner may take to start and say hello.
const WARM_START: Duration = Duration::from_secs(20);

/// Where a runner's socket, pid file and working directory live.
pub struct RunPaths {
    pub run_dir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub work_dir: PathBuf,
}

impl RunPaths {
    pub fn new(data_dir: &Path, name: &str) -> RunPaths {
        let run_dir = data_dir.join("run");
        RunPaths {
            socket: run_dir.join(format!("{name}.sock")),
            pid_file: run_dir.join(format!("{name}.pid")),
            work_dir: data_dir.join("work").join(name),
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

    pub fn clean(&self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// A runner process and its event socket.
pub struct Runner {
    pub child: Child,
    pub pid: u32,
    pub secret: String,
    pub paths: RunPaths,
    listener: UnixListener,
    pub output: CapturedOutput,
    /// Set once connected: the stream and whatever the runner already sent.
    connection: Option<(UnixStream, Vec<u8>)>,
    budget: Budget,
}

/// What the runner is told about its surroundings.
pub struct RunnerEnv<'a> {
    pub python: &'a PythonRuntime,
    pub env_allow: &'a [String],
    pub rpc_socket: &'a Path,
    /// More variables (the model endpoint and table; see crate::models).
    pub extra: &'a [(String, String)],
}

impl Runner {
    /// Starts a runner named `name` (a Play sid, or a warm runner's name) into its sandbox.
    pub fn spawn(env: &RunnerEnv, data_dir: &Path, name: &str, budget: Budget) -> Result<Runner, String> {
        let paths = RunPaths::new(data_dir, name);
        let listener = paths
            .prepare()
            .and_then(|_| bind_private(&paths.socket))
            .map_err(|e| format!("cannot prepare the run under {}: {e}", paths.run_dir.display()))?;
        let secret = random_hex(16);
        let mut own: Vec<(String, String)> = vec![
            ("HERO_LOGIC_EVENT_SOCKET".into(), paths.socket.display().to_string()),
            ("HERO_LOGIC_PLAY_SECRET".into(), secret.clone()),
            ("HERO_LOGIC_PLAY_SID".into(), name.to_string()),
            ("HERO_LOGIC_MEMORY_MB".into(), budget.memory_mb.to_string()),
            ("HERO_LOGIC_SOCKET".into(), env.rpc_socket.display().to_string()),
        ];
        own.extend(env.extra.iter().cloned());
        let variables = sandbox::runner_env(env.env_allow, own);
        let mut command =
            sandbox::runner_command(&env.python.interpreter, &env.python.bootstrap(), &paths.work_dir, &variables, budget);
        let mut child = command.spawn().map_err(|e| {
            paths.clean();
            format!("cannot start the Python runner {}: {e}", env.python.interpreter.display())
        })?;
        let pid = child.id();
        let output = capture_output(&mut child);
        Ok(Runner { child, pid, secret, paths, listener, output, connection: None, budget })
    }

    /// Waits for the runner to connect; false when it exits (or is killed) first.
    pub fn connect(&mut self) -> bool {
        if self.connection.is_some() {
            return true;
        }
        loop {
            let mut fd = libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one pollfd that lives across the call.
            let ready = unsafe { libc::poll(&mut fd, 1, 20) };
            if ready > 0 {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        self.connection = Some((stream, Vec::new()));
                        return true;
                    }
                    Err(_) => return false,
                }
            }
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
        }
    }

    /// The connection and the bytes the runner sent ahead (a warm runner's hello).
    pub fn take_connection(&mut self) -> Option<(UnixStream, Vec<u8>)> {
        self.connection.take()
    }

    /// Reads the runner's first line (its hello) ahead, so that it waits, warm, for a Play.
    fn read_hello(&mut self, deadline: Instant) -> bool {
        let Some((stream, pending)) = self.connection.as_mut() else { return false };
        let mut chunk = [0u8; 4096];
        while !pending.contains(&b'\n') {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                return false;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return false,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
            }
        }
        true
    }

    /// Hands a warm runner to Play `play_sid`: its working dir and pid file take the Play's
    /// name (the process's cwd follows the renamed directory). A runner that cannot be
    /// handed over is killed.
    fn assign(mut self, data_dir: &Path, play_sid: &str) -> Option<Runner> {
        let target = RunPaths::new(data_dir, play_sid);
        let _ = std::fs::remove_dir_all(&target.work_dir);
        if std::fs::rename(&self.paths.work_dir, &target.work_dir).is_err() {
            self.kill();
            return None;
        }
        let _ = std::fs::remove_file(&self.paths.socket);
        self.paths = target;
        Some(self)
    }

    pub fn write_pid_file(&self) {
        let _ = std::fs::write(&self.paths.pid_file, self.pid.to_string());
    }

    /// Kills the runner's process group and waits for the runner.
    pub fn kill(mut self) {
        sandbox::kill_group(self.pid);
        let _ = self.child.wait();
        self.paths.clean();
    }
}

/// Idle runners started with the default budget, each connected and waiting for its Play.
pub struct WarmPool {
    idle: Mutex<Vec<Runner>>,
    size: usize,
    started: AtomicU64,
}

impl WarmPool {
    pub fn new(size: usize) -> WarmPool {
        WarmPool { idle: Mutex::new(Vec::new()), size, started: AtomicU64::new(0) }
    }

    /// A warm runner for a Play with this budget, if one is idle and still alive.
    pub fn take(&self, data_dir: &Path, play_sid: &str, budget: Budget) -> Option<Runner> {
        loop {
            let mut runner = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
            if runner.budget != budget {
                self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(runner);
                return None;
            }
            if !matches!(runner.child.try_wait(), Ok(None)) {
                runner.paths.clean();
                continue;
            }
            if let Some(runner) = runner.assign(data_dir, play_sid) {
                return Some(runner);
            }
        }
    }

    /// Starts runners until `size` are idle; call from a background thread.
    pub fn fill(&self, env: &RunnerEnv, data_dir: &Path, budget: Budget) {
        while self.idle.lock().unwrap_or_else(|p| p.into_inner()).len() < self.size {
            let n = self.started.fetch_add(1, Ordering::Relaxed);
            let name = format!("warm-{}-{n}", std::process::id());
            let mut runner = match Runner::spawn(env, data_dir, &name, budget) {
                Ok(runner) => runner,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start a warm runner");
                    return;
                }
            };
            if !(runner.connect() && runner.read_hello(Instant::now() + WARM_START)) {
                tracing::warn!("a warm runner did not say hello; Plays start cold meanwhile");
                runner.kill();
                return;
            }
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(runner);
        }
    }

    /// Kills every idle runner (daemon shutdown).
    pub fn drain(&self) {
        let idle: Vec<Runner> = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        for runner in idle {
            runner.kill();
        }
    }
}

fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The runner's own stdout and stderr, read on two threads so neither pipe fills up.
pub struct CapturedOutput {
    readers: Vec<std::thread::JoinHandle<Vec<u8>>>,
}

impl CapturedOutput {
    /// Nothing captured (what is left after the output was taken).
    pub fn none() -> CapturedOutput {
        CapturedOutput { readers: Vec::new() }
    }

    pub fn join(self) -> String {
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

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buffer)).is_err() {
        // No /dev/urandom (odd sandbox): fall back to time and address entropy, still per runner.
        let seed = now_ms() ^ (&buffer as *const _ as u64) ^ u64::from(std::process::id());
        buffer.iter_mut().enumerate().for_each(|(i, b)| *b = (seed >> ((i % 8) * 8)) as u8 ^ i as u8);
    }
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
