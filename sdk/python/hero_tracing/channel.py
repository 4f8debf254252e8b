"""The runner's end of the Play's channel: newline-delimited JSON (docs/protocol.md).

The channel is one end of a socketpair the daemon made for this Play and handed down as an
inherited fd: no socket path to find, no secret to steal.

Requests carry an `id` and block for the response line; notifications carry none. A broken
connection is not something a logic can handle (the daemon is gone, or speaks nonsense), so
it ends the process through `on_broken` (exit code 70 in the runner) instead of raising an
exception a body could swallow.
"""

import _thread
import os
import socket

from .jsonwire import decode, to_line

# sysexits.h EX_SOFTWARE: the runner could not keep its side of the protocol.
EXIT_PROTOCOL = 70
_BUFFER = 1 << 16


class DaemonError(Exception):
    """The daemon answered a request with `ok: false`."""

    def __init__(self, op, kind, message, response=None):
        super().__init__(f"{op}: {kind}: {message}")
        self.op = op
        self.kind = kind
        self.message = message
        # The whole answer line, for fields an error may carry besides kind and message.
        self.response = response if isinstance(response, dict) else {}


class Channel:
    """A blocking connection to the daemon; thread-safe, one request in flight at a time."""

    def __init__(self, fd, on_broken):
        # on_broken(message) must not return; if it does, ConnectionError is raised.
        self._on_broken = on_broken
        self._lock = _thread.RLock()
        self._next_id = 0
        try:
            sock = socket.socket(fileno=fd)
            os.set_inheritable(fd, False)
        except OSError as exc:
            self._broken(f"fd {fd} is not the daemon's channel: {exc}")
        self._sock = sock
        self._reader = sock.makefile("rb", buffering=_BUFFER)
        self._writer = sock.makefile("wb", buffering=_BUFFER)
        # Returns the notifications that must precede the next line (or an empty list);
        # called under the lock, so nothing is sent between them and that line.
        self.pending = None

    def request(self, op, fatal=False, **fields):
        """Sends a request and returns the response (a dict with `ok: true`).

        An `ok: false` answer raises DaemonError, or ends the process when `fatal` (for
        messages a logic cannot recover from, like a refused `finish`).
        """
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            message = {"id": request_id, "op": op}
            message.update(fields)
            self._send(message)
            response = self._receive(op, request_id)
        if response.get("ok") is True:
            return response
        error = response.get("error")
        error = error if isinstance(error, dict) else {}
        failure = DaemonError(op, str(error.get("kind", "")), str(error.get("message", "")),
                              response)
        if fatal:
            self._broken(f"the daemon refused {op}: {failure.kind}: {failure.message}")
        raise failure

    def notify(self, op, **fields):
        """Sends a notification; the daemon applies it before any later request."""
        message = {"op": op}
        message.update(fields)
        with self._lock:
            self._send(message)

    def exit_holding(self, code, before=None):
        """Ends the process with `code` while holding the connection.

        Holding the lock keeps other threads from starting a line the exit would cut in half;
        `before()` runs under it (to send the last notifications). Nothing unwinds: no
        `finally`, no `atexit`, no buffered stdio of the body.
        """
        with self._lock:
            try:
                if before is not None:
                    before()
            finally:
                os._exit(code)

    def _send(self, message):
        op = message.get("op")
        before = self.pending() if self.pending is not None else ()
        try:
            lines = [to_line(m) for m in before]
            lines.append(to_line(message))
        except (TypeError, ValueError, RecursionError) as exc:
            self._broken(f"cannot encode the {op} message: {exc}")
        try:
            for line in lines:
                self._writer.write(line)
            self._writer.flush()
        except OSError as exc:
            self._broken(f"lost the daemon while sending {op}: {exc}")

    def _receive(self, op, request_id):
        try:
            line = self._reader.readline()
        except OSError as exc:
            self._broken(f"lost the daemon while waiting for the answer to {op}: {exc}")
        if not line:
            self._broken(f"the daemon closed the channel before answering {op}")
        try:
            response = decode(line.decode("utf-8"))
        except ValueError:
            self._broken(f"the daemon's answer to {op} is not JSON: {line[:200]!r}")
        if not isinstance(response, dict) or response.get("id") != request_id:
            self._broken(f"expected the answer to {op} (id {request_id}), got {line[:200]!r}")
        return response

    def _broken(self, message):
        self._on_broken(message)
        raise ConnectionError(message)
