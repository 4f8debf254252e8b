"""Exceptions a logic's body raises or catches.

They live in their own module so that the SDK, the runner and user code all share one class
object: `except hero_tracing.ChildFailed` must catch what the runner raises.
"""


class Failed(Exception):
    """Fails the current Play with this message and no traceback.

    `raise logic.Failed("n must be positive")` is how a logic reports a failure the caller can
    understand on its own; a traceback would only point at the `raise` line.
    """

    def __init__(self, message=""):
        super().__init__(message)
        self.message = str(message)

    def __str__(self):
        return self.message


class ChildFailed(Exception):
    """A child Play (a `logic.invoke` or a call of another `@logic` function) failed.

    Raised in the caller so it can decide: catch it to carry on, or let it go and fail too.
    `kind` is `"failed"` when the child ran and failed, or the daemon's error kind when it
    refused to start it: `not_found`, `validation`, `child_failed` (on a replay: the step
    failed in an earlier run, `message` is its stored error, so the body takes the same path
    again) or `nondeterminism` (the replay diverged from the earlier run; the daemon fails the
    Play whatever the body does).
    """

    def __init__(self, logic_name, message, play_sid="", kind="failed"):
        super().__init__(logic_name, message)
        self.logic_name = logic_name
        self.message = message
        self.play_sid = play_sid
        self.kind = kind

    def __str__(self):
        return f"child logic {self.logic_name!r} failed: {self.message}"


class TimedOut(ChildFailed):
    """A child call ran past its `timeout_s`: its Play is `timed_out` and the caller goes on.

    A ChildFailed (kind `timed_out`), so `except logic.ChildFailed` catches it too.
    """

    def __init__(self, logic_name, message, play_sid=""):
        super().__init__(logic_name, message, play_sid=play_sid, kind="timed_out")


class Abandoned(BaseException):
    """Raised inside a child body whose caller stopped waiting for it (its timeout passed):
    at its next call to the SDK, or injected into its thread. A BaseException so that
    `except Exception` in the body does not keep it running.
    """


class PauseRefused(Exception):
    """The daemon refused a `logic.pause` / `ask_user.*` question (e.g. kind `validation` for
    a `ui` it cannot draw); raised in the body that asked.
    """

    def __init__(self, name, kind, message):
        super().__init__(name, kind, message)
        self.name = name
        self.kind = kind
        self.message = message

    def __str__(self):
        return f"pause {self.name!r} refused ({self.kind}): {self.message}"


class NotSerialisable(TypeError):
    """A value that must cross to the daemon is not JSON; the message names the field.

    A TypeError, because that is what a wrong-typed argument is in Python; its own class so
    the runner can report it without a traceback into its own code.
    """


class Suspended(BaseException):
    """Raised by an unanswered question inside a coroutine: it goes up to the nearest async
    Play body, which then waits without blocking its event loop while the process ends.

    A BaseException so that `except Exception` in a body lets it through; a body must not
    swallow it (its Play would carry on as if answered).
    """
