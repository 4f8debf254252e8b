"""The fork server: one Python process per daemon that forks one sandboxed child per Play.

The daemon starts it (`python3 -I -S -c <bootstrap>`, a scrubbed environment, its own
session, PR_SET_PDEATHSIG) with one end of a SOCK_SEQPACKET socketpair as fd 3. The SDK and
the standard modules logics commonly use are imported once here; the server holds no user
data and no secret. Messages are one JSON object per packet:

- daemon -> server: `{"op": "spawn", "play": sid, "config": {...}}` with the Play's fds
  attached (SCM_RIGHTS): its channel, stdout and stderr pipes, then its cgroup.procs files;
- server -> daemon: `{"op": "started", "play": sid, "pid": N}` (the Play's host pid) or
  `{"op": "failed", "play": sid, "error": "..."}`, and later
  `{"op": "exited", "pid": N, "status": S}` (the raw wait status).

The child takes its fds at fixed numbers (stdin /dev/null, stdout, stderr, channel 3,
cgroup files 4...), its own session, the Play's environment, and enters the same sandbox a
cold start enters (`hero_tracing.sandbox.enter_and_run`) before the runner's main runs.
When the daemon closes its end, the server exits; children it leaves are killed by their
PR_SET_PDEATHSIG.
"""

import json
import os
import select
import signal
import socket
import sys

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


def main():
    control = socket.socket(fileno=CONTROL_FD)
    os.set_blocking(CONTROL_FD, True)
    preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:
        serve(control, wake_r, wake_w)
    finally:
        os._exit(0)


def serve(control, wake_r, wake_w):
    while True:
        try:
            ready, _, _ = select.select([control, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        reap(control)
        if control in ready:
            try:
                message, fds, _, _ = socket.recv_fds(control, _PACKET, 16)
            except InterruptedError:
                continue
            if not message:
                return
            spawn(control, message, fds, (wake_r, wake_w))


def reap(control):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        send(control, {"op": "exited", "pid": pid, "status": status})


def send(control, message):
    try:
        control.send(json.dumps(message).encode())
    except OSError:
        os._exit(0)  # the daemon is gone


def spawn(control, message, fds, private):
    try:
        request = json.loads(message.decode())
        play = str(request["play"])
        config = dict(request["config"])
    except (ValueError, KeyError, TypeError) as exc:
        for fd in fds:
            os.close(fd)
        send(control, {"op": "failed", "play": "", "error": f"bad spawn request: {exc}"})
        return
    if len(fds) < 3:
        for fd in fds:
            os.close(fd)
        send(control, {"op": "failed", "play": play, "error": "a spawn needs channel, stdout and stderr fds"})
        return
    pid = os.fork()
    if pid == 0:
        child(control, config, fds, private)
    for fd in fds:
        os.close(fd)
    send(control, {"op": "started", "play": play, "pid": pid})


def child(control, config, fds, private):
    """The Play's process: fixed fds, own session, then the sandbox and the runner."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.detach()
        for fd in private:
            os.close(fd)
        os.close(CONTROL_FD)
        os.setsid()
        place(fds)
        env = config.pop("env", None) or {}
        os.environ.clear()
        os.environ.update(env)
        config["channel_fd"] = sandbox_channel = 3
        config["cgroup_fds"] = list(range(4, 4 + len(fds) - 3))
        from . import runner

        sandbox.enter_and_run(config, lambda report: runner.main(channel_fd=sandbox_channel))
    except BaseException as exc:  # noqa: B036 - the child must never return into the server
        try:
            os.write(2, f"hero_tracing fork server child: {exc!r}\n".encode())
        finally:
            os._exit(sandbox.EXIT_SANDBOX)
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
