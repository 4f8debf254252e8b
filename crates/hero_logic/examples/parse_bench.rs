//! Parse-time benchmark: the flow graph and the signature of a generated 5,000-line logic and
//! of each seed logic, as medians, with the bare syntax parse as the baseline of each.
//!
//! Run with `cargo run --release -p hero_logic --example parse_bench`. Figures are printed,
//! never asserted (DESIGN.md §11: benchmarks do not gate on absolute times).

use std::path::Path;
use std::time::{Duration, Instant};

use hero_logic::parse::{flow_graph, read_signature};

/// Median wall time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A logic of about `lines` lines: helpers with loops, branches, try blocks, invocations,
/// HTTP calls and questions, and an entry that calls every helper.
fn generated(lines: usize) -> String {
    let mut source =
        String::from("import requests\nfrom hero_tracing import ask_user, logic\n\nLIMIT = 10\n\n");
    let mut helpers = 0;
    // Each helper is 23 lines plus one line calling it from the entry.
    while source.lines().count() + 24 + helpers + 5 < lines {
        source.push_str(&format!(
            r#"def helper_{helpers}(items, mode="fast"):
    """Helper {helpers}: labels items and checks a remote service."""
    results = []
    for index, item in enumerate(items):
        if index > LIMIT:
            break
        elif mode == "slow" and item:
            label = logic.invoke("label_{helpers}", item=item, index=index)
        else:
            label = {{"label": str(item).strip().lower()}}
        results.append(label)
    try:
        status = requests.get(f"https://api{helpers}.example.com/v1/status/{{mode}}").json()
    except (ValueError, KeyError) as exc:
        status = {{"error": str(exc)}}
    finally:
        logic.log(f"helper_{helpers} done: {{len(results)}} results")
    while status.get("retry") and not ask_user.confirm(f"Retry helper {helpers}?"):
        status = logic.invoke("refresh_{helpers}", status=status)
    scores = [logic.invoke("score", item=r) for r in results if r]
    return {{"results": results, "status": status, "scores": scores}}


"#
        ));
        helpers += 1;
    }
    source.push_str(
        "@logic(name=\"big\", inputs={\"items\": \"array\"})\ndef big(items):\n    out = {}\n",
    );
    for h in 0..helpers {
        source.push_str(&format!("    out[\"h{h}\"] = helper_{h}(items)\n"));
    }
    source.push_str("    return out\n");
    source
}

fn row(name: &str, source: &str, runs: usize) {
    let parse = median(runs, || {
        let parsed = ruff_python_parser::parse_module(source);
        std::hint::black_box(&parsed);
    });
    let graph = median(runs, || {
        std::hint::black_box(flow_graph(source, None));
    });
    let signature = median(runs, || {
        let _ = std::hint::black_box(read_signature(source));
    });
    let ratio = graph.as_secs_f64() / parse.as_secs_f64().max(1e-9);
    println!(
        "{name:<18} {:>6} {:>8} {:>12.3} {:>12.3} {:>12.3} {:>8.2}x",
        source.lines().count(),
        source.len(),
        parse.as_secs_f64() * 1e3,
        graph.as_secs_f64() * 1e3,
        signature.as_secs_f64() * 1e3,
        ratio,
    );
}

fn main() {
    println!(
        "{:<18} {:>6} {:>8} {:>12} {:>12} {:>12} {:>9}",
        "source", "lines", "bytes", "syntax ms", "graph ms", "signature ms", "graph/syn"
    );
    let big = generated(5_000);
    let graph = flow_graph(&big, None);
    assert!(
        graph.error.is_none(),
        "the generated source parses: {:?}",
        graph.error
    );
    row("generated_5000", &big, 31);
    println!(
        "{:<18} {} top-level nodes, truncated: {}",
        "",
        graph.nodes.len(),
        graph.truncated
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_logics");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .expect("seed_logics/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("py"))
        .collect();
    seeds.sort();
    for path in seeds {
        let source = std::fs::read_to_string(&path).expect("readable seed");
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        row(name, &source, 501);
    }
    println!(
        "medians of 31 runs (generated) and 501 runs (seeds); graph includes the syntax parse"
    );
}
