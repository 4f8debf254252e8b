"""The fork server: one Python process per daemon that forks one sandboxed child per Play.

The daemon starts it (`python3 -I -S -c <bootstrap>`, a scrubbed environment, its own
session, PR_SET_PDEATHSIG) with one end of a SOCK_SEQPACKET socketpair as fd 3. The SDK and
the standard modules logics commonly use are imported once here; the server holds no user
data and no secret. Messages are one JSON object per packet:

- daemon -> server: a spawn is three lines in one packet: `{"op": "spawn", "play": sid,
  "cgroup_ahead": bool}`, then the shared part of the Play's config (what every Play of the
  daemon shares: hide_dirs, hide_files, read_dirs, write_dirs, network, max_processes,
  require, work_root), then the Play's whole config, with the Play's fds attached
  (SCM_RIGHTS): its channel, stdout and stderr pipes, then its cgroup.procs files. The
  server reads the header and compares the shared part's bytes; the config goes on to the
  Play's process as it came, read there. `"cgroup_ahead": true` (and no cgroup files) asks
  for a process made ahead in cgroups of its own, and is refused with `"not_ready": true`
  when none is ready;
- server -> daemon: `{"op": "started", "play": sid, "pid": N}` (the Play's host pid) or
  `{"op": "failed", "play": sid, "error": "..."}`, and later
  `{"op": "exited", "pid": N, "status": S}` (the raw wait status of the Play's body).

Processes made ahead of time (`main(processes)`, the daemon's `[engine] warm_runners`) join
cgroups of their own while they wait, so the move into a cgroup (which waits for an RCU
grace period on cgroup v1) is off a Play's start. When Plays get cgroups, the server asks
for one per process (`{"op": "need_cgroup"}`); the daemon answers
`{"op": "cgroup", "id": name, "procs": K, "limits": [file, ...]}` with the K cgroup.procs
files then the named limit files attached, or `{"op": "no_cgroup"}`. A process handed its
Play writes the Play's `cgroup_limits` through those files before any of the Play's code
runs; `started` then names the cgroup (`"cgroup": name`), which the daemon removes with the
Play. A process that ends unused gives its cgroup back: `{"op": "release", "cgroup": name}`.

The child takes its fds at fixed numbers (stdin /dev/null, stdout, stderr, channel 3,
cgroup files 4...), its own session, the Play's environment, and enters the same sandbox a
cold start enters before the runner's main runs. It is cloned straight into its new
namespaces as their PID 1 (`Inits`: one fork fewer than `sandbox.enter_and_run`, whose
first process only unshares and waits), or, where the kernel refuses that clone, forked to
unshare them itself.
When the daemon closes its end, the server exits; children it leaves are killed by their
PR_SET_PDEATHSIG.
"""

import array
import fcntl
import json
import mmap
import os
import select
import signal
import socket
import sys
import time

from . import sandbox

PRELOAD = ("json", "re", "hashlib", "datetime", "urllib.request", "urllib.parse",
           "concurrent.futures", "asyncio", "base64", "collections", "dataclasses",
           "functools", "itertools", "math", "random", "string", "textwrap", "time", "typing",
           "uuid", "decimal", "fractions", "statistics", "enum", "copy", "inspect",
           "traceback", "subprocess", "tempfile", "threading", "http.client", "html",
           "csv", "io", "pathlib", "struct", "zlib", "logging", "argparse",
           "hero_tracing", "hero_tracing.runner", "hero_tracing.asking", "hero_tracing.llm",
           "hero_tracing.client", "hero_tracing.pricing")
CONTROL_FD = 3
_PACKET = 1 << 20


def preload():
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that does not import here is imported later
            pass
    freeze()


def freeze():
    """Moves what the server holds out of the collector's sight: a child's collections then
    never touch (and copy) the pages of the server's objects."""
    import gc

    gc.collect()
    gc.freeze()


