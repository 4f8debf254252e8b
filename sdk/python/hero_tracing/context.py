"""Which Play's body is running right now, and which runtime (if any) is active.

Logs, prints, outputs and stats belong to the Play whose body runs, never to its parent, so
the runner pushes a frame for each Play body in a context variable. Threads a body starts do
not inherit context variables, so they fall back to the top-level Play.
"""

import contextvars

_current = contextvars.ContextVar("hero_tracing_play", default=None)
_state = {"runtime": None, "root": None}


class PlayFrame:
    """One Play whose body runs (or is about to) in this process."""

    __slots__ = ("play_sid", "name", "spec", "namespace", "home", "declared", "output", "partial")

    def __init__(self, play_sid, name, spec, namespace=None, home="", declared=()):
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
        # Unfinished stdout/stderr lines, per stream, so a Play's lines are never split or mixed.
        self.partial = {}

    def __repr__(self):
        return f"PlayFrame({self.play_sid!r}, {self.name!r})"


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
