//! Dashboard and stats at scale: 200 Logics and 1,000,000 Plays in a fresh SQLite store,
//! then the median time of `logic_dashboard` and `logic_stats`, and the query plans.
//!
//!     cargo run --release -p hero_logic --example dashboard_bench [-- PLAYS LOGICS]
//!
//! Prints figures; never fails on a time.

use std::sync::Arc;
use std::time::Instant;

use hero_logic::library::Library;
use hero_logic::stats;
use hero_logic::store::{sid, SqliteStore, Store, Synchronous};
use hero_logic_api::params::{LogicCreateParams, LogicStatsParams};

const SOURCE: &str = "from hero_tracing import logic\n\n@logic(inputs={}, outputs={})\ndef f():\n    return {}\n";
const STATUSES: [&str; 4] = ["success", "success", "success", "failed"];

fn main() {
    let mut args = std::env::args().skip(1);
    let plays: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let logics: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = tempdir();
    let path = dir.join("bench.db");
    let store = Arc::new(SqliteStore::open(&path, Synchronous::Normal).expect("open the store"));
    let library = Library::new(store.clone());

    let started = Instant::now();
    let mut versions = Vec::new();
    for i in 0..logics {
        let logic = library
            .create_logic(LogicCreateParams {
                name: format!("logic_{i:03}"),
                python_source: Some(SOURCE.replace("def f", &format!("def logic_{i:03}"))),
                ..Default::default()
            })
            .expect("create a logic");
        versions.push((logic.sid, logic.current_version_sid));
    }
    generate_plays(&path, &versions, plays);
    println!("generated {logics} logics and {plays} plays in {:.1} s", started.elapsed().as_secs_f64());

    let dashboard = median_ms(9, || {
        let rows = stats::dashboard(&library).expect("dashboard");
        assert_eq!(rows.len() as u64, logics);
    });
    let logic_stats = median_ms(25, || {
        stats::logic_stats(&library, LogicStatsParams { logic: "logic_007".into(), ..Default::default() }).expect("stats");
    });
    let version_sid = versions[7].1.clone();
    let recent = median_ms(25, || {
        store.recent_runs(hero_logic::store::RunScope::Version, &version_sid, 50).expect("runs");
    });
    let sids: Vec<String> =
        store.recent_runs(hero_logic::store::RunScope::Version, &version_sid, 50).expect("runs").into_iter().map(|r| r.play_sid).collect();
    let subtrees = median_ms(25, || {
        store.play_subtree_totals(&sids).expect("totals");
    });
    let tree = median_ms(25, || {
        store.play_tree(&sids[0]).expect("tree");
    });
    println!("recent_runs {recent:.2} ms, subtree totals of 50 Plays {subtrees:.2} ms, play_tree {tree:.2} ms");
    let report = serde_json::json!({
        "plays": plays,
        "logics": logics,
        "dashboard_ms_median": dashboard,
        "logic_stats_ms_median": logic_stats,
        "recent_runs_ms_median": recent,
        "subtree_totals_ms_median": subtrees,
        "play_tree_ms_median": tree,
        "target_ms": 50,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    println!("\nfigure                         median      target");
    println!("logic_dashboard ({logics} logics)   {dashboard:>8.2} ms   <= 50 ms");
    println!("logic_stats (last 50)          {logic_stats:>8.2} ms   <= 50 ms");
    println!("\nquery plans:");
    let conn = rusqlite::Connection::open(&path).expect("open");
    for sql in [
        "SELECT sid, status, duration_ms, created_at FROM plays WHERE logic_sid = 'x' ORDER BY id DESC LIMIT 50",
        "SELECT sid, status, duration_ms, created_at FROM plays WHERE logic_version_sid = 'x' ORDER BY id DESC LIMIT 50",
        "SELECT sid FROM plays WHERE parent_play_sid = 'x'",
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let plan: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(3)).expect("rows").map(|r| r.expect("row")).collect();
        println!("  {sql}\n    -> {}", plan.join(" | "));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bulk-inserts `count` top-level Plays spread over the logics, in one transaction.
fn generate_plays(path: &std::path::Path, versions: &[(String, String)], count: u64) {
    let mut conn = rusqlite::Connection::open(path).expect("open");
    conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
    let tx = conn.transaction().expect("tx");
    let first: i64 = tx
        .query_row("UPDATE counters SET value = value + ?1 WHERE name = 'sid' RETURNING value", [count as i64], |r| r.get(0))
        .expect("reserve");
    let first = first as u64 + 1 - count;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO plays (id, sid, logic_sid, logic_version_sid, name, parent_play_sid, step_key, status,
                 input_data, output_data, error_message, started_at, completed_at, duration_ms, logs, pending_resumes,
                 received_resumes, total_tokens_prompt, total_tokens_completion, total_cost_usd, replayed, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'p', '', '', ?5, '{}', '{}', '', ?6, ?7, ?8, '', '[]', '{}', 10, 5, 0.001, 0, ?6)",
            )
            .expect("prepare");
        for n in 0..count {
            let id = first + n;
            let (logic_sid, version_sid) = &versions[(n % versions.len() as u64) as usize];
            let duration = 5 + (n * 7919) % 900;
            let started = 1_700_000_000_000 + n * 10;
            insert
                .execute(rusqlite::params![
                    id as i64,
                    sid::encode(id),
                    logic_sid,
                    version_sid,
                    STATUSES[(n % 4) as usize],
                    started as i64,
                    (started + duration) as i64,
                    duration as i64
                ])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hero_logic_dashboard_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
