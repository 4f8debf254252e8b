//! The execution engine: a FIFO queue of top-level Plays, a bounded pool of workers, and one
//! sandboxed Python runner per running Play (DESIGN.md §6).

mod again;
mod cluster;
mod executor;
mod forkserver;
pub mod forms;
pub mod inputs;
pub mod lifecycle;
pub mod logs;
pub mod python;
pub mod protocol;
mod runner;
pub use runner::describe_protections;
pub mod sandbox;
pub(crate) mod session;
pub mod step;
pub(crate) mod timers;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hero_logic_api::params::{EngineInfo, PlayStartParams, PlayTree, PlayWatch};
use hero_logic_api::{Play, PlayStatus};
use tokio::sync::Notify;

use crate::error::{ServiceError, ServiceResult};
use crate::library::Library;
use crate::now_ms;
use python::PythonRuntime;
use sandbox::Budget;
use session::RunMode;

/// Longest `play_wait`.
pub const MAX_WAIT_MS: u64 = 600_000;
pub const DEFAULT_WAIT_MS: u64 = 30_000;

#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub data_dir: PathBuf,
    /// The daemon's JSON-RPC socket, handed to runners for `hero_tracing.client`.
    pub rpc_socket: PathBuf,
    pub pool_size: usize,
    pub defaults: Budget,
    pub env_allow: Vec<String>,
    /// `[sandbox] allow_weaker`: run Plays even when the kernel lacks a protection.
    pub allow_weaker: bool,
    /// `[sandbox] fork_server`: start Plays from the fork server (else always cold).
    pub fork_server: bool,
    /// `[engine] warm_runners`: processes the fork server keeps made ahead of time.
    pub warm_runners: usize,
    /// `[sandbox] shared_dirs`: directories every Play may read and write.
    pub shared_dirs: Vec<PathBuf>,
    /// On start, resume Plays a crash left `running` by replay (else mark them failed).
    pub recover_by_replay: bool,
    /// Start-up replays one Play gets; found `running` once more, it is failed.
    pub recover_attempts: u32,
    /// More `HERO_LOGIC_*` variables for every runner: the default model and the models
    /// table (crate::models), never the endpoint's key.
    pub runner_vars: Vec<(String, String)>,
    /// The model endpoint, its key and the models table, for the `model_call`s the daemon
    /// makes on runners' behalf.
    pub models: Arc<crate::models::ModelSettings>,
    /// Caps on what a runner may send.
    pub caps: Caps,
}

/// Caps on what a runner may send (`[engine]` of service.toml), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub log_line: usize,
    pub play_logs: usize,
    pub output: usize,
    pub protocol_line: usize,
}

impl Caps {
    pub fn of(engine: &hero_logic_api::service::EngineSection) -> Caps {
        let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        Caps {
            log_line: bytes(engine.max_log_line_bytes),
            play_logs: bytes(engine.max_log_bytes),
            output: bytes(engine.max_output_bytes),
            protocol_line: bytes(engine.max_protocol_line_bytes),
        }
    }
}

/// Messages to a running Play's watchdog.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Control {
    Cancel,
    /// The daemon is stopping: kill the runner but leave the Play `running` for the next start.
    Shutdown,
    Done,
}

struct Job {
    play_sid: String,
    budget: Budget,
    mode: RunMode,
}

/// What workers share.
pub(crate) struct Core {
    library: Library,
    settings: EngineSettings,
    python: Result<PythonRuntime, String>,
    queue: Mutex<VecDeque<Job>>,
    queued: Condvar,
    running: Mutex<HashMap<String, Sender<Control>>>,
    /// Signalled when a run is unregistered, for a resume waiting for the previous run.
    run_ended: std::sync::Condvar,
    changes: Notify,
    /// What each `play_wait` waits on, by Play sid: a child step wakes its own Play's waiters
    /// (and the watchers), not every waiter of the daemon.
    waits: Mutex<HashMap<String, std::sync::Weak<Notify>>>,
    /// Counts changes to Plays, so watchers can tell whether they saw the latest state.
    change_count: std::sync::atomic::AtomicU64,
    /// Sids reserved from the store and not handed out yet: `(next, end)`.
    sids: Mutex<(u64, u64)>,
    /// Starts Plays into their sandbox (None when Python could not be resolved).
    starter: Option<Arc<runner::Starter>>,
    /// Sleeping Plays' wake-up times.
    timers: Arc<timers::Timers>,
    /// Trees `play_resume` read and updated, by top-level sid, with the store's write count
    /// after its update: the resumed run takes one instead of reading the tree again when
    /// nothing was written since.
    answered_trees: Mutex<HashMap<String, (u64, Vec<Play>)>>,
}