# Processes kept ready when the daemon does not say: namespaces made, data dir hidden, /proc
# mounted, cgroups joined, waiting for a Play.
POOL_SIZE = 4
# How long a process made ahead waits for its Play before it warms up (`warm_up`).
WARM_UP_AFTER_S = 0.05
# How long the pool waits, after a spawn, before it makes the next process ahead while at
# least half of it is ready: a fork beside a Play's start competes with it for the CPU.
REFILL_AFTER_S = 0.02
# Where a process made ahead keeps its cgroup limit files: above every number `place` uses.
_AHEAD_FD_BASE = 200
_MAX_FDS = 16


class Inbox:
    """Packets from the daemon, read into one buffer made once (an untouched mapping): a
    fresh megabyte per packet cost the server an allocation and page faults per spawn."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = mmap.mmap(-1, _PACKET)
        self.ancillary = socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)

    def receive(self):
        """The next packet and the fds it carried; empty bytes when the daemon is gone."""
        n, ancdata, _, _ = self.sock.recvmsg_into([self.buffer], self.ancillary)
        fds = array.array("i")
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        return self.buffer[:n], list(fds)


class Inits:
    """The PID 1s the server clones straight into new namespaces (`sandbox.enter_as_init`):
    no process sits between them and the server, one fork fewer per Play. Each writes its
    body's wait status to a pipe only the server reads, reported as the Play's own."""

    def __init__(self):
        # Only the server holds the write end: a child reads end-of-file once it is gone.
        self.alive_r, self.alive_w = os.pipe()
        self.status_of = {}  # pid -> the read end of its status pipe

    def private(self):
        """Fds no child may keep: the alive pipe's write end and every Play's status pipe."""
        return (self.alive_w,) + tuple(self.status_of.values())

    def start(self, network, run):
        """Starts a Play's process, which calls `run(enter)` and never returns; its pid.
        Cloned as a PID 1, `enter(shared, play_of)` is its sandbox setup; where the kernel
        refuses the clone it is forked instead, with `enter` None (it unshares itself)."""
        status_r, status_w = os.pipe()
        try:
            pid, ids = sandbox.clone_into_namespaces(network)
        except sandbox.SandboxError:
            os.close(status_r)
            os.close(status_w)
            pid, enter = os.fork(), None
        else:
            alive = self.alive_r
            enter = lambda shared, play_of: sandbox.enter_as_init(  # noqa: E731
                shared, play_of, run_play, status_w, ids, alive)
            if pid == 0:
                os.close(status_r)
            else:
                os.close(status_w)
                os.set_blocking(status_r, False)
                self.status_of[pid] = status_r
        if pid == 0:
            try:
                run(enter)
            except BaseException as exc:  # noqa: B036 - the child must never return into the server
                die(exc)
            os._exit(sandbox.EXIT_SANDBOX)
        return pid

    def status(self, pid, status):
        """The wait status to report for `pid`: its body's when it is one of these PID 1s
        and said so before it exited (killed, it said nothing: its own status stands)."""
        fd = self.status_of.pop(pid, None)
        if fd is None:
            return status
        try:
            reported = os.read(fd, 64)
        except BlockingIOError:
            reported = b""
        finally:
            os.close(fd)
        try:
            return int(reported.decode())
        except ValueError:
            return status


class Pool:
    """Processes forked ahead of time into the shared part of the sandbox, each waiting on a
    socket of its own for one Play's config and fds. One Play each: a process is handed
    at most one, then leaves the pool; none outlives the server (PR_SET_PDEATHSIG)."""

    def __init__(self, size=POOL_SIZE):
        self.size = size
        self.shared = None  # the shared part the ready processes were made with
        self.shared_bytes = None  # ... as the daemon sent it
        self.known = {}  # shared parts seen, by their bytes: each is read once
        self.refill_at = 0.0
        self.ready = []  # (pid, socket)
        self.cgrouped = False  # Plays get cgroups: each ready process joins its own
        self.spare = []  # cgroups from the daemon not yet joined: (name, procs fds, limits)
        self.asked = 0  # need_cgroup requests the daemon has not answered
        self.no_cgroups = False  # the daemon could make none
        self.cgroup_of = {}  # pid -> name of the cgroup an unhanded ready process joined

    def wants(self):
        if self.shared is None or len(self.ready) >= self.size:
            return False
        return not self.cgrouped or self.no_cgroups or bool(self.spare)

    def wait_s(self, now):
        """How long the server may wait for the daemon before it makes a process ahead: at
        once when fewer than half are ready, after a quiet spell otherwise."""
        if not self.wants():
            return None
        if 2 * len(self.ready) < self.size:
            return 0
        return max(0.0, self.refill_at - now)

    def shared_of(self, shared_bytes):
        """The shared part of a spawn's config, read the first time these bytes come."""
        shared = self.known.get(shared_bytes)
        if shared is None:
            shared = json.loads(shared_bytes)
            if not isinstance(shared, dict):
                raise ValueError("the shared part of a config is not an object")
            if sandbox.needs_prepare(shared.get("read_dirs")):
                sandbox.prepare(shared.get("read_dirs"))
                freeze()
            if len(self.known) >= 8:
                self.known.clear()
            self.known[bytes(shared_bytes)] = shared
        return shared

    def ask(self, control):
        """Asks the daemon for the cgroups the processes still to be made will join."""
        if not self.cgrouped or self.no_cgroups or self.shared is None:
            return
        for _ in range(self.size - len(self.ready) - len(self.spare) - self.asked):
            self.asked += 1
            send(control, {"op": "need_cgroup"})

    def got_cgroup(self, message, fds):
        self.asked = max(0, self.asked - 1)
        try:
            procs = int(message["procs"])
            names = [str(n) for n in message["limits"]]
            name = str(message["id"])
        except (KeyError, TypeError, ValueError):
            procs, names, name = -1, [], ""
        if procs < 1 or len(fds) != procs + len(names):
            for fd in fds:
                os.close(fd)
            self.no_cgroups = True
            return
        self.spare.append((name, fds[:procs], list(zip(names, fds[procs:]))))

    def learn(self, shared_bytes, shared, cgrouped):
        """The shared part of the latest network-less Play: the pool serves its like."""
        if shared.get("network"):
            return
        self.cgrouped = cgrouped
        if shared_bytes != self.shared_bytes:
            self.drain()
            self.shared, self.shared_bytes = shared, bytes(shared_bytes)

    def drain(self):
        for pid, sock in self.ready:
            sock.close()  # it reads end-of-file and exits
        self.ready = []

    def others(self):
        """The server's ends of the ready processes' sockets and the spare cgroups' files,
        which no child may keep: each is another Play's."""
        spare = [fd for _, procs, limits in self.spare for fd in procs + [fd for _, fd in limits]]
        return tuple(sock.fileno() for _, sock in self.ready) + tuple(spare)

    def fill_one(self, control, private, inits):
        cgroup = self.spare.pop(0) if self.cgrouped and self.spare else None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        keep_out = private + inits.private() + self.others()

        def made(enter):
            ours.close()
            pooled(control, theirs, self.shared, keep_out, cgroup, enter)

        pid = inits.start(bool(self.shared.get("network")), made)
        theirs.close()
        if cgroup is not None:
            name, procs, limits = cgroup
            for fd in procs + [fd for _, fd in limits]:
                os.close(fd)
            self.cgroup_of[pid] = name
        self.ready.append((pid, ours))

    def hand(self, shared_bytes, config_bytes, fds, in_cgroup=False):
        """Gives a ready process this Play (its config as the daemon sent it); its host pid
        and the name of the cgroup it joined (None when it joined none), or None when none
        fits. `in_cgroup`: only a process that joined cgroups of its own fits."""
        self.refill_at = time.monotonic() + REFILL_AFTER_S
        if self.shared is None or shared_bytes != self.shared_bytes or self.shared.get("network"):
            return None
        while True:
            fitting = [entry for entry in self.ready if not in_cgroup or entry[0] in self.cgroup_of]
            if not fitting:
                return None
            pid, sock = fitting[0]
            self.ready.remove(fitting[0])
            try:
                socket.send_fds(sock, [config_bytes], fds)
            except OSError:
                continue  # it died waiting
            finally:
                sock.close()
            return pid, self.cgroup_of.pop(pid, None)

    def unused_cgroup(self, pid):
        """The cgroup of a ready process that ended without a Play, if it joined one."""
        return self.cgroup_of.pop(pid, None)

    def forget(self, pid):
        """A ready process that ended by itself: it is no longer ready."""
        for entry in list(self.ready):
            if entry[0] == pid:
                entry[1].close()
                self.ready.remove(entry)
                return True
        return False


