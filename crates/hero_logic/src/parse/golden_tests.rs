//! Golden tests of the flow graph: each source under `testdata/graph/` (and each seed logic)
//! has a reviewed expected graph beside it. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p hero_logic --lib parse::golden_tests`, then read every
//! changed file before committing it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::flow_graph;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/parse/testdata")
}

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics")
}

/// The graph as compared: the per-request fields (`version_sid`, `cached`) left out.
pub(super) fn golden_text(source: &str, logic_name: Option<&str>) -> String {
    let graph = flow_graph(source, logic_name);
    let mut value = serde_json::to_value(&graph).expect("a graph always serializes");
    if let Value::Object(map) = &mut value {
        map.remove("version_sid");
        map.remove("cached");
    }
    let mut text = serde_json::to_string_pretty(&value).expect("a value always serializes");
    text.push('\n');
    text
}

/// `(source file, expected file)` pairs of one directory of sources.
fn cases(sources: &Path, expected_dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut found: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(sources)
        .expect("source dir exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("py"))
        .map(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).expect("utf-8 name");
            let expected = expected_dir.join(format!("{stem}.json"));
            (p, expected)
        })
        .collect();
    found.sort();
    found
}

fn check(cases: &[(PathBuf, PathBuf)]) -> usize {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (source_path, expected_path) in cases {
        let source = std::fs::read_to_string(source_path).expect("readable source");
        let actual = golden_text(&source, None);
        if update {
            std::fs::write(expected_path, &actual).expect("testdata is writable");
            continue;
        }
        let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{} differs from {}:\n{actual}",
                source_path.display(),
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(regenerate with UPDATE_GOLDEN=1 and review the diff)",
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn corpus_graphs_match_their_golden_files() {
    let dir = testdata().join("graph");
    let checked = check(&cases(&dir, &dir));
    assert!(checked >= 15, "the corpus has {checked} sources");
}

#[test]
fn seed_graphs_match_their_golden_files() {
    let checked = check(&cases(&seed_dir(), &testdata().join("seeds")));
    assert!(checked >= 8, "found {checked} seed logics");
}
