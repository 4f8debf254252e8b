//! `hero_logic bench`: measures the figures of DESIGN.md §12 on this machine, against a
//! daemon of its own on a fresh temp data dir, next to baselines taken in the same run.
//!
//! It reports medians and ratios and never passes or fails on time (§11): the exit code
//! only says whether the measurement itself worked. The JSON report goes to stdout, the
//! progress and the human table to stderr, so `hero_logic bench > bench.json` keeps both.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use hero_logic_api::bench::{CHILD_SOURCE, PARENT_SOURCE};
use hero_logic_api::params::{Limits, LogicCreateParams, PlayStartParams};
use hero_logic_api::service::ServiceConfig;
use hero_logic_api::{methods, Logic, Play, PlayStatus};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::process::Command;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::commands::up::{daemon_answers, locate_binary};
use crate::connect::Daemon;
use crate::error::CliError;
use crate::process::{stop_all, Supervised};
use crate::render::table::table;

/// How long a bench daemon may take to answer after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Spawns of `python3 -I -c pass` for the interpreter baseline.
const PYTHON_SPAWNS: usize = 20;
/// Commits per SQLite baseline.
const SQLITE_COMMITS: usize = 200;
/// The parent Play's wall-clock budget: far above any sane run, so a slow machine is
/// measured rather than cut off.
const PARENT_BUDGET_MS: u64 = 3_600_000;

/// Invokes the trivial child `n` times, then asks a person: answering it replays `n`
/// memoized steps before the run goes on.
const RESUME_SOURCE: &str = r#"from hero_tracing import ask_user, logic


@logic(name="bench_resume", inputs={"n": "integer"}, outputs={"ok": "boolean", "children": "integer"})
def bench_resume(n):
    for i in range(n):
        logic.invoke("bench_child", i=i)
    return {"ok": ask_user.confirm("Go on?"), "children": n}
"#;

/// DESIGN.md §12: `play_resume` to success after 50 and 500 memoized steps, our targets and
/// the peers measured there (LangGraph's functional API replays tasks; DBOS replays a
/// workflow after a crash).
const RESUME_TARGETS_MS: [(u32, f64); 2] = [(50, 5.0), (500, 15.0)];
const RESUME_PEERS_MS: [(u32, &str); 2] =
    [(50, "LangGraph 17 ms, DBOS 66 ms (§12)"), (500, "LangGraph 180 ms, DBOS 334 ms (§12)")];

const NOOP_SOURCE: &str = r#"from hero_tracing import logic


@logic(name="bench_noop", outputs={"ok": "boolean"})
def bench_noop():
    return {"ok": True}
"#;

/// Reports the runner's own peak RSS (KiB on Linux) from inside a Play, after holding
/// still for `hold_s` seconds so that the bench can read its private memory from outside
/// (a Play cannot read /proc).
const RSS_SOURCE: &str = r#"import resource
import time

from hero_tracing import logic


@logic(name="bench_rss", inputs={"hold_s": "number"}, outputs={"maxrss_kib": "integer"})
def bench_rss(hold_s):
    time.sleep(hold_s)
    return {"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
"#;

/// How long `bench_rss` holds still, and how long after its start its memory is read.
const RSS_HOLD: Duration = Duration::from_secs(3);
const RSS_READ_AFTER: Duration = Duration::from_millis(1500);

/// Times SQLITE_COMMITS one-row commits in WAL mode: the storage floor of one durable step.
const SQLITE_SCRIPT: &str = r#"
import json, sqlite3, statistics, sys, time
path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=" + mode)
db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
times = []
for i in range(n):
    start = time.perf_counter()
    db.execute("BEGIN")
    db.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
    db.execute("COMMIT")
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"median_ms": statistics.median(times)}))
"#;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Child Plays the parent Play invokes one after another, per round
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub children: u32,
    /// Trivial top-level Plays timed from play_start to success
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub starts: u32,
    /// Rounds of the child-Play figure per durability mode; the median is reported
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Memoized steps before the question in the resume-latency runs, comma-separated
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', default_value = "0,50,500")]
    pub resume_steps: Vec<u32>,
    /// Runs per step count of the resume latency (play_resume to success); the median is reported
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub resumes: u32,
    /// Plays run at once for the concurrent figures (children stepping at once; top-level
    /// Plays started by that many clients)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Where to create the temporary data dirs, deleted afterwards [default: the system temp dir]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// SQLite durability of one bench daemon.
#[derive(Debug, Clone, Copy)]
enum Sync {
    Full,
    Normal,
}

impl Sync {
    fn flag(self) -> &'static str {
        match self {
            Sync::Full => "full",
            Sync::Normal => "normal",
        }
    }
}

/// A running bench daemon: the client, its socket (concurrent clients open their own), and
/// the PID whose memory we read.
struct BenchDaemon {
    daemon: Daemon,
    socket: PathBuf,
    pid: u32,
}

