//! What the PostgreSQL store's bridge costs: the median time of one store call through it
//! (the work is sent to a connection's own thread and the caller blocks on the answer)
//! against the same query on a connection used directly, and the same store calls on SQLite,
//! measured in the same run. Also one child step's commit (`play_batch`) on both stores.
//!
//!     cargo run --release -p hero_logic --example pg_store_bench -- postgres://… [CALLS]
//!
//! The URL's database is used as it is (tables are created if missing); HERO_LOGIC_TEST_PG_URL
//! is taken when no URL is given. Prints figures; never fails on a time.

use std::time::Instant;

use hero_logic::store::{sid, PgStore, PlayBatch, SqliteStore, Store, Synchronous};
use hero_logic_api::{Play, PlayStatus};

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().or_else(|| std::env::var("HERO_LOGIC_TEST_PG_URL").ok()).unwrap_or_else(|| {
        eprintln!("usage: pg_store_bench postgres://user@host/dbname [CALLS] (or set HERO_LOGIC_TEST_PG_URL)");
        std::process::exit(2)
    });
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);

    let pg = PgStore::open(&url, 2).expect("open the PostgreSQL store");
    let dir = std::env::temp_dir().join(format!("pg_store_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    let sqlite = SqliteStore::open(&dir.join("bench.db"), Synchronous::Full).expect("open the SQLite store");

    let pg_play = pg.play_insert(&Play { status: PlayStatus::Running, ..Default::default() }).unwrap();
    let sqlite_play = sqlite.play_insert(&Play { status: PlayStatus::Running, ..Default::default() }).unwrap();

    let bridged = median_us(calls, || {
        pg.play_status(&pg_play.sid).unwrap();
    });
    let mut client = url.parse::<postgres::Config>().unwrap().connect(postgres::NoTls).expect("connect directly");
    let direct = median_us(calls, || {
        client.query_opt("SELECT status FROM plays WHERE sid = $1", &[&pg_play.sid]).unwrap();
    });
    let on_sqlite = median_us(calls, || {
        sqlite.play_status(&sqlite_play.sid).unwrap();
    });

    let steps = calls.min(500);
    let first_pg = pg.reserve_sids(steps as u64).unwrap();
    let mut n = 0;
    let pg_step = median_us(steps, || {
        pg.play_batch(&child_step(&pg_play, first_pg + n), None).unwrap();
        n += 1;
    });
    let first_sqlite = sqlite.reserve_sids(steps as u64).unwrap();
    let mut n = 0;
    let sqlite_step = median_us(steps, || {
        sqlite.play_batch(&child_step(&sqlite_play, first_sqlite + n), None).unwrap();
        n += 1;
    });
    let _ = std::fs::remove_dir_all(&dir);

    println!("store call (play_status), median of {calls}:");
    println!("  PostgreSQL through the bridge   {bridged:8.1} µs");
    println!("  PostgreSQL connection directly  {direct:8.1} µs");
    println!("  bridge overhead                 {:8.1} µs ({:.2}x)", bridged - direct, bridged / direct);
    println!("  SQLite                          {on_sqlite:8.1} µs");
    println!("child step commit (play_batch: insert child, append, memo), median of {steps}:");
    println!("  PostgreSQL                      {pg_step:8.1} µs");
    println!("  SQLite (synchronous=full)       {sqlite_step:8.1} µs ({:.2}x PostgreSQL)", pg_step / sqlite_step);
}

fn child_step(parent: &Play, n: u64) -> PlayBatch {
    let child = Play {
        sid: sid::encode(n),
        parent_play_sid: parent.sid.clone(),
        status: PlayStatus::Success,
        ..Default::default()
    };
    let memo = (parent.sid.clone(), format!("step:{n}"), serde_json::json!({"n": n}));
    PlayBatch { new_children: vec![child], memos: vec![memo], ..Default::default() }
}

fn median_us(n: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..n)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}
