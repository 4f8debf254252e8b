"""sys.stdout / sys.stderr that land in the logs of the Play whose body runs.

Lines are buffered per Play, per stream and per thread and sent when complete, so one Play's
output is never split into or mixed with another's, and threads that print at once neither
lose text nor cut each other's lines. The real file descriptors 1 and 2 are left alone:
the interpreter's own last words (a crash) still reach the daemon through them.
"""

import _thread
import codecs
import io
import os

from .context import current_frame

# A line this long without a newline is sent anyway, so a runaway `print(end="")` loop cannot
# grow without bound.
MAX_PARTIAL = 64 * 1024


class PlayStream(io.TextIOBase):
    """A text stream whose lines become `log` notifications for the current Play."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name, fd, send):
        super().__init__()
        self.name = name
        self._fd = fd
        # send(play_sid, text): one or more complete lines, each ending in a newline.
        self._send = send
        # One write at a time: a frame's partial line is read, extended and stored back.
        self._lock = _thread.allocate_lock()
        self.buffer = _ByteSink(self)

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        """The real descriptor, for code (subprocess, faulthandler) that needs one."""
        return self._fd

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        frame = current_frame()
        if frame is None:
            os.write(self._fd, text.encode("utf-8", "replace"))
            return len(text)
        key = (self.name, _thread.get_ident())
        with self._lock:
            pending = frame.partial.get(key, "") + text
            if "\n" in pending:
                lines, _, pending = pending.rpartition("\n")
                self._send(frame.play_sid, lines + "\n")
            if len(pending) >= MAX_PARTIAL:
                self._send(frame.play_sid, pending + "\n")
                pending = ""
            frame.partial[key] = pending
        return len(text)

    def flush(self):
        """Nothing to do: a partial line waits for its newline, or for its Play to end."""

    def close(self):
        """Ignored: a body that closes sys.stdout must not cut off the rest of the Play's logs."""


class _ByteSink:
    """`sys.stdout.buffer`: bytes written there are decoded as UTF-8 and routed like text."""

    def __init__(self, stream):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self):
        return True

    def write(self, data):
        self._stream.write(self._decoder.decode(bytes(data)))
        return len(data)

    def flush(self):
        pass

    def fileno(self):
        return self._stream.fileno()


def flush_partials(frame, send):
    """Sends a Play's unfinished lines, newline added; called when its body ends."""
    for key in sorted(frame.partial):
        if frame.partial[key]:
            send(frame.play_sid, frame.partial[key] + "\n")
    frame.partial.clear()
