//! Throughput of several daemons on one PostgreSQL database: aggregate trivial top-level
//! Plays/s and child Plays/s with 1, 2 and 3 daemons, beside one daemon on SQLite, measured
//! in the same run. Each configuration gets fresh data dirs and a fresh database.
//!
//!     cargo build --release -p hero_logic
//!     cargo run --release -p hero_logic --example multi_daemon_bench -- postgres://… [PLAYS CHILDREN ROUNDS]
//!
//! The URL names a database on a server where its user may create databases (the test
//! server's HERO_LOGIC_TEST_PG_URL is taken when none is given). Trivial Plays are started
//! round-robin over the daemons, all at once; child Plays come from one parent per daemon.
//! Prints medians of the rounds and ratios to SQLite; never fails on a time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_logic_api::bench::{CHILD_SOURCE, PARENT_SOURCE};
use hero_logic_api::RpcClient;
use serde_json::{json, Value};

struct Daemon {
    child: Child,
    socket: PathBuf,
    client: RpcClient,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by PID.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().or_else(|| std::env::var("HERO_LOGIC_TEST_PG_URL").ok()).unwrap_or_else(|| {
        eprintln!("usage: multi_daemon_bench postgres://user@host/dbname [PLAYS CHILDREN ROUNDS] (or set HERO_LOGIC_TEST_PG_URL)");
        std::process::exit(2)
    });
    let plays: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(150);
    let children: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let server = server_binary();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let configs: [(&str, usize, bool); 4] = [("SQLite, 1 daemon", 1, false), ("PostgreSQL, 1 daemon", 1, true), ("PostgreSQL, 2 daemons", 2, true), ("PostgreSQL, 3 daemons", 3, true)];
    let mut rows = Vec::new();
    for (n, (name, daemons, postgres)) in configs.into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = postgres.then(|| fresh_database(&url, n));
        let figures = runtime.block_on(async {
            let daemons = start_daemons(&server, dir.path(), daemons, store.as_deref()).await;
            for (logic, source) in [("bench_child", CHILD_SOURCE), ("bench_parent", PARENT_SOURCE)] {
                call(&daemons[0].client, "LogicService.logic_create", json!({"name": logic, "python_source": source})).await;
            }
            let trivial = median(rounds, || trivial_rate(&daemons, plays)).await;
            let child = median(rounds, || child_rate(&daemons, children)).await;
            (trivial, child)
        });
        eprintln!("{name}: {:.1} Plays/s, {:.1} child Plays/s", figures.0, figures.1);
        rows.push((name, figures));
    }
    let (base_trivial, base_child) = rows[0].1;
    println!("{plays} trivial Plays and {children} children per parent, medians of {rounds} rounds:");
    println!("{:<24} {:>12} {:>8} {:>16} {:>8}", "", "Plays/s", "ratio", "child Plays/s", "ratio");
    for (name, (trivial, child)) in rows {
        println!("{name:<24} {trivial:>12.1} {:>7.2}x {child:>16.1} {:>7.2}x", trivial / base_trivial, child / base_child);
    }
}

/// The daemon binary beside this example's (`target/<profile>/hero_logic_server`).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    let server = exe.parent().and_then(Path::parent).expect("target/<profile>/examples").join("hero_logic_server");
    if !server.exists() {
        eprintln!("{} is missing; build it first: cargo build --release -p hero_logic", server.display());
        std::process::exit(2);
    }
    server
}

/// A new, empty database on the URL's server, as the URL with that database in it.
fn fresh_database(url: &str, n: usize) -> String {
    let name = format!("hl_bench_{}_{n}", std::process::id());
    let (admin_url, create) = (url.to_string(), name.clone());
    std::thread::spawn(move || {
        let mut admin = admin_url.parse::<postgres::Config>().unwrap().connect(postgres::NoTls).expect("the server answers");
        // One statement each: a batch would run them in one transaction, which they refuse.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {create}")).expect("dropping an old bench database");
        admin.batch_execute(&format!("CREATE DATABASE {create}")).expect("creating a database");
    })
    .join()
    .expect("creating the bench database");
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

async fn start_daemons(server: &Path, dir: &Path, n: usize, store: Option<&str>) -> Vec<Daemon> {
    let mut daemons = Vec::new();
    for index in 0..n {
        let data = dir.join(format!("data{index}"));
        let mut command = Command::new(server);
        command.arg("--data-dir").arg(&data).arg("--no-seed");
        if let Some(url) = store {
            command.args(["--store", url]);
        }
        let child = command
            .env_remove("HERO_LOGIC_SOCKET")
            .env_remove("HERO_LOGIC_CONFIG")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the server starts");
        let socket = data.join("hero_logic.sock");
        let client = RpcClient::new(&socket);
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.call::<Value>("rpc.discover", json!({})).await.is_err() {
            assert!(Instant::now() < deadline, "a daemon did not answer within 30 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        daemons.push(Daemon { child, socket, client });
    }
    daemons
}

/// Trivial top-level Plays per second: `plays` started round-robin over the daemons at once,
/// until the last one ended.
async fn trivial_rate(daemons: &[Daemon], plays: usize) -> f64 {
    let began = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for i in 0..plays {
        let client = RpcClient::new(&daemons[i % daemons.len()].socket);
        runs.spawn(async move {
            let play = call(&client, "LogicService.play_start", json!({"logic": "bench_child", "inputs": {"i": i}})).await;
            wait_success(&client, &play["sid"]).await;
        });
    }
    runs.join_all().await;
    plays as f64 / began.elapsed().as_secs_f64()
}

/// Child Plays per second: one parent of `children` children per daemon, at once.
async fn child_rate(daemons: &[Daemon], children: u64) -> f64 {
    let began = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for daemon in daemons {
        let client = RpcClient::new(&daemon.socket);
        runs.spawn(async move {
            let play = call(&client, "LogicService.play_start", json!({"logic": "bench_parent", "inputs": {"n": children}})).await;
            wait_success(&client, &play["sid"]).await;
        });
    }
    runs.join_all().await;
    (children * daemons.len() as u64) as f64 / began.elapsed().as_secs_f64()
}

async fn wait_success(client: &RpcClient, sid: &Value) {
    let done = call(client, "LogicService.play_wait", json!({"play_sid": sid, "timeout_ms": 300000})).await;
    assert_eq!(done["status"], "success", "{done}");
}

async fn median<F: std::future::Future<Output = f64>>(rounds: usize, mut round: impl FnMut() -> F) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        samples.push(round().await);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn call(client: &RpcClient, method: &str, params: Value) -> Value {
    client.call(method, params).await.unwrap_or_else(|e| panic!("{method} failed: {e}"))
}
