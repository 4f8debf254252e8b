//! The Play's sandbox as the daemon sees it: the budget, the configuration every start path
//! hands to `hero_tracing.sandbox` (one setup, applied in the Play's process before any of
//! its code runs), the cgroup that bounds a Play's total memory and processes, and the
//! protections the kernel grants, probed once at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use hero_logic_api::params::Limits;
use hero_logic_api::service::SandboxSection;

/// Limits with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub wall_clock_ms: u64,
    pub memory_mb: u64,
    pub max_open_files: u64,
    pub max_processes: u64,
    /// The Play may use the network (`limits.network`, or the version's `network=True`).
    pub network: bool,
}

pub const MIN_MEMORY_MB: u64 = 64;
pub const MIN_OPEN_FILES: u64 = 16;

impl Budget {
    pub fn defaults(sandbox: &SandboxSection) -> Budget {
        Budget {
            wall_clock_ms: sandbox.wall_clock_ms,
            memory_mb: sandbox.memory_mb,
            max_open_files: sandbox.max_open_files,
            max_processes: sandbox.max_processes,
            network: false,
        }
    }

    /// `limits` over these defaults, or which limit is out of range.
    pub fn with(self, limits: Option<&Limits>) -> Result<Budget, (&'static str, String)> {
        let Some(limits) = limits else { return Ok(self) };
        let budget = Budget {
            wall_clock_ms: limits.wall_clock_ms.unwrap_or(self.wall_clock_ms),
            memory_mb: limits.memory_mb.unwrap_or(self.memory_mb),
            max_open_files: limits.max_open_files.unwrap_or(self.max_open_files),
            max_processes: self.max_processes,
            network: limits.network.unwrap_or(self.network),
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

/// The environment a runner sees: the allow-listed variables of the daemon's own
/// environment plus the runner's `HERO_LOGIC_*` settings.
pub fn runner_env(allow: &[String], own: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| allow.iter().any(|a| a == k) && !k.starts_with("HERO_LOGIC_")).collect();
    env.extend(own);
    env
}

/// Between fork and exec: puts `fds` at `first`, `first + 1`, ... (inheritable), whatever
/// numbers they had. Only async-signal-safe calls.
pub fn place_fds(fds: &[i32], first: i32) -> std::io::Result<()> {
    const HIGH: i32 = 200;
    let mut moved = [0i32; 16];
    for (i, fd) in fds.iter().take(moved.len()).enumerate() {
        // SAFETY: duplicating an fd we own, above every target number.
        moved[i] = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, HIGH) };
        if moved[i] < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    for (i, fd) in moved.iter().take(fds.len()).enumerate() {
        // SAFETY: dup2 onto a fixed number; the new fd is inheritable.
        if unsafe { libc::dup2(*fd, first + i as i32) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
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

/// Protections a Play gets at the full level; any missing one needs `[sandbox] allow_weaker`.
pub const FULL_LEVEL: &[&str] = &[
    "userns",
    "mountns",
    "pidns",
    "ipcns",
    "netns",
    "hide_data_dir",
    "proc",
    "rlimits",
    "no_caps",
    "no_new_privs",
    "landlock_fs",
    "landlock_net",
    "landlock_scope",
    "close_fds",
];

/// What every Play's sandbox shares: the paths to hide and to keep readable.
#[derive(Debug, Clone)]
pub struct SandboxPlan {
    pub data_dir: PathBuf,
    /// The daemon's JSON-RPC socket: hidden with the data dir, or covered by /dev/null.
    pub rpc_socket: PathBuf,
    /// Read-only directories beyond the interpreter and system ones (the SDK).
    pub read_dirs: Vec<PathBuf>,
    /// `[sandbox] shared_dirs`: read-write for every Play.
    pub write_dirs: Vec<PathBuf>,
    /// The protections a Play must get, or it does not start (what the start probe found,
    /// when a weaker level was accepted; the full level otherwise).
    pub require: Vec<String>,
}

/// The part of a Play's config every Play of the daemon with the same network and process
/// limit shares (`work_dir`'s parent is where all work dirs live): a process the fork server
/// made ahead with it serves any Play whose shared part is the same.
pub fn shared_config(plan: &SandboxPlan, work_dir: &Path, budget: Budget) -> Value {
    json!({
        "hide_dirs": [plan.data_dir],
        "hide_files": [plan.rpc_socket],
        "read_dirs": plan.read_dirs,
        "write_dirs": plan.write_dirs,
        "network": budget.network,
        "max_processes": budget.max_processes,
        "require": plan.require.iter().filter(|p| !(budget.network && *p == "netns")).collect::<Vec<_>>(),
        "work_root": work_dir.parent().unwrap_or(work_dir),
    })
}

/// The JSON `hero_tracing.sandbox.enter_and_run` takes: the shared part and the Play's own.
/// `env` is set in the Play's process after the sandbox is up (the fork server's children);
/// a cold start passes it as the process environment instead.
pub fn play_config(
    plan: &SandboxPlan,
    play_sid: &str,
    work_dir: &Path,
    budget: Budget,
    cgroup_fds: &[i32],
    cgroup_limits: serde_json::Map<String, Value>,
    env: Option<&[(String, String)]>,
) -> Value {
    let mut config = shared_config(plan, work_dir, budget);
    let own = json!({
        "play": play_sid,
        "work_dir": work_dir,
        "memory_mb": budget.memory_mb,
        "max_open_files": budget.max_open_files,
        "channel_fd": CHANNEL_FD,
        "cgroup_fds": cgroup_fds,
        "cgroup_limits": cgroup_limits,
    });
    if let (Value::Object(config), Value::Object(own)) = (&mut config, own) {
        config.extend(own);
    }
    if let Some(env) = env {
        config["env"] = Value::Object(env.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    }
    config
}

/// A shared dir inside the data dir would hand Plays the database; one that contains the
/// data dir is safe only while the data dir is hidden.
pub fn check_shared_dirs(plan: &SandboxPlan) -> Result<(), String> {
    let data = std::fs::canonicalize(&plan.data_dir).unwrap_or_else(|_| plan.data_dir.clone());
    for dir in &plan.write_dirs {
        let Ok(real) = std::fs::canonicalize(dir) else {
            return Err(format!("[sandbox] shared_dirs names {}, which does not exist; create it or remove it", dir.display()));
        };
        if real.starts_with(&data) {
            return Err(format!(
                "[sandbox] shared_dirs names {}, which is inside the data dir {}: Plays would reach the database; pick a directory outside it",
                dir.display(),
                data.display()
            ));
        }
        if data.starts_with(&real) && !plan.require.iter().any(|p| p == "hide_data_dir") {
            return Err(format!(
                "[sandbox] shared_dirs names {}, which contains the data dir, and the data dir cannot be hidden on this machine; pick a directory beside it",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// The fd the Play's channel has in the Play's process; its cgroup.procs fds follow.
pub const CHANNEL_FD: i32 = 3;

/// Which protections the kernel granted a throwaway Play at start, and what that means.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Protections {
    pub active: BTreeMap<String, bool>,
    pub notes: BTreeMap<String, String>,
    /// What bounds a Play's total memory and process count.
    pub total_memory_bound: String,
    pub process_bound: String,
    /// Full-level protections that are off.
    pub missing: Vec<String>,
    /// `[sandbox] allow_weaker`.
    pub allow_weaker: bool,
    /// Set when Plays are refused: why, and the setting that would accept it.
    pub refusal: Option<String>,
}

impl Protections {
    /// Reads the probe's report and decides whether Plays may run.
    pub fn judge(probe: &Value, cgroups: &CgroupBound, allow_weaker: bool) -> Protections {
        let mut p = Protections { allow_weaker, ..Default::default() };
        if let Some(active) = probe.get("active").and_then(Value::as_object) {
            for (name, on) in active {
                p.active.insert(name.clone(), on.as_bool().unwrap_or(false));
            }
        }
        if let Some(notes) = probe.get("notes").and_then(Value::as_object) {
            for (name, note) in notes {
                p.notes.insert(name.clone(), note.as_str().unwrap_or_default().to_string());
            }
        }
        p.active.remove("ok");
        p.active.insert("cgroup".into(), cgroups.is_some());
        p.notes.insert("cgroup".into(), cgroups.describe());
        let on = |name: &str| p.active.get(name).copied().unwrap_or(false);
        p.total_memory_bound = if cgroups.memory.is_some() {
            format!("{} memory limit (the Play's memory_mb, all its processes together)", cgroups.kind)
        } else {
            "none across processes: RLIMIT_AS per process only (no writable cgroup)".into()
        };
        let mut bounds = Vec::new();
        if cgroups.pids.is_some() {
            bounds.push(format!("{} pids.max", cgroups.kind));
        }
        if on("pid_max") {
            bounds.push(format!("PID namespace pid_max ({})", p.notes.get("pid_max").cloned().unwrap_or_default()));
        }
        if on("nproc") {
            bounds.push("RLIMIT_NPROC in the Play's user namespace".into());
        }
        p.process_bound = if bounds.is_empty() { "none".into() } else { bounds.join(" + ") };
        p.missing = FULL_LEVEL.iter().filter(|n| !on(n)).map(|n| n.to_string()).collect();
        if bounds.is_empty() {
            p.missing.push("process_bound".into());
        }
        if probe.get("active").is_none() {
            p.missing.insert(0, format!("probe ({})", probe.get("error").and_then(Value::as_str).unwrap_or("no report")));
        }
        if !p.missing.is_empty() && !allow_weaker {
            p.refusal = Some(format!(
                "the sandbox lacks {} on this machine, so Plays are refused; fix the kernel or \
                 accept the weaker level with `[sandbox] allow_weaker = true` in service.toml \
                 (hero_logic_server --info lists what is active)",
                p.missing.join(", ")
            ));
        }
        p
    }

    /// What a Play must get: the full level, or what the probe found when weaker is accepted.
    pub fn required(&self) -> Vec<String> {
        FULL_LEVEL.iter().filter(|n| self.active.get(**n).copied().unwrap_or(false)).map(|n| n.to_string()).collect()
    }

    /// As `LogicService.sandbox_info` shows it.
    pub fn info(&self, fork_server: bool) -> hero_logic_api::params::SandboxInfo {
        hero_logic_api::params::SandboxInfo {
            active: self.active.clone(),
            notes: self.notes.clone(),
            total_memory_bound: self.total_memory_bound.clone(),
            process_bound: self.process_bound.clone(),
            missing: self.missing.clone(),
            allow_weaker: self.allow_weaker,
            refusal: self.refusal.clone(),
            summary: self.summary(),
            fork_server,
        }
    }

    /// One line for the log and `--info`.
    pub fn summary(&self) -> String {
        let on: Vec<&str> = self.active.iter().filter(|(_, v)| **v).map(|(k, _)| k.as_str()).collect();
        let mut text = format!("sandbox: {}", on.join(" "));
        if !self.missing.is_empty() {
            text.push_str(&format!("; missing: {}", self.missing.join(", ")));
        }
        text.push_str(&format!("; processes bounded by {}; total memory: {}", self.process_bound, self.total_memory_bound));
        text
    }
}

/// The cgroup directories under which each Play gets its own memory and pids cgroup.
#[derive(Debug, Clone, Default)]
pub struct CgroupBound {
    /// "cgroup v2" or "cgroup v1".
    pub kind: &'static str,
    pub memory: Option<PathBuf>,
    pub pids: Option<PathBuf>,
    pub note: String,
}

impl CgroupBound {
    pub fn is_some(&self) -> bool {
        self.memory.is_some() && self.pids.is_some()
    }

    fn describe(&self) -> String {
        if self.is_some() {
            format!("{} memory and pids per Play", self.kind)
        } else {
            self.note.clone()
        }
    }

    /// `detect` without keeping the directories it made (for `--info`).
    pub fn detect_only() -> CgroupBound {
        let found = CgroupBound::detect();
        for dir in [&found.memory, &found.pids].into_iter().flatten() {
            let _ = std::fs::remove_dir(dir);
        }
        found
    }

    /// Finds a writable place for per-Play cgroups: cgroup v2 with memory and pids
    /// delegated, else v1 memory and pids hierarchies; nothing when neither is writable.
    /// Per-Play cgroups a crashed daemon left are emptied and removed first.
    pub fn detect() -> CgroupBound {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let name = format!("hero_logic-{}", std::process::id());
        if let Some(v2) = v2_base(&mounts, &own) {
            let controllers = std::fs::read_to_string(v2.join("cgroup.subtree_control")).unwrap_or_default();
            if controllers.contains("memory") && controllers.contains("pids") {
                let dir = v2.join(&name);
                if std::fs::create_dir_all(&dir).is_ok() {
                    return CgroupBound { kind: "cgroup v2", memory: Some(dir.clone()), pids: Some(dir), note: String::new() };
                }
            }
        }
        let memory = v1_base(&mounts, &own, "memory").inspect(|b| remove_stale(b)).map(|b| b.join(&name)).filter(|d| std::fs::create_dir_all(d).is_ok());
        let pids = v1_base(&mounts, &own, "pids").inspect(|b| remove_stale(b)).map(|b| b.join(&name)).filter(|d| std::fs::create_dir_all(d).is_ok());
        let note = match (&memory, &pids) {
            (Some(_), Some(_)) => String::new(),
            _ => "no writable cgroup (v2 delegated with memory+pids, or v1 memory and pids)".into(),
        };
        CgroupBound { kind: "cgroup v1", memory, pids, note }
    }

    /// The directories a cgroup named `name` takes (one for v2; memory and pids for v1),
    /// each with the limit files a Play's budget writes there.
    fn layout(&self, name: &str) -> Option<Vec<(PathBuf, &'static [&'static str])>> {
        let (memory, pids) = (self.memory.as_ref()?, self.pids.as_ref()?);
        Some(if memory == pids {
            vec![(memory.join(name), &["memory.max", "memory.swap.max", "pids.max"][..])]
        } else {
            vec![(memory.join(name), &["memory.limit_in_bytes"][..]), (pids.join(name), &["pids.max"][..])]
        })
    }

    /// Each limit file of a Play's cgroups with the value its budget gives it; a process
    /// made ahead of time writes these into the cgroup it already joined.
    pub fn limits(&self, budget: Budget) -> serde_json::Map<String, Value> {
        let files = self.layout("").unwrap_or_default().into_iter().flat_map(|(_, files)| files.iter());
        files.map(|file| (file.to_string(), Value::String(limit_value(file, budget)))).collect()
    }

    /// Makes the Play's cgroups with its limits; the open `cgroup.procs` files go to the
    /// Play's process, which joins them before anything else.
    pub fn for_play(&self, play_sid: &str, budget: Budget) -> Option<PlayCgroup> {
        if !self.is_some() {
            return None;
        }
        let mut cgroup = PlayCgroup { dirs: Vec::new(), procs: Vec::new() };
        for (dir, files) in self.layout(play_sid)? {
            let _ = std::fs::remove_dir(&dir);
            if std::fs::create_dir(&dir).is_err() {
                cgroup.remove();
                return None;
            }
            cgroup.dirs.push(dir.clone());
            for file in files {
                let written = std::fs::write(dir.join(file), limit_value(file, budget));
                if written.is_err() && !is_optional_limit(file) {
                    cgroup.remove();
                    return None;
                }
            }
            match std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs")) {
                Ok(file) => cgroup.procs.push(file),
                Err(_) => {
                    cgroup.remove();
                    return None;
                }
            }
        }
        Some(cgroup)
    }

    /// Makes cgroups for a process the fork server makes ahead of time, without limits yet:
    /// the process joins them while it waits (the move into a cgroup v1 waits for an RCU
    /// grace period, ~12 ms, which then stays off a Play's start) and writes its Play's
    /// limits through the open limit files before any of the Play's code runs.
    pub fn ahead(&self, name: &str) -> Option<AheadCgroup> {
        if !self.is_some() {
            return None;
        }
        let mut ahead = AheadCgroup { cgroup: PlayCgroup { dirs: Vec::new(), procs: Vec::new() }, limits: Vec::new() };
        for (dir, files) in self.layout(name)? {
            let _ = std::fs::remove_dir(&dir);
            std::fs::create_dir(&dir).ok()?;
            ahead.cgroup.dirs.push(dir.clone());
            ahead.cgroup.procs.push(std::fs::OpenOptions::new().write(true).open(dir.join("cgroup.procs")).ok()?);
            for file in files {
                match std::fs::OpenOptions::new().write(true).open(dir.join(file)) {
                    Ok(open) => ahead.limits.push((file.to_string(), open)),
                    Err(_) if is_optional_limit(file) => {}
                    Err(_) => return None,
                }
            }
        }
        Some(ahead)
    }
}

/// A swap limit needs swap accounting, which many kernels run without.
fn is_optional_limit(file: &str) -> bool {
    file == "memory.swap.max"
}

fn limit_value(file: &str, budget: Budget) -> String {
    match file {
        "memory.swap.max" => "0".into(),
        "pids.max" => budget.max_processes.to_string(),
        _ => budget.memory_mb.saturating_mul(1024 * 1024).to_string(),
    }
}

/// Cgroups made for a process made ahead of time: dropped (and removed) unless a Play
/// takes them over.
pub struct AheadCgroup {
    pub cgroup: PlayCgroup,
    /// Open limit files by name, passed with the `cgroup.procs` files.
    pub limits: Vec<(String, std::fs::File)>,
}

/// Empties and removes `hero_logic-<pid>` cgroups under `base` whose daemon is gone.
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("hero_logic-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let plays: Vec<PathBuf> = std::fs::read_dir(entry.path()).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        let mut stale = PlayCgroup { dirs: plays, procs: Vec::new() };
        stale.remove();
        let _ = std::fs::remove_dir(entry.path());
    }
}

fn v2_base(mounts: &str, own: &str) -> Option<PathBuf> {
    let mount = mounts.lines().find(|l| l.split(" - ").nth(1).is_some_and(|t| t.starts_with("cgroup2 ")))?;
    let point = mount.split_whitespace().nth(4)?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new(point).join(path.trim_start_matches('/')))
}

fn v1_base(mounts: &str, own: &str, controller: &str) -> Option<PathBuf> {
    let mount = mounts.lines().find(|l| {
        l.split(" - ").nth(1).is_some_and(|t| {
            let mut fields = t.split_whitespace();
            fields.next() == Some("cgroup") && fields.nth(1).is_some_and(|opts| opts.split(',').any(|o| o == controller))
        })
    })?;
    let point = mount.split_whitespace().nth(4)?;
    let path = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == controller).then_some(path)
    })?;
    Some(Path::new(point).join(path.trim_start_matches('/')))
}

/// One Play's cgroups; removed (after killing what is left in them) when the Play ends.
pub struct PlayCgroup {
    dirs: Vec<PathBuf>,
    /// The open `cgroup.procs` files, passed to the Play's process.
    pub procs: Vec<std::fs::File>,
}

impl PlayCgroup {
    /// Takes `other`'s directories too: they are removed with these.
    pub fn absorb(&mut self, mut other: PlayCgroup) {
        self.dirs.append(&mut other.dirs);
    }

    /// Kills every process the cgroups hold now.
    pub fn kill_members(&self) {
        for dir in &self.dirs {
            kill_members_of(dir);
        }
    }

    /// Kills every process left in the cgroups and removes them, once the last ones are
    /// gone (a namespace's teardown takes milliseconds after its processes were killed).
    pub fn remove(&mut self) {
        self.procs.clear();
        for dir in &self.dirs {
            for pause in removal_pauses() {
                kill_members_of(dir);
                match std::fs::remove_dir(dir) {
                    Err(e) if still_emptying(&e) => std::thread::sleep(pause),
                    _ => break,
                }
            }
        }
        self.dirs.clear();
    }
}

fn kill_members_of(cgroup: &Path) {
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        // SAFETY: signalling processes the Play's cgroup holds.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The pauses between tries to remove a cgroup that is still emptying: short at first (its
/// last process is usually gone within a millisecond, and a Play's resume waits for this),
/// then 10 ms, about half a second in all.
fn removal_pauses() -> impl Iterator<Item = std::time::Duration> {
    let first = (0..7).map(|i| std::time::Duration::from_micros(100 << i));
    first.chain(std::iter::repeat(std::time::Duration::from_millis(10))).take(55)
}

/// A cgroup whose last processes are still exiting refuses its removal with EBUSY for a
/// moment; any other error stays (gone already, or not this user's to remove: a stale cgroup
/// of a daemon run by root, met at start by one run as another user, cost 0.5 s each).
fn still_emptying(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(libc::EBUSY)
}

impl Drop for PlayCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_still_emptying_is_tried_again_soon_then_every_10_ms_for_about_half_a_second() {
        let pauses: Vec<_> = removal_pauses().collect();
        assert_eq!(pauses[0], std::time::Duration::from_micros(100));
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "{pauses:?}");
        assert_eq!(*pauses.last().unwrap(), std::time::Duration::from_millis(10));
        let total: std::time::Duration = pauses.iter().sum();
        assert!(total >= std::time::Duration::from_millis(450) && total <= std::time::Duration::from_millis(600), "{total:?}");
    }

    #[test]
    fn only_a_cgroup_still_emptying_is_waited_for() {
        assert!(still_emptying(&std::io::Error::from_raw_os_error(libc::EBUSY)));
        for errno in [libc::EACCES, libc::EPERM, libc::ENOENT, libc::ENOTEMPTY, libc::EROFS] {
            assert!(!still_emptying(&std::io::Error::from_raw_os_error(errno)), "errno {errno} is not waited out");
        }
    }
}
