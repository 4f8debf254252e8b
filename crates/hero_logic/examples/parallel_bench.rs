//! Fan-out: N children that each sleep 100 ms, under `logic.map` and one after another, on
//! a daemon of its own (in this process) over a fresh temp data dir.
//!
//!     cargo run --release -p hero_logic --example parallel_bench [-- CHILDREN ROUNDS NAP_MS]
//!
//! Prints the parents' recorded durations (medians of the rounds); never fails on a time.

use std::time::{Duration, Instant};

use clap::Parser;
use hero_logic::config::{Flags, ServerConfig};
use hero_logic_api::RpcClient;
use serde_json::{json, Value};

const NAP: &str = r#"
import time
from hero_tracing import logic

@logic(name="nap", inputs={"i": "integer", "s": "number"}, outputs={"i": "integer"})
def nap(i, s=0.1):
    time.sleep(s)
    return {"i": i}
"#;

const FAN_MAP: &str = r#"
from hero_tracing import logic

@logic(name="fan_map", inputs={"n": "integer", "s": "number"}, outputs={"n": "integer"})
def fan_map(n, s):
    return {"n": len(logic.map("nap", [{"i": i, "s": s} for i in range(n)]))}
"#;

const FAN_SEQ: &str = r#"
from hero_tracing import logic

@logic(name="fan_seq", inputs={"n": "integer", "s": "number"}, outputs={"n": "integer"})
def fan_seq(n, s):
    return {"n": len([logic.invoke("nap", i=i, s=s) for i in range(n)])}
"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let children: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let nap_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().expect("a temp dir");
    let flags = Flags::parse_from(["hero_logic_server", "--no-seed", "--data-dir", dir.path().to_str().expect("a UTF-8 temp path")]);
    let config = ServerConfig::resolve(&flags).expect("the default configuration");
    let socket = config.socket.clone();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.spawn(async move {
        if let Err(e) = hero_logic::daemon::run(config).await {
            eprintln!("the daemon stopped: {e:#}");
        }
    });
    runtime.block_on(async {
        let client = RpcClient::new(&socket);
        wait_ready(&client).await;
        for (name, source) in [("nap", NAP), ("fan_map", FAN_MAP), ("fan_seq", FAN_SEQ)] {
            call(&client, "LogicService.logic_create", json!({"name": name, "python_source": source})).await;
        }
        let inputs = json!({"n": children, "s": nap_ms as f64 / 1000.0});
        let mapped = median_ms(&client, "fan_map", &inputs, rounds).await;
        let sequential = median_ms(&client, "fan_seq", &inputs, rounds).await;
        println!("{children} children sleeping {nap_ms} ms each, median of {rounds} rounds (parent duration as recorded):");
        println!("  logic.map      {mapped:>8.0} ms   (floor {nap_ms} ms)");
        println!("  one by one     {sequential:>8.0} ms   (floor {} ms)", children * nap_ms);
        println!("  speed-up       {:>8.1}x", sequential / mapped.max(1.0));
    });
}

async fn median_ms(client: &RpcClient, logic: &str, inputs: &Value, rounds: usize) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let play = call(client, "LogicService.play_start", json!({"logic": logic, "inputs": inputs})).await;
        let done = call(client, "LogicService.play_wait", json!({"play_sid": play["sid"], "timeout_ms": 120000})).await;
        assert_eq!(done["status"], "success", "{done}");
        samples.push(done["duration_ms"].as_f64().unwrap_or(f64::NAN));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn call(client: &RpcClient, method: &str, params: Value) -> Value {
    client.call(method, params).await.unwrap_or_else(|e| panic!("{method} failed: {e}"))
}

async fn wait_ready(client: &RpcClient) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.call::<Value>("rpc.discover", json!({})).await.is_err() {
        assert!(Instant::now() < deadline, "the daemon did not answer within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
