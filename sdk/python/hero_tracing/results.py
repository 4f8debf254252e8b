"""How a body's return value or exception becomes a Play's result (protocol, "Results").

Pure functions, so the rules can be tested without a daemon or a subprocess.
"""

import os
import time

# Imported up front, not when a failure needs it: a body may have emptied sys.meta_path.
import traceback

from .errors import Failed, NotSerialisable
from .jsonwire import json_object

# The key a non-dict return value is stored under when there is not exactly one declared output.
DEFAULT_OUTPUT = "result"

# Same spelling as the co_filename of this package's functions (both come from one import).
_PACKAGE_DIR = os.path.dirname(__file__)


def declared_names(fields):
    """Names of declared fields, whatever the spelling.

    Accepts a LogicSpec's `[{"name": ...}]`, a decorator's `{"name": spec}` or `["name", ...]`,
    or None; the order is the declaration order.
    """
    if not fields:
        return []
    if isinstance(fields, dict):
        return [str(name) for name in fields]
    names = []
    for field in fields:
        if isinstance(field, str):
            names.append(field)
        elif isinstance(field, dict) and isinstance(field.get("name"), str):
            names.append(field["name"])
    return names


def output_key(declared):
    """Where a non-dict return value goes: the single declared output, else `result`."""
    return declared[0] if len(declared) == 1 else DEFAULT_OUTPUT


def shape_output(result, accumulated, declared):
    """The Play's output_data from the return value and what `logic.output` accumulated.

    A dict is merged over the accumulated values; None keeps them; anything else is wrapped
    under `output_key(declared)`. Raises NotSerialisable naming the field that is not JSON.
    """
    if result is None:
        merged = dict(accumulated)
    elif isinstance(result, dict):
        merged = dict(accumulated)
        merged.update(result)
    else:
        merged = dict(accumulated)
        merged[output_key(declared)] = result
    return json_object(merged, "output")


def timestamp(now=None):
    """UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the prefix of `logic.log` lines."""
    millis = int((time.time() if now is None else now) * 1000)
    seconds, millis = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def describe_failure(exc, memory_mb=None):
    """`(error, traceback)` for an exception that ended a body.

    `Failed` and NotSerialisable speak for themselves (no traceback); `sys.exit` and a memory
    limit get a sentence a user understands; anything else is `Type: text` plus the traceback
    from the first frame of user code.
    """
    if isinstance(exc, Failed):
        return (str(exc) or "Failed"), ""
    if isinstance(exc, SystemExit):
        return f"the logic called sys.exit({_exit_argument(exc.code)})", format_traceback(exc)
    if isinstance(exc, MemoryError):
        return _memory_message(memory_mb), format_traceback(exc)
    return exception_text(exc), format_traceback(exc)


def exception_text(exc):
    """`Type: text`, or `Type` alone when the text is empty; never raises."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception:  # a hostile __str__ must not hide the failure
        text = "<exception text unavailable>"
    return f"{name}: {text}" if text else name


def _exit_argument(code):
    """`sys.exit()` reads better than `sys.exit(None)`."""
    return "" if code is None else repr(code)


def _memory_message(memory_mb):
    if memory_mb:
        return f"memory limit of {memory_mb} MiB reached"
    return "memory limit reached (MemoryError)"


def format_traceback(exc, trim=True):
    """The traceback text, by default without this package's frames; "" if it cannot be built.

    Users want to read their logic's lines, not the runner's and the SDK's between them (a
    failure two `logic.invoke` calls deep passes through the SDK twice). When every frame is
    the SDK's (a bug in it), they are all kept: some traceback beats none. Formatting may
    itself run out of memory right after a MemoryError, hence the guard.
    """
    try:
        described = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        if trim:
            _drop_sdk_frames(described, set())
        return "".join(described.format())
    except (MemoryError, RecursionError):
        return ""


def _drop_sdk_frames(described, seen):
    """Removes the SDK's frames from `described` and from the exceptions chained to it."""
    if described is None or id(described) in seen:
        return
    seen.add(id(described))
    kept = [frame for frame in described.stack if not _is_sdk_file(frame.filename)]
    if kept:
        described.stack = traceback.StackSummary.from_list(kept)
    _drop_sdk_frames(described.__cause__, seen)
    _drop_sdk_frames(described.__context__, seen)
    for nested in getattr(described, "exceptions", None) or []:
        _drop_sdk_frames(nested, seen)


def _is_sdk_file(filename):
    return os.path.dirname(filename) == _PACKAGE_DIR


__all__ = [
    "DEFAULT_OUTPUT",
    "NotSerialisable",
    "declared_names",
    "describe_failure",
    "exception_text",
    "format_traceback",
    "output_key",
    "shape_output",
    "timestamp",
]
