//! Runner processes: starting one per Play, from the fork server or cold, into the one
//! sandbox setup (`hero_tracing.sandbox`), with its channel (a socketpair fd), its output
//! pipes and its cgroup; waiting for it and killing it.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::forkserver::{Ahead, AheadMaker, ForkServer, Spawn, SpawnError};
use super::python::PythonRuntime;
use super::sandbox::{self, Budget, CgroupBound, PlayCgroup, Protections, SandboxPlan};

/// Most bytes of the runner's own stdout/stderr kept for the Play's logs.
const OUTPUT_TAIL_BYTES: usize = 64 * 1024;
/// How long the output readers may drain after the Play's process ended; whatever an
/// escaped descendant still holds open is not waited for.
const OUTPUT_DRAIN: Duration = Duration::from_millis(200);

/// Where a runner's pid file and working directory live.
pub struct RunPaths {
    pub run_dir: PathBuf,
    pub pid_file: PathBuf,
    pub work_dir: PathBuf,
}

impl RunPaths {
    pub fn new(data_dir: &Path, name: &str) -> RunPaths {
        let run_dir = data_dir.join("run");
        RunPaths { pid_file: run_dir.join(format!("{name}.pid")), work_dir: data_dir.join("work").join(name), run_dir }
    }

    fn prepare(&self) -> std::io::Result<()> {
        for dir in [&self.run_dir, &self.work_dir] {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    pub fn clean(&self) {
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

enum Process {
    Cold(Child),
    Forked(Receiver<i32>),
}

/// A Play's process (the one outside its PID namespace) and the daemon's end of its channel.
pub struct Runner {
    pub pid: u32,
    process: Process,
    channel: Option<UnixStream>,
    /// A second handle on the channel, so the watchdog can cut it.
    cutter: Option<UnixStream>,
    pub paths: RunPaths,
    pub output: CapturedOutput,
    cgroup: Option<PlayCgroup>,
    exit: Option<ExitStatus>,
}

impl Runner {
    /// The channel is connected from the start (kept for the executor's flow).
    pub fn connect(&mut self) -> bool {
        self.channel.is_some()
    }

    /// The daemon's end of the channel; nothing was read ahead.
    pub fn take_connection(&mut self) -> Option<(UnixStream, Vec<u8>)> {
        self.channel.take().map(|c| (c, Vec::new()))
    }

    /// A handle that shuts the channel down, so a read blocked on it returns.
    pub fn channel_cutter(&self) -> Option<UnixStream> {
        self.cutter.as_ref().and_then(|c| c.try_clone().ok())
    }

    /// Ends the conversation from the daemon's side: the runner reads end-of-file (and
    /// exits) even if the daemon stopped reading in the middle of it.
    pub fn close_channel(&self) {
        if let Some(cutter) = &self.cutter {
            let _ = cutter.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn write_pid_file(&self) {
        let _ = std::fs::write(&self.paths.pid_file, self.pid.to_string());
    }

    /// Waits for the Play's process to exit.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.exit {
            return Ok(status);
        }
        let status = match &mut self.process {
            Process::Cold(child) => child.wait()?,
            Process::Forked(exited) => ExitStatus::from_raw(exited.recv().unwrap_or(libc::SIGKILL)),
        };
        self.exit = Some(status);
        Ok(status)
    }

    /// Kills the Play's process group (the process and the PID 1 of its namespace, whose
    /// death takes every process of the namespace with it) and whatever its cgroup holds.
    pub fn kill_all(&mut self) {
        sandbox::kill_group(self.pid);
        if let Some(cgroup) = self.cgroup.as_ref() {
            cgroup.kill_members();
        }
    }

    /// Removes the Play's cgroup once what `kill_all` killed is gone: after the run is
    /// recorded and the Play free to run again, since the namespace's teardown can take
    /// milliseconds that a resume would otherwise wait for.
    pub fn remove_cgroup(&mut self) {
        if let Some(cgroup) = self.cgroup.as_mut() {
            cgroup.remove();
        }
    }
}

/// Starts Plays: the fork server when it is up, else a cold interpreter; both enter the same
/// sandbox. Holds what the start probe found.
pub struct Starter {
    python: PythonRuntime,
    plan: SandboxPlan,
    env_allow: Vec<String>,
    rpc_socket: PathBuf,
    extra: Vec<(String, String)>,
    cgroups: CgroupBound,
    fork_server: Option<ForkServer>,
    /// The fork server's processes made ahead join cgroups of their own (Plays get cgroups
    /// and some are made ahead): a start asks for one of them first.
    ahead_cgroups: bool,
    pub protections: Protections,
    cold_starts: AtomicU64,
}

/// What `Starter::new` needs from the engine's settings.
pub struct StarterSettings<'a> {
    pub data_dir: &'a Path,
    pub rpc_socket: &'a Path,
    pub env_allow: &'a [String],
    pub extra: &'a [(String, String)],
    pub allow_weaker: bool,
    pub fork_server: bool,
    /// Processes the fork server keeps made ahead of time (`[engine] warm_runners`).
    pub warm_runners: usize,
    pub shared_dirs: &'a [PathBuf],
}

impl Starter {
    /// Probes the sandbox, decides whether Plays may run, and starts the fork server.
    pub fn new(python: &PythonRuntime, settings: StarterSettings) -> Arc<Starter> {
        let mut plan = SandboxPlan {
            data_dir: settings.data_dir.to_path_buf(),
            rpc_socket: settings.rpc_socket.to_path_buf(),
            read_dirs: vec![python.sdk_dir.clone()],
            write_dirs: settings.shared_dirs.to_vec(),
            require: sandbox::FULL_LEVEL.iter().map(|s| s.to_string()).collect(),
        };
        let cgroups = CgroupBound::detect();
        let probe = probe(python, &plan);
        let mut protections = Protections::judge(&probe, &cgroups, settings.allow_weaker);
        plan.require = protections.required();
        if let Err(refusal) = sandbox::check_shared_dirs(&plan) {
            protections.refusal = Some(refusal);
        }
        let fork_server = (settings.fork_server && protections.refusal.is_none()).then(|| {
            let bound = cgroups.clone();
            let cgroups = cgroups.is_some().then(|| Arc::new(move |name: &str| bound.ahead(name)) as AheadMaker);
            ForkServer::start(python, Ahead { processes: settings.warm_runners, cgroups })
        });
        let ahead_cgroups = fork_server.is_some() && settings.warm_runners > 0 && cgroups.is_some();
        Arc::new(Starter {
            python: python.clone(),
            plan,
            env_allow: settings.env_allow.to_vec(),
            rpc_socket: settings.rpc_socket.to_path_buf(),
            extra: settings.extra.to_vec(),
            cgroups,
            ahead_cgroups,
            fork_server,
            protections,
            cold_starts: AtomicU64::new(0),
        })
    }

    /// Starts Play `play_sid`'s process into its sandbox.
    pub fn start(&self, data_dir: &Path, play_sid: &str, budget: Budget) -> Result<Runner, String> {
        if let Some(refusal) = &self.protections.refusal {
            return Err(refusal.clone());
        }
        let paths = RunPaths::new(data_dir, play_sid);
        paths.prepare().map_err(|e| format!("cannot prepare the run under {}: {e}", paths.work_dir.display()))?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("cannot make the Play's channel: {e}"))?;
        let cutter = ours.try_clone().ok();
        let (out_r, out_w) = pipe().map_err(|e| format!("cannot make the Play's output pipes: {e}"))?;
        let (err_r, err_w) = pipe().map_err(|e| format!("cannot make the Play's output pipes: {e}"))?;
        let env = self.play_env(play_sid, &paths.work_dir, budget);
        let play_fds = [theirs.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        let server = self.fork_server.as_ref().filter(|f| f.is_up());
        // First ask for a process made ahead that already sits in cgroups of its own: the
        // Play's cgroups are then never made (making a v1 memory cgroup costs milliseconds too).
        let shared = sandbox::shared_config(&self.plan, &paths.work_dir, budget);
        let ahead = server.filter(|_| self.ahead_cgroups).and_then(|server| {
            let config = sandbox::play_config(&self.plan, play_sid, &paths.work_dir, budget, &[], self.cgroups.limits(budget), Some(&env));
            match server.spawn(play_sid, Spawn { shared: &shared, config: &config, cgroup_ahead: true }, &play_fds) {
                Ok(forked) => Some(forked),
                Err(SpawnError::NotReady) => None,
                Err(SpawnError::Failed(e)) => {
                    tracing::warn!(play = %play_sid, error = %e, "fork server start failed; trying again with the Play's own cgroups");
                    None
                }
            }
        });
        let mut cgroup;
        let (pid, process) = match ahead {
            Some(forked) => {
                cgroup = forked.cgroup;
                (forked.pid, Process::Forked(forked.exited))
            }
            None => {
                cgroup = self.cgroups.for_play(play_sid, budget);
                let cgroup_files: Vec<RawFd> = cgroup.iter().flat_map(|c| c.procs.iter().map(|f| f.as_raw_fd())).collect();
                let cgroup_fds: Vec<i32> = (0..cgroup_files.len() as i32).map(|i| sandbox::CHANNEL_FD + 1 + i).collect();
                let mut fds = play_fds.to_vec();
                fds.extend(&cgroup_files);
                let forked = server.and_then(|server| {
                    let config = sandbox::play_config(&self.plan, play_sid, &paths.work_dir, budget, &cgroup_fds, self.cgroups.limits(budget), Some(&env));
                    server
                        .spawn(play_sid, Spawn { shared: &shared, config: &config, cgroup_ahead: false }, &fds)
                        .map_err(|e| tracing::warn!(play = %play_sid, error = %e, "fork server start failed; starting cold"))
                        .ok()
                });
                match forked {
                    Some(forked) => {
                        // A process made ahead sits in cgroups of its own; the Play's unused
                        // ones are removed with them.
                        if let Some(mut own) = forked.cgroup {
                            if let Some(unused) = cgroup.take() {
                                own.absorb(unused);
                            }
                            cgroup = Some(own);
                        }
                        (forked.pid, Process::Forked(forked.exited))
                    }
                    None => {
                        self.cold_starts.fetch_add(1, Ordering::Relaxed);
                        let config = sandbox::play_config(&self.plan, play_sid, &paths.work_dir, budget, &cgroup_fds, Default::default(), None);
                        let mut files = vec![theirs.as_raw_fd()];
                        files.extend(&cgroup_files);
                        let child = self.spawn_cold(&paths.work_dir, &env, &config, &files, out_w, err_w).map_err(|e| {
                            paths.clean();
                            format!("cannot start the Python runner {}: {e}", self.python.interpreter.display())
                        })?;
                        (child.id(), Process::Cold(child))
                    }
                }
            }
        };
        drop(theirs);
        let output = capture_output(vec![out_r, err_r]);
        if let Some(c) = cgroup.as_mut() {
            c.procs.clear();
        }
        Ok(Runner { pid, process, channel: Some(ours), cutter, paths, output, cgroup, exit: None })
    }

    /// The Play's environment: the allow-listed variables and its own `HERO_LOGIC_*`.
    fn play_env(&self, play_sid: &str, work_dir: &Path, budget: Budget) -> Vec<(String, String)> {
        let mut own: Vec<(String, String)> = vec![
            ("HERO_LOGIC_PLAY_SID".into(), play_sid.to_string()),
            ("HERO_LOGIC_MEMORY_MB".into(), budget.memory_mb.to_string()),
            ("HERO_LOGIC_SOCKET".into(), self.rpc_socket.display().to_string()),
            ("TMPDIR".into(), work_dir.display().to_string()),
        ];
        own.extend(self.extra.iter().cloned());
        sandbox::runner_env(&self.env_allow, own)
    }

    fn spawn_cold(
        &self,
        work_dir: &Path,
        env: &[(String, String)],
        config: &Value,
        files: &[RawFd],
        stdout: OwnedFd,
        stderr: OwnedFd,
    ) -> std::io::Result<Child> {
        let mut command = Command::new(&self.python.interpreter);
        command
            .args(["-I", "-S", "-c", &self.python.play_bootstrap(), &config.to_string()])
            .current_dir(work_dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("HERO_LOGIC_CHANNEL_FD", sandbox::CHANNEL_FD.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        let files = files.to_vec();
        // SAFETY: only async-signal-safe calls (setsid, prctl, fcntl, dup2) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A runner must not outlive a daemon that was killed outright.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                sandbox::place_fds(&files, sandbox::CHANNEL_FD)
            });
        }
        command.spawn()
    }
}

/// Runs the sandbox in a throwaway child of a cold interpreter and returns its report.
fn probe(python: &PythonRuntime, plan: &SandboxPlan) -> Value {
    let work = plan.data_dir.join("work").join(".probe");
    if std::fs::create_dir_all(&work).is_err() {
        return serde_json::json!({"error": format!("cannot make {}", work.display())});
    }
    let budget = Budget { wall_clock_ms: 10_000, memory_mb: 512, max_open_files: 64, max_processes: 64, network: false };
    let config = sandbox::play_config(plan, "probe", &work, budget, &[], Default::default(), None);
    let output = Command::new(&python.interpreter)
        .args(["-I", "-S", "-c", &python.probe_bootstrap(), &config.to_string()])
        .current_dir(&work)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_dir_all(&work);
    match output {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| serde_json::json!({"error": format!("unreadable probe report: {e}")})),
        Ok(out) => serde_json::json!({"error": format!("the probe failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())}),
        Err(e) => serde_json::json!({"error": format!("cannot run the probe: {e}")}),
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The runner's own stdout and stderr, read on threads so neither pipe fills up; they stop
/// shortly after the Play's end even if an escaped process still holds a pipe open.
pub struct CapturedOutput {
    readers: Vec<std::thread::JoinHandle<Vec<u8>>>,
    /// Milliseconds since `epoch` after which readers give up (0: not yet).
    deadline: Arc<AtomicU64>,
    epoch: Instant,
}

impl CapturedOutput {
    /// Nothing captured (what is left after the output was taken).
    pub fn none() -> CapturedOutput {
        CapturedOutput { readers: Vec::new(), deadline: Arc::new(AtomicU64::new(0)), epoch: Instant::now() }
    }

    /// What the runner wrote, after a short drain.
    pub fn join(self) -> String {
        let stop = self.epoch.elapsed() + OUTPUT_DRAIN;
        self.deadline.store(stop.as_millis().max(1) as u64, Ordering::Release);
        let mut text = String::new();
        for reader in self.readers {
            if let Ok(bytes) = reader.join() {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        text
    }
}

fn capture_output(pipes: Vec<OwnedFd>) -> CapturedOutput {
    let deadline = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    let readers = pipes
        .into_iter()
        .map(|pipe| {
            let deadline = Arc::clone(&deadline);
            std::thread::spawn(move || read_tail(pipe, &deadline, epoch))
        })
        .collect();
    CapturedOutput { readers, deadline, epoch }
}

fn read_tail(pipe: OwnedFd, deadline: &AtomicU64, epoch: Instant) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut file = std::fs::File::from(pipe);
    loop {
        let stop = deadline.load(Ordering::Acquire);
        if stop != 0 && epoch.elapsed().as_millis() as u64 >= stop {
            break;
        }
        let mut fd = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd that lives across the call.
        let ready = unsafe { libc::poll(&mut fd, 1, 50) };
        if ready <= 0 {
            continue;
        }
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > OUTPUT_TAIL_BYTES * 2 {
                    tail.drain(..tail.len() - OUTPUT_TAIL_BYTES);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if tail.len() > OUTPUT_TAIL_BYTES {
        tail.drain(..tail.len() - OUTPUT_TAIL_BYTES);
    }
    tail
}

/// The protections a Play would get on this machine, probed with a scratch SDK copy (for
/// `hero_logic_server --info`, which must not touch the data dir).
pub fn describe_protections(allow_weaker: bool) -> Result<Protections, String> {
    let scratch = std::env::temp_dir().join(format!("hero_logic-info-{}", std::process::id()));
    let python = PythonRuntime::prepare(&scratch);
    let result = python.map(|python| {
        let plan = SandboxPlan {
            data_dir: scratch.clone(),
            rpc_socket: scratch.join("hero_logic.sock"),
            read_dirs: vec![python.sdk_dir.clone()],
            write_dirs: Vec::new(),
            require: Vec::new(),
        };
        Protections::judge(&probe(&python, &plan), &CgroupBound::detect_only(), allow_weaker)
    });
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
