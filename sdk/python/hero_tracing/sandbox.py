"""The sandbox a Play's process enters before any of its code runs (Linux, stdlib only).

One setup for every start path: the fork server's child and a cold-started interpreter both
call `enter_and_run(config, run)`. The daemon builds `config` (see `crates/hero_logic/src/
engine/sandbox.rs`); this module applies it and says what held:

1. join the Play's cgroup (the daemon passes an open `cgroup.procs` fd), when given; a
   process the fork server made ahead joins cgroups of its own while it waits and, handed
   its Play, writes the Play's limits into them (`cgroup_limits`) instead;
2. new user, mount, IPC, PID and (unless the Play may use the network) network namespaces,
   mapping the process's own uid/gid (works unprivileged and as root);
3. fork once more: `B`, PID 1 of the new PID namespace, sets up the rest, forks the body
   and reaps orphans; when the body ends or `B` is killed (it dies with the process the
   daemon started, by PR_SET_PDEATHSIG), the kernel kills every process of the namespace,
   `setsid` escapees included. The fork server makes `B` in one step instead
   (`clone_into_namespaces`, then `enter_as_init`): clone(2) with the namespace flags, so
   no process waits between it and the server, and `B` writes the body's wait status to a
   pipe the server reads;
4. mounts private; a tmpfs over each hidden directory (the data dir) with the Play's own work
   dir and the read-only dirs that live there (the SDK) bound back; /dev/null over each
   hidden file (the daemon's socket when it lives elsewhere); a /proc of the new namespace;
5. rlimits (address space, open files, processes, no core), `pid_max` of the namespace;
6. no capabilities (bounding set emptied, NOROOT securebits), `PR_SET_NO_NEW_PRIVS`,
   `PR_SET_PDEATHSIG`;
7. a Landlock ruleset: read+execute on the interpreter, stdlib, SDK, site dirs and system
   libraries, read-write on the work dir, the operator's `[sandbox] shared_dirs` and
   /dev/null, nothing else; TCP bind/connect denied
   (ABI 4) unless the network is allowed; signals and abstract unix sockets scoped (ABI 6);
8. every fd closed but stdio and the channel.

A step the kernel refuses is recorded, not fatal, unless its name is in `config["require"]`
(the level the daemon accepted at start): then the process exits 71 naming it. `probe()`
runs the same steps in a throwaway child and reports them, for the daemon's start.
"""

import ctypes
import ctypes.util
import json
import os
import platform
import resource
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# SECBIT_NOROOT | _LOCKED | NO_SETUID_FIXUP | _LOCKED | KEEP_CAPS_LOCKED | NO_CAP_AMBIENT_RAISE | _LOCKED
SECUREBITS_LOCKED_DOWN = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80

# Landlock, close_range and capset share one number on every Linux architecture since the
# unified syscall table (x86_64 and aarch64 alike); other architectures are refused below.
_SYSCALLS = {
    "x86_64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445,
               "landlock_restrict_self": 446, "close_range": 436, "capset": 126, "clone": 56},
    "aarch64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445,
                "landlock_restrict_self": 446, "close_range": 436, "capset": 91, "clone": 220},
}

LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13       # ABI 2
FS_TRUNCATE = 1 << 14    # ABI 3
FS_IOCTL_DEV = 1 << 15   # ABI 5
NET_BIND_TCP = 1 << 0    # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1
_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

EXIT_SANDBOX = 71  # sysexits EX_OSERR: a required protection could not be set up

# Files outside the system trees that Python, the resolver and TLS read.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/hosts",
             "/etc/resolv.conf", "/etc/gai.conf", "/etc/host.conf", "/etc/services",
             "/etc/protocols", "/etc/passwd", "/etc/group", "/etc/mime.types", "/etc/ssl",
             "/etc/ca-certificates", "/etc/pki", "/etc/crypto-policies")
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
DEVICES_READ = ("/dev/urandom", "/dev/random", "/dev/zero")
DEVICES_WRITE = ("/dev/null",)

