//! The logics the benchmarks run (`hero_logic bench` and the multi-daemon benchmark), kept in
//! one place so that their figures measure the same work.

/// A trivial child: returns its input.
pub const CHILD_SOURCE: &str = r#"from hero_tracing import logic


@logic(name="bench_child", inputs={"i": "integer"}, outputs={"i": "integer"})
def bench_child(i):
    return {"i": i}
"#;

/// Invokes `bench_child` `n` times, one after another.
pub const PARENT_SOURCE: &str = r#"from hero_tracing import logic


@logic(name="bench_parent", inputs={"n": "integer"}, outputs={"children": "integer"})
def bench_parent(n):
    for i in range(n):
        logic.invoke("bench_child", i=i)
    return {"children": n}
"#;
