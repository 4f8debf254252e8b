//! A real daemon on a temp data dir, for integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_logic_api::{ClientError, RpcClient};
use serde_json::{json, Value};

pub const SERVER: &str = env!("CARGO_BIN_EXE_hero_logic_server");

pub fn repo_seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics")
}

pub struct Daemon {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub client: RpcClient,
}

impl Daemon {
    /// Starts a daemon without seeds on `data_dir`.
    pub async fn start(data_dir: &Path) -> Daemon {
        Daemon::start_with(data_dir, &["--no-seed"]).await
    }

    pub async fn start_with(data_dir: &Path, args: &[&str]) -> Daemon {
        Daemon::start_with_env(data_dir, args, &[]).await
    }

    /// Starts a daemon with extra environment variables (set on the daemon only, never on the
    /// test process, whose other tests run side by side).
    pub async fn start_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let socket = data_dir.join("hero_logic.sock");
        let child = Command::new(SERVER)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .envs(env.iter().copied())
            .env_remove("HERO_LOGIC_SOCKET")
            .env_remove("HERO_LOGIC_CONFIG")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let mut daemon = Daemon { child: Some(child), data_dir: data_dir.to_path_buf(), socket: socket.clone(), client: RpcClient::new(&socket) };
        daemon.wait_ready().await;
        daemon
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.client.call::<Value>("rpc.discover", json!({})).await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("the daemon exited before answering: {status}");
            }
            assert!(Instant::now() < deadline, "the daemon did not answer within 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL: the daemon dies without any chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child by PID.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.wait();
        }
    }

    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.client.call(method, params).await.unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    pub async fn call_err(&self, method: &str, params: Value) -> ClientError {
        match self.client.call::<Value>(method, params).await {
            Ok(v) => panic!("{method} should have failed, got {v}"),
            Err(e) => e,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Code and field path of an RPC error.
pub fn code_and_field(error: &ClientError) -> (i32, String) {
    (error.code().unwrap_or(0), error.data().map(|d| d.field.clone()).unwrap_or_default())
}

impl Daemon {
    /// Creates (or adds a version to) a Logic from Python source.
    pub async fn define(&self, name: &str, source: &str) -> Value {
        self.call("LogicService.logic_create", json!({"name": name, "python_source": source})).await
    }

    /// Starts a Play and waits until it ends (or waits for a person).
    pub async fn run(&self, logic: &str, inputs: Value) -> Value {
        self.run_with(json!({"logic": logic, "inputs": inputs})).await
    }

    pub async fn wait(&self, play_sid: &Value) -> Value {
        self.call("LogicService.play_wait", json!({"play_sid": play_sid, "timeout_ms": 60000})).await
    }

    pub async fn run_with(&self, params: Value) -> Value {
        let play = self.call("LogicService.play_start", params).await;
        assert_eq!(play["status"], "pending", "play_start returns the Play pending");
        self.call("LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 60000})).await
    }
}

/// Whether a process with this PID still exists (zombies count as gone).
pub fn process_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or_default().trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

/// Host pids of live processes whose command line has `arg` as one of its arguments
/// (a Play's own pids are those of its PID namespace, so tests find its processes by a
/// unique argument instead).
pub fn processes_with_arg(arg: &str) -> Vec<i64> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()) && process_alive(*pid)
        })
        .collect()
}

/// An argument no other test uses, for `processes_with_arg`.
pub fn unique_arg(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}{}{n:03}", std::process::id())
}

impl Daemon {
    /// A daemon on `data_dir` (no seeds) whose Plays may also write under `shared`
    /// (`[sandbox] shared_dirs`), for tests that count a logic's side effects in files.
    pub async fn start_sharing(data_dir: &Path, shared: &Path) -> Daemon {
        let shared = shared.display().to_string();
        Daemon::start_with_env(data_dir, &["--no-seed"], &[("HERO_LOGIC_SANDBOX_SHARED_DIRS", &shared)]).await
    }
}

impl Daemon {
    /// The Play once it has ended, waiting through its sleeps and questions answered by the
    /// daemon (`play_wait` returns at each `awaiting_resume`).
    pub async fn until_ended(&self, sid: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let play = self.call("LogicService.play_wait", json!({"play_sid": sid, "timeout_ms": 5000})).await;
            if play["status"].as_str().is_some_and(|s| !["awaiting_resume", "running", "pending"].contains(&s)) {
                return play;
            }
            assert!(Instant::now() < deadline, "still {}", play["status"]);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A daemon whose Plays may write in one shared dir (the sandbox hides everything else), and
/// the path of a file there for a test's side-effect counts.
pub struct Sharing {
    pub daemon: Daemon,
    pub file: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Sharing {
    /// Starts it on a fresh temp dir (`data/` for the daemon, `shared/` for the Plays);
    /// `file` names the counter file in the shared dir.
    pub async fn start(file: &str) -> Sharing {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        let daemon = Daemon::start_sharing(&dir.path().join("data"), &shared).await;
        Sharing { daemon, file: shared.join(file), dir }
    }

    /// Starts a daemon on the same data and shared dirs again (after `kill9`).
    pub async fn restart(&self) -> Daemon {
        Daemon::start_sharing(&self.dir.path().join("data"), &self.dir.path().join("shared")).await
    }
}