# Protection names, as the daemon reports them.
NAMES = ("userns", "mountns", "pidns", "ipcns", "netns", "hide_data_dir", "proc", "rlimits",
         "nproc", "pid_max", "no_caps", "no_new_privs", "landlock_fs", "landlock_net",
         "landlock_scope", "close_fds", "cgroup")


class SandboxError(Exception):
    pass


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)} (errno {err})")
    return result


_NUMBERS = _SYSCALLS.get(platform.machine())
_syscall_fn = _libc.syscall


def _syscall(name, *args):
    if _NUMBERS is None:
        raise SandboxError(f"no syscall numbers for {platform.machine()}")
    return _syscall_fn(ctypes.c_long(_NUMBERS[name]), *args)


def _b(path):
    return os.fsencode(path) if path is not None else None


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
           f"mount {source or fstype} on {target}")


def _prctl(option, arg2=0, arg3=0):
    return _check(_libc.prctl(option, arg2, arg3, 0, 0), f"prctl({option})")


class Report:
    """What held and what did not, by protection name."""

    def __init__(self, require):
        self.require = set(require or ())
        self.active = {}
        self.notes = {}
        # Microseconds each step took (CLOCK_MONOTONIC), for the probe's report and benches.
        self.timings = {}

    def step(self, name, action):
        """Runs `action`; a failure of a required protection ends the process."""
        began = time.monotonic_ns()
        try:
            result = action()
        except (OSError, SandboxError, ValueError) as exc:
            self.timings[name] = (time.monotonic_ns() - began) // 1000
            self.active[name] = False
            self.notes[name] = str(exc)
            if name in self.require:
                _fatal(f"the sandbox could not set up {name}, which this daemon requires: {exc}")
            return None
        self.timings[name] = (time.monotonic_ns() - began) // 1000
        self.active.setdefault(name, True)
        if isinstance(result, str):
            self.notes[name] = result
        return result

    def as_json(self):
        return {"active": self.active, "notes": self.notes, "timings_us": self.timings}


def _fatal(message):
    try:
        os.write(2, f"hero_tracing sandbox: {message}\n".encode("utf-8", "replace"))
    finally:
        os._exit(EXIT_SANDBOX)


# -- steps ---------------------------------------------------------------------------------


def join_cgroup(fd):
    """Writes "0" (this process) to the Play's `cgroup.procs`, opened by the daemon."""
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


def write_limits(limits, values):
    """Writes the Play's limits through the open limit files of the cgroups this process
    joined ahead; a missing value or a refused write (but the optional swap limit) fails."""
    try:
        for name, fd in limits:
            value = values.get(name)
            if value is None:
                raise SandboxError(f"no value for the cgroup limit {name}")
            try:
                os.write(fd, str(value).encode())
            except OSError:
                if name != "memory.swap.max":
                    raise
    finally:
        for _, fd in limits:
            os.close(fd)


def _namespace_flags(network):
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID
    return flags if network else flags | CLONE_NEWNET


def unshare_namespaces(network):
    ids = os.geteuid(), os.getegid()
    _check(_libc.unshare(_namespace_flags(network)), "unshare")
    map_ids(ids)


def map_ids(ids):
    """Maps the creator's own uid and gid in the user namespace this process is in."""
    uid, gid = ids
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


# Calls through PyDLL keep the GIL: the child of a raw clone must come back holding it.
_pydll = ctypes.PyDLL(ctypes.util.find_library("c") or None, use_errno=True)
_pydll.syscall.restype = ctypes.c_long
_SIGCHLD = 17


