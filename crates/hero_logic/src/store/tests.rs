use std::sync::Arc;

use hero_logic_api::{Logic, LogicVersion, Play, PlayStatus};
use serde_json::json;

use super::*;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db"), Synchronous::Normal).unwrap();
    (dir, store)
}

fn logic(name: &str) -> Logic {
    Logic { name: name.into(), description: format!("{name} logic"), ..Default::default() }
}

#[test]
fn sids_come_from_one_counter_across_tables() {
    let (_d, store) = open();
    let (l, v) = store.logic_create(&logic("a"), &LogicVersion { version_label: "v1".into(), ..Default::default() }).unwrap();
    let p = store.play_insert(&Play { logic_sid: l.sid.clone(), ..Default::default() }).unwrap();
    assert_eq!((l.sid.as_str(), v.sid.as_str(), p.sid.as_str()), ("0001", "0002", "0003"));
    assert_eq!(l.current_version_sid, v.sid);
    assert_eq!(store.logic_get(&l.sid).unwrap().unwrap().versions, vec![v.sid]);
}

#[test]
fn unique_name_is_a_conflict_on_name() {
    let (_d, store) = open();
    store.logic_put(&logic("dup")).unwrap();
    match store.logic_put(&logic("dup")) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn pages_are_newest_first_and_resume_at_the_cursor() {
    let (_d, store) = open();
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

#[test]
fn unknown_filter_is_rejected_with_the_allowed_fields() {
    let (_d, store) = open();
    match store.logic_page(&PageQuery::first(10).filter("colour", "red")) {
        Err(StoreError::BadQuery { field, message }) => {
            assert_eq!(field, "colour");
            assert!(message.contains("name"), "{message}");
        }
        other => panic!("expected a bad query, got {other:?}"),
    }
}

#[test]
fn children_append_in_order_from_many_threads() {
    let (_d, store) = open();
    let store = Arc::new(store);
    let parent = store.play_insert(&Play::default()).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
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

#[test]
fn step_outputs_are_written_per_key() {
    let (_d, store) = open();
    let play = store.play_insert(&Play { status: PlayStatus::Running, ..Default::default() }).unwrap();
    store.play_set_step_output(&play.sid, "a:0:x", &json!({"v": 1})).unwrap();
    store.play_set_step_output(&play.sid, "b:1:y", &json!(2)).unwrap();
    store.play_set_step_output(&play.sid, "a:0:x", &json!({"v": 3})).unwrap();
    let stored = store.play_get(&play.sid).unwrap().unwrap();
    assert_eq!(stored.step_outputs.len(), 2);
    assert_eq!(stored.step_outputs["a:0:x"], json!({"v": 3}));
    assert_eq!(stored.status, PlayStatus::Running);
}

#[test]
fn a_given_unknown_sid_is_kept_and_the_counter_moves_past_it() {
    let (_d, store) = open();
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
