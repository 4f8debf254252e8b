//! The runner's sandbox, applied between fork and exec: its own session and process group,
//! resource limits, a scrubbed environment and a private working directory.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use hero_logic_api::params::Limits;
use hero_logic_api::service::SandboxSection;

/// Limits with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub wall_clock_ms: u64,
    pub memory_mb: u64,
    pub max_open_files: u64,
}

pub const MIN_MEMORY_MB: u64 = 64;
pub const MIN_OPEN_FILES: u64 = 16;

impl Budget {
    pub fn defaults(sandbox: &SandboxSection) -> Budget {
        Budget {
            wall_clock_ms: sandbox.wall_clock_ms,
            memory_mb: sandbox.memory_mb,
            max_open_files: sandbox.max_open_files,
        }
    }

    /// `limits` over these defaults, or which limit is out of range.
    pub fn with(self, limits: Option<&Limits>) -> Result<Budget, (&'static str, String)> {
        let Some(limits) = limits else { return Ok(self) };
        let budget = Budget {
            wall_clock_ms: limits.wall_clock_ms.unwrap_or(self.wall_clock_ms),
            memory_mb: limits.memory_mb.unwrap_or(self.memory_mb),
            max_open_files: limits.max_open_files.unwrap_or(self.max_open_files),
        };
        if budget.wall_clock_ms == 0 {
            return Err(("limits.wall_clock_ms", "the wall-clock budget must be at least 1 ms".into()));
        }
        if budget.memory_mb < MIN_MEMORY_MB {
            return Err(("limits.memory_mb", format!("memory_mb must be at least {MIN_MEMORY_MB} (the interpreter itself needs it)")));
        }
        if budget.max_open_files < MIN_OPEN_FILES {
            return Err(("limits.max_open_files", format!("max_open_files must be at least {MIN_OPEN_FILES}")));
        }
        Ok(budget)
    }
}

/// Builds the runner command. `env` is the complete environment the runner will see.
pub fn runner_command(
    interpreter: &Path,
    bootstrap: &str,
    work_dir: &Path,
    env: &[(String, String)],
    budget: Budget,
) -> Command {
    let mut command = Command::new(interpreter);
    command
        .arg("-I")
        .arg("-S")
        .arg("-c")
        .arg(bootstrap)
        .current_dir(work_dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let memory = budget.memory_mb.saturating_mul(1024 * 1024);
    let files = budget.max_open_files;
    // SAFETY: only async-signal-safe calls (setsid, setrlimit, prctl) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            set_limit(libc::RLIMIT_AS, memory)?;
            set_limit(libc::RLIMIT_NOFILE, files)?;
            set_limit(libc::RLIMIT_CORE, 0)?;
            // A runner must not outlive a daemon that was killed outright.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The environment a runner sees: the allow-listed variables of the daemon's own
/// environment plus the runner's `HERO_LOGIC_*` settings.
pub fn runner_env(allow: &[String], own: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| allow.iter().any(|a| a == k) && !k.starts_with("HERO_LOGIC_")).collect();
    env.extend(own);
    env
}

/// Kills a runner's whole process group (the runner is its leader).
pub fn kill_group(pid: u32) {
    // SAFETY: signalling a process group we created.
    unsafe {
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// `SIGKILL (9)` and the like, for messages.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => "signal",
    };
    format!("{name} ({signal})")
}
