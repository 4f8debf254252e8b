use std::sync::Arc;

use hero_logic_api::{Logic, LogicVersion, Play, PlayStatus};
use serde_json::json;

use super::*;

mod pg_backend;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db"), Synchronous::Normal).unwrap();
    (dir, store)
}

/// Runs a portable test against a fresh SQLite file.
fn on_sqlite(test: fn(&Arc<dyn Store>)) {
    let (_dir, store) = open();
    test(&(Arc::new(store) as Arc<dyn Store>));
}

/// Runs a portable test against a fresh PostgreSQL database (see `pg_backend`).
fn on_postgres(test: fn(&Arc<dyn Store>)) {
    if let Some(store) = pg_backend::fresh_store() {
        test(&(Arc::new(store) as Arc<dyn Store>));
    }
}

/// Each portable test (a `fn(&Arc<dyn Store>)` below) runs once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[test] fn $name() { super::on_sqlite(super::$name) } )*
        }
        mod postgres_backend {
            $( #[test] fn $name() { super::on_postgres(super::$name) } )*
        }
    };
}

on_both_backends!(
    sids_come_from_one_counter_across_tables,
    unique_name_is_a_conflict_on_name,
    pages_are_newest_first_and_resume_at_the_cursor,
    unknown_filter_is_rejected_with_the_allowed_fields,
    children_append_in_order_from_many_threads,
    step_outputs_are_written_per_key,
    a_given_unknown_sid_is_kept_and_the_counter_moves_past_it,
    recent_runs_and_subtree_totals,
    logs_only_grow_by_appends_and_updates_leave_them,
    a_guarded_batch_writes_nothing_when_the_status_moved_on,
    a_plays_limits_are_kept_with_it,
    library_writes_move_the_generation_and_play_writes_do_not,
    the_root_of_a_nested_play_is_found_in_one_query,
    replayed_marks_change_only_the_flag,
    play_search_matches_text_literally_and_pages_newest_first,
    play_search_filters_by_logic_status_parent_and_time,
    the_attempt_of_a_retried_call_is_kept_in_the_play_and_its_tree,
    a_lazy_update_is_seen_at_once_and_only_from_the_status_expected,
    a_tree_holds_each_play_as_it_reads_alone,
);

/// The tree read (children and steps gathered for the whole tree) and the read of one Play
/// (its own) agree on every Play: children in the order they were appended, every step.
fn a_tree_holds_each_play_as_it_reads_alone(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play::default()).unwrap();
    let mut children = Vec::new();
    for i in 0..3 {
        let memo = (root.sid.clone(), format!("step:{i}"), json!({"i": i}));
        let batch = PlayBatch { new_children: vec![child_of(&root, 2 - i)], memos: vec![memo], ..Default::default() };
        store.play_batch(&batch, None).unwrap();
        children.push(child_of(&root, 2 - i).sid);
    }
    let grandchild = Play { sid: sid::encode(20_000), parent_play_sid: children[1].clone(), ..child_of(&root, 0) };
    let memo = (children[1].clone(), "deep:0".to_string(), json!({"deep": true}));
    store.play_batch(&PlayBatch { new_children: vec![grandchild.clone()], memos: vec![memo], ..Default::default() }, None).unwrap();
    let unrelated = store.play_insert(&Play::default()).unwrap();
    store.play_batch(&PlayBatch { new_children: vec![child_of(&unrelated, 9)], ..Default::default() }, None).unwrap();

    let tree = store.play_tree(&root.sid).unwrap();
    assert_eq!(tree.len(), 5, "root, three children, one grandchild: {:?}", tree.iter().map(|p| &p.sid).collect::<Vec<_>>());
    assert_eq!(tree[0].sid, root.sid, "the root comes first");
    assert_eq!(tree[0].sub_play_sids, children, "children in the order they were appended, not by sid");
    assert_eq!(tree[0].step_outputs.len(), 3);
    for play in &tree {
        assert_eq!(Some(play), store.play_get(&play.sid).unwrap().as_ref(), "{} reads the same alone", play.sid);
    }
    let middle = tree.iter().find(|p| p.sid == children[1]).unwrap();
    assert_eq!((middle.sub_play_sids.clone(), middle.step_outputs["deep:0"].clone()), (vec![grandchild.sid], json!({"deep": true})));
}

