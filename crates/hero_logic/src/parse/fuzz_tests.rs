//! Property tests: whatever text the daemon is handed, the parser answers (a graph or an
//! error), quickly, without panicking, and the graph survives the cache's JSON round trip.
//! Bounded to a fixed number of cases so that it fits CI's time.

use std::path::Path;
use std::time::{Duration, Instant};

use hero_logic_api::{FlowGraph, FlowNode, FlowStep};
use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{flow_graph, read_signature};

/// Far above what any case takes in a debug build; a hang would blow through it.
const PER_CASE_LIMIT: Duration = Duration::from_secs(10);

/// Fragments that make mutations interesting to a Python parser and to the graph walker.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "\n",
    "    ",
    "\t",
    "\\\n",
    "#",
    "\"",
    "'",
    "\"\"\"",
    "f\"{",
    "}\"",
    "f'{x[\"a\"]}'",
    "if x:\n",
    "elif y:\n",
    "else:\n",
    "for i in x:\n",
    "while True:\n",
    "try:\n",
    "except* E:\n",
    "finally:\n",
    "match x:\n    case _:\n",
    "return ",
    "lambda: ",
    "def h():\n    ",
    "h()",
    "await ",
    "async ",
    "yield ",
    "@logic\n",
    "logic.invoke(",
    "logic.invoke(\"x\")",
    "ask_user.confirm(\"?\")",
    "logic.pause(\"p\", ui=",
    "requests.get(\"https://h/x\")",
    "Client().call(\"m\")",
    "[a for a in b]",
    ":=",
    "->",
    "type T = int\n",
    "def f[T](x: T): ...\n",
    "1_000",
    "\u{feff}",
    "é",
    "\0",
    "\r\n",
];

fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics");
    let mut sources: Vec<String> = std::fs::read_dir(dir)
        .expect("seed_logics/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("py"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    sources.sort();
    sources
}

/// One edit of a source, at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Mutation {
    Insert { at: f64, fragment: usize },
    Delete { at: f64, len: usize },
    Duplicate { at: f64, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64, 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Mutation::Insert { at, fragment }),
        (0.0..1.0f64, 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (0.0..1.0f64, 1..200usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

/// The char boundary at or before `fraction` of the text.
fn boundary(text: &str, fraction: f64) -> usize {
    let mut at = ((text.len() as f64) * fraction) as usize;
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &mut String, mutation: &Mutation) {
    match *mutation {
        Mutation::Insert { at, fragment } => {
            let at = boundary(text, at);
            text.insert_str(at, FRAGMENTS[fragment]);
        }
        Mutation::Delete { at, len } => {
            let start = boundary(text, at);
            let end = boundary(
                text,
                ((start + len) as f64 / text.len().max(1) as f64).min(1.0),
            );
            text.replace_range(start..end.max(start), "");
        }
        Mutation::Duplicate { at, len } => {
            let start = boundary(text, at);
            let end = boundary(
                text,
                ((start + len) as f64 / text.len().max(1) as f64).min(1.0),
            );
            let copy = text[start..end.max(start)].to_owned();
            text.insert_str(start, &copy);
        }
    }
}

/// What every answer must satisfy.
fn check(text: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let graph = flow_graph(text, None);
    let _ = read_signature(text);
    prop_assert!(
        started.elapsed() < PER_CASE_LIMIT,
        "took {:?}",
        started.elapsed()
    );
    prop_assert!(
        graph.error.is_some() != graph.entry.is_some(),
        "an error or an entry, never both or neither: {graph:?}"
    );
    if graph.error.is_some() {
        prop_assert!(graph.nodes.is_empty());
    }
    let lines = u32::try_from(text.lines().count())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    for node in &graph.nodes {
        check_node(node, lines)?;
    }
    let json = serde_json::to_value(&graph).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: FlowGraph =
        serde_json::from_value(json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(back, graph, "the cache's round trip keeps the graph");
    Ok(())
}

fn check_node(node: &FlowNode, lines: u32) -> Result<(), TestCaseError> {
    prop_assert!(
        node.line >= 1 && node.line <= lines && node.column >= 1,
        "{node:?}"
    );
    let children: Vec<&FlowNode> = match &node.step {
        FlowStep::Loop {
            children, orelse, ..
        } => children.iter().chain(orelse).collect(),
        FlowStep::If { branches } => branches.iter().flat_map(|b| &b.children).collect(),
        FlowStep::Try {
            body,
            handlers,
            orelse,
            finalbody,
        } => body
            .iter()
            .chain(handlers.iter().flat_map(|h| &h.children))
            .chain(orelse)
            .chain(finalbody)
            .collect(),
        _ => Vec::new(),
    };
    for child in children {
        check_node(child, lines)?;
    }
    Ok(())
}

fn config() -> Config {
    Config {
        cases: 256,
        // No regression files written into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_seeds_give_a_graph_or_an_error(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let sources = seeds();
        prop_assume!(!sources.is_empty());
        let mut text = sources[seed.index(sources.len())].clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        check(&text)?;
    }

    #[test]
    fn random_bytes_give_a_graph_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_fragments_give_a_graph_or_an_error(
        picks in prop::collection::vec(0..FRAGMENTS.len(), 0..200),
    ) {
        let mut text = String::from("from hero_tracing import logic\n@logic\ndef f(x):\n    ");
        for pick in picks {
            text.push_str(FRAGMENTS[pick]);
        }
        check(&text)?;
    }
}