impl Core {
    /// Nothing queued or running yet; workers are started by the caller.
    fn new(
        library: Library,
        settings: EngineSettings,
        python: Result<PythonRuntime, String>,
        starter: Option<Arc<runner::Starter>>,
    ) -> Core {
        Core {
            library,
            settings,
            python,
            queue: Mutex::new(VecDeque::new()),
            queued: Condvar::new(),
            running: Mutex::new(HashMap::new()),
            run_ended: std::sync::Condvar::new(),
            changes: Notify::new(),
            waits: Mutex::new(HashMap::new()),
            change_count: std::sync::atomic::AtomicU64::new(1),
            sids: Mutex::new((0, 0)),
            starter,
            timers: Default::default(),
            answered_trees: Mutex::new(HashMap::new()),
        }
    }

    /// Any Play may have changed: wakes every watcher and every waiter.
    fn changed(&self) {
        self.change_count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.changes.notify_waiters();
        let waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        for notify in waits.values().filter_map(std::sync::Weak::upgrade) {
            notify.notify_waiters();
        }
    }

    /// Only `play_sid` may have changed status: wakes the watchers and its own waiters.
    fn changed_play(&self, play_sid: &str) {
        self.change_count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.changes.notify_waiters();
        let waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(notify) = waits.get(play_sid).and_then(std::sync::Weak::upgrade) {
            notify.notify_waiters();
        }
    }

    /// What a `play_wait` on `play_sid` waits on, shared with the other waits on that Play
    /// while one is held; entries no wait holds any more are dropped here.
    fn wait_handle(&self, play_sid: &str) -> Arc<Notify> {
        let mut waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(notify) = waits.get(play_sid).and_then(std::sync::Weak::upgrade) {
            return notify;
        }
        waits.retain(|_, w| w.strong_count() > 0);
        let notify = Arc::new(Notify::new());
        waits.insert(play_sid.to_string(), Arc::downgrade(&notify));
        notify
    }

    /// A fresh sid without a commit of its own: sids are reserved from the store in blocks.
    fn next_sid(&self) -> crate::store::StoreResult<String> {
        const BLOCK: u64 = 256;
        let mut sids = self.sids.lock().unwrap_or_else(|p| p.into_inner());
        if sids.0 == sids.1 {
            let first = self.library.store().reserve_sids(BLOCK)?;
            *sids = (first, first + BLOCK);
        }
        let id = sids.0;
        sids.0 += 1;
        Ok(crate::store::sid::encode(id))
    }