/// Child Plays of `plays` parents stepping at the same time, all together.
#[derive(Debug, Serialize)]
struct ConcurrentChildren {
    plays: u32,
    children_per_play: u32,
    /// All children / (the last parent's end - the first parent's start), engine clock.
    engine_aggregate: f64,
    /// All children / the client's wall time from the first start to the last end.
    wall_aggregate: f64,
}

/// Trivial top-level Plays run back to back by `clients` clients at once.
#[derive(Debug, Serialize)]
struct TopLevelRate {
    clients: u32,
    plays: u32,
    per_s: f64,
}

/// The child-Play rate of several rounds, in Plays per second.
#[derive(Debug, Serialize)]
struct ChildRate {
    /// The daemon's CPU time (user + system, all threads) over all rounds, per child Play.
    daemon_cpu_us_per_child: f64,
    /// N / (the parent's completed_at - started_at), as the daemon recorded them.
    engine_median: f64,
    /// N / (play_start sent .. play_wait returned), as a client sees it.
    wall_median: f64,
    engine_samples: Vec<f64>,
    wall_samples: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct Latency {
    median: f64,
    p95: f64,
    min: f64,
    max: f64,
    runs: usize,
}

/// `play_resume` to success, per number of memoized steps replayed first.
struct ResumeRun {
    by_steps: Vec<(u32, Latency)>,
}

impl ResumeRun {
    /// What one memoized step adds to a resume: the slope between the fewest and the most
    /// steps measured, from their medians.
    fn cost_per_step(&self) -> Option<f64> {
        let (first, last) = (self.by_steps.first()?, self.by_steps.last()?);
        (last.0 > first.0).then(|| (last.1.median - first.1.median) / f64::from(last.0 - first.0))
    }

    fn json(&self) -> Value {
        let by_steps: Map<String, Value> = self.by_steps.iter().map(|(n, l)| (n.to_string(), json!(l))).collect();
        Value::Object(by_steps)
    }
}

/// What the FULL daemon measured besides its child-Play rate.
struct FullRun {
    children: ChildRate,
    concurrent: ConcurrentChildren,
    top_level: TopLevelRate,
    start: Latency,
    resume: ResumeRun,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    runner_rss_kib: u64,
    runner_private_kib: u64,
}

#[derive(Debug, Serialize)]
struct Baseline {
    /// The interpreter the baselines ran (the daemon resolves the same one).
    python: Option<PathBuf>,
    /// `python3 -I -c pass`: what a fresh runner process costs at least.
    python_spawn_ms_median: Option<f64>,
    /// `python3 -I -S -c pass`: the same without `site`, whose cost varies by installation.
    python_spawn_no_site_ms_median: Option<f64>,
    python_spawn_runs: usize,
    sqlite_commit_ms_median: SqliteCommits,
    /// Why a baseline is missing, when one is.
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SqliteCommits {
    full: Option<f64>,
    normal: Option<f64>,
}

pub async fn run(args: BenchArgs) -> Result<u8, CliError> {
    let server = server_binary()?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| CliError::Failed(format!("cannot catch Ctrl-C: {e}")))?;
    let scratch = scratch_dir(args.data_dir.as_deref())?;
    let full =
        with_daemon(&server, scratch.path(), Sync::Full, &mut interrupt, async |d| full_run(d, &args).await).await?;
    let normal =
        with_daemon(&server, scratch.path(), Sync::Normal, &mut interrupt, async |d| normal_run(d, &args).await)
            .await?;
    progress("baselines: python3 -I -c pass, SQLite commits");
    let baseline = tokio::select! {
        baseline = baseline(scratch.path()) => baseline,
        _ = interrupt.recv() => return Err(CliError::Interrupted),
    };
    let report = rounded(report(&args, &server, &full, &normal, &baseline));
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::Failed(format!("cannot encode the report: {e}")))?;
    println!("{text}");
    eprintln!("\n{}", human_table(&full, &normal, &baseline));
    Ok(0)
}

fn progress(message: &str) {
    eprintln!("bench: {message}");
}

/// The daemon installed next to this binary, as `up` finds it.
fn server_binary() -> Result<PathBuf, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot tell where the hero_logic binary lives: {e}")))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    locate_binary(dir, &ServiceConfig::defaults().binaries.server).map_err(|e| CliError::Failed(e.to_string()))
}

fn scratch_dir(parent: Option<&Path>) -> Result<tempfile::TempDir, CliError> {
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("hero_logic_bench_");
        b
    };
    let made = match parent {
        Some(dir) => builder.tempdir_in(dir),
        None => builder.tempdir(),
    };
    made.map_err(|e| CliError::Failed(format!("cannot create a temp data dir: {e}")))
}