fn a_lazy_update_is_seen_at_once_and_only_from_the_status_expected(store: &Arc<dyn Store>) {
    let (l, _) = store.logic_create(&logic("lazy"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
    let mut play = store.play_insert(&Play { logic_sid: l.sid.clone(), status: PlayStatus::Pending, ..Default::default() }).unwrap();
    play.status = PlayStatus::Running;
    play.started_at = 42;
    assert!(store.play_update_lazily(&play, PlayStatus::Pending).unwrap());
    let read = store.play_get(&play.sid).unwrap().unwrap();
    assert_eq!((read.status, read.started_at), (PlayStatus::Running, 42));
    // A durable write after it keeps it.
    let other = store.play_insert(&Play { logic_sid: l.sid.clone(), ..Default::default() }).unwrap();
    assert_eq!(store.play_get(&play.sid).unwrap().unwrap().status, PlayStatus::Running);
    assert!(store.play_get(&other.sid).unwrap().is_some());
    // Only from the status expected: a Play cancelled meanwhile stays cancelled.
    let mut cancelled = play.clone();
    cancelled.status = PlayStatus::Cancelled;
    store.play_update(&cancelled).unwrap();
    assert!(!store.play_update_lazily(&play, PlayStatus::Pending).unwrap());
    assert_eq!(store.play_get(&play.sid).unwrap().unwrap().status, PlayStatus::Cancelled);
    assert!(!store.play_update_lazily(&Play { sid: "zzzz".into(), ..play }, PlayStatus::Pending).unwrap());
}

#[test]
fn a_lazy_commit_leaves_the_writer_syncing_as_configured() {
    for (mode, pragma) in [(Synchronous::Full, 2), (Synchronous::Normal, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), mode).unwrap();
        let (l, _) = store.logic_create(&logic("lazy"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
        let play = store.play_insert(&Play { logic_sid: l.sid, ..Default::default() }).unwrap();
        assert!(store.play_update_lazily(&play, play.status).unwrap());
        assert_eq!(store.writer_pragma("synchronous"), pragma, "{mode:?} again after the lazy commit");
    }
}

#[test]
fn log_frames_go_out_whole_and_the_file_stays_sqlites_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Arc::new(SqliteStore::open(&path, Synchronous::Full).unwrap());
    let parent = store.play_insert(&Play::default()).unwrap();
    let joined_before = super::wal_vfs::joined_frames();
    // A reader keeps reading while the writes go on: it never sees a half-written frame.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, stop, sid) = (Arc::clone(&store), Arc::clone(&stop), parent.sid.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                store.play_get(&sid).unwrap().expect("the parent is there");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..200 {
        let batch = PlayBatch { new_children: vec![child_of(&parent, i)], ..Default::default() };
        assert!(store.play_batch(&batch, None).unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let joined = super::wal_vfs::joined_frames() - joined_before;
    assert!(joined >= 200 * 3, "{joined} frames written whole for 200 commits of a row, its order and its indexes");
    drop(store);
    // SQLite's own VFS reads the same file, and finds it sound.
    let plain = rusqlite::Connection::open(&path).unwrap();
    let check: String = plain.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let children: i64 = plain.query_row("SELECT COUNT(*) FROM play_children WHERE parent_sid = ?1", [&parent.sid], |r| r.get(0)).unwrap();
    assert_eq!(children, 200);
}

/// The database and its log copied while the store still has them open: what a killed
/// process leaves. Opening the copy recovers it from the log, checking every frame's
/// checksum, so a frame header that never reached the file would lose its commit.
fn crash_copy(path: &std::path::Path, into: &std::path::Path) -> rusqlite::Connection {
    std::fs::copy(path, into).unwrap();
    let (mut wal, mut copied_wal) = (path.as_os_str().to_owned(), into.as_os_str().to_owned());
    wal.push("-wal");
    copied_wal.push("-wal");
    std::fs::copy(&wal, &copied_wal).unwrap();
    rusqlite::Connection::open(into).unwrap()
}

#[test]
fn what_a_killed_process_leaves_holds_every_commit_even_one_that_rewrote_its_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(&path, Synchronous::Normal).unwrap();
    let parent = store.play_insert(&Play::default()).unwrap();
    for i in 0..50 {
        store.play_batch(&PlayBatch { new_children: vec![child_of(&parent, i)], ..Default::default() }, None).unwrap();
    }
    // One transaction larger than the writer's page cache: SQLite spills pages to the log
    // before the commit and rewrites frames (and their checksums) when it changes them again.
    // (Small enough not to reach a checkpoint, which would read the log and hide a frame
    // header the store still held.)
    store.set_writer_pragma("cache_size", 20);
    let filler = "x".repeat(500);
    let big: Vec<Play> = (50..550)
        .map(|i| Play { input_data: json!({"filler": filler, "i": i}).as_object().unwrap().clone(), ..child_of(&parent, i) })
        .collect();
    store.play_batch(&PlayBatch { new_children: big, ..Default::default() }, None).unwrap();
    let copy = crash_copy(&path, &dir.path().join("copy.db"));
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let children: i64 = copy.query_row("SELECT COUNT(*) FROM play_children WHERE parent_sid = ?1", [&parent.sid], |r| r.get(0)).unwrap();
    assert_eq!(children, 550, "every committed child is in the recovered copy");
    drop(store);
}

#[test]
fn a_new_file_gets_small_pages_and_an_old_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("new.db"), Synchronous::Normal).unwrap();
    assert_eq!(store.writer_pragma("page_size"), 1024);
    // The log is checkpointed at the same size in bytes as with SQLite's defaults.
    assert_eq!(store.writer_pragma("wal_autocheckpoint"), 4096);
    store.logic_create(&logic("small"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();

    let old = dir.path().join("old.db");
    let made = rusqlite::Connection::open(&old).unwrap();
    made.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x)").unwrap();
    drop(made);
    let store = SqliteStore::open(&old, Synchronous::Normal).unwrap();
    assert_eq!(store.writer_pragma("page_size"), 4096);
    assert_eq!(store.writer_pragma("wal_autocheckpoint"), 1024);
    store.logic_create(&logic("big"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
    assert!(store.logic_by_name("big").unwrap().is_some());
}

fn logic(name: &str) -> Logic {
    Logic { name: name.into(), description: format!("{name} logic"), ..Default::default() }
}

fn sids_come_from_one_counter_across_tables(store: &Arc<dyn Store>) {
    let (l, v) = store.logic_create(&logic("a"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
    let p = store.play_insert(&Play { logic_sid: l.sid.clone(), ..Default::default() }).unwrap();
    assert_eq!((l.sid.as_str(), v.sid.as_str(), p.sid.as_str()), ("0001", "0002", "0003"));
    assert_eq!(l.current_version_sid, v.sid);
    assert_eq!(store.logic_get(&l.sid).unwrap().unwrap().versions, vec![v.sid]);
}

fn unique_name_is_a_conflict_on_name(store: &Arc<dyn Store>) {
    store.logic_put(&logic("dup")).unwrap();
    match store.logic_put(&logic("dup")) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn pages_are_newest_first_and_resume_at_the_cursor(store: &Arc<dyn Store>) {
    for i in 0..5 {
        store.logic_put(&logic(&format!("l{i}"))).unwrap();
    }
    let first = store.logic_page(&PageQuery::first(2)).unwrap();
    let names: Vec<_> = first.items.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["l4", "l3"]);
    let second = store
        .logic_page(&PageQuery { cursor: Some(first.next_cursor.clone()), ..PageQuery::first(10) })
        .unwrap();
    let names: Vec<_> = second.items.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["l2", "l1", "l0"]);
    assert_eq!(second.next_cursor, "");
}

fn unknown_filter_is_rejected_with_the_allowed_fields(store: &Arc<dyn Store>) {
    match store.logic_page(&PageQuery::first(10).filter("colour", "red")) {
        Err(StoreError::BadQuery { field, message }) => {
            assert_eq!(field, "colour");
            assert!(message.contains("name"), "{message}");
        }
        other => panic!("expected a bad query, got {other:?}"),
    }
}

fn children_append_in_order_from_many_threads(store: &Arc<dyn Store>) {
    let parent = store.play_insert(&Play::default()).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(store);
            let parent = parent.sid.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    store.play_append_child(&parent, &format!("c{t}_{i}")).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let children = store.play_get(&parent.sid).unwrap().unwrap().sub_play_sids;
    assert_eq!(children.len(), 200);
    // Each thread's own appends keep their order.
    for t in 0..8 {
        let mine: Vec<_> = children.iter().filter(|c| c.starts_with(&format!("c{t}_"))).cloned().collect();
        let expected: Vec<_> = (0..25).map(|i| format!("c{t}_{i}")).collect();
        assert_eq!(mine, expected);
    }
}

fn step_outputs_are_written_per_key(store: &Arc<dyn Store>) {
    let play = store.play_insert(&Play { status: PlayStatus::Running, ..Default::default() }).unwrap();
    store.play_set_step_output(&play.sid, "a:0:x", &json!({"v": 1})).unwrap();
    store.play_set_step_output(&play.sid, "b:1:y", &json!(2)).unwrap();
    store.play_set_step_output(&play.sid, "a:0:x", &json!({"v": 3})).unwrap();
    let stored = store.play_get(&play.sid).unwrap().unwrap();
    assert_eq!(stored.step_outputs.len(), 2);
    assert_eq!(stored.step_outputs["a:0:x"], json!({"v": 3}));
    assert_eq!(stored.status, PlayStatus::Running);
}

fn a_given_unknown_sid_is_kept_and_the_counter_moves_past_it(store: &Arc<dyn Store>) {
    let imported = store.logic_put(&Logic { sid: "00zz".into(), ..logic("imported") }).unwrap();
    assert_eq!(imported.sid, "00zz");
    let next = store.logic_put(&logic("next")).unwrap();
    assert_eq!(sid::decode(&next.sid), Some(sid::decode("00zz").unwrap() + 1));
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let store = SqliteStore::open(&path, Synchronous::Full).unwrap();
        store.logic_put(&logic("kept")).unwrap();
    }
    let store = SqliteStore::open(&path, Synchronous::Full).unwrap();
    assert!(store.logic_by_name("kept").unwrap().is_some());
}

fn plan(store: &SqliteStore, sql: &str) -> String {
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
}

#[test]
fn play_lists_and_stats_use_the_indexes() {
    let (_d, store) = open();
    for (sql, index) in [
        ("SELECT sid, status FROM plays WHERE logic_sid = 'x' ORDER BY id DESC LIMIT 50", "plays_by_logic"),
        ("SELECT sid, status FROM plays WHERE logic_version_sid = 'x' ORDER BY id DESC LIMIT 50", "plays_by_version"),
        ("SELECT sid FROM plays WHERE parent_play_sid = 'x'", "plays_by_parent"),
        ("SELECT sid FROM plays WHERE status = 'running' AND parent_play_sid = '' ORDER BY id", "plays_by_status"),
    ] {
        let plan = plan(&store, sql);
        assert!(plan.contains(index), "{sql}: {plan}");
        assert!(!plan.contains("SCAN plays"), "no full scan of plays: {sql}: {plan}");
    }
}

#[test]
fn play_search_serves_logic_status_and_time_filters_from_indexes() {
    let (_d, store) = open();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let searches = [
        (PlaySearch { logic_sid: Some("x".into()), ..Default::default() }, "plays_by_logic"),
        (PlaySearch { status: Some(PlayStatus::AwaitingResume), ..Default::default() }, "plays_by_status"),
        (PlaySearch { since: Some(1), until: Some(2), ..Default::default() }, "plays_by_created"),
        (PlaySearch { top_level_only: true, text: Some("word".into()), ..Default::default() }, "plays_by_parent"),
    ];
    for (search, index) in searches {
        let plan = records::PagePlan::search(&PlaySearch { limit: 50, ..search.clone() }).unwrap();
        let sql = plan.sql::<Play>(|n| format!("?{n}"));
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan = stmt
            .query_map(rusqlite::params_from_iter(plan.values()), |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect::<Vec<_>>()
            .join(" | ");
        assert!(plan.contains(index), "{search:?}: {plan}");
        assert!(!plan.contains("SCAN plays"), "no full scan of plays: {search:?}: {plan}");
    }
}

fn play_search_matches_text_literally_and_pages_newest_first(store: &Arc<dyn Store>) {
    let mut sids = Vec::new();
    for word in ["100%", "100 percent", "a_b", "axb"] {
        let mut input = serde_json::Map::new();
        input.insert("word".into(), json!(word));
        sids.push(store.play_insert(&Play { input_data: input, ..Default::default() }).unwrap().sid);
    }
    let find = |text: &str| -> Vec<String> {
        let search = PlaySearch { text: Some(text.into()), limit: 10, ..Default::default() };
        store.play_search(&search).unwrap().items.into_iter().map(|p| p.sid).collect()
    };
    assert_eq!(find("100%"), vec![sids[0].clone()], "% is a character, not a wildcard");
    assert_eq!(find("a_b"), vec![sids[2].clone()], "_ is a character, not a wildcard");
    assert_eq!(find("PERCENT"), vec![sids[1].clone()], "the text matches whatever its case");
    let first = store.play_search(&PlaySearch { limit: 3, ..Default::default() }).unwrap();
    assert_eq!(first.items.iter().map(|p| p.sid.clone()).collect::<Vec<_>>(), vec![sids[3].clone(), sids[2].clone(), sids[1].clone()]);
    let rest = store.play_search(&PlaySearch { limit: 3, cursor: Some(first.next_cursor), ..Default::default() }).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next_cursor, "");
}

fn play_search_filters_by_logic_status_parent_and_time(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play { logic_sid: "a".into(), created_at: 100, ..Default::default() }).unwrap();
    let child = Play { logic_sid: "b".into(), parent_play_sid: root.sid.clone(), created_at: 200, status: PlayStatus::Failed, ..Default::default() };
    let child = store.play_insert(&child).unwrap();
    let found = |search: PlaySearch| -> Vec<String> {
        store.play_search(&PlaySearch { limit: 10, ..search }).unwrap().items.into_iter().map(|p| p.sid).collect()
    };
    assert_eq!(found(PlaySearch { logic_sid: Some("b".into()), ..Default::default() }), vec![child.sid.clone()]);
    assert_eq!(found(PlaySearch { status: Some(PlayStatus::Failed), ..Default::default() }), vec![child.sid.clone()]);
    assert_eq!(found(PlaySearch { top_level_only: true, ..Default::default() }), vec![root.sid.clone()]);
    assert_eq!(found(PlaySearch { since: Some(150), ..Default::default() }), vec![child.sid.clone()]);
    assert_eq!(found(PlaySearch { until: Some(150), ..Default::default() }), vec![root.sid.clone()]);
}

fn recent_runs_and_subtree_totals(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play { logic_version_sid: "v".into(), ..Default::default() }).unwrap();
    let child = Play { parent_play_sid: root.sid.clone(), total_cost_usd: 0.5, total_tokens_prompt: 7, ..Default::default() };
    let child = store.play_insert(&child).unwrap();
    let grandchild = Play { parent_play_sid: child.sid.clone(), total_cost_usd: 0.25, ..Default::default() };
    store.play_insert(&grandchild).unwrap();
    let totals = store.play_subtree_totals(&[root.sid.clone(), child.sid.clone()]).unwrap();
    assert_eq!(totals[&root.sid].descendants, 2);
    assert!((totals[&root.sid].cost_usd - 0.75).abs() < 1e-9, "a root's cost includes its children's");
    assert_eq!(totals[&root.sid].tokens_prompt, 7);
    assert_eq!(totals[&child.sid].descendants, 1);
    let runs = store.recent_runs(RunScope::Version, "v", 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].play_sid, root.sid);
}