    fn register(&self, play_sid: &str, control: Sender<Control>) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(play_sid.to_string(), control);
    }

    fn unregister(&self, play_sid: &str) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(play_sid);
        self.run_ended.notify_all();
    }

    fn is_running(&self, play_sid: &str) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).contains_key(play_sid)
    }

    fn keep_answered_tree(&self, root_sid: &str, writes: u64, tree: Vec<Play>) {
        self.answered_trees.lock().unwrap_or_else(|p| p.into_inner()).insert(root_sid.to_string(), (writes, tree));
    }

    /// The tree `play_resume` kept for this run, if nothing was written since.
    fn take_answered_tree(&self, root_sid: &str) -> Option<Vec<Play>> {
        let (writes, tree) = self.answered_trees.lock().unwrap_or_else(|p| p.into_inner()).remove(root_sid)?;
        (self.library.store().writes_made() == Some(writes)).then_some(tree)
    }

    fn wait_until_not_running(&self, play_sid: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        while running.contains_key(play_sid) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            running = self.run_ended.wait_timeout(running, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Waits (at most as long as a local cancel does) for a Play another daemon ends.
    fn wait_until_ended(&self, play_sid: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.library.store().play_status(play_sid) {
                Ok(Some(status)) if !status.is_terminal() => std::thread::sleep(Duration::from_millis(20)),
                _ => return,
            }
        }
    }

    /// Fails a Play that never got a runner, with the reason as its message.
    fn fail_unstarted(&self, mut play: Play, message: String) {
        if play.started_at == 0 {
            play.started_at = now_ms();
        }
        if !session::close(&mut play, lifecycle::Event::Fail, Default::default(), message) {
            return;
        }
        if let Err(e) = self.library.store().play_update(&play) {
            tracing::error!(sid = %play.sid, error = %e, "cannot record a Play's failure");
        }
        self.changed();
    }

    /// Fails the unfinished Plays of a run (root and open children) with `reason`, when the
    /// run was lost: the daemon stopped under it, or the worker running it panicked.
    fn fail_run(&self, root_sid: &str, reason: &str) {
        let store = self.library.store();
        let tree = match store.play_tree(root_sid) {
            Ok(tree) => tree,
            Err(e) => {
                tracing::error!(play = %root_sid, error = %e, "cannot read a lost run to fail it");
                return;
            }
        };
        for mut play in tree.into_iter().filter(|p| !p.status.is_terminal()) {
            if !session::close(&mut play, lifecycle::Event::Fail, Default::default(), reason.to_string()) {
                continue;
            }
            if let Err(e) = store.play_update(&play) {
                tracing::error!(sid = %play.sid, error = %e, "cannot record a lost run's failure");
            }
        }
        self.changed();
    }

    fn next_job(&self) -> Job {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.is_empty() {
            // A worker with nothing to do first looks in the database's queue (shared store).
            drop(queue);
            self.claim_queued(1);
            queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        }
        loop {
            if let Some(job) = queue.pop_front() {
                return job;
            }
            queue = self.queued.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Workers with neither a run nor one waiting for them.
    fn idle_workers(&self) -> usize {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).len();
        self.settings.pool_size.max(1).saturating_sub(running + self.queue.lock().unwrap_or_else(|p| p.into_inner()).len())
    }

    /// Takes up to `n` Plays from the database's queue (a shared store) into this daemon's.
    fn claim_queued(&self, n: usize) {
        if n == 0 || self.library.store().heartbeat().is_none() {
            return;
        }
        let plays = match self.library.store().claim_queued_plays(n) {
            Ok(plays) => plays,
            Err(e) => return tracing::warn!(error = %e, "cannot look in the database's queue of Plays"),
        };
        for play in plays {
            let budget = self.budget_of(&play.sid);
            self.push_job(Job { play_sid: play.sid, budget, mode: RunMode::Fresh });
        }
    }

    fn push_job(&self, job: Job) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(job);
        self.queued.notify_one();
    }

    /// The budget a top-level Play was started with: its own limits over the service
    /// defaults. Limits the current defaults no longer allow give way to the defaults.
    fn budget_of(&self, play_sid: &str) -> Budget {
        let defaults = self.settings.defaults;
        let limits = match self.library.store().play_limits(play_sid) {
            Ok(limits) => limits,
            Err(e) => {
                tracing::warn!(play = %play_sid, error = %e, "cannot read a Play's limits; using the defaults");
                None
            }
        };
        defaults.with(limits.as_ref()).unwrap_or_else(|(field, message)| {
            tracing::warn!(play = %play_sid, %field, %message, "a Play's stored limit is out of range; using the default");
            defaults
        })
    }
}

pub struct Engine {
    core: Arc<Core>,
}

impl Engine {
    /// Starts the worker pool on the Python the daemon resolved (`PythonRuntime::prepare`; its
    /// error fails every Play) and deals with Plays a previous daemon left unfinished: queued
    /// ones run, running ones are resumed by replay (or failed, by configuration).
    pub fn start(library: Library, settings: EngineSettings, python: Result<PythonRuntime, String>) -> Arc<Engine> {
        Engine::start_running(library, settings, python, executor::run)
    }