/// Starts a daemon on `<scratch>/<mode>`, runs `work` against it, and stops it by PID
/// whatever happened: success, an error, Ctrl-C, or the daemon dying.
async fn with_daemon<T>(
    server: &Path,
    scratch: &Path,
    mode: Sync,
    interrupt: &mut Signal,
    work: impl AsyncFnOnce(&BenchDaemon) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let data_dir = scratch.join(mode.flag());
    progress(&format!("starting hero_logic_server --synchronous {} on {}", mode.flag(), data_dir.display()));
    let mut process = start_daemon(server, &data_dir, mode, interrupt).await?;
    let socket = data_dir.join("hero_logic.sock");
    let bench = BenchDaemon { daemon: Daemon::at(&socket), socket, pid: process.pid() };
    let result = tokio::select! {
        result = work(&bench) => result,
        _ = interrupt.recv() => Err(CliError::Interrupted),
        status = process.wait() => Err(CliError::Failed(format!(
            "the bench daemon died ({}); its last output:\n{}",
            status.map(|s| s.to_string()).unwrap_or_else(|| "status unknown".into()),
            process.last_output().await
        ))),
    };
    stop_all(&mut [&mut process], STOP_GRACE).await;
    result
}

async fn start_daemon(
    server: &Path,
    data_dir: &Path,
    mode: Sync,
    interrupt: &mut Signal,
) -> Result<Supervised, CliError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", data_dir.display())))?;
    let socket = data_dir.join("hero_logic.sock");
    let args: [&OsStr; 7] = [
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
        "--socket".as_ref(),
        socket.as_os_str(),
        "--no-seed".as_ref(),
        "--synchronous".as_ref(),
        mode.flag().as_ref(),
    ];
    // Warnings only: the daemon's per-request info lines would bury the bench's own output.
    let mut process = Supervised::spawn_with_env("hero_logic_server", server, &args, &[("RUST_LOG", "warn")])
        .map_err(|e| CliError::Failed(e.to_string()))?;
    match wait_ready(&mut process, &socket, interrupt).await {
        Ok(()) => Ok(process),
        Err(err) => {
            stop_all(&mut [&mut process], STOP_GRACE).await;
            Err(err)
        }
    }
}

async fn wait_ready(process: &mut Supervised, socket: &Path, interrupt: &mut Signal) -> Result<(), CliError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = process.try_exit() {
            let output = process.last_output().await;
            return Err(CliError::Failed(format!(
                "the bench daemon exited during startup ({status}); its last output:\n{output}"
            )));
        }
        if daemon_answers(socket).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let output = process.last_output().await;
            return Err(CliError::Failed(format!(
                "the bench daemon did not answer on {} within {} s; its last output:\n{output}",
                socket.display(),
                READY_TIMEOUT.as_secs()
            )));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = interrupt.recv() => return Err(CliError::Interrupted),
        }
    }
}

/// The FULL daemon: idle memory first, then the child rate, the start latency, a runner's
/// memory, and the daemon's peak memory last, after all that work.
async fn full_run(d: &BenchDaemon, args: &BenchArgs) -> Result<FullRun, CliError> {
    let idle_rss_kib = proc_status_kib(d.pid, "VmRSS")?;
    prepare(&d.daemon).await?;
    let children = child_rate(d, args, Sync::Full).await?;
    let concurrent = concurrent_children(d, args).await?;
    progress(&format!("{} trivial top-level Plays, play_start to success", args.starts));
    let start = start_latency(&d.daemon, args.starts).await?;
    let top_level = top_level_rate(d, args).await?;
    let resume = resume_latency(&d.daemon, args).await?;
    let (runner_rss_kib, runner_private_kib) = runner_memory(d).await?;
    let peak_rss_kib = proc_status_kib(d.pid, "VmHWM")?;
    Ok(FullRun { children, concurrent, top_level, start, resume, idle_rss_kib, peak_rss_kib, runner_rss_kib, runner_private_kib })
}

async fn normal_run(d: &BenchDaemon, args: &BenchArgs) -> Result<ChildRate, CliError> {
    prepare(&d.daemon).await?;
    child_rate(d, args, Sync::Normal).await
}

/// Defines the bench logics, then runs one trivial Play so that one-time costs (first
/// runner, first compile of the SDK) stay out of every figure.
async fn prepare(daemon: &Daemon) -> Result<(), CliError> {
    for (name, source) in [
        ("bench_child", CHILD_SOURCE),
        ("bench_parent", PARENT_SOURCE),
        ("bench_noop", NOOP_SOURCE),
        ("bench_resume", RESUME_SOURCE),
        ("bench_rss", RSS_SOURCE),
    ] {
        let params = LogicCreateParams {
            name: name.to_string(),
            description: "hero_logic bench".to_string(),
            python_source: Some(source.to_string()),
            ..Default::default()
        };
        daemon.call::<Logic>(methods::LOGIC_CREATE, params).await?;
    }
    run_to_end(daemon, "bench_noop", Map::new(), None).await.map(drop)
}