fn logs_only_grow_by_appends_and_updates_leave_them(store: &Arc<dyn Store>) {
    let p = store.play_insert(&Play { logs: "first\n".into(), ..Default::default() }).unwrap();
    let batch = PlayBatch { logs: vec![(p.sid.clone(), "second\n".into())], ..Default::default() };
    assert!(store.play_batch(&batch, None).unwrap());
    // An update from a stale copy (its logs as they were at insert) keeps what was appended.
    store.play_update(&Play { status: PlayStatus::Running, ..p.clone() }).unwrap();
    let stored = store.play_get(&p.sid).unwrap().unwrap();
    assert_eq!((stored.logs.as_str(), stored.status), ("first\nsecond\n", PlayStatus::Running));
    let missing = PlayBatch { logs: vec![("zzzz".into(), "x\n".into())], ..Default::default() };
    assert!(matches!(store.play_batch(&missing, None), Err(StoreError::NotFound { .. })));
}

fn a_guarded_batch_writes_nothing_when_the_status_moved_on(store: &Arc<dyn Store>) {
    let p = store.play_insert(&Play { status: PlayStatus::Running, ..Default::default() }).unwrap();
    let batch = PlayBatch { logs: vec![(p.sid.clone(), "late\n".into())], ..Default::default() };
    assert!(!store.play_batch(&batch, Some((&p.sid, PlayStatus::AwaitingResume))).unwrap());
    assert_eq!(store.play_get(&p.sid).unwrap().unwrap().logs, "");
    assert!(store.play_batch(&batch, Some((&p.sid, PlayStatus::Running))).unwrap());
    assert_eq!(store.play_get(&p.sid).unwrap().unwrap().logs, "late\n");
}

