//! `hero_logic up`: starts the daemon and the web admin side by side, waits until both
//! answer, and keeps them running until Ctrl-C (or until one of them dies).

use std::ffi::OsStr;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use clap::Args;
use hero_logic_api::admin_token::{self, TokenError};
use hero_logic_api::service::ServiceConfig;
use hero_logic_api::RpcClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};

use crate::process::{stop_all, SpawnError, Supervised};

/// Exit code for "a daemon already runs for this data dir"; the server uses the same one
/// when it cannot take the data dir's lock.
pub const EXIT_ALREADY_RUNNING: i32 = 3;

/// How long each child gets to answer after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// One readiness probe must not eat the whole startup budget.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Data dir of the daemon [default: ~/.hero_logic; env HERO_LOGIC_HOME]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Listen address of the web admin [default: 127.0.0.1:9820; env HERO_LOGIC_ADMIN_ADDR]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(
        "cannot find {name} at {} (`hero_logic up` starts the binaries installed next to itself); \
         build the whole workspace with `cargo build --release` and run target/release/hero_logic up",
        path.display()
    )]
    MissingBinary { name: String, path: PathBuf },

    #[error("cannot tell where the hero_logic binary lives: {0}")]
    CurrentExe(std::io::Error),

    #[error("cannot resolve the path {}: {source}", path.display())]
    Path { path: PathBuf, source: std::io::Error },

    #[error(
        "a hero_logic daemon is already running for {} (socket {}); use it, stop it first, \
         or pick another --data-dir",
        data_dir.display(), socket.display()
    )]
    AlreadyRunning { data_dir: PathBuf, socket: PathBuf },

    #[error(
        "the admin's listen address {addr} is not available: {source} (another `hero_logic up`?); \
         pick another with --listen ADDR, e.g. --listen 127.0.0.1:9821"
    )]
    ListenUnavailable { addr: String, source: std::io::Error },

    #[error(transparent)]
    Spawn(#[from] SpawnError),

    #[error("{name} exited during startup ({status}); its last output:\n{output}")]
    ExitedAtStartup { name: String, status: String, output: String },

    #[error("{name} did not answer on {target} within {} s; its last output:\n{output}", READY_TIMEOUT.as_secs())]
    NotReady { name: String, target: String, output: String },

    #[error("{name} (pid {pid}) died unexpectedly ({status}); stopped the rest. Its last output:\n{output}")]
    Died { name: String, pid: u32, status: String, output: String },

    #[error(transparent)]
    Token(#[from] TokenError),

    #[error("cannot install the Ctrl-C/SIGTERM handlers: {0}")]
    Signals(std::io::Error),

    #[error("interrupted during startup; stopped what had been started")]
    Interrupted,
}

impl UpError {
    pub fn exit_code(&self) -> i32 {
        match self {
            UpError::AlreadyRunning { .. } => EXIT_ALREADY_RUNNING,
            UpError::MissingBinary { .. } => 2,
            UpError::Interrupted => 130,
            _ => 1,
        }
    }
}

/// Where everything lives, resolved once from flags, environment and service.toml.
#[derive(Debug)]
struct Plan {
    server_bin: PathBuf,
    admin_bin: PathBuf,
    data_dir: PathBuf,
    socket: PathBuf,
    token_file: PathBuf,
    listen: String,
}

pub async fn run(args: UpArgs) -> Result<(), UpError> {
    let plan = plan(&args)?;
    // Installed before any child exists, so a Ctrl-C during startup still stops them.
    let mut stop = StopSignals::install()?;
    if daemon_answers(&plan.socket).await {
        return Err(already_running(&plan));
    }
    ensure_listen_free(&plan.listen).await?;
    // Made here rather than left to the admin, so the link below can be printed and a
    // token file with bad permissions stops us before anything starts.
    let token = admin_token::ensure(&plan.token_file)?;
    let mut server = start_server(&plan, &mut stop).await?;
    let mut admin = match start_admin(&plan, &mut stop).await {
        Ok(admin) => admin,
        Err(err) => {
            stop_all(&mut [&mut server], STOP_GRACE).await;
            return Err(err);
        }
    };
    announce(&plan, &token, &server, &admin);
    supervise(&mut server, &mut admin, &mut stop).await
}

fn plan(args: &UpArgs) -> Result<Plan, UpError> {
    let config = ServiceConfig::defaults();
    let exe = std::env::current_exe().map_err(UpError::CurrentExe)?;
    let bin_dir = exe.parent().unwrap_or(Path::new("."));
    let data_dir = absolute(&config.data_dir(args.data_dir.as_deref()))?;
    Ok(Plan {
        server_bin: locate_binary(bin_dir, &config.binaries.server)?,
        admin_bin: locate_binary(bin_dir, &config.binaries.admin)?,
        socket: absolute(&config.socket(None, &data_dir))?,
        token_file: absolute(&config.admin_token_file(None, &data_dir))?,
        listen: config.admin_listen(args.listen.as_deref()),
        data_dir,
    })
}

/// The sibling binary `name` in `dir`, or an error saying how to build it.
pub fn locate_binary(dir: &Path, name: &str) -> Result<PathBuf, UpError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(UpError::MissingBinary { name: name.to_string(), path })
    }
}

