//! What the CLI's integration tests share: a real daemon on a temp data dir, and running the
//! real `hero_logic` binary against it.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CLI: &str = env!("CARGO_BIN_EXE_hero_logic");

pub fn server_binary() -> PathBuf {
    let path = Path::new(CLI).parent().expect("the CLI binary has a parent dir").join("hero_logic_server");
    assert!(
        path.is_file(),
        "{} does not exist yet; run `cargo build -p hero_logic --bin hero_logic_server`",
        path.display()
    );
    path
}

pub fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics")
}

/// A daemon with the repository's seed logics on a temp data dir, stopped by PID on drop,
/// so a failed assertion leaves nothing running.
pub struct TestDaemon {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl TestDaemon {
    pub fn start() -> TestDaemon {
        TestDaemon::start_with(&["--seed-dir".as_ref(), seed_dir().as_os_str()])
    }

    /// A daemon with these extra arguments (`--no-seed`, ...).
    pub fn start_with(args: &[&std::ffi::OsStr]) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp data dir");
        let child = Command::new(server_binary())
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("HERO_LOGIC_SOCKET")
            .env_remove("HERO_LOGIC_SEED_DIR")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start hero_logic_server");
        let mut daemon = TestDaemon { child, dir };
        daemon.wait_ready();
        daemon
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("hero_logic.sock")
    }

    /// The daemon binds its socket only after loading the seeds, so a connection means ready.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while UnixStream::connect(self.socket()).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the daemon exited before answering: {status}");
            }
            assert!(Instant::now() < deadline, "the daemon did not answer within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `hero_logic <args> --data-dir <ours>`.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&[args, &["--data-dir", &self.dir.path().display().to_string()]].concat(), None)
    }

    /// Calls the daemon over JSON-RPC, as any client would.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let client = hero_logic_api::RpcClient::new(self.socket());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(client.call::<Value>(method, params)).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Defines a Logic from Python source.
    pub fn define(&self, name: &str, source: &str) {
        self.call("LogicService.logic_create", json!({"name": name, "description": "test", "python_source": source}));
    }

    /// A Play as the daemon has it now.
    pub fn play(&self, sid: &str) -> Value {
        self.call("LogicService.play_status", json!({"play_sid": sid}))
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own, not yet reaped, child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CLI with `stdin` (or none) and an environment that cannot point elsewhere.
pub fn cli(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(CLI)
        .args(args)
        .env_remove("HERO_LOGIC_HOME")
        .env_remove("HERO_LOGIC_SOCKET")
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hero_logic");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("hero_logic runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit code and both streams, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!("exit {:?}\n--- stdout\n{}--- stderr\n{}", output.status.code(), stdout(output), stderr(output))
}
