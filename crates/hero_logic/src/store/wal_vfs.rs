//! SQLite's own `unix` VFS with one change: the frames a transaction appends to the
//! write-ahead log go out in one system call instead of two per frame (its 24-byte header,
//! then its page). A child step's commit writes about a dozen frames, and those `pwrite`
//! calls were the largest single cost of a step in the daemon's profile.
//!
//! Writes to the log that continue one another, starting with a frame header, are held in
//! the log file's object and written together when anything else happens to the file: any
//! other call, a write elsewhere, the header of a commit frame (its database size field is
//! set), or more than `MAX_HELD` bytes. So what is held is always frames of a transaction
//! that is not committed yet: other connections read only frames a committed log index
//! counts, this connection's own reads of the log write what is held first, and the index
//! is updated after the commit frame's header, which always writes what is held, with it.
//! (The commit header is not held itself: when SQLite recomputes checksums
//! (`walRewriteChecksums`) it rewrites the commit header last and then updates the index
//! with no further call on the log.) A crash loses only what an uncommitted transaction
//! had written. Files other than logs are SQLite's, untouched.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the store's files through.
pub const NAME: &str = "hero-unix";
const NAME_C: &[u8] = b"hero-unix\0";

/// The size of a write-ahead-log frame header.
const FRAME_HEADER: usize = 24;

/// At most this much is held before it is written: SQLite's own write masks its length to
/// 17 bits (`seekAndWriteFd`), so one write must stay under 128 KiB.
const MAX_HELD: usize = 64 * 1024;

/// Frame headers written together with what came before or after them (figures and tests).
static JOINED: AtomicU64 = AtomicU64::new(0);

/// What a log file's object holds after the file SQLite's VFS made (at `Layout::extra`).
struct Held {
    /// The file's methods as SQLite's VFS set them.
    inner: *const ffi::sqlite3_io_methods,
    /// Writes held, contiguous from `at`; empty when nothing is held.
    bytes: Vec<u8>,
    at: i64,
}

struct Layout {
    /// Where `Held` starts in a file object: after SQLite's own file, aligned.
    extra: usize,
}

static LAYOUT: OnceLock<Result<Layout, String>> = OnceLock::new();

/// Registers the VFS (once; not as the default). Fails when SQLite has no default VFS.
pub fn register() -> Result<(), String> {
    LAYOUT.get_or_init(make).as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Frame headers held and written with other writes so far.
#[cfg(test)]
pub fn joined_frames() -> u64 {
    JOINED.load(Ordering::Acquire)
}

fn make() -> Result<Layout, String> {
    // SAFETY: SQLite's VFS registry calls, on the static default VFS; the copy made here is
    // leaked, as a registered VFS must outlive every connection.
    unsafe {
        let inner = ffi::sqlite3_vfs_find(std::ptr::null());
        if inner.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        let extra = ((*inner).szOsFile as usize).next_multiple_of(std::mem::align_of::<Held>());
        let mut vfs: ffi::sqlite3_vfs = *inner;
        vfs.szOsFile = (extra + std::mem::size_of::<Held>()) as c_int;
        vfs.zName = NAME_C.as_ptr() as *const c_char;
        vfs.pAppData = inner as *mut c_void;
        vfs.pNext = std::ptr::null_mut();
        // The other methods stay the unix VFS's: none of them looks at the VFS it is given.
        vfs.xOpen = Some(open);
        let code = ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0);
        if code != ffi::SQLITE_OK {
            return Err(format!("SQLite refused the {NAME} VFS (code {code})"));
        }
        Ok(Layout { extra })
    }
}

fn layout() -> &'static Layout {
    match LAYOUT.get() {
        Some(Ok(layout)) => layout,
        // `open` is only reachable through a registered VFS.
        _ => unreachable!("the {NAME} VFS is used only once registered"),
    }
}

unsafe fn held<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Held {
    &mut *((file as *mut u8).add(layout().extra) as *mut Held)
}