/// Starts `logic`, waits for it, and insists it succeeded: a figure of failed Plays is no figure.
async fn run_to_end(
    daemon: &Daemon,
    logic: &str,
    inputs: Map<String, Value>,
    limits: Option<Limits>,
) -> Result<(Play, Duration), CliError> {
    let started = Instant::now();
    let params = PlayStartParams { logic: logic.to_string(), inputs, limits, ..Default::default() };
    let play: Play = daemon.call(methods::PLAY_START, params).await?;
    let done = daemon.wait_settled(&play.sid).await?;
    let took = started.elapsed();
    if done.status != PlayStatus::Success {
        return Err(CliError::Failed(format!(
            "bench Play {} ({logic}) ended {}: {}",
            done.sid,
            done.status.as_str(),
            done.error_message
        )));
    }
    Ok((done, took))
}

async fn child_rate(d: &BenchDaemon, args: &BenchArgs, mode: Sync) -> Result<ChildRate, CliError> {
    let daemon = &d.daemon;
    let n = args.children;
    let cpu_before = cpu_time_us(d.pid)?;
    let rounds = if args.rounds == 1 { "1 round".to_string() } else { format!("{} rounds", args.rounds) };
    progress(&format!("{rounds} of {n} sequential child Plays (synchronous={})", mode.flag()));
    let (mut engine, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let inputs = json!({"n": n}).as_object().cloned().unwrap_or_default();
        let limits = Limits { wall_clock_ms: Some(PARENT_BUDGET_MS), ..Default::default() };
        let (parent, took) = run_to_end(daemon, "bench_parent", inputs, Some(limits)).await?;
        // Each child must be a real, recorded Play, or the rate means nothing.
        if parent.sub_play_sids.len() != n as usize {
            return Err(CliError::Failed(format!(
                "bench Play {} recorded {} child Plays, expected {n}",
                parent.sid,
                parent.sub_play_sids.len()
            )));
        }
        let engine_ms = parent.completed_at.saturating_sub(parent.started_at).max(1);
        engine.push(f64::from(n) * 1000.0 / engine_ms as f64);
        wall.push(f64::from(n) / took.as_secs_f64());
    }
    let cpu = cpu_time_us(d.pid)?.saturating_sub(cpu_before);
    Ok(ChildRate {
        daemon_cpu_us_per_child: cpu as f64 / (f64::from(n) * f64::from(args.rounds)),
        engine_median: median(&engine),
        wall_median: median(&wall),
        engine_samples: engine,
        wall_samples: wall,
    })
}

/// `--concurrency` parents of `--children` children each, started together (FULL daemon):
/// what group commit makes of Plays that step at the same time.
async fn concurrent_children(d: &BenchDaemon, args: &BenchArgs) -> Result<ConcurrentChildren, CliError> {
    let (plays, n) = (args.concurrency, args.children);
    progress(&format!("{plays} Plays of {n} child Plays each, stepping at once (synchronous=full)"));
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..plays {
        let daemon = Daemon::at(&d.socket);
        runs.spawn(async move {
            let inputs = json!({"n": n}).as_object().cloned().unwrap_or_default();
            let limits = Limits { wall_clock_ms: Some(PARENT_BUDGET_MS), ..Default::default() };
            run_to_end(&daemon, "bench_parent", inputs, Some(limits)).await.map(|(play, _)| play)
        });
    }
    let mut parents = Vec::with_capacity(plays as usize);
    while let Some(joined) = runs.join_next().await {
        parents.push(joined.map_err(|e| CliError::Failed(format!("a bench client failed: {e}")))??);
    }
    let wall = started.elapsed();
    if let Some(short) = parents.iter().find(|p| p.sub_play_sids.len() != n as usize) {
        return Err(CliError::Failed(format!(
            "bench Play {} recorded {} child Plays, expected {n}",
            short.sid,
            short.sub_play_sids.len()
        )));
    }
    let first = parents.iter().map(|p| p.started_at).min().unwrap_or_default();
    let last = parents.iter().map(|p| p.completed_at).max().unwrap_or_default();
    let total = f64::from(plays) * f64::from(n);
    Ok(ConcurrentChildren {
        plays,
        children_per_play: n,
        engine_aggregate: total * 1000.0 / last.saturating_sub(first).max(1) as f64,
        wall_aggregate: total / wall.as_secs_f64(),
    })
}

/// `--starts` trivial top-level Plays shared among `--concurrency` clients, each running
/// its share back to back (play_start to success).
async fn top_level_rate(d: &BenchDaemon, args: &BenchArgs) -> Result<TopLevelRate, CliError> {
    let clients = args.concurrency;
    let per_client = args.starts.div_ceil(clients);
    progress(&format!("{} trivial top-level Plays from {clients} clients at once", per_client * clients));
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let daemon = Daemon::at(&d.socket);
        runs.spawn(async move {
            for _ in 0..per_client {
                run_to_end(&daemon, "bench_noop", Map::new(), None).await?;
            }
            Ok::<(), CliError>(())
        });
    }
    while let Some(joined) = runs.join_next().await {
        joined.map_err(|e| CliError::Failed(format!("a bench client failed: {e}")))??;
    }
    let plays = per_client * clients;
    Ok(TopLevelRate { clients, plays, per_s: f64::from(plays) / started.elapsed().as_secs_f64() })
}

