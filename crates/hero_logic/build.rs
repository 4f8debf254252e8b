//! Embeds `seed_logics/*.py` and the `hero_tracing` SDK, so a daemon binary copied anywhere
//! still loads its seeds and can start runners.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let mut code = String::new();
    embed(&mut code, "EMBEDDED_SEEDS", &root.join("seed_logics"), false);
    embed(&mut code, "EMBEDDED_SDK", &root.join("sdk/python/hero_tracing"), true);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

/// Writes `pub const NAME: &[(&str, &str)]` of (path relative to `dir`, contents) for every
/// `.py` file under `dir` (recursively when asked).
fn embed(code: &mut String, name: &str, dir: &Path, recursive: bool) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(dir, dir, recursive, &mut files);
    files.sort();
    writeln!(code, "pub const {name}: &[(&str, &str)] = &[").unwrap();
    for (relative, path) in files {
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(code, "    ({relative:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    code.push_str("];\n");
}

fn collect(root: &Path, dir: &Path, recursive: bool, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if recursive && path.file_name().is_some_and(|n| n != "__pycache__") {
                println!("cargo:rerun-if-changed={}", path.display());
                collect(root, &path, recursive, files);
            }
        } else if path.extension().is_some_and(|e| e == "py") {
            let relative = path.strip_prefix(root).expect("walked from root").to_string_lossy().into_owned();
            let absolute = path.canonicalize().expect("a listed file exists");
            files.push((relative, absolute));
        }
    }
}
