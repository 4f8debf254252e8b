//! Checked-in schemas generated from types (`schemas/*.json`): the drift tests of both
//! crates compare them, or rewrite them under `UPDATE_SCHEMAS=1`.

use std::path::Path;

/// Rewrites `path` with `generated` when `UPDATE_SCHEMAS` is set; otherwise panics, naming
/// `regenerate` (the command to run), unless the file holds exactly `generated`.
pub fn check_or_update(path: &Path, generated: &str, regenerate: &str) {
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/{name} is out of date with the Rust types; regenerate it with `{regenerate}` and commit the result"
    );
}