async fn start_latency(daemon: &Daemon, starts: u32) -> Result<Latency, CliError> {
    let mut samples = Vec::with_capacity(starts as usize);
    for _ in 0..starts {
        let (_, took) = run_to_end(daemon, "bench_noop", Map::new(), None).await?;
        samples.push(took.as_secs_f64() * 1000.0);
    }
    Ok(latency(&samples))
}

/// For each step count: run `bench_resume` up to its question, then time `play_resume` until
/// `play_wait` returns the Play succeeded.
async fn resume_latency(daemon: &Daemon, args: &BenchArgs) -> Result<ResumeRun, CliError> {
    let mut steps = args.resume_steps.clone();
    steps.sort_unstable();
    steps.dedup();
    let mut by_steps = Vec::with_capacity(steps.len());
    for n in steps {
        progress(&format!("{} resumes after {n} memoized steps, play_resume to success", args.resumes));
        let mut samples = Vec::with_capacity(args.resumes as usize);
        for _ in 0..args.resumes {
            samples.push(one_resume(daemon, n).await?.as_secs_f64() * 1000.0);
        }
        by_steps.push((n, latency(&samples)));
    }
    Ok(ResumeRun { by_steps })
}

async fn one_resume(daemon: &Daemon, n: u32) -> Result<Duration, CliError> {
    let inputs = json!({"n": n}).as_object().cloned().unwrap_or_default();
    let limits = Limits { wall_clock_ms: Some(PARENT_BUDGET_MS), ..Default::default() };
    let params = PlayStartParams { logic: "bench_resume".into(), inputs, limits: Some(limits), ..Default::default() };
    let play: Play = daemon.call(methods::PLAY_START, params).await?;
    let waiting = daemon.wait_settled(&play.sid).await?;
    let question = match (waiting.status, waiting.pending_resumes.first()) {
        (PlayStatus::AwaitingResume, Some(question)) => question.id.clone(),
        _ => {
            return Err(CliError::Failed(format!(
                "bench Play {} (bench_resume) ended {} instead of asking: {}",
                waiting.sid,
                waiting.status.as_str(),
                waiting.error_message
            )))
        }
    };
    let started = Instant::now();
    daemon.resume(&play.sid, &question, Value::Bool(true)).await?;
    let done = daemon.wait_settled(&play.sid).await?;
    let took = started.elapsed();
    if done.status != PlayStatus::Success || done.sub_play_sids.len() != n as usize {
        return Err(CliError::Failed(format!(
            "bench Play {} (bench_resume, {n} steps) ended {} with {} child Plays after its answer: {}",
            done.sid,
            done.status.as_str(),
            done.sub_play_sids.len(),
            done.error_message
        )));
    }
    Ok(took)
}

/// A process's CPU time so far (user + system, all its threads), in microseconds.
fn cpu_time_us(pid: u32) -> Result<u64, CliError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::Failed(format!("cannot read {path}: {e}")))?;
    let ticks = stat_cpu_ticks(&text).ok_or_else(|| CliError::Failed(format!("{path} has no CPU times")))?;
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(ticks * 1_000_000 / per_second)
}

/// utime + stime of a /proc/<pid>/stat line (fields 14 and 15, counted after the `(comm)`,
/// which may itself hold spaces).
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the comm, field 3 (state) comes first: utime is field 14, so index 11.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// `bench_rss`'s peak RSS, as it reports it, and the private memory (clean and dirty pages
/// no other process maps) of its body's process, read from outside while it holds still:
/// the runner's process is the one whose pid the daemon writes to `run/<sid>.pid`, and the
/// body is its deepest descendant (the sandbox's PID 1 forks it).
async fn runner_memory(d: &BenchDaemon) -> Result<(u64, u64), CliError> {
    let inputs = json!({"hold_s": RSS_HOLD.as_secs_f64()}).as_object().cloned().unwrap_or_default();
    let params = PlayStartParams { logic: "bench_rss".into(), inputs, ..Default::default() };
    let play: Play = d.daemon.call(methods::PLAY_START, params).await?;
    tokio::time::sleep(RSS_READ_AFTER).await;
    let pid_file = d.socket.with_file_name("run").join(format!("{}.pid", play.sid));
    let private = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .map(deepest_descendant)
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok())
        .map(|rollup| private_kib(&rollup));
    let done = d.daemon.wait_settled(&play.sid).await?;
    let rss = done.output_data.get("maxrss_kib").and_then(Value::as_u64);
    match (done.status, rss, private) {
        (PlayStatus::Success, Some(rss), Some(private)) => Ok((rss, private)),
        _ => Err(CliError::Failed(format!(
            "bench_rss (Play {}) ended {} with {}, and its body's memory was {}",
            done.sid,
            done.status.as_str(),
            Value::Object(done.output_data.clone()),
            private.map_or_else(|| format!("not readable from {}", pid_file.display()), |k| format!("{k} KiB"))
        ))),
    }
}

