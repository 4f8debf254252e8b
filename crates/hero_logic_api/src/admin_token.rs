//! The web admin's access token: one per data dir, kept in a file only its owner can read.
//!
//! The admin makes it on first start; `hero_logic up` and `hero_logic admin-url` read it to
//! print the dashboard link that carries it (`http://127.0.0.1:9820/?token=...`).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Random bytes in a token (written as twice as many hex digits).
const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "there is no admin token at {} yet: the admin makes it on its first start; \
         start it with `hero_logic up` (or pass the --data-dir it runs with)",
        path.display()
    )]
    Missing { path: PathBuf },

    #[error("cannot read the admin token {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    #[error("cannot write the admin token {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },

    #[error(
        "the admin token {} can be read by other users (mode {mode:o}); \
         fix it with `chmod 600 {}`, or delete it to get a new one",
        path.display(), path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },

    #[error(
        "the admin token {} is not a token (expected {} hex digits); delete it and start the \
         admin again to get a new one",
        path.display(), TOKEN_BYTES * 2
    )]
    Malformed { path: PathBuf },
}

/// Reads the token at `path`, refusing a file other users could read.
pub fn read(path: &Path) -> Result<String, TokenError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(TokenError::Missing { path: path.to_path_buf() })
        }
        Err(source) => return Err(TokenError::Read { path: path.to_path_buf(), source }),
    };
    let read_error = |source| TokenError::Read { path: path.to_path_buf(), source };
    let mode = file.metadata().map_err(read_error)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenError::TooOpen { path: path.to_path_buf(), mode });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(read_error)?;
    let token = text.trim();
    if token.len() != TOKEN_BYTES * 2 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TokenError::Malformed { path: path.to_path_buf() });
    }
    Ok(token.to_string())
}

/// The token at `path`, made (mode 0600, parent dirs 0700) when there is none yet.
pub fn ensure(path: &Path) -> Result<String, TokenError> {
    match read(path) {
        Err(TokenError::Missing { .. }) => {}
        other => return other,
    }
    let write_error = |source| TokenError::Write { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(write_error)?;
    }
    let token = random_hex(TOKEN_BYTES).map_err(write_error)?;
    // create_new: when two starts race, one writes and both read the same token.
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            file.write_all(format!("{token}\n").as_bytes()).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
            Ok(token)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(source) => Err(write_error(source)),
    }
}

/// `bytes` random bytes from the kernel, as hex (tokens here, the admin's CSP nonces).
pub fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `given` is `token`, in time that does not depend on where they differ.
pub fn matches(given: &str, token: &str) -> bool {
    let (given, token) = (given.as_bytes(), token.as_bytes());
    given.len() == token.len() && given.iter().zip(token).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Where the admin notes the address its links point at: beside the token, `.addr` for
/// `.token`, so `hero_logic admin-url` prints the link of the admin that last ran.
pub fn addr_file(token_file: &Path) -> PathBuf {
    token_file.with_extension("addr")
}

/// Notes `addr` (`127.0.0.1:9820`) as the address of the admin using `token_file`.
pub fn remember_addr(token_file: &Path, addr: &str) -> std::io::Result<()> {
    std::fs::write(addr_file(token_file), format!("{addr}\n"))
}

/// The address the admin using `token_file` last noted, if any.
pub fn remembered_addr(token_file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(addr_file(token_file)).ok()?;
    Some(text.trim().to_string()).filter(|addr| !addr.is_empty())
}

/// The dashboard link that logs a browser in: `http://{addr}/?token={token}`.
pub fn dashboard_link(addr: &str, token: &str) -> String {
    format!("http://{addr}/?token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_makes_a_private_token_and_later_ones_read_it() {
        let dir = tempfile_dir();
        let path = dir.join("sub").join("admin.token");
        let token = ensure(&path).expect("made");
        assert_eq!(token.len(), 64);
        assert_eq!(std::fs::metadata(&path).expect("file").permissions().mode() & 0o777, 0o600);
        assert_eq!(ensure(&path).expect("read again"), token);
        assert_eq!(read(&path).expect("read"), token);
        assert_ne!(ensure(&dir.join("other.token")).expect("another"), token, "tokens are random");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_token_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile_dir();
        let path = dir.join("admin.token");
        ensure(&path).expect("made");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let message = read(&path).expect_err("too open").to_string();
        assert!(message.contains("chmod 600"), "{message}");
        let missing = read(&dir.join("none")).expect_err("missing").to_string();
        assert!(missing.contains("hero_logic up"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_admin_address_is_remembered_beside_the_token() {
        let dir = tempfile_dir();
        let token_file = dir.join("admin.token");
        assert_eq!(remembered_addr(&token_file), None);
        remember_addr(&token_file, "127.0.0.1:9900").expect("write");
        assert_eq!(addr_file(&token_file), dir.join("admin.addr"));
        assert_eq!(remembered_addr(&token_file).as_deref(), Some("127.0.0.1:9900"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn matching_needs_the_whole_token() {
        assert!(matches("abcd", "abcd"));
        assert!(!matches("abce", "abcd"));
        assert!(!matches("abc", "abcd"));
        assert!(!matches("", "abcd"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hero_logic_token_{}_{}", std::process::id(), random_hex(8).expect("random")));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }
}
