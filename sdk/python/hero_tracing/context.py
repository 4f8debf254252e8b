"""Which Play's body is running right now, and which runtime (if any) is active.

Logs, prints, outputs and stats belong to the Play whose body runs, never to its parent, so
the runner pushes a frame for each Play body in a context variable. In the runner, threads a
body starts (`threading.Thread`, `ThreadPoolExecutor.submit`) carry the context they were
started from (`carry_into_threads`), so they act for the Play that started them.
"""

import contextvars
import sys
import threading

_current = contextvars.ContextVar("hero_tracing_play", default=None)
_state = {"runtime": None, "root": None}


class PlayFrame:
    """One Play whose body runs (or is about to) in this process."""

    __slots__ = ("play_sid", "name", "spec", "namespace", "home", "declared", "output", "partial",
                 "parent", "owner", "calls", "waiting", "handles", "abandoned", "memo")

    def __init__(self, play_sid, name, spec, namespace=None, home="", declared=(), parent=None):
        self.play_sid = play_sid
        self.name = name
        # The LogicSpec this body comes from (for a local call: the caller's, renamed).
        self.spec = spec
        # The globals of the module the body runs in; identifies "the caller's own source".
        self.namespace = namespace
        # The Logic that source belongs to: a call of its own @logic function is not local.
        self.home = home or spec.get("name", "")
        # Declared output names, for wrapping a non-dict return value.
        self.declared = list(declared)
        # What logic.output gave so far (already JSON round-tripped).
        self.output = {}
        # Unfinished stdout/stderr lines by (stream, thread), so lines are never split or mixed.
        self.partial = {}
        # The frame of the Play that called this one (None for the top-level Play).
        self.parent = parent
        # (thread, asyncio task) running the body itself: its calls are numbered in the order
        # it makes them; calls from anywhere else are keyed by content (docs/protocol.md).
        self.owner = None
        # Ordered calls made so far: the `seq` of the next one.
        self.calls = 0
        # True once this body asked a question that has no answer yet.
        self.waiting = False
        # Handles of children this body spawned; a body's end waits for them.
        self.handles = []
        # True once its caller stopped waiting for it (its timeout_s passed): the Play is
        # closed as timed_out and what the body still does is not recorded.
        self.abandoned = False
        # Steps an earlier run of this Play finished, by seq (the daemon's `memo`): an
        # ordered call that matches one takes its output without asking the daemon.
        self.memo = {}

    def __repr__(self):
        return f"PlayFrame({self.play_sid!r}, {self.name!r})"

    def claim(self):
        """The calling thread (and asyncio task) now runs this body."""
        self.owner = (threading.get_ident(), current_task())

    def order(self):
        """The ordering facts of a child call made now: `seq` or `unordered` (protocol)."""
        if self.owner == (threading.get_ident(), current_task()):
            seq = self.calls
            self.calls += 1
            return {"seq": seq}
        return {"unordered": True}

    def given_up(self):
        """Whether this frame or an ancestor was abandoned at a timeout."""
        return any(frame.abandoned for frame in self.chain())

    def chain(self):
        """This frame and its ancestors."""
        frame = self
        while frame is not None:
            yield frame
            frame = frame.parent


def current_task():
    """The running asyncio task of this thread, or None (asyncio is not imported for it)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def active_runtime():
    """The runner's runtime, or None when the code runs as a plain Python program."""
    return _state["runtime"]


def set_runtime(runtime, root):
    """Called once by the runner after `hello`: `root` is the top-level Play's frame."""
    _state["runtime"] = runtime
    _state["root"] = root


def current_frame():
    """The frame of the Play whose body runs now (the top-level Play outside any body)."""
    frame = _current.get()
    return frame if frame is not None else _state["root"]


def enter(frame):
    """Makes `frame` current; pass the returned token to `leave`."""
    return _current.set(frame)


def leave(token):
    _current.reset(token)


def carry_into_threads():
    """Threads and executor tasks run in a copy of the context they were started from.

    Python does not do this by itself: without it, a `logic.invoke` from a
    ThreadPoolExecutor would act for the top-level Play instead of the one that submitted it.
    Applied once by the runner; a plain Python program is left alone.
    """
    import concurrent.futures

    if getattr(threading.Thread.start, "_hero_carries_context", False):
        return
    start, submit = threading.Thread.start, concurrent.futures.ThreadPoolExecutor.submit

    def start_in_context(thread):
        context = contextvars.copy_context()
        run = thread.run
        thread.run = lambda: context.run(run)
        return start(thread)

    def submit_in_context(executor, fn, /, *args, **kwargs):
        return submit(executor, contextvars.copy_context().run, fn, *args, **kwargs)

    start_in_context._hero_carries_context = True
    threading.Thread.start = start_in_context
    concurrent.futures.ThreadPoolExecutor.submit = submit_in_context