    /// `start` with the function a worker runs each job with.
    fn start_running(
        library: Library,
        settings: EngineSettings,
        python: Result<PythonRuntime, String>,
        run: RunFn,
    ) -> Arc<Engine> {
        match &python {
            Ok(p) => tracing::info!(python = %p.interpreter.display(), version = %p.version, "Python runner ready"),
            Err(e) => tracing::error!(error = %e, "Plays will fail until this is fixed"),
        }
        let pool_size = settings.pool_size.max(1);
        let starter = python.as_ref().ok().map(|python| {
            runner::Starter::new(
                python,
                runner::StarterSettings {
                    data_dir: &settings.data_dir,
                    rpc_socket: &settings.rpc_socket,
                    env_allow: &settings.env_allow,
                    extra: &settings.runner_vars,
                    allow_weaker: settings.allow_weaker,
                    fork_server: settings.fork_server,
                    warm_runners: settings.warm_runners,
                    shared_dirs: &settings.shared_dirs,
                },
            )
        });
        if let Some(starter) = &starter {
            let protections = &starter.protections;
            match &protections.refusal {
                None => tracing::info!(summary = %protections.summary(), "Play sandbox"),
                Some(refusal) => tracing::error!(summary = %protections.summary(), "{refusal}"),
            }
        }
        let core = Arc::new(Core::new(library, settings, python, starter));
        for index in 0..pool_size {
            let core = Arc::clone(&core);
            std::thread::Builder::new()
                .name(format!("play-worker-{index}"))
                .spawn(move || loop {
                    let job = core.next_job();
                    run_job(&core, job, run);
                })
                .expect("the OS lets the daemon start its worker threads");
        }
        let engine = Arc::new(Engine { core });
        engine.recover();
        timers::start(&engine);
        cluster::start(&engine);
        engine
    }

    /// Takes over the unfinished Plays no live daemon runs: at start-up those a previous
    /// daemon left; on a shared database, later too, those of a daemon whose lease ran out.
    fn recover(&self) {
        let store = self.core.library.store();
        let unfinished = match store.claim_orphan_plays(&[PlayStatus::Pending, PlayStatus::Running]) {
            Ok(plays) => plays,
            Err(e) => {
                tracing::error!(error = %e, "cannot look for unfinished Plays");
                return;
            }
        };
        let settings = &self.core.settings;
        for play in unfinished {
            let budget = self.core.budget_of(&play.sid);
            if play.status == PlayStatus::Pending {
                self.enqueue(&play.sid, budget, RunMode::Fresh);
                continue;
            }
            if !settings.recover_by_replay {
                let reason = "the daemon stopped while this Play was running (engine.recover = \"fail\"); start it again";
                self.core.fail_run(&play.sid, reason);
                tracing::warn!(play = %play.sid, "a Play left running by a previous daemon was marked failed");
                continue;
            }
            // Counted before the replay starts, so a replay that takes the daemon down counts.
            let attempts = match store.play_count_recovery(&play.sid) {
                Ok(attempts) => attempts,
                Err(e) => {
                    tracing::error!(play = %play.sid, error = %e, "cannot count a recovery; the Play is failed");
                    let reason = format!("the daemon stopped while this Play was running, and cannot count its replays ({e}); it was failed rather than replayed without a bound");
                    self.core.fail_run(&play.sid, &reason);
                    continue;
                }
            };
            if attempts > settings.recover_attempts {
                let bound = settings.recover_attempts;
                let reason = format!(
                    "the daemon stopped {attempts} times in a row while this Play was running (its run and \
                     {bound} replays, engine.recover_attempts = {bound}); it was failed instead of replayed \
                     again, so that the daemon can start. If the Play itself brings the daemon down, fix the \
                     logic; else start it again"
                );
                self.core.fail_run(&play.sid, &reason);
                tracing::warn!(play = %play.sid, attempts, "a Play the daemon kept stopping on was failed");
                continue;
            }
            tracing::info!(play = %play.sid, attempt = attempts, of = settings.recover_attempts, "resuming a Play left running by a daemon that stopped");
            self.enqueue(&play.sid, budget, RunMode::Recover);
        }
    }

    /// The engine's settings and load, for `LogicService.engine_info`.
    pub fn info(&self) -> EngineInfo {
        let settings = &self.core.settings;
        EngineInfo {
            pool_size: settings.pool_size.max(1) as u64,
            fork_server: settings.fork_server,
            recover: if settings.recover_by_replay { "replay" } else { "fail" }.to_string(),
            recover_attempts: u64::from(settings.recover_attempts),
            running: self.core.running.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
            queued: self.core.queue.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
            wall_clock_ms: settings.defaults.wall_clock_ms,
        }
    }