/// Absolute paths, so the lines we print and the flags we pass mean the same thing from any cwd.
fn absolute(path: &Path) -> Result<PathBuf, UpError> {
    std::path::absolute(path).map_err(|source| UpError::Path { path: path.to_path_buf(), source })
}

/// Fails early when the admin's port is taken: otherwise whatever holds it could answer our
/// `/healthz` probe and pass for the admin, which would then die unseen.
pub async fn ensure_listen_free(listen: &str) -> Result<(), UpError> {
    // Dropped at once; the admin binds the same address right after (SO_REUSEADDR is set).
    tokio::net::TcpListener::bind(listen)
        .await
        .map(drop)
        .map_err(|source| UpError::ListenUnavailable { addr: listen.to_string(), source })
}

fn already_running(plan: &Plan) -> UpError {
    UpError::AlreadyRunning { data_dir: plan.data_dir.clone(), socket: plan.socket.clone() }
}

async fn start_server(plan: &Plan, stop: &mut StopSignals) -> Result<Supervised, UpError> {
    let args = [OsStr::new("--data-dir"), plan.data_dir.as_os_str(), OsStr::new("--socket"), plan.socket.as_os_str()];
    let mut server = Supervised::spawn("hero_logic_server", &plan.server_bin, &args)?;
    let socket = plan.socket.clone();
    let target = format!("socket {}", plan.socket.display());
    match wait_ready(&mut server, &target, stop, || daemon_answers_owned(socket.clone())).await {
        // The server's own "data dir locked" exit: another daemon won the race since our probe.
        Err(UpError::ExitedAtStartup { .. })
            if server.try_exit().and_then(|s| s.code()) == Some(EXIT_ALREADY_RUNNING) =>
        {
            Err(already_running(plan))
        }
        Err(err) => {
            stop_all(&mut [&mut server], STOP_GRACE).await;
            Err(err)
        }
        Ok(()) => Ok(server),
    }
}

async fn start_admin(plan: &Plan, stop: &mut StopSignals) -> Result<Supervised, UpError> {
    let args = [
        OsStr::new("--listen"),
        OsStr::new(&plan.listen),
        OsStr::new("--socket"),
        plan.socket.as_os_str(),
        OsStr::new("--token-file"),
        plan.token_file.as_os_str(),
    ];
    let mut admin = Supervised::spawn("hero_logic_admin", &plan.admin_bin, &args)?;
    let probe_addr = connectable(&plan.listen);
    let target = format!("http://{probe_addr}/healthz");
    match wait_ready(&mut admin, &target, stop, || healthz_ok(probe_addr.clone())).await {
        Ok(()) => Ok(admin),
        Err(err) => {
            stop_all(&mut [&mut admin], STOP_GRACE).await;
            Err(err)
        }
    }
}

/// Polls `probe` until it succeeds, the child exits, [`READY_TIMEOUT`] passes, or the user
/// asks us to stop (a slow start must not make Ctrl-C wait 20 s).
async fn wait_ready<F, Fut>(
    child: &mut Supervised,
    target: &str,
    stop: &mut StopSignals,
    mut probe: F,
) -> Result<(), UpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_exit() {
            return Err(UpError::ExitedAtStartup {
                name: child.name().to_string(),
                status: describe(status),
                output: child.last_output().await,
            });
        }
        let answered = tokio::select! {
            answered = probe() => answered,
            _ = stop.recv() => return Err(UpError::Interrupted),
        };
        if answered {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(UpError::NotReady {
                name: child.name().to_string(),
                target: target.to_string(),
                output: child.last_output().await,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_INTERVAL) => {}
            _ = stop.recv() => return Err(UpError::Interrupted),
        }
    }
}

fn announce(plan: &Plan, token: &str, server: &Supervised, admin: &Supervised) {
    println!("hero_logic is up");
    println!("dashboard: {}", admin_token::dashboard_link(&connectable(&plan.listen), token));
    println!("socket: {}", plan.socket.display());
    println!("data dir: {}", plan.data_dir.display());
    println!("server pid: {}", server.pid());
    println!("admin pid: {}", admin.pid());
}

