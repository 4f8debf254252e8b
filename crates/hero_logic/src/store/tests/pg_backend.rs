//! The PostgreSQL side of the store tests. `./scripts/test` starts a throwaway server and
//! sets `HERO_LOGIC_TEST_PG_URL`; each test gets a database of its own on it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hero_logic_api::{Play, PlayStatus};

use crate::store::migrations::{MIGRATIONS, PG_MIGRATIONS};
use crate::store::{Change, PgStore, Store, StoreError};

pub const ENV_URL: &str = "HERO_LOGIC_TEST_PG_URL";

/// The server's URL, or None after saying loudly why the test does not run.
fn server_url() -> Option<String> {
    match std::env::var(ENV_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to stderr: the test harness hides what `eprintln!` says in a passing test.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {}: {ENV_URL} is not set, so this PostgreSQL store test did not run; \
                 ./scripts/test starts a PostgreSQL server and sets it",
                std::thread::current().name().unwrap_or("a test")
            );
            None
        }
    }
}

/// A new, empty database on the test server, as a connection config.
fn fresh_database() -> Option<postgres::Config> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let url = server_url()?;
    let mut config: postgres::Config = url.parse().expect("HERO_LOGIC_TEST_PG_URL parses");
    let name = format!("hl_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut admin = config.connect(postgres::NoTls).expect("connecting to the test server");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    config.dbname(&name);
    Some(config)
}

pub fn fresh_store() -> Option<PgStore> {
    let config = fresh_database()?;
    Some(PgStore::open_config(config, 4).expect("opening the PostgreSQL store"))
}

#[test]
fn both_backends_have_the_same_migrations() {
    assert_eq!(PG_MIGRATIONS.len(), MIGRATIONS.len(), "a migration added to one dialect must be added to the other");
}

#[test]
fn two_stores_on_one_database_never_hand_out_the_same_sid() {
    let Some(config) = fresh_database() else { return };
    let stores: Vec<Arc<PgStore>> =
        (0..2).map(|_| Arc::new(PgStore::open_config(config.clone(), 4).unwrap())).collect();
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let store = Arc::clone(&stores[t % 2]);
            std::thread::spawn(move || {
                let mut sids = Vec::new();
                for _ in 0..20 {
                    sids.push(store.play_insert(&Play::default()).unwrap().sid);
                    // A reserved block stays consecutive while the other store takes sids.
                    let first = store.reserve_sids(5).unwrap();
                    sids.extend((first..first + 5).map(crate::store::sid::encode));
                }
                sids
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.join().unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a sid was handed out twice");
    assert_eq!(all.len(), 6 * 20 * 6);
}

#[test]
fn reopening_and_opening_at_once_run_each_migration_once() {
    let Some(config) = fresh_database() else { return };
    let opens: Vec<_> = (0..3)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || PgStore::open_config(config, 1).map(drop))
        })
        .collect();
    for open in opens {
        open.join().unwrap().expect("concurrent opens all succeed");
    }
    let store = PgStore::open_config(config.clone(), 1).unwrap();
    store.logic_put(&hero_logic_api::Logic { name: "kept".into(), ..Default::default() }).unwrap();
    drop(store);
    let store = PgStore::open_config(config.clone(), 1).unwrap();
    assert!(store.logic_by_name("kept").unwrap().is_some());
    let mut client = config.connect(postgres::NoTls).unwrap();
    let rows = client.query("SELECT version FROM schema_version", &[]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), PG_MIGRATIONS.len() as i64);
}

#[test]
fn the_play_indexes_exist() {
    let Some(config) = fresh_database() else { return };
    let _store = PgStore::open_config(config.clone(), 1).unwrap();
    let mut client = config.connect(postgres::NoTls).unwrap();
    let names: HashSet<String> = client
        .query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for index in
        ["plays_by_logic", "plays_by_version", "plays_by_parent", "plays_by_status", "logic_versions_by_logic", "logic_examples_by_logic"]
    {
        assert!(names.contains(index), "missing index {index}: {names:?}");
    }
}