def clone_into_namespaces(network):
    """Forks this process straight into new namespaces: the child is PID 1 of its PID
    namespace (`B` of `enter_and_wait`, with no `A` before it) and must call `map_ids`
    with the ids returned here. (pid, ids): the child's pid and 0 in the child. Raises
    SandboxError when the kernel refuses (the caller then forks and unshares).

    A raw clone(2) skips glibc's fork wrapper, so the child's cached thread id is its
    parent's: the child runs no threads and never calls raise(3); the body it forks with
    os.fork gets its own."""
    if _NUMBERS is None:
        raise SandboxError(f"no syscall numbers for {platform.machine()}")
    ids = os.geteuid(), os.getegid()
    flags = _namespace_flags(network) | _SIGCHLD
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _pydll.syscall(ctypes.c_long(_NUMBERS["clone"]), ctypes.c_ulong(flags), None, None, None,
                         ctypes.c_ulong(0))
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0, ids
    err = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise SandboxError(f"clone into new namespaces: {os.strerror(err)} (errno {err})")
    return pid, ids


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def hide_paths(config):
    """tmpfs over hidden dirs with the read-only dirs inside them bound back; returns an
    O_PATH fd of the real `work_root` (where Play work dirs live) when it is hidden, for
    `bind_work_dir`, or None."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = work_root(config)
    hidden = [os.path.realpath(d) for d in config.get("hide_dirs") or [] if os.path.isdir(d)]
    keep = [os.path.realpath(p) for p in config.get("read_dirs") or [] if os.path.isdir(p)]
    rebind = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY))
              for path in keep if any(_beneath(path, h) for h in hidden)]
    root_fd = None
    if any(_beneath(root, h) for h in hidden):
        root_fd = _high(os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
    for directory in hidden:
        _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256k")
    for path, fd in rebind:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
        # Landlock keeps it read-only where the kernel refuses this remount.
        try:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except SandboxError:
            pass
    for path in config.get("hide_files") or []:
        if os.path.lexists(path) and not any(_beneath(path, h) for h in hidden):
            _mount("/dev/null", path, None, MS_BIND)
    if root_fd is not None:
        # Where the Play's work dir is bound back: made ahead, not on the Play's start.
        os.makedirs(root, exist_ok=True)
    return {"work_root_fd": root_fd, "work_root": root}


def work_root(config):
    """The directory the Play work dirs live in (real path): every Play of a daemon shares it."""
    given = config.get("work_root")
    return os.path.realpath(given) if given else os.path.dirname(os.path.realpath(config["work_dir"]))


def work_dir_name(config, real_root=None):
    """The work dir's own name, checked to be one entry directly in the work root. The
    daemon names it `<work_root>/<play>`; then the real root resolved ahead (`real_root`)
    serves, else the work dir is resolved here."""
    work_dir = config["work_dir"]
    name = os.path.basename(work_dir)
    given_root = config.get("work_root")
    same_parent = given_root and os.path.normpath(os.path.dirname(work_dir)) == os.path.normpath(given_root)
    if not (real_root and same_parent):
        work = os.path.realpath(work_dir)
        real_root = work_root(config)
        name = os.path.basename(work) if os.path.dirname(work) == real_root else ""
    if name in ("", ".", ".."):
        raise SandboxError(f"the work dir {work_dir} is not in {real_root}")
    return name


def bind_work_dir(config, hidden):
    """The Play's own work dir, bound back into the tmpfs over the data dir; then cwd."""
    root_fd = (hidden or {}).get("work_root_fd")
    if root_fd is None:
        os.chdir(os.path.realpath(config["work_dir"]))
        return
    try:
        real_root = hidden["work_root"]
        name = work_dir_name(config, real_root)
        work = os.path.join(real_root, name)
        # No symlink: the entry itself, opened in the real root.
        fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root_fd)
        try:
            os.makedirs(work, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", work, None, MS_BIND | MS_REC)
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
    os.chdir(work)


# Fds the sandbox keeps across the moves of a Play's fds to their fixed numbers (3, 4...;
# the fork server's moves go through 100 + i) sit at this number or above.
HIGH_FD = 256


def _high(fd):
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH_FD)
    os.close(fd)
    return moved