fn a_plays_limits_are_kept_with_it(store: &Arc<dyn Store>) {
    use hero_logic_api::params::Limits;
    let limits = Limits { wall_clock_ms: Some(1500), memory_mb: None, max_open_files: Some(32), network: None };
    let limited = store.play_insert_limited(&Play::default(), &limits).unwrap();
    let plain = store.play_insert(&Play::default()).unwrap();
    assert_eq!(store.play_limits(&limited.sid).unwrap(), Some(limits));
    assert_eq!(store.play_limits(&plain.sid).unwrap(), None, "a Play without limits takes the defaults");
    assert_eq!(store.play_limits("zzzz").unwrap(), None);
}

fn child_of(parent: &Play, n: u64) -> Play {
    Play {
        sid: sid::encode(10_000 + n),
        parent_play_sid: parent.sid.clone(),
        logic_sid: parent.logic_sid.clone(),
        status: PlayStatus::Success,
        ..Default::default()
    }
}

#[test]
fn concurrent_writes_share_commits_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db"), Synchronous::Full).unwrap());
    let parent = store.play_insert(&Play::default()).unwrap();
    let (threads, each) = (8u64, 40u64);
    let before = store.commits();
    let start = Arc::new(std::sync::Barrier::new(threads as usize));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, start, parent) = (Arc::clone(&store), Arc::clone(&start), parent.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..each {
                    let batch = PlayBatch { new_children: vec![child_of(&parent, t * each + i)], ..Default::default() };
                    assert!(store.play_batch(&batch, None).unwrap());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let children = store.play_get(&parent.sid).unwrap().unwrap().sub_play_sids;
    assert_eq!(children.len() as u64, threads * each, "every write is there");
    let commits = store.commits() - before;
    assert!(commits < threads * each, "{commits} commits for {} concurrent writes: none shared", threads * each);
}

#[test]
fn a_failing_write_in_a_shared_commit_undoes_only_itself() {
    let (_d, store) = open();
    let store = Arc::new(store);
    let parent = store.play_insert(&Play::default()).unwrap();
    // The first write sees a caller waiting, so it leaves its group open for that one.
    store.pretend_waiting(1);
    let first = {
        let (store, parent) = (Arc::clone(&store), parent.clone());
        std::thread::spawn(move || store.play_batch(&PlayBatch { new_children: vec![child_of(&parent, 1)], ..Default::default() }, None))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !store.writer_has_open_group() {
        assert!(std::time::Instant::now() < deadline, "the first write never joined a group");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    store.pretend_waiting(-1);
    let missing = Play { sid: "zzzz".into(), ..Default::default() };
    let failed = store.play_batch(&PlayBatch { updates: vec![missing], ..Default::default() }, None);
    assert!(matches!(failed, Err(StoreError::NotFound { .. })), "{failed:?}");
    assert!(first.join().unwrap().unwrap(), "the first write committed with the failing one's group");
    assert_eq!(store.commits(), 2, "the insert of the parent, then one group for both writes");
    let children = store.play_get(&parent.sid).unwrap().unwrap().sub_play_sids;
    assert_eq!(children, vec![child_of(&parent, 1).sid]);
}

fn library_writes_move_the_generation_and_play_writes_do_not(store: &Arc<dyn Store>) {
    let (l, v) = store.logic_create(&logic("g"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
    let seen = store.library_generation();
    let play = store.play_insert(&Play { logic_sid: l.sid.clone(), logic_version_sid: v.sid.clone(), ..Default::default() }).unwrap();
    store.play_batch(&PlayBatch { logs: vec![(play.sid.clone(), "x\n".into())], ..Default::default() }, None).unwrap();
    assert_eq!(store.library_generation(), seen, "a Play's step must not invalidate cached name lookups");
    let v2 = store.version_create(&LogicVersion { logic_sid: l.sid.clone(), version_label: "v2".into(), ..Default::default() }, true).unwrap();
    assert!(store.library_generation() > seen, "a new current version must invalidate them");
    let seen = store.library_generation();
    store.set_current_version(&l.sid, &v.sid).unwrap();
    assert!(store.library_generation() > seen);
    assert_eq!(store.current_version_by_name("g").unwrap().unwrap().sid, v.sid, "{}", v2.sid);
}

fn the_root_of_a_nested_play_is_found_in_one_query(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play::default()).unwrap();
    let child = store.play_insert(&Play { parent_play_sid: root.sid.clone(), ..Default::default() }).unwrap();
    let grandchild = store.play_insert(&Play { parent_play_sid: child.sid.clone(), ..Default::default() }).unwrap();
    assert_eq!(store.play_root_sid(&grandchild.sid).unwrap(), Some(root.sid.clone()));
    assert_eq!(store.play_root_sid(&root.sid).unwrap(), Some(root.sid));
    assert_eq!(store.play_root_sid("zzzz").unwrap(), None);
}

fn replayed_marks_change_only_the_flag(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play::default()).unwrap();
    let children: Vec<Play> = (0..3)
        .map(|i| {
            let output = json!({"i": i}).as_object().cloned().unwrap();
            store.play_insert(&Play { parent_play_sid: root.sid.clone(), output_data: output, ..Default::default() }).unwrap()
        })
        .collect();
    let marked = vec![children[0].sid.clone(), children[2].sid.clone()];
    store.play_batch(&PlayBatch { replayed: marked, ..Default::default() }, None).unwrap();
    let read: Vec<Play> = children.iter().map(|c| store.play_get(&c.sid).unwrap().unwrap()).collect();
    assert_eq!(read.iter().map(|p| p.replayed).collect::<Vec<_>>(), [true, false, true], "exactly the Plays named are marked");
    for (read, child) in read.iter().zip(&children) {
        assert_eq!(read.output_data, child.output_data);
    }
}

fn the_attempt_of_a_retried_call_is_kept_in_the_play_and_its_tree(store: &Arc<dyn Store>) {
    let root = store.play_insert(&Play::default()).unwrap();
    let child = store.play_insert(&Play { parent_play_sid: root.sid.clone(), attempt: 3, ..Default::default() }).unwrap();
    assert_eq!(store.play_get(&child.sid).unwrap().unwrap().attempt, 3);
    let tree = store.play_tree(&root.sid).unwrap();
    assert_eq!(tree.iter().map(|p| p.attempt).collect::<Vec<_>>(), [0, 3]);
}

#[test]
fn a_child_step_does_not_prepare_its_statements_again() {
    let (_d, store) = open();
    let parent = store.play_insert(&Play::default()).unwrap();
    for i in 0..5 {
        let memo = (parent.sid.clone(), format!("k{i}"), json!({"i": i}));
        let batch = PlayBatch { new_children: vec![child_of(&parent, i)], memos: vec![memo], ..Default::default() };
        store.play_batch(&batch, None).unwrap();
    }
    assert_eq!(store.reprepares(sqlite::APPEND_CHILD), 0);
    assert_eq!(store.play_get(&parent.sid).unwrap().unwrap().sub_play_sids.len(), 5);
}

#[test]
fn transactions_of_megabytes_commit_and_read_back() {
    // Far more frames than the log VFS holds at once, in one transaction each.
    let (_d, store) = open();
    let parent = store.play_insert(&Play::default()).unwrap();
    for i in 0..4 {
        let text = format!("{i}").repeat(1024 * 1024);
        store.play_batch(&PlayBatch { logs: vec![(parent.sid.clone(), text)], ..Default::default() }, None).unwrap();
    }
    let logs = store.play_get(&parent.sid).unwrap().unwrap().logs;
    assert_eq!(logs.len(), 4 * 1024 * 1024);
    assert!(logs.starts_with('0') && logs.ends_with('3'));
}
