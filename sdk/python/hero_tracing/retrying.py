"""Retry policies and per-call timeouts of child calls.

A policy comes from `@logic(retries=..., backoff_s=..., backoff_factor=..., retry_on=...)`
(for calls of that function) or from the call itself (`logic.invoke(name, ..., retries=,
timeout_s=)`). Each attempt is a child Play of its own, numbered in call order like any call,
so a replay meets the same attempts at the same steps. The wait between attempts is a
durable sleep (a `timer` question): no process is held, and a daemon restart during it loses
nothing.

Whether a failure is retried is decided from what the daemon stores of it (its text and
status), never from the live exception object, so a replay takes the same decision as the
run it replays.
"""

import math
import re

from .errors import Failed

# Keywords a call takes for itself; everything else is the child's inputs.
CALL_OPTIONS = ("retries", "timeout_s", "backoff_s", "backoff_factor", "retry_on")
# `retry_on` names for a call that ran out of time and for `raise logic.Failed(...)`.
TIMED_OUT = "TimedOut"
FAILED = "Failed"

_TYPE_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")
_TRACEBACK = "Traceback (most recent call last)"


class Policy:
    """How one call is retried and how long each attempt may take."""

    __slots__ = ("retries", "backoff_s", "backoff_factor", "retry_on", "timeout_s")

    def __init__(self, retries=0, backoff_s=0.0, backoff_factor=1.0, retry_on=None, timeout_s=None):
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_factor = backoff_factor
        self.retry_on = retry_on
        self.timeout_s = timeout_s

    @property
    def plain(self):
        """No retries and no timeout: the call is an ordinary one (attempt 0)."""
        return self.retries == 0 and self.timeout_s is None

    def delay(self, attempt):
        """Seconds to wait after failed attempt `attempt` (1-based)."""
        return self.backoff_s * self.backoff_factor ** (attempt - 1)

    def retries_failure(self, failure_type):
        """Whether a failure of this type (see `failure_type`) is tried again.

        By default every failure is, except `logic.Failed`: a logic that says why it failed
        will say so again. `retry_on` lists the types that are retried (names or exception
        classes; `Exception` stands for every type but Failed).
        """
        if self.retry_on is None:
            return failure_type != FAILED
        if failure_type in self.retry_on:
            return True
        return "Exception" in self.retry_on and failure_type != FAILED

    def merged(self, options):
        """This policy with a call's own options over it."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(options)
        return policy_of(values, "call")


def policy_of(options, where):
    """A checked Policy from decorator or call options; ValueError/TypeError naming the bad one."""
    retries = options.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"{where}: retries must be a whole number >= 0, got {retries!r}")
    backoff_s = _number(options.get("backoff_s", 0.0), "backoff_s", where, minimum=0.0)
    factor = _number(options.get("backoff_factor", 1.0), "backoff_factor", where, minimum=1.0)
    timeout_s = options.get("timeout_s")
    if timeout_s is not None:
        timeout_s = _number(timeout_s, "timeout_s", where, minimum=0.0)
        if timeout_s == 0:
            raise ValueError(f"{where}: timeout_s must be > 0 (or None for no timeout)")
    return Policy(retries, backoff_s, factor, _names(options.get("retry_on"), where), timeout_s)


def split_call_options(kwargs):
    """`(inputs, options)`: a call's keywords less the ones the call takes for itself."""
    options = {k: kwargs.pop(k) for k in CALL_OPTIONS if k in kwargs}
    return kwargs, options


def failure_type(message, timed_out=False):
    """The type name of a stored failure: `TimedOut`, `Failed` (a failure with no traceback:
    `raise logic.Failed(...)`, a refused start), or the exception's class name (`ValueError`).
    """
    if timed_out:
        return TIMED_OUT
    text = str(message or "")
    if _TRACEBACK not in text:
        return FAILED
    match = _TYPE_LINE.match(text.splitlines()[0] if text else "")
    return match.group(1).rsplit(".", 1)[-1] if match else "Exception"


def _names(retry_on, where):
    if retry_on is None:
        return None
    if isinstance(retry_on, (str, type)):
        retry_on = [retry_on]
    names = []
    for item in retry_on:
        if isinstance(item, type) and issubclass(item, BaseException):
            names.append(FAILED if issubclass(item, Failed) else item.__name__)
        elif isinstance(item, str) and item:
            names.append(item)
        else:
            raise TypeError(f"{where}: retry_on takes exception classes or their names, "
                            f"not {item!r}")
    return tuple(names)


def _number(value, name, where, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < minimum:
        raise ValueError(f"{where}: {name} must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)