/// Runs until a stop signal (clean exit) or until a child dies (error naming it).
async fn supervise(server: &mut Supervised, admin: &mut Supervised, stop: &mut StopSignals) -> Result<(), UpError> {
    let died = tokio::select! {
        _ = stop.recv() => None,
        status = server.wait() => Some((true, status)),
        status = admin.wait() => Some((false, status)),
    };
    stop_all(&mut [&mut *admin, &mut *server], STOP_GRACE).await;
    let Some((server_died, status)) = died else {
        println!("stopped");
        return Ok(());
    };
    let dead = if server_died { server } else { admin };
    Err(UpError::Died {
        name: dead.name().to_string(),
        pid: dead.pid(),
        status: status.map(describe).unwrap_or_else(|| "status unknown".into()),
        output: dead.last_output().await,
    })
}

/// SIGINT and SIGTERM, both meaning "stop everything cleanly".
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals, UpError> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).map_err(UpError::Signals)?,
            terminate: signal(SignalKind::terminate()).map_err(UpError::Signals)?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

fn describe(status: ExitStatus) -> String {
    status.to_string()
}

/// Whether something answers JSON-RPC on `socket`. Any well-formed HTTP answer counts: we
/// only ask "is a daemon there", not "is it healthy".
pub async fn daemon_answers(socket: &Path) -> bool {
    let client = RpcClient::new(socket);
    let call = client.call::<serde_json::Value>(hero_logic_api::methods::DISCOVER, serde_json::json!({}));
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Ok(Ok(_)) => true,
        // The daemon answered, even if with an error: it is running.
        Ok(Err(err)) => err.code().is_some(),
        Err(_) => false,
    }
}

async fn daemon_answers_owned(socket: PathBuf) -> bool {
    daemon_answers(&socket).await
}

/// Whether `GET /healthz` on `addr` answers 200. Plain HTTP/1.0 over a TcpStream: the one
/// request we make does not justify an HTTP client dependency.
pub async fn healthz_ok(addr: String) -> bool {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        let request = format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(PROBE_TIMEOUT, exchange).await {
        Ok(Ok(answer)) => is_http_ok(&answer),
        _ => false,
    }
}

/// Whether a raw HTTP response starts with a 200 status line.
pub fn is_http_ok(answer: &[u8]) -> bool {
    let status_line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = status_line.split(|&b| b == b' ');
    matches!((parts.next(), parts.next()), (Some(version), Some(b"200")) if version.starts_with(b"HTTP/1."))
}

/// An address we can connect to for a listen address: a wildcard host (listen on every
/// interface) is reached through loopback.
pub fn connectable(listen: &str) -> String {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            std::net::SocketAddr::new(loopback, addr.port()).to_string()
        }
        _ => listen.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_error_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = locate_binary(dir.path(), "hero_logic_server").expect_err("empty dir");
        let message = err.to_string();
        assert!(message.contains(&dir.path().join("hero_logic_server").display().to_string()), "{message}");
        assert!(message.contains("cargo build --release"), "{message}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn locates_a_present_binary() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("hero_logic_admin"), b"").expect("write");
        assert_eq!(locate_binary(dir.path(), "hero_logic_admin").ok(), Some(dir.path().join("hero_logic_admin")));
    }

    #[test]
    fn already_running_exits_with_3_and_says_so() {
        let err = UpError::AlreadyRunning { data_dir: "/d".into(), socket: "/d/s.sock".into() };
        assert_eq!(err.exit_code(), EXIT_ALREADY_RUNNING);
        let message = err.to_string();
        assert!(message.contains("already running for /d (socket /d/s.sock)"), "{message}");
    }

    #[test]
    fn recognises_http_200() {
        assert!(is_http_ok(b"HTTP/1.0 200 OK\r\ncontent-type: x\r\n\r\n{}"));
        assert!(is_http_ok(b"HTTP/1.1 200 OK\r\n"));
        assert!(!is_http_ok(b"HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(!is_http_ok(b"HTTP/1.1 2000\r\n"));
        assert!(!is_http_ok(b""));
        assert!(!is_http_ok(b"SSH-2.0-OpenSSH"));
    }

    #[test]
    fn wildcard_listen_is_reached_through_loopback() {
        assert_eq!(connectable("0.0.0.0:9820"), "127.0.0.1:9820");
        assert_eq!(connectable("[::]:9820"), "[::1]:9820");
        assert_eq!(connectable("127.0.0.1:9820"), "127.0.0.1:9820");
        assert_eq!(connectable("localhost:9820"), "localhost:9820");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn nothing_answers_on_an_absent_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!daemon_answers(&dir.path().join("none.sock")).await);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn busy_listen_address_is_reported_before_anything_starts() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        let message = ensure_listen_free(&addr).await.expect_err("port is taken").to_string();
        assert!(message.contains(&addr) && message.contains("--listen"), "{message}");
        drop(taken);
        assert!(ensure_listen_free(&addr).await.is_ok());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn healthz_probe_fails_on_a_closed_port() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        // The listener is dropped: nothing listens there any more.
        assert!(!healthz_ok(addr.to_string()).await);
    }
}
