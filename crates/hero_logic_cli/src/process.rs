//! Supervision of the child processes `hero_logic up` starts: spawn with their output
//! forwarded and remembered, signal by PID, stop with a grace period.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// Lines of a child's output kept to explain why it died.
const TAIL_LINES: usize = 40;
/// How long to wait for a dead child's last output to drain; a grandchild holding the pipe
/// open must not block the error report.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
#[error("cannot start {name} ({}): {source}", path.display())]
pub struct SpawnError {
    pub name: String,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The last lines a child wrote to stdout or stderr.
#[derive(Clone, Debug, Default)]
pub struct OutputTail(Arc<Mutex<VecDeque<String>>>);

impl OutputTail {
    fn push(&self, line: String) {
        // A poisoned lock only means another forwarder panicked mid-push; the lines are still fine.
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The remembered lines, oldest first, one per line.
    pub fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

/// A child process we started and are responsible for stopping.
#[derive(Debug)]
pub struct Supervised {
    name: String,
    child: Child,
    pid: u32,
    tail: OutputTail,
    forwarders: Vec<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl Supervised {
    /// Starts `program args...`. Its stdout and stderr are copied to our stderr, each line
    /// prefixed with `[name]`, so our stdout stays for our own status lines.
    pub fn spawn(name: &str, program: &Path, args: &[&OsStr]) -> Result<Supervised, SpawnError> {
        Supervised::spawn_with_env(name, program, args, &[])
    }

    /// Like [`Supervised::spawn`], with extra environment variables for the child only.
    pub fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[&OsStr],
        env: &[(&str, &str)],
    ) -> Result<Supervised, SpawnError> {
        let mut command = Command::new(program);
        command.args(args).envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Own process group: a Ctrl-C in the terminal reaches only us, and we stop the
        // children in order instead of racing them.
        command.process_group(0);
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|source| SpawnError {
            name: name.to_string(),
            path: program.to_path_buf(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        let tail = OutputTail::default();
        let mut forwarders = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            forwarders.push(tokio::spawn(forward(name.to_string(), stdout, tail.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            forwarders.push(tokio::spawn(forward(name.to_string(), stderr, tail.clone())));
        }
        Ok(Supervised { name: name.to_string(), child, pid, tail, forwarders, exit: None })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status if the child has exited, without blocking.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            // An error here means the child was already reaped, which only `wait` does.
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits for the child to exit. Cancel-safe, so it can sit in a `select!`.
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.wait().await.ok();
        }
        self.exit
    }

    /// Sends `signal` unless the child has already been reaped: after reaping, the PID may
    /// belong to someone else.
    pub fn signal(&mut self, signal: i32) {
        if self.try_exit().is_some() {
            return;
        }
        // SAFETY: kill(2) has no memory-safety preconditions; the PID is our unreaped child.
        unsafe {
            libc::kill(self.pid as libc::pid_t, signal);
        }
    }

    /// The child's last output lines, after giving its pipes a moment to drain.
    pub async fn last_output(&mut self) -> String {
        for forwarder in self.forwarders.drain(..) {
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, forwarder).await;
        }
        self.tail.text()
    }
}

/// SIGTERMs every child, waits up to `grace` for all of them, then SIGKILLs the rest.
pub async fn stop_all(children: &mut [&mut Supervised], grace: Duration) {
    for child in children.iter_mut() {
        child.signal(libc::SIGTERM);
    }
    let deadline = tokio::time::Instant::now() + grace;
    for child in children.iter_mut() {
        if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
            child.signal(libc::SIGKILL);
            child.wait().await;
        }
    }
}

/// Copies a child's output to our stderr line by line and remembers the tail.
async fn forward(name: String, stream: impl AsyncRead + Unpin, tail: OutputTail) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                // Lossy: a child's stray bytes must not stop us from showing the rest.
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_string();
                eprintln!("[{name}] {text}");
                tail.push(text);
            }
        }
    }
}

/// Makes the kernel SIGTERM the child if we die without stopping it (e.g. SIGKILLed), so no
/// daemon is left holding the data dir's lock. The signal fires when the spawning *thread*
/// exits, which is why `hero_logic` runs a single-threaded runtime on its main thread.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Supervised {
        Supervised::spawn("sh", Path::new("/bin/sh"), &[OsStr::new("-c"), OsStr::new(script)]).expect("spawn sh")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn keeps_the_tail_of_both_streams() {
        let mut child = sh("echo out; echo err >&2; exit 4");
        let status = child.wait().await.expect("status");
        assert_eq!(status.code(), Some(4));
        let output = child.last_output().await;
        assert!(output.contains("out") && output.contains("err"), "{output}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tail_is_bounded() {
        let mut child = sh("i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done");
        child.wait().await;
        let output = child.last_output().await;
        assert_eq!(output.lines().count(), TAIL_LINES);
        assert!(output.ends_with("line99"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn stop_all_terminates_politely_then_kills() {
        let mut polite = sh("exec sleep 30");
        let mut stubborn = sh("trap '' TERM; while :; do sleep 0.05; done");
        // Give the shell time to install its trap before we signal it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        stop_all(&mut [&mut polite, &mut stubborn], Duration::from_millis(500)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(polite.try_exit().and_then(|s| s.signal()), Some(libc::SIGTERM));
        assert_eq!(stubborn.try_exit().and_then(|s| s.signal()), Some(libc::SIGKILL));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn spawn_error_names_the_program() {
        let err = Supervised::spawn("ghost", Path::new("/nonexistent/ghost"), &[]).expect_err("no such file");
        let message = err.to_string();
        assert!(message.contains("ghost") && message.contains("/nonexistent/ghost"), "{message}");
    }
}