    fn enqueue(&self, play_sid: &str, budget: Budget, mode: RunMode) {
        self.core.push_job(Job { play_sid: play_sid.to_string(), budget, mode });
    }

    /// Queues a new top-level Play here, or, when every worker is busy and the store is
    /// shared, in the database, for the first daemon with a free worker (this one too).
    fn enqueue_new(&self, play_sid: &str, budget: Budget) -> crate::store::StoreResult<()> {
        if !(self.core.idle_workers() == 0 && self.core.library.store().play_queue_shared(play_sid)?) {
            self.enqueue(play_sid, budget, RunMode::Fresh);
        }
        Ok(())
    }

    /// Validates and queues a top-level Play; returns it `pending`.
    pub fn start_play(&self, params: PlayStartParams) -> ServiceResult<Play> {
        let library = &self.core.library;
        let logic = library.resolve_logic(&params.logic)?;
        let version = match params.version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => library.resolve_version(&logic, v).map_err(|e| e.within("version"))?,
            None => library.store().version_get(&logic.current_version_sid)?.ok_or_else(|| {
                ServiceError::InvalidState {
                    message: format!("logic {:?} has no current version", logic.name),
                    hint: "create a version with LogicService.logic_create_version".into(),
                }
            })?,
        };
        let mut given = match params.example.as_deref().filter(|e| !e.is_empty()) {
            Some(example) => library.example_inputs(&logic, example)?,
            None => Default::default(),
        };
        given.extend(params.inputs);
        self.queue_top_level(&logic, &version, given, params.limits, Vec::new())
    }

    /// Answers a question a Play of the run asked, and resumes the run by replay. `play_sid`
    /// may name any Play of the run. Of two racing answers exactly one wins.
    pub fn resume(&self, play_sid: &str, resume_id: &str, payload: serde_json::Value) -> ServiceResult<Play> {
        let store = self.core.library.store();
        // The run's tree is read once, and the answer is computed from it: a run with many
        // recorded steps would otherwise pay for them several times over.
        let writes_before = store.writes_made();
        let (root_sid, mut tree) = run_tree(store.as_ref(), play_sid)?;
        let Some(asker_at) = tree.iter().position(|p| p.pending_resumes.iter().any(|r| r.id == resume_id)) else {
            return Err(unknown_question(&tree, resume_id));
        };
        let root = &tree[0];
        if root.status != PlayStatus::AwaitingResume {
            return Err(ServiceError::InvalidState {
                message: format!("Play {} is {}, not waiting for an answer", root.sid, root.status.as_str()),
                hint: "play_wait returns when a Play waits for a person".into(),
            });
        }
        let asker = &mut tree[asker_at];
        let request = asker.pending_resumes.iter().find(|r| r.id == resume_id).expect("found above");
        let answer = forms::check_answer(request, &payload)?;
        asker.pending_resumes.retain(|r| r.id != resume_id);
        asker.received_resumes.insert(resume_id.to_string(), answer);
        let asker_sid = asker.sid.clone();
        let mut updates = Vec::new();
        for play in &mut tree {
            if play.status == PlayStatus::AwaitingResume {
                lifecycle::apply(play, lifecycle::Event::Answer).map_err(|e| ServiceError::Internal(e.to_string()))?;
                updates.push(play.clone());
            } else if play.sid == asker_sid {
                updates.push(play.clone());
            }
        }
        if !store.plays_update(&updates, Some((&root_sid, PlayStatus::AwaitingResume)))? {
            return Err(ServiceError::InvalidState {
                message: format!("question {resume_id:?} of Play {asker_sid} was answered by another call first"),
                hint: "read the Play again; it is running with the other answer".into(),
            });
        }
        let answered = answered_play(&mut tree, asker_at);
        // Only this update was written since the tree was read: it is what the run would read.
        if let (Some(before), Some(after)) = (writes_before, store.writes_made()) {
            if after == before + 1 {
                self.core.keep_answered_tree(&root_sid, after, tree);
            }
        }
        let mode = RunMode::Resume { play_sid: asker_sid.clone(), resume_id: resume_id.to_string() };
        self.enqueue(&root_sid, self.core.budget_of(&root_sid), mode);
        self.core.changed();
        Ok(answered)
    }

    /// The Play as it is now, with its subtree totals.
    pub fn status(&self, play_sid: &str) -> ServiceResult<Play> {
        let play = self.core.library.store().play_get(play_sid)?.ok_or_else(|| unknown_play(play_sid))?;
        let mut plays = [play];
        crate::stats::with_subtrees(&self.core.library, &mut plays)?;
        let [play] = plays;
        Ok(play)
    }

    /// Returns when the Play is finished or waits for a person, or when `timeout_ms` passes.
    pub async fn wait(&self, play_sid: &str, timeout_ms: Option<u64>) -> ServiceResult<Play> {
        let timeout = Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_WAIT_MS).min(MAX_WAIT_MS));
        let deadline = Instant::now() + timeout;
        let mine = self.core.wait_handle(play_sid);
        loop {
            let changed = mine.notified();
            // Look at the status alone, and read the whole Play only to answer.
            let status = self.core.library.store().play_status(play_sid)?.ok_or_else(|| unknown_play(play_sid))?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if status.is_terminal() || status == PlayStatus::AwaitingResume || remaining.is_zero() {
                return self.status(play_sid);
            }
            // A bounded sleep as well, in case a change was made by another daemon process.
            let _ = tokio::time::timeout(remaining.min(Duration::from_millis(500)), changed).await;
        }
    }

    /// The Play's tree as soon as anything changed after change `since` (at once when it
    /// already has), or when `timeout_ms` passes. A live view loops on it with the version it
    /// got last, so it never polls.
    pub async fn watch(&self, play_sid: &str, since: u64, timeout_ms: Option<u64>) -> ServiceResult<PlayWatch> {
        use std::sync::atomic::Ordering;
        let timeout = Duration::from_millis(timeout_ms.unwrap_or(DEFAULT_WAIT_MS).min(MAX_WAIT_MS));
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.core.changes.notified();
            let version = self.core.change_count.load(Ordering::Acquire);
            let remaining = deadline.saturating_duration_since(Instant::now());
            if version > since || remaining.is_zero() {
                return Ok(PlayWatch { version, tree: self.tree(play_sid)? });
            }
            let _ = tokio::time::timeout(remaining, changed).await;
        }
    }

    /// Cancels the run a Play belongs to: its process group is killed and every unfinished
    /// Play of the run becomes `cancelled`.
    pub fn cancel(&self, play_sid: &str) -> ServiceResult<Play> {
        let store = self.core.library.store();
        let play = self.status(play_sid)?;
        let root = self.root_of(play)?;
        if root.status.is_terminal() {
            return Err(ServiceError::InvalidState {
                message: format!("Play {} already ended ({})", root.sid, root.status.as_str()),
                hint: "only pending, running or waiting Plays can be cancelled".into(),
            });
        }
        let control = self.core.running.lock().unwrap_or_else(|p| p.into_inner()).get(&root.sid).cloned();
        match control {
            // A waiting Play holds no process (a runner that just asked may still be exiting:
            // its last write is guarded and will not undo this).
            Some(control) if root.status != PlayStatus::AwaitingResume => {
                let _ = control.send(Control::Cancel);
                let deadline = Instant::now() + Duration::from_secs(10);
                while self.core.is_running(&root.sid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            // Running on another daemon: it is asked to, and does it as if asked itself.
            _ if store.play_request_cancel(&root.sid)? => self.core.wait_until_ended(&root.sid),
            _ => {
                let mut open: Vec<Play> =
                    store.play_tree(&root.sid)?.into_iter().filter(|p| !p.status.is_terminal()).collect();
                for play in &mut open {
                    session::close(play, lifecycle::Event::Cancel, Default::default(), "cancelled by play_cancel".into());
                }
                if !store.plays_update(&open, Some((&root.sid, root.status)))? {
                    return Err(ServiceError::InvalidState {
                        message: format!("Play {} changed state while being cancelled", root.sid),
                        hint: "read it again and retry".into(),
                    });
                }
                self.core.changed();
            }
        }
        self.status(play_sid)
    }

    fn root_of(&self, mut play: Play) -> ServiceResult<Play> {
        let store = self.core.library.store();
        while !play.parent_play_sid.is_empty() {
            let parent = play.parent_play_sid.clone();
            play = store.play_get(&parent)?.ok_or_else(|| unknown_play(&parent))?;
        }
        Ok(play)
    }

    pub fn tree(&self, play_sid: &str) -> ServiceResult<PlayTree> {
        let mut plays = self.core.library.store().play_tree(play_sid)?.into_iter();
        let mut play = plays.next().ok_or_else(|| unknown_play(play_sid))?;
        let mut descendants: Vec<Play> = plays.collect();
        crate::stats::tree_subtrees(&mut play, &mut descendants);
        Ok(PlayTree { play, descendants })
    }

    /// Kills every running runner (daemon shutdown); their Plays stay `running` so the next
    /// start deals with them.
    pub fn shutdown(&self) {
        let (mut sids, running): (Vec<String>, Vec<Sender<Control>>) = self
            .core
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(sid, control)| (sid.clone(), control.clone()))
            .unzip();
        sids.extend(self.core.queue.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|job| job.play_sid.clone()));
        // The daemon survived these Plays (or never got to them): the next start's recovery
        // is not a retry.
        if let Err(e) = self.core.library.store().plays_clear_recoveries(&sids) {
            tracing::warn!(error = %e, "cannot reset the recovery counts of running Plays");
        }
        for control in running {
            let _ = control.send(Control::Shutdown);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.core.running.lock().unwrap_or_else(|p| p.into_inner()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The sandbox's protections as the start probe found them (`LogicService.sandbox_info`).
    pub fn sandbox_info(&self) -> hero_logic_api::params::SandboxInfo {
        match &self.core.starter {
            Some(starter) => starter.protections.info(self.core.settings.fork_server),
            None => hero_logic_api::params::SandboxInfo {
                refusal: self.core.python.as_ref().err().cloned(),
                summary: "sandbox: not set up (no Python runner)".into(),
                ..Default::default()
            },
        }
    }
}

type RunFn = fn(&Arc<Core>, &str, Budget, RunMode);

/// Runs one job; a panic while running it fails that Play (with the panic's message) and
/// leaves the worker alive, so the pool stays full.
fn run_job(core: &Arc<Core>, job: Job, run: RunFn) {
    let sid = job.play_sid.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(core, &job.play_sid, job.budget, job.mode)));
    let Err(panic) = outcome else { return };
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    tracing::error!(play = %sid, panic = %what, "the worker running a Play panicked; the Play is failed");
    // The run's runner may still be alive: its process group goes, as after a crash.
    executor::kill_orphans(&core.settings.data_dir, &sid);
    if let Some(control) = core.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&sid) {
        let _ = control.send(Control::Done);
    }
    let reason = format!("internal error in the daemon while running this Play ({what}); the Play was stopped and the daemon kept running");
    core.fail_run(&sid, &reason);
}

