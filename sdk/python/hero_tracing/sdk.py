"""The `logic` object a logic's source imports: decorator, invoke, log, output, stats, pause.

Every method asks `context.active_runtime()`: inside the runner it talks to the daemon for the
current Play; in a plain `python file.py` there is no runtime and decorated functions are
ordinary functions, so a logic can be tried locally without a daemon.
"""

import functools
import inspect
import math
import sys
import time

from . import asking, retrying
from .context import active_runtime
from .errors import ChildFailed, Failed, PauseRefused, TimedOut
from .jsonwire import json_object
from .results import timestamp

# Module-level list the decorator appends to, in the decorated function's own globals, so the
# runner finds a source's logic functions in declaration order.
REGISTRY = "__hero_logic_functions__"


class LogicMeta:
    """What `@logic(...)` declared about one function."""

    __slots__ = ("name", "description", "inputs", "outputs", "entry", "function", "extra",
                 "policy")

    def __init__(self, function, name=None, description=None, inputs=None, outputs=None,
                 entry=None, **extra):
        self.function = function
        self.name = name or function.__name__
        self.description = description if description is not None else (function.__doc__ or "")
        self.inputs = inputs
        self.outputs = outputs
        # True marks this function as the entry; a string names another function as the entry.
        self.entry = entry
        # How calls of this function are retried and timed (retries=, backoff_s=,
        # backoff_factor=, retry_on=, timeout_s=); checked now, so a bad value fails at import.
        options = {k: extra.pop(k) for k in retrying.CALL_OPTIONS if k in extra}
        self.policy = retrying.policy_of(options, f"@logic {self.name!r}")
        # Options this SDK does not use (older sources may pass some); kept for inspection.
        self.extra = extra

    def __repr__(self):
        return f"<logic {self.name!r} ({self.function.__qualname__})>"


def logic_meta(obj):
    """The LogicMeta of a decorated function, or None."""
    return getattr(obj, "__hero_logic__", None)


def _decorate(function, options):
    """Wraps `function` so that, inside a runner, calling it makes a child Play."""
    if not callable(function):
        raise TypeError(f"@logic decorates a function, not {type(function).__name__}")
    meta = LogicMeta(function, **options)

    is_async = inspect.iscoroutinefunction(function)

    @functools.wraps(function)
    def logic_function(*args, **kwargs):
        runtime = active_runtime()
        if runtime is None:
            return function(*args, **kwargs)
        # An async logic's call returns an awaitable, yet its step is numbered here, when the
        # call is made, not when an event loop first runs it.
        call = runtime.call_async_function if is_async else runtime.call_function
        return call(meta, args, kwargs)

    logic_function.__hero_logic__ = meta
    namespace = getattr(function, "__globals__", None)
    if isinstance(namespace, dict):
        namespace.setdefault(REGISTRY, []).append(logic_function)
    return logic_function


def bind_arguments(function, args, kwargs, logic_name):
    """A call's arguments as one by-name dict: a child Play's inputs are named.

    Positional arguments take the names of the function's positional parameters.
    """
    if not args:
        return dict(kwargs)
    code = getattr(function, "__code__", None)
    if code is None:
        return dict(inspect.signature(function).bind(*args, **kwargs).arguments)
    names = code.co_varnames[: code.co_argcount]
    if len(args) > len(names):
        raise TypeError(
            f"logic {logic_name!r} takes {len(names)} positional arguments but {len(args)} "
            f"were given; pass a logic's inputs by name"
        )
    bound = dict(zip(names, args))
    twice = sorted(bound.keys() & kwargs.keys())
    if twice:
        raise TypeError(f"logic {logic_name!r} got multiple values for argument {twice[0]!r}")
    bound.update(kwargs)
    return bound


