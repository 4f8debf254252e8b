//! Compiles the code editor's bundle (`frontend/dist/editor.js`, built by `npm ci && npm run
//! build` in `frontend/`, which scripts/test and scripts/run do) into the admin when it is
//! there. Without it the admin still builds: `/static/editor.js` is then a stub and the page
//! falls back to a plain text area with line numbers.

use std::path::Path;
use std::{env, fs};

fn main() {
    let bundle = Path::new("frontend/dist/editor.js");
    // Watching a path that does not exist would rerun this script (and rebuild the admin) on
    // every build; without the bundle, watch the folder a build would create it in.
    if bundle.exists() {
        println!("cargo:rerun-if-changed=frontend/dist");
    } else {
        println!("cargo:rerun-if-changed=frontend");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("editor.js");
    let body = fs::read_to_string(bundle)
        .unwrap_or_else(|_| "/* no editor bundle: build crates/hero_logic_admin/frontend (npm ci && npm run build) */\n".to_string());
    fs::write(&out, body).expect("write the editor bundle into OUT_DIR");
}