fn unknown_question(tree: &[Play], resume_id: &str) -> ServiceError {
    if tree.iter().any(|p| p.received_resumes.contains_key(resume_id)) {
        return ServiceError::InvalidState {
            message: format!("question {resume_id:?} was already answered"),
            hint: "each question takes one answer".into(),
        };
    }
    let pending: Vec<&str> = tree.iter().flat_map(|p| p.pending_resumes.iter().map(|r| r.id.as_str())).collect();
    ServiceError::InvalidState {
        message: format!("no Play of this run waits for an answer to {resume_id:?}"),
        hint: if pending.is_empty() {
            "nothing in this run is waiting for a person".into()
        } else {
            format!("waiting questions: {}", pending.join(", "))
        },
    }
}

/// The sid of the run `play_sid` belongs to and the run's whole tree. Answers are mostly
/// given to the top-level Play, whose tree is read straight away; for a child, its root is
/// looked up first.
fn run_tree(store: &dyn crate::store::Store, play_sid: &str) -> ServiceResult<(String, Vec<Play>)> {
    let tree = store.play_tree(play_sid)?;
    match tree.first() {
        None => Err(unknown_play(play_sid)),
        Some(top) if top.parent_play_sid.is_empty() => Ok((play_sid.to_string(), tree)),
        Some(_) => {
            let root_sid = store.play_root_sid(play_sid)?.ok_or_else(|| unknown_play(play_sid))?;
            let tree = store.play_tree(&root_sid)?;
            Ok((root_sid, tree))
        }
    }
}