def main(processes=POOL_SIZE):
    control = socket.socket(fileno=CONTROL_FD)
    os.set_blocking(CONTROL_FD, True)
    preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:
        serve(control, wake_r, wake_w, Pool(max(0, int(processes))))
    finally:
        os._exit(0)


def serve(control, wake_r, wake_w, pool):
    private = (wake_r, wake_w)
    inits = Inits()
    inbox = Inbox(control)
    while True:
        # Ready processes are made when nothing else waits: never in a spawn's way.
        timeout = pool.wait_s(time.monotonic())
        try:
            ready, _, _ = select.select([control, wake_r], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            if pool.wants():
                pool.fill_one(control, private, inits)
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        reap(control, pool, inits)
        if control in ready:
            try:
                message, fds = inbox.receive()
            except InterruptedError:
                continue
            if not message:
                return
            receive(control, message, fds, private, pool, inits)
            pool.ask(control)


def reap(control, pool, inits):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status = inits.status(pid, status)
        unused = pool.unused_cgroup(pid)
        if unused is not None:
            send(control, {"op": "release", "cgroup": unused})
        if pool.forget(pid):
            continue
        send(control, {"op": "exited", "pid": pid, "status": status})


def send(control, message):
    try:
        control.send(json.dumps(message).encode())
    except OSError:
        os._exit(0)  # the daemon is gone


def receive(control, message, fds, private, pool, inits):
    """One message from the daemon: a spawn, or the answer to a `need_cgroup`."""
    header, _, rest = message.partition(b"\n")
    try:
        request = json.loads(header)
    except ValueError:
        request = {}
    if not isinstance(request, dict):
        request = {}
    if request.get("op") == "cgroup":
        pool.got_cgroup(request, fds)
    elif request.get("op") == "no_cgroup":
        pool.asked, pool.no_cgroups = 0, True
    else:
        shared, _, config = rest.partition(b"\n")
        spawn(control, request, shared, config, fds, private, pool, inits)


def refuse(control, play, fds, error, **extra):
    for fd in fds:
        os.close(fd)
    send(control, dict({"op": "failed", "play": play, "error": error}, **extra))


def spawn(control, request, shared_bytes, config_bytes, fds, private, pool, inits):
    play = str(request.get("play") or "")
    if request.get("op") != "spawn" or not play:
        return refuse(control, play, fds, "bad spawn request: a spawn names its op and its Play")
    if len(fds) < 3:
        return refuse(control, play, fds, "a spawn needs channel, stdout and stderr fds")
    try:
        shared = pool.shared_of(shared_bytes)
    except ValueError as exc:
        return refuse(control, play, fds, f"bad spawn request: {exc}")
    in_cgroup = bool(request.get("cgroup_ahead"))
    pool.learn(shared_bytes, shared, in_cgroup or len(fds) > 3)
    handed = pool.hand(shared_bytes, config_bytes, fds, in_cgroup)
    cgroup = None
    if handed is None and in_cgroup:
        return refuse(control, play, fds, "no process made ahead in cgroups of its own is ready", not_ready=True)
    if handed is None:
        keep_out = private + inits.private() + pool.others()
        pid = inits.start(bool(shared.get("network")), lambda enter: child(control, config_bytes, fds, keep_out, enter))
    else:
        pid, cgroup = handed
    started = {"op": "started", "play": play, "pid": pid}
    if cgroup is not None:
        started["cgroup"] = cgroup
    send(control, started)  # first: the daemon's worker waits for it
    for fd in fds:
        os.close(fd)


def child(control, config_bytes, fds, private, enter):
    """The Play's process, forked for it: fixed fds, own session, the sandbox, the runner.
    Its config is read here, not in the server. `enter`: the sandbox setup of a PID 1
    cloned into its namespaces (`Inits.start`); None: fork and unshare (`enter_and_run`)."""
    try:
        leave_server(control, private)
        place(fds)
        config = json.loads(config_bytes)
        play_config(config, len(fds))
        if enter is None:
            sandbox.enter_and_run(config, run_play)
        else:
            enter(config, lambda: config)
    except BaseException as exc:  # noqa: B036 - the child must never return into the server
        die(exc)
    os._exit(sandbox.EXIT_SANDBOX)


def pooled(control, sock, shared, private, cgroup, enter):
    """A process made ahead of time: the shared part of the sandbox (its own cgroups joined,
    when given), then its one Play. `enter` as for `child`."""

    def play_of():
        # Only a process left waiting warms up: one handed its Play at once (starts back to
        # back) would spend that CPU beside the start before it.
        if not select.select([sock], [], [], WARM_UP_AFTER_S)[0]:
            warm_up()
        message, fds = Inbox(sock).receive()
        sock.close()
        if not message:
            os._exit(0)  # the server let it go unused
        place(fds)
        config = json.loads(message)
        play_config(config, len(fds))
        return config

    try:
        leave_server(control, private)
        if cgroup is not None:
            _, procs, limits = cgroup
            shared = dict(shared, ahead_cgroup={"procs": procs, "limits": keep_high(limits)})
        if enter is None:
            sandbox.enter_and_wait(shared, play_of, run_play)
        else:
            enter(shared, play_of)
    except BaseException as exc:  # noqa: B036 - the child must never return into the server
        die(exc)
    os._exit(sandbox.EXIT_SANDBOX)


def keep_high(limits):
    """Moves the limit files above the numbers the Play's fds are placed at."""
    high = []
    for name, fd in limits:
        high.append((name, fcntl.fcntl(fd, fcntl.F_DUPFD, _AHEAD_FD_BASE)))
        os.close(fd)
    return high


def leave_server(control, private):
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control.detach()
    for fd in private:
        os.close(fd)
    os.close(CONTROL_FD)
    os.setsid()


def play_config(config, nfds):
    """The Play's fds are at their fixed numbers: its config says so."""
    config["channel_fd"] = 3
    config["cgroup_fds"] = list(range(4, 4 + nfds - 3))
    config["env"] = config.get("env") or {}


def warm_up():
    """Best effort: a process that cannot warm up starts its Play cold."""
    try:
        from . import runner

        runner.warm_up()
    except Exception:  # noqa: BLE001 - the Play's own start reports what is really wrong
        pass


def run_play(report):
    from . import runner

    runner.main(channel_fd=3)


def die(exc):
    try:
        os.write(2, f"hero_tracing fork server child: {exc!r}\n".encode())
    finally:
        os._exit(sandbox.EXIT_SANDBOX)


def place(fds):
    """Moves [channel, stdout, stderr, cgroup...] to 3, 1, 2, 4...; stdin is /dev/null."""
    moved = [os.dup(fd) for fd in fds]
    for fd in fds:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    targets = [3, 1, 2] + list(range(4, 4 + len(moved) - 3))
    # dup first to numbers above every target, so that no move overwrites a later source.
    high = [os.dup2(fd, 100 + i) for i, fd in enumerate(moved)]
    for fd in moved:
        if fd not in high:
            os.close(fd)
    for fd, target in zip(high, targets):
        os.dup2(fd, target)
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