unsafe fn inner_methods<'a>(file: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    &*held(file).inner
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let inner = (*vfs).pAppData as *mut ffi::sqlite3_vfs;
    let Some(inner_open) = (*inner).xOpen else { return ffi::SQLITE_CANTOPEN };
    let code = inner_open(inner, name, file, flags, out_flags);
    if code != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 || (*file).pMethods.is_null() {
        return code;
    }
    let extra = (file as *mut u8).add(layout().extra) as *mut Held;
    extra.write(Held { inner: (*file).pMethods, bytes: Vec::new(), at: 0 });
    (*file).pMethods = &METHODS;
    code
}

/// Writes what is held, in one write.
unsafe fn release(file: *mut ffi::sqlite3_file) -> c_int {
    let held = held(file);
    if held.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let write = (*held.inner).xWrite.expect("SQLite's files can be written");
    let written = write(file, held.bytes.as_ptr() as *const c_void, held.bytes.len() as c_int, held.at);
    held.bytes.clear();
    written
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    let inner_write = inner_methods(file).xWrite.expect("SQLite's files can be written");
    if amount <= 0 || data.is_null() {
        let released = release(file);
        return if released != ffi::SQLITE_OK { released } else { inner_write(file, data, amount, offset) };
    }
    let bytes = std::slice::from_raw_parts(data as *const u8, amount as usize);
    let held = held(file);
    let follows = !held.bytes.is_empty() && offset == held.at + held.bytes.len() as i64;
    let header = bytes.len() == FRAME_HEADER;
    if !follows && !held.bytes.is_empty() {
        let released = release(file);
        if released != ffi::SQLITE_OK {
            return released;
        }
    }
    let held = self::held(file);
    let starts = held.bytes.is_empty() && header && !is_commit_frame(bytes);
    if (follows || starts) && held.bytes.len() + bytes.len() <= MAX_HELD {
        if starts {
            held.at = offset;
        }
        held.bytes.extend_from_slice(bytes);
        if header {
            JOINED.fetch_add(1, Ordering::Relaxed);
        }
        // A commit frame's header goes out at once, with every frame before it.
        return if header && is_commit_frame(bytes) { release(file) } else { ffi::SQLITE_OK };
    }
    let released = release(file);
    if released != ffi::SQLITE_OK {
        return released;
    }
    inner_write(file, data, amount, offset)
}

/// Whether a frame header is that of a transaction's last frame: bytes 4..8 hold the
/// database size after the commit, 0 in every other frame.
fn is_commit_frame(header: &[u8]) -> bool {
    header[4..8] != [0, 0, 0, 0]
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let released = release(file);
    let extra = (file as *mut u8).add(layout().extra) as *mut Held;
    let inner = (*extra).inner;
    std::ptr::drop_in_place(extra);
    (*file).pMethods = inner;
    let closed = ((*inner).xClose.expect("SQLite's files can be closed"))(file);
    if released != ffi::SQLITE_OK {
        return released;
    }
    closed
}

/// Every other call writes what is held first, then is SQLite's own.
macro_rules! after_release {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            let released = release(file);
            if released != ffi::SQLITE_OK {
                return released;
            }
            match inner_methods(file).$method {
                Some(method) => method(file $(, $arg)*),
                None => ffi::SQLITE_IOERR,
            }
        }
    };
}

after_release!(read, xRead, (data: *mut c_void, amount: c_int, offset: i64));
after_release!(truncate, xTruncate, (size: i64));
after_release!(sync, xSync, (flags: c_int));
after_release!(file_size, xFileSize, (size: *mut i64));
after_release!(lock, xLock, (level: c_int));
after_release!(unlock, xUnlock, (level: c_int));
after_release!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int));
after_release!(file_control, xFileControl, (op: c_int, arg: *mut c_void));
after_release!(shm_map, xShmMap, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
after_release!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int));
after_release!(shm_unmap, xShmUnmap, (delete: c_int));
after_release!(fetch, xFetch, (offset: i64, amount: c_int, out: *mut *mut c_void));
after_release!(unfetch, xUnfetch, (offset: i64, page: *mut c_void));

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    inner_methods(file).xSectorSize.map_or(4096, |method| method(file))
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    inner_methods(file).xDeviceCharacteristics.map_or(0, |method| method(file))
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    let _ = release(file);
    if let Some(method) = inner_methods(file).xShmBarrier {
        method(file);
    }
}
