//! The Python side of a run: the real interpreter, resolved once, and the SDK on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::embedded::EMBEDDED_SDK;

/// Names the interpreter to use instead of `python3` on PATH.
pub const ENV_PYTHON: &str = "HERO_LOGIC_PYTHON";

#[derive(Debug, Clone)]
pub struct PythonRuntime {
    /// The real interpreter (never a shim: a pyenv shim costs ~100 ms per spawn).
    pub interpreter: PathBuf,
    pub version: String,
    /// Directory holding the `hero_tracing` package.
    pub sdk_dir: PathBuf,
    /// What `site` would add to `sys.path` (site-packages). Runners start with `-S`, which
    /// skips running `site` (tens of milliseconds on some installs), and add these instead.
    pub site_paths: Vec<String>,
}

impl PythonRuntime {
    /// Resolves the interpreter and installs the SDK under `data_dir/sdk/<hash>`.
    /// The error says what is missing and how to fix it; Plays fail with it.
    pub fn prepare(data_dir: &Path) -> Result<PythonRuntime, String> {
        let (interpreter, version, site_paths) = resolve_interpreter()?;
        let sdk_dir = install_sdk(data_dir)?;
        Ok(PythonRuntime { interpreter, version, sdk_dir, site_paths })
    }

    /// The `-c` program that puts the SDK first and the site directories last on `sys.path`
    /// and then runs `then` (Python statements).
    pub fn bootstrap(&self, then: &str) -> String {
        let site = serde_json::to_string(&self.site_paths).expect("strings serialize");
        format!(
            "import sys; sys.path.insert(0, {:?}); sys.path.extend(p for p in {site} if p not in sys.path); {then}",
            self.sdk_dir.display().to_string()
        )
    }

    /// A cold start: the sandbox (its configuration is `sys.argv[1]`), then the runner.
    pub fn play_bootstrap(&self) -> String {
        self.bootstrap(
            "import json, hero_tracing.sandbox as s; \
             s.enter_and_run(json.loads(sys.argv[1]), lambda report: __import__('hero_tracing.runner').runner.main())",
        )
    }

    /// Enters the sandbox in a throwaway child and prints what held, as JSON.
    pub fn probe_bootstrap(&self) -> String {
        self.bootstrap("import json, hero_tracing.sandbox as s; print(json.dumps(s.probe(json.loads(sys.argv[1]))))")
    }
}

fn resolve_interpreter() -> Result<(PathBuf, String, Vec<String>), String> {
    let candidate = std::env::var(ENV_PYTHON).ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into());
    let probe = "import sys, json; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3]); \
                 print(json.dumps([p for p in sys.path if p]))";
    let output = Command::new(&candidate)
        .args(["-I", "-c", probe])
        .output()
        .map_err(|e| {
            format!("cannot start the Python runner: `{candidate}` did not run ({e}); install python3 (3.9 or newer) or set {ENV_PYTHON} to an interpreter")
        })?;
    if !output.status.success() {
        return Err(format!(
            "cannot start the Python runner: `{candidate}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let executable = lines.next().unwrap_or_default().trim().to_string();
    let version = lines.next().unwrap_or_default().trim().to_string();
    let site_paths: Vec<String> = serde_json::from_str(lines.next().unwrap_or("[]")).unwrap_or_default();
    if executable.is_empty() {
        return Err(format!("cannot start the Python runner: `{candidate}` did not report its executable"));
    }
    let real = std::fs::canonicalize(&executable).unwrap_or_else(|_| PathBuf::from(&executable));
    Ok((real, version, site_paths))
}

/// Writes the embedded SDK once per content hash, so runners of different daemon builds
/// never see a half-written or mixed package.
fn install_sdk(data_dir: &Path) -> Result<PathBuf, String> {
    let mut hasher = Sha256::new();
    for (path, text) in EMBEDDED_SDK {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
    }
    let hash: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = data_dir.join("sdk").join(hash);
    let package = dir.join("hero_tracing");
    if package.join(".complete").is_file() {
        return Ok(dir);
    }
    let fail = |e: std::io::Error| format!("cannot install the Python SDK under {}: {e}", dir.display());
    let staging = data_dir.join("sdk").join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for (path, text) in EMBEDDED_SDK {
        let target = staging.join("hero_tracing").join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&target, text).map_err(fail)?;
    }
    std::fs::write(staging.join("hero_tracing/.complete"), b"").map_err(fail)?;
    if dir.exists() {
        // Left half-written by a crash: nothing can be running from it.
        std::fs::remove_dir_all(&dir).map_err(fail)?;
    }
    match std::fs::rename(&staging, &dir) {
        Ok(()) => Ok(dir),
        // Another daemon build raced us to the same content; theirs is identical.
        Err(_) if package.join(".complete").is_file() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(dir)
        }
        Err(e) => Err(fail(e)),
    }
}