fn deepest_descendant(pid: u32) -> u32 {
    let mut pid = pid;
    while let Some(child) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|c| c.parse().ok()))
    {
        pid = child;
    }
    pid
}

/// Private_Clean + Private_Dirty of a smaps_rollup, in KiB.
fn private_kib(rollup: &str) -> u64 {
    ["Private_Clean", "Private_Dirty"].iter().filter_map(|field| status_field_kib(rollup, field)).sum()
}

/// A field of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: u32, field: &str) -> Result<u64, CliError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::Failed(format!("cannot read {path}: {e}")))?;
    status_field_kib(&text, field).ok_or_else(|| CliError::Failed(format!("{path} has no {field} line")))
}

fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The interpreter and storage floors, taken while no daemon runs so nothing competes.
async fn baseline(scratch: &Path) -> Baseline {
    let mut notes = Vec::new();
    let python = match real_python().await {
        Ok(python) => Some(python),
        Err(note) => {
            notes.push(note);
            None
        }
    };
    let (mut spawn, mut spawn_no_site) = (None, None);
    let mut commits = SqliteCommits { full: None, normal: None };
    if let Some(python) = &python {
        spawn = python_spawn_ms(python, &["-I", "-c", "pass"]).await.map_err(|note| notes.push(note)).ok();
        spawn_no_site =
            python_spawn_ms(python, &["-I", "-S", "-c", "pass"]).await.map_err(|note| notes.push(note)).ok();
        let db = scratch.join("baseline.sqlite");
        commits.full = sqlite_commit_ms(python, &db, "FULL").await.map_err(|note| notes.push(note)).ok();
        commits.normal = sqlite_commit_ms(python, &db, "NORMAL").await.map_err(|note| notes.push(note)).ok();
    }
    Baseline {
        python,
        python_spawn_ms_median: spawn,
        python_spawn_no_site_ms_median: spawn_no_site,
        python_spawn_runs: PYTHON_SPAWNS,
        sqlite_commit_ms_median: commits,
        notes,
    }
}