def _beneath(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def mount_proc():
    """A /proc that shows only this PID namespace (needs to run as its PID 1)."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def set_pid_max(limit):
    """The namespace's own pid_max (Linux 6.14+): at most `limit` live processes."""
    # The kernel's floor is 301 (RESERVED_PIDS + 1).
    limit = max(int(limit), 301)
    _write("/proc/sys/kernel/pid_max", str(limit))
    with open("/proc/sys/kernel/pid_max") as f:
        if int(f.read().strip()) != limit:
            raise SandboxError("pid_max is not per namespace on this kernel")
    return f"{limit - 1} processes"


def set_rlimits(config):
    memory = int(config.get("memory_mb") or 0) * 1024 * 1024
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    files = int(config.get("max_open_files") or 0)
    if files:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def set_nproc(limit):
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    if os.getuid() == 0:
        # The kernel does not apply RLIMIT_NPROC to the real root user.
        raise SandboxError("RLIMIT_NPROC is not enforced for uid 0")


def drop_capabilities(bounded=False):
    """No capability survives, not even across an exec of a root-owned program. `bounded`:
    `drop_bounding` was done already (ahead of the Play)."""
    if not bounded:
        drop_bounding()
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_syscall("capset", header, data), "capset")


def drop_bounding():
    """The bounding and ambient sets emptied, securebits locked: what can be done while the
    capabilities themselves are still needed (the mount of the work dir)."""
    _prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_DOWN)
    for cap in range(_cap_last_cap() + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def _cap_last_cap():
    if _prepared.cap_last is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _prepared.cap_last = int(f.read())
        except (OSError, ValueError):
            return 40
    return _prepared.cap_last


def landlock_abi():
    if _prepared.abi is not None:
        return _prepared.abi
    try:
        return max(0, _syscall("landlock_create_ruleset", None, ctypes.c_size_t(0),
                               ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION)))
    except SandboxError:
        return 0


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def fs_rights(abi):
    rights = (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_REMOVE_DIR |
              FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK |
              FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM)
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def read_paths(config):
    """What the Play may read and execute: interpreter, stdlib, SDK, site dirs, system."""
    return _resolve_paths(_read_path_candidates(config.get("read_dirs")))


def _read_path_candidates(read_dirs):
    paths = [sys.base_prefix, sys.prefix, sys.exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]
    paths += [p for p in sys.path if p and os.path.isabs(p)]
    paths += list(read_dirs or [])
    paths += list(SYSTEM_DIRS) + list(ETC_FILES) + list(DEVICES_READ)
    return paths


def _resolve_paths(paths):
    seen, result = set(), []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen and os.path.exists(real) and real != "/":
            seen.add(real)
            result.append(real)
    return result


def landlock_ruleset(shared):
    """A new ruleset with the rules every Play of the daemon shares (read-only paths,
    devices, shared dirs): made by each Play's process for itself (a ruleset is one kernel
    object: never one for two Plays), ahead of its Play when it can.
    Returns (fd, attr, abi, handled_fs)."""
    abi = landlock_abi()
    if abi < 1:
        raise SandboxError("Landlock is not available (kernel too old or not enabled)")
    handled_fs = fs_rights(abi)
    network = bool(shared.get("network"))
    attr = _RulesetAttr(handled_fs, 0, 0)
    size = 8
    if abi >= 4 and not network:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
    if abi >= 4:
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    # Above the numbers a Play's fds are moved to, which it may be made ahead of.
    ruleset = _high(_check(_syscall("landlock_create_ruleset", ctypes.byref(attr),
                                    ctypes.c_size_t(size), ctypes.c_uint32(0)),
                           "landlock_create_ruleset"))
    try:
        read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
        write_device = FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE
        opened = _prepared.rules_for(shared.get("read_dirs"))
        if opened is not None:
            for path, fd, is_dir, writable in opened:
                _add_rule_fd(ruleset, fd, is_dir, (write_device if writable else read) & handled_fs, path)
        else:
            for path in read_paths(shared):
                _add_rule(ruleset, path, read & handled_fs)
            for path in DEVICES_WRITE:
                _add_rule(ruleset, path, write_device & handled_fs)
        for path in shared.get("write_dirs") or []:
            _add_rule(ruleset, os.path.realpath(path), handled_fs)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset, attr, abi, handled_fs


