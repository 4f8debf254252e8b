//! A hostile logic against a real daemon and real Python: one test per attack of the trust
//! issue (and the escaped-children, memory and orphan findings). Each asserts the attack
//! failed; each succeeded before the sandbox.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{processes_with_arg, unique_arg, Daemon};
use serde_json::{json, Value};

fn attack(name: &str, code: &str) -> String {
    let body: String = code.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "import os, sys, json, socket, signal, subprocess, time\nfrom hero_tracing import logic\n\n@logic(name={name:?})\ndef {name}(**inputs):\n{body}"
    )
}

async fn run(daemon: &Daemon, name: &str, code: &str, inputs: Value, limits: Value) -> Value {
    daemon.define(name, &attack(name, code)).await;
    daemon.run_with(json!({"logic": name, "inputs": inputs, "limits": limits})).await
}

/// Tries `path` for reading; "denied: ..." or the first bytes.
const TRY_READ: &str = "def try_read(path):\n    try:\n        with open(path, 'rb') as f:\n            return f.read(4096).decode('latin-1')\n    except Exception as e:\n        return 'denied: ' + repr(e)\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_daemons_environment_is_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with_env(dir.path(), &["--no-seed"], &[("HERO_TEST_DAEMON_SECRET", "hunter2-daemon")]).await;
    let code = format!(
        "{TRY_READ}pids = [inputs['daemon']]\ntry:\n    pids += [int(d) for d in os.listdir('/proc') if d.isdigit()]\nexcept Exception:\n    pass\nseen = [try_read(f'/proc/{{p}}/environ') for p in pids]\nreturn {{'leak': any('hunter2' in s for s in seen), 'own': 'hunter2' in json.dumps(dict(os.environ))}}"
    );
    let play = run(&daemon, "environ", &code, json!({"daemon": daemon.pid()}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"], json!({"leak": false, "own": false}), "{play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_key_is_not_in_the_runners_environment() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start_with_env(dir.path(), &["--no-seed"], &[("OPENAI_API_KEY", "sk-hostile-test-key")]).await;
    let code = format!("{TRY_READ}return {{'env': 'sk-hostile' in json.dumps(dict(os.environ)), 'proc': 'sk-hostile' in try_read('/proc/self/environ')}}");
    let play = run(&daemon, "key", &code, json!({}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"], json!({"env": false, "proc": false}), "{play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_cannot_be_opened_or_changed() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.define("victim", &attack("victim", "return {'answer': 42}")).await;
    let victim = daemon.run("victim", json!({})).await;
    let db = dir.path().join("hero_logic.db");
    let code = "import sqlite3\ntry:\n    c = sqlite3.connect(inputs['db'])\n    c.execute(\"UPDATE plays SET output_data = '{\\\"answer\\\": 666}'\")\n    c.commit()\n    return {'changed': True}\nexcept Exception as e:\n    return {'changed': False, 'error': repr(e)}";
    let play = run(&daemon, "tamper", code, json!({"db": db.display().to_string()}), json!({})).await;
    assert_eq!(play["output_data"]["changed"], false, "{play}");
    let after = daemon.call("LogicService.play_status", json!({"play_sid": victim["sid"]})).await;
    assert_eq!(after["output_data"], json!({"answer": 42}));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemons_socket_cannot_be_called() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let code = "from hero_tracing.client import RpcClient, default_socket_path\ntry:\n    RpcClient(inputs['socket'], timeout=5).call('logic.list', {})\n    return {'called': True}\nexcept Exception as e:\n    return {'called': False, 'error': repr(e)}";
    let play = run(&daemon, "caller", code, json!({"socket": daemon.socket.display().to_string()}), json!({})).await;
    assert_eq!(play["output_data"]["called"], false, "{play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_plays_channel_and_processes_are_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let marker = unique_arg("700.");
    daemon.define("busy", &attack("busy", &format!("subprocess.Popen(['sleep', {marker:?}])\ntime.sleep(4)\nreturn {{'done': True}}"))).await;
    let busy = daemon.call("LogicService.play_start", json!({"logic": "busy", "inputs": {}})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let host_pids = loop {
        let found = processes_with_arg(&marker);
        if !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < deadline, "the busy Play's helper runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let runner_pid: i64 = std::fs::read_to_string(dir.path().join("run").join(format!("{}.pid", busy["sid"].as_str().unwrap()))).unwrap().trim().parse().unwrap();
    let code = format!(
        "{TRY_READ}killed, injected = [], []\nfor pid in inputs['pids'] + list(range(2, 64)):\n    if pid == os.getpid():\n        continue\n    try:\n        os.kill(pid, signal.SIGKILL)\n        killed.append(pid)\n    except Exception:\n        pass\nfor fd in range(4, 64):\n    try:\n        os.write(fd, b'{{\"op\": \"finish\", \"id\": 99, \"status\": \"failed\"}}\\n')\n        injected.append(fd)\n    except Exception:\n        pass\nreturn {{'killed': killed, 'fds': [try_read(f'/proc/{{p}}/fd/3') for p in inputs['pids']], 'injected': injected}}"
    );
    let mut pids: Vec<i64> = host_pids.clone();
    pids.push(runner_pid);
    let play = run(&daemon, "intruder", &code, json!({"pids": pids}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert_eq!(play["output_data"]["injected"], json!([]), "no other channel is open here: {play}");
    for text in play["output_data"]["fds"].as_array().unwrap() {
        assert!(text.as_str().unwrap().starts_with("denied"), "{play}");
    }
    // Whatever it believed it killed lived in its own namespace: the other Play is intact.
    for pid in &host_pids {
        assert!(common::process_alive(*pid), "the other Play's process {pid} survived");
    }
    let busy = daemon.wait(&busy["sid"]).await;
    assert_eq!(busy["status"], "success", "the other Play was neither killed nor forged: {busy}");
    assert_eq!(busy["output_data"], json!({"done": true}));
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_outside_the_play_cannot_be_signalled() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let mut bystander = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let code = "out = {}\nfor pid in (inputs['pid'], inputs['daemon']):\n    try:\n        os.kill(pid, signal.SIGKILL)\n        out[str(pid)] = 'sent'\n    except Exception as e:\n        out[str(pid)] = repr(e)\nreturn out";
    let play = run(&daemon, "killer", code, json!({"pid": bystander.id(), "daemon": daemon.pid()}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert!(bystander.try_wait().unwrap().is_none(), "the bystander lives: {play}");
    let _ = bystander.kill();
    daemon.call("logic.list", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_network_unless_the_play_may_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = "try:\n    s = socket.create_connection(('127.0.0.1', inputs['port']), timeout=3)\n    s.sendall(b'hi')\n    return {'connected': True}\nexcept Exception as e:\n    return {'connected': False, 'error': repr(e)}";
    let play = run(&daemon, "net", code, json!({"port": port}), json!({})).await;
    assert_eq!(play["output_data"]["connected"], false, "{play}");
    let allowed = daemon.run_with(json!({"logic": "net", "inputs": {"port": port}, "limits": {"network": true}})).await;
    assert_eq!(allowed["output_data"]["connected"], true, "limits.network lets it connect: {allowed}");
    listener.set_nonblocking(true).unwrap();
    let mut accepted = listener.accept().expect("the allowed Play's connection arrived").0;
    accepted.set_nonblocking(false).unwrap();
    let mut hello = [0u8; 2];
    accepted.read_exact(&mut hello).unwrap();
    assert_eq!(&hello, b"hi");

    // A version whose decorator asks for the network gets it, and says so in the API.
    let source = attack("net_ok", code).replace("@logic(name=\"net_ok\")", "@logic(name=\"net_ok\", network=True)");
    let logic = daemon.define("net_ok", &source).await;
    let version = daemon.call("logicversion.get", json!({"sid": logic["current_version_sid"]})).await;
    assert_eq!(version["network"], true, "{version}");
    let play = daemon.run("net_ok", json!({"port": port})).await;
    assert_eq!(play["output_data"]["connected"], true, "network=True lets it connect: {play}");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_outside_the_work_dir_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let target = outside.path().join("planted");
    let code = "out = {}\nfor path in (inputs['outside'], '/tmp/hero_planted', os.path.join(os.getcwd(), 'mine')):\n    try:\n        with open(path, 'w') as f:\n            f.write('x')\n        out[path] = 'written'\n    except Exception as e:\n        out[path] = 'refused'\nreturn {'results': out, 'cwd': os.getcwd()}";
    let play = run(&daemon, "writer", code, json!({"outside": target.display().to_string()}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    let results = &play["output_data"]["results"];
    assert_eq!(results[target.display().to_string()], "refused", "{play}");
    assert_eq!(results["/tmp/hero_planted"], "refused", "{play}");
    let cwd = play["output_data"]["cwd"].as_str().unwrap();
    assert_eq!(results[format!("{cwd}/mine")], "written", "its own work dir is writable: {play}");
    assert!(!target.exists());
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_megabytes_of_raw_stdout_keep_the_daemon_small() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let before = rss_kib(daemon.pid());
    let code = "chunk = b'x' * (1 << 20)\nfor _ in range(200):\n    os.write(1, chunk)\nreturn {'written_mb': 200}";
    let play = run(&daemon, "flood", code, json!({}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    let after = rss_kib(daemon.pid());
    println!("daemon RSS before {before} KiB, after 200 MB of stdout {after} KiB");
    assert!(after < before + 64 * 1024, "the daemon keeps a bounded tail ({before} -> {after} KiB)");
    assert!(play["logs"].as_str().unwrap().len() < 1 << 20, "only the tail lands in the logs");
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_forks_do_not_outlive_the_play() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let marker = unique_arg("800.");
    let code = format!("started, refused = 0, 0\nfor _ in range(500):\n    try:\n        subprocess.Popen(['sleep', {marker:?}])\n        started += 1\n    except OSError:\n        refused += 1\nreturn {{'started': started, 'refused': refused}}");
    let play = run(&daemon, "forker", &code, json!({}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    println!("500 forks: {}", play["output_data"]);
    assert!(play["output_data"]["started"].as_u64().unwrap() <= 300, "the process bound held: {play}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_with_arg(&marker).is_empty() {
        assert!(Instant::now() < deadline, "no fork outlives the Play: {} left", processes_with_arg(&marker).len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Play's result is recorded when it says `finish`; its processes go a moment later.
async fn gone_soon(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_with_arg(marker).is_empty() {
        assert!(Instant::now() < deadline, "the Play's processes died with it");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const ESCAPE: &str = "subprocess.Popen(['setsid', 'sleep', inputs['marker']], stdout=sys.__stdout__, stderr=sys.__stderr__, start_new_session=True)\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_setsid_child_holding_stdout_stalls_neither_the_end_nor_cancel_nor_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    // Ends at once, leaving an escapee that holds the runner's stdout.
    let marker = unique_arg("900.");
    let play = run(&daemon, "leaver", &format!("{ESCAPE}return {{'ok': True}}"), json!({"marker": marker}), json!({})).await;
    assert_eq!(play["status"], "success", "{play}");
    assert!(play["duration_ms"].as_u64().unwrap() < 1000, "the end did not wait for the escapee: {play}");
    gone_soon(&marker).await;

    // Wall clock: due at 1000 ms.
    let marker = unique_arg("900.");
    let started = Instant::now();
    let play = run(&daemon, "stayer", &format!("{ESCAPE}time.sleep(60)"), json!({"marker": marker}), json!({"wall_clock_ms": 1000})).await;
    let late = started.elapsed().saturating_sub(Duration::from_millis(1000));
    println!("wall clock: ended {} ms after its due time", late.as_millis());
    assert_eq!(play["status"], "timed_out", "{play}");
    assert!(late < Duration::from_millis(1000), "timed out within 1 s of its due time ({late:?})");

    // Cancel, while another Play runs beside it.
    let marker = unique_arg("900.");
    let play = daemon.call("LogicService.play_start", json!({"logic": "stayer", "inputs": {"marker": marker}})).await;
    daemon.define("quick", &attack("quick", "return {'fine': True}")).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_with_arg(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the escapee runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = Instant::now();
    daemon.call("LogicService.play_cancel", json!({"play_sid": play["sid"]})).await;
    let cancelled = daemon.wait(&play["sid"]).await;
    println!("cancel: recorded {} ms after play_cancel", asked.elapsed().as_millis());
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert!(asked.elapsed() < Duration::from_secs(1), "cancelled within 1 s");
    let quick = daemon.run("quick", json!({})).await;
    assert_eq!(quick["status"], "success", "other Plays are unaffected");
    gone_soon(&marker).await;
}

/// Whether Plays here get a memory cgroup; says why a test is skipped when they do not.
fn cgroups_bound_memory(dir: &std::path::Path) -> bool {
    let info = std::process::Command::new(common::SERVER).arg("--info").arg("--data-dir").arg(dir.join("info")).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let bound = info.contains("total memory: cgroup");
    if !bound {
        eprintln!("skipped: no writable cgroup here, so the bound is per process (README \"Security model\"): {info}");
    }
    bound
}

/// A Play whose four children take 150 MB each: each fits its RLIMIT_AS, only the Play's
/// cgroup bounds the sum. Returns how many stayed alive.
fn four_hogs() -> String {
    let hog: &str = "import time\\nb = bytearray(150 << 20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\ntime.sleep(2)\\nprint('alive')";
    format!("kids = [subprocess.Popen([sys.executable, '-c', \"{hog}\"], stdout=subprocess.PIPE) for _ in range(4)]\nalive = sum(1 for k in kids if k.communicate()[0].strip() == b'alive')\nreturn {{'alive': alive}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn four_children_share_one_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    if !cgroups_bound_memory(dir.path()) {
        return;
    }
    let code = four_hogs();
    let play = run(&daemon, "hogs", &code, json!({}), json!({"memory_mb": 256})).await;
    println!("4 children of 150 MB under 256 MB: {}", play["output_data"]);
    assert!(play["output_data"]["alive"].as_u64().unwrap_or(0) < 4 || play["status"] != "success", "600 MB did not fit under 256 MB: {play}");
}

/// Plays after the first are handed to processes the fork server made ahead, which joined
/// cgroups of their own while they waited and write their Play's limits there: each Play's
/// memory bound still holds (unwritten, the cgroup would have no limit and all four live).
#[tokio::test(flavor = "multi_thread")]
async fn plays_from_processes_made_ahead_keep_their_own_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    if !cgroups_bound_memory(dir.path()) {
        return;
    }
    // The first Play is forked for it (the fork server learns the Plays' shared sandbox from
    // it); the ones after find processes made ahead, in cgroups made for them, ready.
    daemon.define("warm", &attack("warm", "return {}")).await;
    for _ in 0..2 {
        assert_eq!(daemon.run("warm", json!({})).await["status"], "success");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    daemon.define("hogs", &attack("hogs", &four_hogs())).await;
    for round in 0..2 {
        let play = daemon.run_with(json!({"logic": "hogs", "inputs": {}, "limits": {"memory_mb": 256}})).await;
        println!("round {round}: 4 children of 150 MB under 256 MB: {} {}", play["status"], play["output_data"]);
        assert!(play["output_data"]["alive"].as_u64().unwrap_or(0) < 4 || play["status"] != "success", "round {round}: 600 MB fit under 256 MB: {play}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_are_gone_after_a_daemon_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    let marker = unique_arg("950.");
    daemon.define("orphaner", &attack("orphaner", &format!("{ESCAPE}time.sleep(60)"))).await;
    daemon.call("LogicService.play_start", json!({"logic": "orphaner", "inputs": {"marker": marker}})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_with_arg(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the escapee runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.kill9();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_with_arg(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the Play's processes died with the daemon");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let restarted = Daemon::start(dir.path()).await;
    restarted.call("logic.list", json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_reports_its_protections_and_refuses_a_setting_that_would_open_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path()).await;
    let info = daemon.call("LogicService.sandbox_info", json!({})).await;
    println!("sandbox_info: {}", info["summary"]);
    assert!(info.get("refusal").is_none(), "Plays run here: {info}");
    for protection in ["userns", "pidns", "netns", "mountns", "hide_data_dir", "landlock_fs", "no_new_privs", "close_fds"] {
        assert_eq!(info["active"][protection], true, "{protection}: {info}");
    }
    assert_ne!(info["process_bound"], "none");

    let other = tempfile::tempdir().unwrap();
    let inside = other.path().join("shared");
    std::fs::create_dir_all(&inside).unwrap();
    let refused = Daemon::start_sharing(other.path(), &inside).await;
    let info = refused.call("LogicService.sandbox_info", json!({})).await;
    assert!(info["refusal"].as_str().unwrap().contains("shared_dirs"), "{info}");
    refused.define("hello", &attack("hello", "return {'hi': 1}")).await;
    let play = refused.run("hello", json!({})).await;
    assert_eq!(play["status"], "failed");
    let message = play["error_message"].as_str().unwrap();
    assert!(message.contains("inside the data dir") && message.contains("shared_dirs"), "the refusal names the setting: {message}");
}