/// The interpreter the daemon runs Plays with: `$HERO_LOGIC_PYTHON` or `python3`, resolved
/// through any shim (a pyenv shim alone costs ~100 ms per spawn and would swamp the figure).
async fn real_python() -> Result<PathBuf, String> {
    let candidate = std::env::var("HERO_LOGIC_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or("python3".into());
    let output = Command::new(&candidate)
        .args(["-I", "-c", "import sys; print(sys.executable)"])
        .output()
        .await
        .map_err(|e| format!("cannot run {candidate}: {e}"))?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || path.is_empty() {
        return Err(format!("{candidate} did not report its executable ({})", output.status));
    }
    Ok(PathBuf::from(path))
}

/// Median wall time of spawning `python args...` to its exit.
async fn python_spawn_ms(python: &Path, args: &[&str]) -> Result<f64, String> {
    let mut samples = Vec::with_capacity(PYTHON_SPAWNS);
    for _ in 0..PYTHON_SPAWNS {
        let started = Instant::now();
        let status = Command::new(python)
            .args(args)
            .status()
            .await
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if !status.success() {
            return Err(format!("{} {} failed ({status})", python.display(), args.join(" ")));
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&samples))
}

async fn sqlite_commit_ms(python: &Path, db: &Path, mode: &str) -> Result<f64, String> {
    let output = Command::new(python)
        .arg("-I")
        .arg("-c")
        .arg(SQLITE_SCRIPT)
        .arg(db)
        .arg(mode)
        .arg(SQLITE_COMMITS.to_string())
        .output()
        .await
        .map_err(|e| format!("cannot run the SQLite baseline: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("the SQLite {mode} baseline failed: {}", stderr.trim()));
    }
    let answer: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the SQLite {mode} baseline printed no JSON: {e}"))?;
    answer["median_ms"].as_f64().ok_or_else(|| format!("the SQLite {mode} baseline printed no median_ms"))
}

fn median(samples: &[f64]) -> f64 {
    percentile(samples, 50.0)
}

/// Nearest-rank percentile; 0 for no samples.
fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(samples: &[f64]) -> Latency {
    Latency {
        median: median(samples),
        p95: percentile(samples, 95.0),
        min: percentile(samples, 0.0),
        max: percentile(samples, 100.0),
        runs: samples.len(),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `a / b`, when both are there and `b` is not zero.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Milliseconds one child Play takes at `per_second`.
fn ms_per_play(per_second: f64) -> Option<f64> {
    (per_second > 0.0).then(|| 1000.0 / per_second)
}

fn report(args: &BenchArgs, server: &Path, full: &FullRun, normal: &ChildRate, baseline: &Baseline) -> Value {
    let commits = &baseline.sqlite_commit_ms_median;
    json!({
        "server": server.display().to_string(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "children": args.children,
        "rounds": args.rounds,
        "starts": args.starts,
        "resume_steps": full.resume.by_steps.iter().map(|(n, _)| *n).collect::<Vec<u32>>(),
        "resumes": args.resumes,
        "child_plays_per_s": {"full": full.children, "normal": normal},
        "concurrent_child_plays_per_s_full": full.concurrent,
        "top_level_plays_per_s_concurrent": full.top_level,
        "start_latency_ms": full.start,
        "resume_latency_ms": full.resume.json(),
        "replay_cost_per_step_ms": full.resume.cost_per_step(),
        "memory_mib": {
            "daemon_idle_rss": mib(full.idle_rss_kib),
            "daemon_peak_rss": mib(full.peak_rss_kib),
            "runner_peak_rss": mib(full.runner_rss_kib),
            "runner_private": mib(full.runner_private_kib),
        },
        "baseline": baseline,
        "ratios": {
            "start_median_per_python_spawn": ratio(Some(full.start.median), baseline.python_spawn_ms_median),
            "child_play_full_per_sqlite_commit": ratio(ms_per_play(full.children.engine_median), commits.full),
            "child_play_normal_per_sqlite_commit": ratio(ms_per_play(normal.engine_median), commits.normal),
            "child_plays_full_per_sqlite_commit_rate": ratio(Some(full.children.engine_median), commits.full.and_then(ms_per_play)),
            "concurrent_children_per_single_play": ratio(Some(full.concurrent.engine_aggregate), Some(full.children.engine_median)),
        },
        "targets": {
            "child_plays_per_s_full": 2000,
            "child_plays_per_s_normal": 8000,
            "daemon_cpu_us_per_child_normal": 60,
            "child_plays_full_per_sqlite_commit_rate": 0.75,
            "concurrent_children_per_single_play": 3,
            "top_level_plays_per_s_concurrent": 400,
            "start_median_ms": 3,
            "start_p95_ms": 6,
            "daemon_idle_rss_mib": 30,
            "runner_private_mib": 20,
            "resume_after_50_steps_ms": 5,
            "resume_after_500_steps_ms": 15,
        },
        "peers": {
            "resume_after_50_steps_ms": {"langgraph": 17, "dbos": 66},
            "resume_after_500_steps_ms": {"langgraph": 180, "dbos": 334},
            "source": "DESIGN.md §12; LangGraph functional API (replays tasks), DBOS crash replay",
        },
    })
}

/// Every fractional number to 4 decimals: the timer's last digits are noise, not data.
fn rounded(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            json!((x * 10_000.0).round() / 10_000.0)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(rounded).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, rounded(v))).collect()),
        other => other,
    }
}

fn human_table(full: &FullRun, normal: &ChildRate, baseline: &Baseline) -> String {
    let commits = &baseline.sqlite_commit_ms_median;
    let per_commit = |rate: f64, commit: Option<f64>| match ratio(ms_per_play(rate), commit) {
        Some(r) => format!("1 child = {r:.1} SQLite commits ({:.3} ms)", commit.unwrap_or_default()),
        None => "SQLite commit: n/a".to_string(),
    };
    let spawn = match ratio(Some(full.start.median), baseline.python_spawn_ms_median) {
        Some(r) => format!(
            "{r:.2}x python3 -I -c pass ({:.1} ms; with -S {:.1} ms)",
            baseline.python_spawn_ms_median.unwrap_or_default(),
            baseline.python_spawn_no_site_ms_median.unwrap_or_default()
        ),
        None => "python3 spawn: n/a".to_string(),
    };
    let row = |figure: &str, measured: String, target: &str, base: String| {
        vec![figure.to_string(), measured, target.to_string(), base]
    };
    let mut rows = vec![
        row(
            "child Plays/s, sequential, FULL",
            rate(full.children.engine_median),
            ">= 2000/s",
            per_commit(full.children.engine_median, commits.full),
        ),
        row("  same, client wall clock", rate(full.children.wall_median), "", String::new()),
        row(
            "child Plays/s, sequential, NORMAL",
            rate(normal.engine_median),
            ">= 8000/s",
            per_commit(normal.engine_median, commits.normal),
        ),
        row("  same, client wall clock", rate(normal.wall_median), "", String::new()),
        row(
            "  daemon CPU per child step, NORMAL",
            format!("{:.0} us", normal.daemon_cpu_us_per_child),
            "<= 60 us",
            format!("FULL: {:.0} us", full.children.daemon_cpu_us_per_child),
        ),
        row(
            &format!("child Plays/s, {} Plays at once, FULL", full.concurrent.plays),
            rate(full.concurrent.engine_aggregate),
            ">= 3x one Play",
            match ratio(Some(full.concurrent.engine_aggregate), Some(full.children.engine_median)) {
                Some(r) => format!("{r:.2}x one Play ({})", rate(full.children.engine_median)),
                None => String::new(),
            },
        ),
        row(
            &format!("top-level Plays/s, {} clients", full.top_level.clients),
            rate(full.top_level.per_s),
            ">= 400/s",
            String::new(),
        ),
        row("trivial Play start->success, median", format!("{:.1} ms", full.start.median), "<= 3 ms", spawn),
        row("trivial Play start->success, p95", format!("{:.1} ms", full.start.p95), "<= 6 ms", String::new()),
    ];
    for (n, latency) in &full.resume.by_steps {
        let target = RESUME_TARGETS_MS.iter().find(|(m, _)| m == n).map(|(_, t)| format!("<= {t:.0} ms"));
        let peers = RESUME_PEERS_MS.iter().find(|(m, _)| m == n).map(|(_, p)| p.to_string());
        rows.push(row(
            &format!("play_resume->success, {n} memoized steps"),
            format!("{:.1} ms", latency.median),
            &target.unwrap_or_default(),
            peers.unwrap_or_default(),
        ));
    }
    if let Some(cost) = full.resume.cost_per_step() {
        rows.push(row(
            "replay cost per memoized step",
            format!("{cost:.3} ms"),
            "",
            "LangGraph 0.36 ms, DBOS 0.60 ms (§12, 50->500)".to_string(),
        ));
    }
    rows.extend([
        row("daemon RSS, idle", format!("{:.1} MiB", mib(full.idle_rss_kib)), "<= 30 MiB", String::new()),
        row("daemon RSS, peak", format!("{:.1} MiB", mib(full.peak_rss_kib)), "", String::new()),
        row("runner private memory", format!("{:.1} MiB", mib(full.runner_private_kib)), "<= 20 MiB", String::new()),
        row("  runner peak RSS, shared pages too", format!("{:.1} MiB", mib(full.runner_rss_kib)), "", String::new()),
    ]);
    let mut text = table(&["figure", "median", "target", "baseline, same run"], &rows);
    for note in &baseline.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    text
}

fn rate(per_second: f64) -> String {
    format!("{per_second:.0}/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median(&samples), 10.0);
        assert_eq!(percentile(&samples, 95.0), 19.0);
        assert_eq!(percentile(&samples, 0.0), 1.0);
        assert_eq!(percentile(&samples, 100.0), 20.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn reads_proc_status_fields() {
        let status = "Name:\thero_logic_serv\nVmHWM:\t   20480 kB\nVmRSS:\t   12288 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS"), Some(12288));
        assert_eq!(status_field_kib(status, "VmHWM"), Some(20480));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_cpu_ticks_past_a_comm_with_spaces() {
        let stat = "42 (hero logic) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0";
        assert_eq!(stat_cpu_ticks(stat), Some(280));
        assert!(cpu_time_us(std::process::id()).is_ok());
    }

    #[test]
    fn private_memory_is_clean_plus_dirty_private_pages() {
        let rollup = "Rss:               23000 kB\nShared_Clean:      15000 kB\nPrivate_Clean:       200 kB\nPrivate_Dirty:      7800 kB\n";
        assert_eq!(private_kib(rollup), 8000);
    }

    #[test]
    fn the_deepest_descendant_of_a_process_is_found() {
        let mut shell = std::process::Command::new("sh").args(["-c", "sleep 5 & wait"]).spawn().unwrap();
        let shell_pid = shell.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut found = shell_pid;
        while found == shell_pid && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            found = deepest_descendant(shell_pid);
        }
        let comm = std::fs::read_to_string(format!("/proc/{found}/comm")).unwrap_or_default();
        let _ = shell.kill();
        let _ = std::process::Command::new("kill").arg(found.to_string()).status();
        let _ = shell.wait();
        assert_eq!(comm.trim(), "sleep");
        assert_eq!(deepest_descendant(std::process::id()), std::process::id());
    }

    #[test]
    fn reads_our_own_memory() {
        let kib = proc_status_kib(std::process::id(), "VmRSS").expect("our own status");
        assert!(kib > 0);
    }

    #[test]
    fn report_numbers_are_rounded() {
        let value = rounded(json!({"a": [0.123456789, 3], "b": {"c": 2.0}}));
        assert_eq!(value, json!({"a": [0.1235, 3], "b": {"c": 2.0}}));
    }

    #[test]
    fn ratios_need_both_sides() {
        assert_eq!(ratio(Some(6.0), Some(3.0)), Some(2.0));
        assert_eq!(ratio(Some(6.0), None), None);
        assert_eq!(ratio(Some(6.0), Some(0.0)), None);
        assert_eq!(ms_per_play(500.0), Some(2.0));
    }
}