def apply_landlock(config, report, ahead=None):
    """Restricts this process (and all it starts) to the Play's paths; returns the ABI.
    `ahead`: what `landlock_ruleset` made before the Play was known."""
    ruleset, attr, abi, handled_fs = ahead or landlock_ruleset(config)
    network = bool(config.get("network"))
    try:
        _add_rule(ruleset, os.path.realpath(config["work_dir"]), handled_fs)
        _check(_syscall("landlock_restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(ruleset)
    report.active["landlock_net"] = bool(attr.handled_access_net) or (network and abi >= 4)
    if abi < 4:
        report.notes["landlock_net"] = f"Landlock ABI {abi} < 4: no TCP rules"
    report.active["landlock_scope"] = abi >= 6
    if abi < 6:
        report.notes["landlock_scope"] = f"Landlock ABI {abi} < 6: signals and abstract sockets not scoped"
    return f"ABI {abi}"


def _add_rule(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _add_rule_fd(ruleset, fd, os.path.isdir(path), rights, path)
    finally:
        os.close(fd)


def _add_rule_fd(ruleset, fd, is_dir, rights, what):
    if not is_dir:
        rights &= _FILE_RIGHTS
    rule = _PathBeneath(rights, fd)
    _check(_syscall("landlock_add_rule", ctypes.c_int(ruleset),
                    ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                    ctypes.c_uint32(0)), f"landlock_add_rule {what}")


class _Prepared:
    """What every Play's sandbox shares, found once in the fork server before any fork: the
    Landlock ABI, the last capability, and the read-only rule paths opened as O_PATH fds
    (close-on-exec; every Play process closes them with the rest before its body runs).

    Keyed by the daemon's `read_dirs`: a request naming others walks the paths as a cold
    start does."""

    def __init__(self):
        self.abi = None
        self.cap_last = None
        self.read_dirs = None
        self.rules = None

    def prepare(self, read_dirs):
        for rule in self.rules or ():
            os.close(rule[1])
        self.abi = None
        self.abi = landlock_abi()
        self.cap_last = None
        _cap_last_cap()
        rules = []
        for path in _resolve_paths(_read_path_candidates(read_dirs)):
            try:
                fd = _high(os.open(path, os.O_PATH | os.O_CLOEXEC))
            except OSError:
                continue
            rules.append((path, fd, os.path.isdir(path), False))
        for path in DEVICES_WRITE:
            try:
                rules.append((path, _high(os.open(path, os.O_PATH | os.O_CLOEXEC)), False, True))
            except OSError:
                continue
        self.read_dirs, self.rules = list(read_dirs or []), rules

    def rules_for(self, read_dirs):
        if self.rules is None or list(read_dirs or []) != self.read_dirs:
            return None
        return self.rules


_prepared = _Prepared()


def prepare(read_dirs):
    """Done once by the fork server: see `_Prepared`."""
    _prepared.prepare(read_dirs)


def needs_prepare(read_dirs):
    return _prepared.rules_for(read_dirs) is None


def close_other_fds(keep):
    keep = sorted(set(keep))
    low = 0
    for fd in keep + [2 ** 31 - 1]:
        if fd > low:
            try:
                _check(_syscall("close_range", ctypes.c_uint(low), ctypes.c_uint(fd - 1),
                                ctypes.c_uint(0)), "close_range")
            except SandboxError:
                os.closerange(low, min(fd, 65536))
        low = fd + 1


# -- the two processes ---------------------------------------------------------------------


def enter_and_run(config, run):
    """Enters the sandbox and calls `run(report)` in it; never returns."""
    enter_and_wait(config, lambda: config, run)


def enter_and_wait(shared, play_of, run):
    """The one sandbox setup (cold starts, the fork server's children, its pooled ones).

    `shared` holds what every Play of a daemon shares (hidden paths, read dirs, network,
    max_processes, require, work_root); `play_of()` returns the Play's whole config once the
    shared part is up: at once, or when a process made ahead of time is handed its Play.

    This process (`A`) unshares and forks `B`, the PID 1 of the new namespace, which sets up
    the rest and runs the body. `A` waits for `B` and exits as it did; killing `A`'s process
    group kills `B`, and with it its namespace.
    """
    report = Report(shared.get("require"))
    _prctl(PR_SET_PDEATHSIG, 9)
    unshared = report.step("userns", lambda: unshare_namespaces(bool(shared.get("network"))) or True)
    _note_namespaces(report, shared, bool(unshared))
    alive_r, alive_w = os.pipe()
    status_r, status_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        os.close(status_r)
        _prctl(PR_SET_PDEATHSIG, 9)
        if _parent_gone(alive_r):
            os._exit(EXIT_SANDBOX)
        os.close(alive_r)
        _inner(shared, play_of, report, run, bool(unshared), status_w)
        os._exit(EXIT_SANDBOX)
    os.close(alive_r)
    os.close(status_w)
    _wait_and_mirror(pid, keep=[alive_w, status_r], status_fd=status_r)


def enter_as_init(shared, play_of, run, status_fd, ids, alive_fd):
    """`enter_and_wait` for the child of `clone_into_namespaces`: already `B`, PID 1 of its
    namespaces, whose parent (the fork server) reads the body's wait status from
    `status_fd`. `alive_fd` reads end-of-file once the parent is gone. Never returns."""
    report = Report(shared.get("require"))
    _prctl(PR_SET_PDEATHSIG, 9)
    if _parent_gone(alive_fd):
        os._exit(EXIT_SANDBOX)
    os.close(alive_fd)
    try:
        map_ids(ids)
    except OSError as exc:
        # The namespaces exist but this process has no id in them: nothing can run here.
        _fatal(f"the sandbox could not map its ids in its new user namespace: {exc}")
    report.active["userns"] = True
    _note_namespaces(report, shared, True)
    _inner(shared, play_of, report, run, True, status_fd)
    os._exit(EXIT_SANDBOX)


def _note_namespaces(report, shared, unshared):
    """What the namespaces hold, and the end of a process that lacks a required one."""
    for name in ("mountns", "pidns", "ipcns"):
        report.active[name] = unshared
    report.active["netns"] = unshared and not shared.get("network")
    if shared.get("network"):
        report.notes["netns"] = "the Play may use the network"
    for name in ("mountns", "pidns", "ipcns", "netns"):
        if not report.active[name] and name in report.require and not (
                name == "netns" and shared.get("network")):
            _fatal(f"the sandbox could not set up {name}, which this daemon requires")


def _parent_gone(fd):
    import select

    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _reap(pid):
    """Waits for `pid`; returns its raw wait status."""
    while True:
        try:
            done, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return None
        except InterruptedError:
            continue
        if pid == -1 or done == pid:
            return status


def _wait_and_mirror(pid, keep, status_fd):
    """A's life after the fork: hold nothing of the Play, wait, exit as the body did."""
    close_other_fds(keep)
    _reap(pid)
    reported = b""
    while True:
        chunk = os.read(status_fd, 64)
        if not chunk:
            break
        reported += chunk
    try:
        status = int(reported.decode())
    except ValueError:
        os._exit(EXIT_SANDBOX)
    _exit_as(status)


def _exit_as(status):
    if os.WIFSIGNALED(status):
        import signal

        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else EXIT_SANDBOX)


def _init(body_pid, status_fd):
    """B after the fork of the body: PID 1 of the namespace, reaping every orphan until the
    body ends; then it reports the body's status and exits, taking the namespace down."""
    close_other_fds([status_fd])
    _lock_down_init()
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            status = None
            break
        except InterruptedError:
            continue
        if done == body_pid:
            break
    if status is not None:
        os.write(status_fd, str(status).encode())
    os._exit(0)


def _inner(shared, play_of, report, run, unshared, status_fd):
    """B: PID 1 of the Play's namespace. The shared mounts, then the fork of the body (a
    plain process: signals it sends itself work as usual), which waits for the Play's
    config and sets up the rest itself: cgroup, work dir, limits, privileges, Landlock. B
    locks itself down tighter still and reaps."""
    hidden = None
    limit = int(shared.get("max_processes") or 0)
    if unshared:
        hidden = report.step("hide_data_dir", lambda: hide_paths(shared))
        report.step("proc", mount_proc)
        if limit:
            report.step("pid_max", lambda: set_pid_max(limit + 1))
    else:
        report.active.update(hide_data_dir=False, proc=False, pid_max=False)
    body = os.fork()
    if body != 0:
        _init(body, status_fd)
    os.close(status_fd)
    ahead = _ready_ahead(shared)
    config = play_of()
    channel = int(config.get("channel_fd", 3))
    os.set_inheritable(channel, True)
    cgroup_fds = [int(fd) for fd in config.get("cgroup_fds") or []]
    if ahead["cgroup"] is not None:
        for fd in cgroup_fds:
            os.close(fd)  # the Play's own cgroups stay empty: this one holds the Play
        report.step("cgroup", lambda: write_limits(ahead["cgroup"], config.get("cgroup_limits") or {}))
    elif cgroup_fds:
        report.step("cgroup", lambda: [join_cgroup(fd) for fd in cgroup_fds])
    else:
        report.active["cgroup"] = False
        report.notes["cgroup"] = "no cgroup given"
    if unshared and hidden is not None:
        report.step("hide_data_dir", lambda: bind_work_dir(config, hidden))
    else:
        os.chdir(config["work_dir"])
    report.step("rlimits", lambda: set_rlimits(config))
    if limit:
        report.step("nproc", lambda: set_nproc(limit))
    report.step("no_caps", lambda: drop_capabilities(bounded=ahead["bounded"]))
    report.step("no_new_privs", lambda: _prctl(PR_SET_NO_NEW_PRIVS, 1))
    landlocked = report.step("landlock_fs", lambda: apply_landlock(config, report, ahead["ruleset"]))
    if not landlocked:
        report.active.setdefault("landlock_net", False)
        report.active.setdefault("landlock_scope", False)
        for name in ("landlock_net", "landlock_scope"):
            if name in report.require and not (name == "landlock_net" and config.get("network")):
                _fatal(f"the sandbox could not set up {name}, which this daemon requires")
    report.step("close_fds", lambda: close_other_fds([0, 1, 2, channel]))
    env = config.get("env")
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    run(report)


def _ready_ahead(shared):
    """What the body can do before its Play is known (a process made ahead of time does it
    while it waits). A failure here is not reported: the step redoes it with the Play and
    reports that."""
    ahead = {"bounded": False, "ruleset": None, "cgroup": _join_ahead(shared.get("ahead_cgroup"))}
    try:
        drop_bounding()
        ahead["bounded"] = True
    except (OSError, SandboxError):
        pass
    try:
        ahead["ruleset"] = landlock_ruleset(shared)
    except (OSError, SandboxError, ValueError):
        pass
    return ahead


def _join_ahead(cgroup):
    """Joins the cgroups made for this process ahead of time; their limit files, or None
    when there are none or a join failed (the Play's own cgroups are joined then)."""
    if not cgroup:
        return None
    joined = True
    for fd in cgroup["procs"]:
        try:
            join_cgroup(fd)
        except OSError:
            joined = False
    if joined:
        return list(cgroup["limits"])
    for _, fd in cgroup["limits"]:
        os.close(fd)
    return None


def _lock_down_init():
    """B needs nothing but waitpid and its status pipe: no capability, no file, no network,
    no signal or abstract socket out of its Landlock domain. Best effort: B runs no Play code."""
    for action in (drop_capabilities, lambda: _prctl(PR_SET_NO_NEW_PRIVS, 1), _deny_everything):
        try:
            action()
        except (OSError, SandboxError, ValueError):
            pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _deny_everything():
    abi = landlock_abi()
    if abi < 1:
        return
    attr = _RulesetAttr(fs_rights(abi), 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = _check(_syscall("landlock_create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size),
                              ctypes.c_uint32(0)), "landlock_create_ruleset")
    try:
        _check(_syscall("landlock_restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(ruleset)


# -- probe ---------------------------------------------------------------------------------


def probe(config):
    """Runs the sandbox in a throwaway child and returns what held (for the daemon's start)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        config = dict(config, channel_fd=w, require=[])

        def report_back(report):
            report.active["ok"] = True
            os.write(w, json.dumps(report.as_json()).encode())
            os._exit(0)

        try:
            enter_and_run(config, report_back)
        finally:
            os._exit(EXIT_SANDBOX)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    try:
        return json.loads(data.decode() or "{}")
    except ValueError:
        return {"active": {}, "notes": {"probe": data.decode(errors="replace")}}
