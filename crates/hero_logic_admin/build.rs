//! Compiles every file under `static/` into the admin (`OUT_DIR/assets.rs`, a table that
//! `routes/assets.rs` includes), so a new module or stylesheet is served without a list to
//! keep in step. Also the code editor's bundle (`frontend/dist/editor.js`, built by `npm ci &&
//! npm run build` in `frontend/`, which scripts/test and scripts/run do) when it is there.
//! Without it the admin still builds: `/static/editor.js` is then a stub and the page falls
//! back to a plain text area with line numbers.

use std::path::{Path, PathBuf};
use std::{env, fs};

const STATIC_DIR: &str = "static";

/// The content type of an asset by its extension; an unknown one stops the build, so no
/// asset is served as something the browser would refuse to run or style.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        other => panic!("{}: no content type for extension {other:?}; add one in build.rs", path.display()),
    }
}

/// Every file under `dir`, sorted, as paths relative to `root` with `/` separators.
fn files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(root, &path, out);
        } else {
            let name = path.strip_prefix(root).expect("under static/").components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
}

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));

    let bundle = Path::new("frontend/dist/editor.js");
    // Watching a path that does not exist would rerun this script (and rebuild the admin) on
    // every build; without the bundle, watch the folder a build would create it in.
    if bundle.exists() {
        println!("cargo:rerun-if-changed=frontend/dist");
    } else {
        println!("cargo:rerun-if-changed=frontend");
    }
    println!("cargo:rerun-if-changed={STATIC_DIR}");
    println!("cargo:rerun-if-changed=build.rs");
    let editor = out_dir.join("editor.js");
    let body = fs::read_to_string(bundle)
        .unwrap_or_else(|_| "/* no editor bundle: build crates/hero_logic_admin/frontend (npm ci && npm run build) */\n".to_string());
    fs::write(&editor, body).expect("write the editor bundle into OUT_DIR");

    let root = manifest.join(STATIC_DIR);
    let mut assets = Vec::new();
    files(&root, &root, &mut assets);
    assets.push(("editor.js".to_string(), editor));
    let mut table = String::from("/// `(name under /static/, content type, body)` of every asset.\npub const ASSETS: &[(&str, &str, &str)] = &[\n");
    for (name, path) in &assets {
        table.push_str(&format!("    ({name:?}, {:?}, include_str!({:?})),\n", content_type(path), path.display().to_string()));
    }
    table.push_str("];\n");
    fs::write(out_dir.join("assets.rs"), table).expect("write the asset table into OUT_DIR");
}
