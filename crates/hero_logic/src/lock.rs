//! One daemon per data dir: an exclusive `flock` held for the process's lifetime.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Exit code of a daemon that found its data dir already served.
pub const EXIT_ALREADY_RUNNING: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another hero_logic daemon is already running for data dir {0} (its lock {1} is held); stop it first, or use another --data-dir")]
    Held(PathBuf, PathBuf),
    #[error("cannot make the data dir private or create its lock file {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Held while the daemon runs; the kernel releases the lock when the process ends.
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path, lock_path: &Path) -> Result<DataDirLock, LockError> {
        crate::private::dir(data_dir).map_err(|e| LockError::Io(lock_path.to_path_buf(), e))?;
        let file = crate::private::open_file(lock_path).map_err(|e| LockError::Io(lock_path.to_path_buf(), e))?;
        // SAFETY: flock on a descriptor we own; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(LockError::Held(data_dir.to_path_buf(), lock_path.to_path_buf()));
        }
        Ok(DataDirLock { _file: file })
    }
}