/// The Play that asked, as the answer left it, with its subtree totals taken from the tree
/// (`play_resume`'s reply). The totals are filled in for the whole tree in place and
/// cleared again, so that the tree stays what the store returns (the run may take it) and
/// only the asker is copied, not the hundreds of recorded steps.
fn answered_play(tree: &mut [Play], asker_at: usize) -> Play {
    if let Some((root, descendants)) = tree.split_first_mut() {
        crate::stats::tree_subtrees(root, descendants);
    }
    let answered = tree[asker_at].clone();
    for play in tree.iter_mut() {
        play.subtree = Default::default();
    }
    answered
}

fn unknown_play(sid: &str) -> ServiceError {
    ServiceError::not_found(format!("Play {sid:?} not found"), "LogicService.play_list_for_logic lists a logic's Plays")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, Store, Synchronous};
    use hero_logic_api::service::ServiceConfig;
    use hero_logic_api::{Logic, LogicVersion};

    const TRIVIAL: &str = "from hero_tracing import logic\n\n@logic(name=\"trivial\")\ndef trivial():\n    return {}\n";

    /// Runs Plays of `trivial` for real; any other Play panics its worker.
    fn panics_unless_trivial(core: &Arc<Core>, play_sid: &str, budget: Budget, mode: RunMode) {
        let name = core.library.store().play_get(play_sid).ok().flatten().map(|p| p.name).unwrap_or_default();
        if name != "trivial" {
            let figures: [u64; 2] = [u64::MAX, 1];
            panic!("figure overflow: {}", figures.iter().fold(0u64, |a, b| a.checked_add(*b).expect("tokens overflow")));
        }
        executor::run(core, play_sid, budget, mode);
    }

    fn settle(engine: &Engine, sid: &str) -> Play {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let play = engine.status(sid).expect("the Play exists");
            if play.status.is_terminal() || Instant::now() > deadline {
                return play;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_panicking_worker_fails_its_play_and_keeps_serving() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("t.db"), Synchronous::Normal).unwrap());
        for name in ["trivial", "boom"] {
            let logic = Logic { name: name.into(), ..Default::default() };
            let version = LogicVersion { version_label: "v1".into(), python_source: TRIVIAL.into(), ..Default::default() };
            store.logic_create(&logic, &version).unwrap();
        }
        let service = ServiceConfig::defaults();
        let settings = EngineSettings {
            data_dir: dir.path().to_path_buf(),
            rpc_socket: dir.path().join("rpc.sock"),
            pool_size: 1,
            defaults: Budget::defaults(&service.sandbox),
            env_allow: service.sandbox.env_allow.clone(),
            allow_weaker: false,
            fork_server: true,
            warm_runners: 4,
            shared_dirs: Vec::new(),
            recover_by_replay: true,
            recover_attempts: 3,
            runner_vars: Vec::new(),
            models: Arc::new(crate::models::ModelSettings::unconfigured()),
            caps: Caps::of(&service.engine),
        };
        let python = PythonRuntime::prepare(&settings.data_dir);
        let engine = Engine::start_running(Library::new(store), settings, python, panics_unless_trivial);
        let start = |logic: &str| engine.start_play(PlayStartParams { logic: logic.into(), ..Default::default() }).unwrap().sid;
        let boom = start("boom");
        let failed = settle(&engine, &boom);
        assert_eq!(failed.status, PlayStatus::Failed, "{failed:?}");
        assert!(failed.error_message.contains("tokens overflow") && failed.error_message.contains("daemon kept running"), "{}", failed.error_message);
        // The pool's one worker survived and runs the next Play.
        let ok = settle(&engine, &start("trivial"));
        assert_eq!(ok.status, PlayStatus::Success, "{ok:?}");
        assert!(!engine.core.is_running(&boom));
        engine.shutdown();
    }
}