class Logic:
    """`logic`: the decorator and the calls a body makes to the daemon.

    `@logic(name=..., description=..., inputs=..., outputs=..., entry=...)`, `@logic("name")`
    and bare `@logic` all work. Inside the runner, calling a decorated function or
    `logic.invoke` returns the child Play's output dict.
    """

    Failed = Failed
    ChildFailed = ChildFailed
    PauseRefused = PauseRefused
    TimedOut = TimedOut

    def __call__(self, *args, **options):
        if len(args) == 1 and callable(args[0]) and not options:
            return _decorate(args[0], {})
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise TypeError("@logic takes the logic's name as its only positional argument")
        if args:
            if "name" in options:
                raise TypeError("@logic got the name twice (positional and name=)")
            options["name"] = args[0]
        return lambda function: _decorate(function, options)

    def __repr__(self):
        return "<hero_tracing.logic>"

    def invoke(self, name, /, **kwargs):
        """Runs the stored Logic `name` as a child Play of the current one; returns its output.

        Raises ChildFailed when the child fails or cannot start (unknown name, bad inputs).
        The call's own keywords, not passed to the child: `retries=N` (N more attempts after
        a failure, each its own child Play; `logic.Failed` is not retried unless `retry_on`
        names it), `backoff_s=`, `backoff_factor=` (the durable wait before attempt k+1 is
        backoff_s * backoff_factor**(k-1)), `retry_on=[...]` (exception classes or names;
        "TimedOut" for a timeout) and `timeout_s=` (each attempt; TimedOut past it). Without
        any of them, the policy on the callee's own `@logic(...)` applies.
        Works from any thread; from a thread of your own (a ThreadPoolExecutor) the child is
        keyed by its name and arguments rather than by call order (docs/protocol.md).
        """
        return _runtime_for(f"logic.invoke({name!r})").invoke(name, kwargs)

    def spawn(self, name, /, **kwargs):
        """Starts the stored Logic `name` as a child Play running beside this body.

        Returns a handle at once: `handle.result()` (or `await handle`) gives the child's
        output or raises its failure. The step is numbered now, in call order, so a replay
        matches whatever order the children finish in. A body ends after its spawned
        children have ended.
        """
        return _runtime_for(f"logic.spawn({name!r})").spawn(name, kwargs)

    def map(self, name, calls, /, max_concurrency=None):
        """Runs `name` once per dict of inputs in `calls`, concurrently; returns the outputs
        in the order of `calls`.

        At most `max_concurrency` children run at once (None: up to 64); all are numbered at
        the call, in call order. Every child runs to its end (or its question); then the first
        failure in call order is raised.
        """
        return _runtime_for(f"logic.map({name!r})").map(name, calls, max_concurrency)

    def ainvoke(self, name, /, **kwargs):
        """`await logic.ainvoke(name, ...)`: `logic.invoke` for async code.

        The child runs in a thread (an async child on the caller's event loop), so the loop
        keeps running other tasks meanwhile; the step is numbered when the call is made.
        """
        return _runtime_for(f"logic.ainvoke({name!r})").ainvoke(name, kwargs)

    def log(self, *args, sep=" "):
        """Appends the line `[YYYY-MM-DDTHH:MM:SS.mmmZ] text` to the current Play's logs."""
        line = f"[{timestamp()}] {sep.join(str(a) for a in args)}\n"
        runtime = active_runtime()
        if runtime is None:
            sys.stderr.write(line)
        else:
            runtime.log(line)

    def output(self, values=None, /, **more):
        """Adds fields to the current Play's output (the return value is merged over them).

        Raises TypeError (NotSerialisable) at once, naming the field, for a non-JSON value.
        """
        merged = {}
        if values is not None:
            if not isinstance(values, dict):
                raise TypeError(
                    f"logic.output takes a dict or keywords, not {type(values).__name__}")
            merged.update(values)
        merged.update(more)
        checked = json_object(merged, "output")
        runtime = active_runtime()
        if runtime is not None and checked:
            runtime.output(checked)

    def record_stats(self, prompt_tokens=0, completion_tokens=0, cost_usd=0.0):
        """Adds model usage to the current Play; ancestors see it rolled up on read."""
        counts = (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens))
        for name, value in counts:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if isinstance(cost_usd, bool) or not isinstance(cost_usd, (int, float)) \
                or not math.isfinite(cost_usd) or cost_usd < 0:
            raise ValueError(f"cost_usd must be a finite number >= 0, got {cost_usd!r}")
        runtime = active_runtime()
        if runtime is not None:
            runtime.stats(prompt_tokens, completion_tokens, float(cost_usd))

    def pause(self, name, *, ui=None, schema=None):
        """Waits for a person to answer the question `name`; returns the answer's payload.

        `ui` says how to draw the form: `{"kind": "text" | "number" | "choice" |
        "multi_choice" | "confirm", "prompt": ..., "options": [...], ...hints}` (`kind`
        defaults to "text", `prompt` to `name`, `options` to []); `schema` is the JSON schema
        the answer must fit ({} for anything). `ask_user.*` build both for you.

        Inside the runner: if the answer is stored already (a replay after `play_resume`) it
        is returned at once; otherwise the Play waits in `awaiting_resume` and this process
        ends here (exit 75, nothing unwinds), to be replayed up to this call once someone
        answers. The daemon names the question by the Logic, `name` and how many pauses the
        Play made before, so the same code asks the same questions in the same order.
        Raises PauseRefused when the daemon rejects the question.

        Outside a runner it asks on the terminal when stdin is one, else raises RuntimeError.
        """
        name, ui, schema = asking.pause_request(name, ui, schema)
        runtime = active_runtime()
        if runtime is None:
            return asking.ask_on_terminal(name, ui, schema)
        return runtime.pause(name, ui, schema)

    def sleep(self, seconds):
        """Waits `seconds` durably: the Play waits in `awaiting_resume` with no process held
        and the daemon resumes it (by replay) when the time has come, also after a restart.
        The wake-up time is fixed the first time the call is reached, so a replay does not
        sleep again. `play_resume` on its question (kind "timer") wakes it early; `play_cancel`
        ends it. Returns None. Outside a runner it is `time.sleep`.
        """
        seconds = _sleep_amount(seconds, "seconds")
        runtime = active_runtime()
        if runtime is None:
            time.sleep(seconds)
            return None
        ui = {"kind": "timer", "prompt": f"sleep {seconds:g} s", "options": [], "seconds": seconds}
        runtime.pause("sleep", ui, {})
        return None

    def sleep_until(self, ms):
        """`sleep` until `ms`, a time in milliseconds since the Unix epoch (a past time
        returns at once, after one round trip through the daemon)."""
        ms = _sleep_amount(ms, "ms")
        runtime = active_runtime()
        if runtime is None:
            time.sleep(max(0.0, ms / 1000 - time.time()))
            return None
        ui = {"kind": "timer", "prompt": f"sleep until {int(ms)}", "options": [], "wake_at": int(ms)}
        runtime.pause("sleep", ui, {})
        return None


def _sleep_amount(value, what):
    """A finite number >= 0, or a ValueError/TypeError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"logic.sleep: {what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"logic.sleep: {what} must be a finite number >= 0, got {value!r}")
    return value


def _runtime_for(what):
    runtime = active_runtime()
    if runtime is None:
        raise RuntimeError(
            f"{what} needs the hero_logic runner: start the logic with `hero_logic run` or "
            "play_start, or call its function directly when testing"
        )
    return runtime


logic = Logic()
flow = logic
ask_user = asking.AskUser(logic)