/// The daemon calls the store straight from its async code; a sync PostgreSQL call made on a
/// runtime thread would panic ("Cannot start a runtime from within a runtime").
#[test]
fn calls_work_from_inside_both_tokio_runtime_flavors() {
    let Some(store) = fresh_store() else { return };
    let store = Arc::new(store);
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let inner = Arc::clone(&store);
    let sid = multi.block_on(async move { tokio::spawn(async move { inner.play_insert(&Play::default()).unwrap().sid }).await.unwrap() });
    let single = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let read = single.block_on(async { store.play_get(&sid).unwrap() });
    assert_eq!(read.map(|p| p.sid), Some(sid));
}

#[test]
fn a_url_that_is_not_one_says_what_is_expected() {
    match PgStore::open("postgres://a b:/??", 1) {
        Err(StoreError::Open { reason, .. }) => assert!(reason.contains("expected postgres://"), "{reason}"),
        Err(other) => panic!("expected an open error, got {other:?}"),
        Ok(_) => panic!("a malformed URL opened"),
    }
}

#[test]
fn an_unreachable_server_is_an_open_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres:///hero?host={}", dir.path().display());
    match PgStore::open(&url, 1) {
        Err(StoreError::Open { path, .. }) => assert!(path.contains(&dir.path().display().to_string()), "{path}"),
        Err(other) => panic!("expected an open error, got {other:?}"),
        Ok(_) => panic!("opened a server that does not exist"),
    }
}

/// Two stores on one database, each joined as a daemon with a lease of `lease_ms`.
fn two_daemons(lease_ms: u64) -> Option<(PgStore, PgStore)> {
    let config = fresh_database()?;
    let lease = std::time::Duration::from_millis(lease_ms);
    let [a, b] = [0, 1].map(|_| PgStore::open_config(config.clone(), 2).unwrap());
    a.join(lease, None).unwrap();
    b.join(lease, None).unwrap();
    Some((a, b))
}

fn running_top_level(store: &PgStore) -> Play {
    let play = Play { status: PlayStatus::Running, ..Default::default() };
    store.play_insert_limited(&play, &Default::default()).unwrap()
}

#[test]
fn only_the_plays_of_a_daemon_whose_lease_ended_are_claimed_and_each_by_one_daemon() {
    let Some((a, b)) = two_daemons(60_000) else { return };
    let play = running_top_level(&a);
    let running = [PlayStatus::Running];
    assert!(b.claim_orphan_plays(&running).unwrap().is_empty(), "a live daemon's Play is left to it");
    assert!(a.claim_orphan_plays(&running).unwrap().is_empty(), "a daemon does not claim its own Plays");
    a.leave();
    let claimed = b.claim_orphan_plays(&running).unwrap();
    assert_eq!(claimed.iter().map(|p| &p.sid).collect::<Vec<_>>(), [&play.sid], "the Play of the daemon that left");
    assert!(b.claim_orphan_plays(&running).unwrap().is_empty(), "claimed once, now b's own");
}

#[test]
fn many_daemons_claiming_at_once_share_the_orphans_without_overlap() {
    let Some(config) = fresh_database() else { return };
    let lease = std::time::Duration::from_millis(60_000);
    let dead = PgStore::open_config(config.clone(), 2).unwrap();
    dead.join(lease, None).unwrap();
    let sids: HashSet<String> = (0..40).map(|_| running_top_level(&dead).sid).collect();
    dead.leave();
    let claimers: Vec<Arc<PgStore>> = (0..4)
        .map(|_| {
            let store = Arc::new(PgStore::open_config(config.clone(), 2).unwrap());
            store.join(lease, None).unwrap();
            store
        })
        .collect();
    let handles: Vec<_> = claimers
        .iter()
        .map(|store| {
            let store = Arc::clone(store);
            std::thread::spawn(move || store.claim_orphan_plays(&[PlayStatus::Running]).unwrap())
        })
        .collect();
    let claimed: Vec<String> = handles.into_iter().flat_map(|h| h.join().unwrap()).map(|p| p.sid).collect();
    assert_eq!(claimed.len(), sids.len(), "each orphan claimed exactly once");
    assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), sids);
}

