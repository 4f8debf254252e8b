//! `hero_logic up` end to end: real daemon, real admin, real signals.
//!
//! Needs `hero_logic_server` and `hero_logic_admin` built next to `hero_logic`
//! (`cargo build --workspace`, or `cargo test --workspace`, which builds every binary first).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The directory holding all three binaries, or why the test cannot run.
fn binaries_dir() -> Result<PathBuf, String> {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_hero_logic"));
    let dir = cli.parent().ok_or("the hero_logic binary has no parent dir")?.to_path_buf();
    for name in ["hero_logic_server", "hero_logic_admin"] {
        if !dir.join(name).is_file() {
            return Err(format!("{} does not exist yet; run `cargo build --workspace`", dir.join(name).display()));
        }
    }
    Ok(dir)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Stops `up` however the test ends, so a failed assertion leaves no daemon behind.
struct UpProcess {
    child: Child,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl UpProcess {
    fn start(data_dir: &Path, port: u16) -> UpProcess {
        let mut child = up_command(data_dir, port)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hero_logic up");
        let (tx, stdout) = channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                sink.lock().expect("lock").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        UpProcess { child, stdout, stderr }
    }

    /// Reads stdout lines until one starts with `prefix`; returns the rest of that line.
    fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.stdout.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_string();
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("`up` exited ({status}) before printing {prefix:?}; stderr:\n{}", self.stderr());
                    }
                }
            }
        }
        panic!("`up` did not print {prefix:?} within {timeout:?}; stderr:\n{}", self.stderr());
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

impl Drop for UpProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), libc::SIGTERM);
            if wait_timeout(&mut self.child, Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn up_command(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hero_logic"));
    command
        .arg("up")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        // The test's paths come from flags only, never from the developer's environment.
        .env_remove("HERO_LOGIC_HOME")
        .env_remove("HERO_LOGIC_SOCKET")
        .env_remove("HERO_LOGIC_ADMIN_ADDR")
        .env_remove("HERO_LOGIC_ADMIN_TOKEN_FILE");
    command
}

fn admin_url(data_dir: &Path, listen: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hero_logic"));
    command.args(["admin-url", "--data-dir"]).arg(data_dir);
    if let Some(listen) = listen {
        command.args(["--listen", listen]);
    }
    command
        .env_remove("HERO_LOGIC_HOME")
        .env_remove("HERO_LOGIC_ADMIN_ADDR")
        .env_remove("HERO_LOGIC_ADMIN_TOKEN_FILE")
        .output()
        .expect("run hero_logic admin-url")
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Gone, or a zombie waiting for init to reap it (it no longer runs either way).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesised command name: `pid (comm) S ...`.
        Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')).unwrap_or(false),
    }
}

/// `GET path` on the admin at `addr`, with `extra` header lines (each ending in CRLF).
fn http_get(addr: &str, path: &str, extra: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the admin");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{extra}\r\n").expect("write request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read answer");
    answer
}

#[test]
fn up_starts_both_refuses_a_second_and_stops_cleanly() {
    if let Err(reason) = binaries_dir() {
        panic!("cannot test `up`: {reason}");
    }
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let port = free_port();
    let mut up = UpProcess::start(data_dir.path(), port);

    let dashboard = up.wait_for_line("dashboard:", STARTUP_TIMEOUT);
    let addr = format!("127.0.0.1:{port}");
    let token = dashboard
        .strip_prefix(&format!("http://{addr}/?token="))
        .unwrap_or_else(|| panic!("`up` prints the login link: {dashboard}"))
        .to_string();
    assert_eq!(token.len(), 64, "{dashboard}");
    let token_file = data_dir.path().join("admin.token");
    let mode = std::fs::metadata(&token_file).expect("token file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner reads the token");
    let socket = up.wait_for_line("socket:", Duration::from_secs(5));
    assert_eq!(PathBuf::from(&socket), data_dir.path().join("hero_logic.sock"));
    let server_pid: u32 = up.wait_for_line("server pid:", Duration::from_secs(5)).parse().expect("server pid");
    let admin_pid: u32 = up.wait_for_line("admin pid:", Duration::from_secs(5)).parse().expect("admin pid");

    // `admin-url` prints the same link again, on its own port without being told it.
    for listen in [None, Some(addr.as_str())] {
        let again = admin_url(data_dir.path(), listen);
        assert!(again.status.success(), "admin-url: {}", String::from_utf8_lossy(&again.stderr));
        assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), dashboard, "--listen {listen:?}");
    }

    let health = http_get(&addr, "/healthz", "");
    assert!(health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""daemon":true"#), "{health}");

    // Without the token the dashboard says how to get in; the link logs a browser in.
    let refused = http_get(&addr, "/", "");
    assert!(refused.contains(" 401 "), "{refused}");
    assert!(refused.contains("hero_logic admin-url"), "{refused}");
    let login = http_get(&addr, &format!("/?token={token}"), "");
    assert!(login.contains(" 303 "), "{login}");
    let cookie = login
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("the link sets a cookie: {login}"))
        .to_string();

    // The dashboard lists the built-in seed logics, read from the real daemon.
    let page = http_get(&addr, "/", &format!("Cookie: {cookie}\r\n"));
    assert!(page.contains("200 OK"), "{page}");
    for seed in ["greeting", "fib", "text_pipeline", "always_fails"] {
        assert!(page.contains(&format!(">{seed}<")), "the dashboard lists {seed}: {page}");
    }
    let searched = http_get(&addr, "/?q=fibonacci", &format!("Authorization: Bearer {token}\r\n"));
    assert!(searched.contains(">fib<") && !searched.contains(">greeting<"), "search narrows the list: {searched}");

    let mut second = up_command(data_dir.path(), free_port())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn second up");
    let status = wait_timeout(&mut second, Duration::from_secs(30)).expect("second `up` finishes quickly");
    let mut second_err = String::new();
    second.stderr.take().expect("stderr").read_to_string(&mut second_err).expect("read stderr");
    assert_eq!(status.code(), Some(3), "stderr: {second_err}");
    assert!(second_err.contains("already running"), "{second_err}");
    assert!(second_err.contains(&data_dir.path().display().to_string()), "names the data dir: {second_err}");

    signal(up.child.id(), libc::SIGTERM);
    let status = wait_timeout(&mut up.child, Duration::from_secs(15)).expect("`up` stops within its grace period");
    assert!(status.success(), "`up` exits 0 after SIGTERM ({status}); stderr:\n{}", up.stderr());
    up.wait_for_line("stopped", Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(process_gone(server_pid) && process_gone(admin_pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(process_gone(server_pid), "server pid {server_pid} still runs");
    assert!(process_gone(admin_pid), "admin pid {admin_pid} still runs");
}

#[test]
fn admin_url_without_a_token_says_to_start_the_admin_first() {
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let output = admin_url(data_dir.path(), None);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no admin token") && stderr.contains("hero_logic up"), "{stderr}");
    assert!(stderr.contains(&data_dir.path().display().to_string()), "names where it looked: {stderr}");
}
