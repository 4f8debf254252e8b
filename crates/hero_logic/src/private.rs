//! The data dir holds every logic's source, inputs, outputs and logs: it and what the daemon
//! keeps in it are the daemon user's alone (directories 0700, files 0600), also when they
//! were created earlier with wider modes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) 0700, or narrows an existing one to 0700.
pub fn dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    narrow(dir, DIR_MODE)
}

/// Opens (creating 0600 when missing) a file for writing, narrowing an existing one to 0600.
pub fn open_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().create(true).truncate(false).write(true).mode(FILE_MODE).open(path)?;
    narrow(path, FILE_MODE)?;
    Ok(file)
}

/// Narrows an existing file to 0600; a missing one is fine.
pub fn existing_file(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(_) => narrow(path, FILE_MODE),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes group and other bits away (never adds any), saying so when there were some.
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if current & 0o077 == 0 {
        return Ok(());
    }
    if current & 0o1000 != 0 {
        // A shared directory such as /tmp: narrowing it would break it for everyone.
        return Err(std::io::Error::other(format!(
            "{} is a shared directory (mode {current:o}); give the daemon a data dir of its own",
            path.display()
        )));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot narrow {} (mode {current:o}) to {mode:o}: {e}", path.display()))
    })?;
    tracing::warn!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "narrowed the mode of a data dir entry other users could read");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn wide_modes_are_narrowed_and_new_entries_are_private() {
        let temp = tempfile::tempdir().unwrap();
        let wide = temp.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir(&wide).unwrap();
        assert_eq!(mode(&wide), 0o700);
        let fresh = temp.path().join("a/b");
        dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let file = wide.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        existing_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        existing_file(&wide.join("missing")).unwrap();
        open_file(&wide.join("new")).unwrap();
        assert_eq!(mode(&wide.join("new")), 0o600);
        let shared = temp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(dir(&shared).unwrap_err().to_string().contains("shared directory"));
        assert_eq!(std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777, 0o1777, "left as it was");
    }
}