#[test]
fn a_renewed_lease_holds_and_a_successor_ends_its_predecessors_at_once() {
    let Some(config) = fresh_database() else { return };
    let lease = std::time::Duration::from_millis(600);
    let [live, other] = [0, 1].map(|_| PgStore::open_config(config.clone(), 2).unwrap());
    live.join(lease, None).unwrap();
    other.join(lease, None).unwrap();
    let play = running_top_level(&live);
    std::thread::sleep(lease * 3);
    assert!(other.claim_orphan_plays(&[PlayStatus::Running]).unwrap().is_empty(), "renewed every fifth of the lease");
    // The successor on the data dir ends its predecessor's lease, even one still renewed
    // (kept alive here, as a hung process's would be: the data dir lock says it is gone).
    let successor = PgStore::open_config(config, 2).unwrap();
    let dead_id = live.owner().unwrap();
    std::mem::forget(live);
    successor.join(lease, Some(dead_id)).unwrap();
    let claimed = successor.claim_orphan_plays(&[PlayStatus::Running]).unwrap();
    assert_eq!(claimed.len(), 1, "the successor claims its predecessor's Play at once");
    assert_eq!(claimed[0].sid, play.sid);
}

#[test]
fn a_cancel_request_reaches_the_live_owner_once_and_never_a_gone_one() {
    let Some((a, b)) = two_daemons(60_000) else { return };
    let play = running_top_level(&a);
    assert!(!a.play_request_cancel(&play.sid).unwrap(), "the owner cancels its own Play itself");
    assert!(b.play_request_cancel(&play.sid).unwrap(), "another daemon asks the owner");
    assert!(b.take_cancel_requests().unwrap().is_empty(), "the request is the owner's");
    assert_eq!(a.take_cancel_requests().unwrap(), std::slice::from_ref(&play.sid));
    assert!(a.take_cancel_requests().unwrap().is_empty(), "handed out once");
    a.leave();
    assert!(!b.play_request_cancel(&play.sid).unwrap(), "nobody would pick it up: the caller cancels it");
}

#[test]
fn a_status_change_by_one_store_is_announced_to_the_others() {
    let Some((a, b)) = two_daemons(60_000) else { return };
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    b.watch_changes(Box::new(move |change| {
        let said = match change {
            Change::Play(sid) => sid.to_string(),
            Change::Queued => "queued".to_string(),
            Change::Missed => "missed".to_string(),
        };
        let _ = tx.lock().unwrap().send(said);
    }));
    let play = running_top_level(&a);
    let heard = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < deadline {
            if rx.recv_timeout(std::time::Duration::from_millis(100)).is_ok_and(|sid| sid == want) {
                return true;
            }
        }
        false
    };
    // The listener may still be connecting: change the status until it is heard.
    let mut done = play.clone();
    let mut announced = false;
    for status in [PlayStatus::Success, PlayStatus::Running].repeat(5) {
        done.status = status;
        a.play_update(&done).unwrap();
        if heard(&play.sid) {
            announced = true;
            break;
        }
    }
    assert!(announced, "b heard of the status change a made");
    // A write that leaves the status alone announces nothing.
    while rx.try_recv().is_ok() {}
    a.play_update(&Play { error_message: "not a status".into(), ..done.clone() }).unwrap();
    assert!(rx.recv_timeout(std::time::Duration::from_millis(500)).is_err(), "no announcement without a status change");
    // A Play put in the database's queue is announced as such.
    let pending = a.play_insert_limited(&Play::default(), &Default::default()).unwrap();
    assert!(a.play_queue_shared(&pending.sid).unwrap());
    assert!(heard("queued"), "b heard of the queued Play");
}

#[test]
fn queued_plays_go_to_the_daemons_that_claim_them_each_to_one_and_are_no_orphans() {
    let Some((a, b)) = two_daemons(60_000) else { return };
    let queued: Vec<String> = (0..5)
        .map(|_| {
            let play = a.play_insert_limited(&Play::default(), &Default::default()).unwrap();
            assert!(a.play_queue_shared(&play.sid).unwrap());
            play.sid
        })
        .collect();
    let running = running_top_level(&a);
    assert!(!a.play_queue_shared(&running.sid).unwrap(), "only a pending Play is queued");
    assert!(b.claim_orphan_plays(&[PlayStatus::Pending]).unwrap().is_empty(), "a queued Play is nobody's orphan");
    let first: Vec<String> = b.claim_queued_plays(2).unwrap().into_iter().map(|p| p.sid).collect();
    assert_eq!(first, queued[..2], "the oldest two");
    let rest: Vec<String> = a.claim_queued_plays(10).unwrap().into_iter().map(|p| p.sid).collect();
    assert_eq!(rest, queued[2..]);
    assert!(b.claim_queued_plays(10).unwrap().is_empty(), "each queued Play was claimed once");
}
