"""A small JSON-RPC 2.0 client for the hero_logic daemon, for headless scripts (stdlib only).

    from hero_tracing.client import Client
    client = Client()                       # $HERO_LOGIC_SOCKET, else the data dir's socket
    play = client.play_start("greeting", {"name": "Ada"})
    play = client.play_wait(play["sid"], timeout_ms=30_000)
    print(play["status"], play["output_data"])

The daemon speaks HTTP/1.1 on a Unix socket (POST /, one JSON-RPC request per exchange).
"""

import http.client
import itertools
import json
import os
import socket

SERVICE = "LogicService."

# Error codes the daemon uses besides the JSON-RPC standard ones.
NOT_FOUND = -32004
CONFLICT = -32009
INVALID_STATE = -32010
VALIDATION = -32022

# How much longer than a play_wait's own timeout the HTTP exchange may take.
_WAIT_MARGIN_S = 30.0


class RpcError(Exception):
    """The daemon answered with a JSON-RPC error; `data` holds kind/field/hint when given."""

    def __init__(self, code, message, data=None):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @property
    def kind(self):
        """`not_found`, `validation`, ... from `data.kind`, or "" when absent."""
        return self.data.get("kind", "") if isinstance(self.data, dict) else ""


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket: the host name only fills the Host header."""

    def __init__(self, socket_path, timeout=None):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def default_socket_path():
    """`$HERO_LOGIC_SOCKET`, else `$HERO_LOGIC_HOME/hero_logic.sock`, else `~/.hero_logic/...`."""
    explicit = os.environ.get("HERO_LOGIC_SOCKET")
    if explicit:
        return explicit
    home = os.environ.get("HERO_LOGIC_HOME") or os.path.join("~", ".hero_logic")
    return os.path.join(os.path.expanduser(home), "hero_logic.sock")


class Client:
    """Calls the daemon; one HTTP connection per call, so a Client is safe to share."""

    def __init__(self, socket_path=None, timeout=None):
        self.socket_path = socket_path or default_socket_path()
        # Seconds per call (None: wait as long as it takes); play_wait extends it as needed.
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method, _timeout=None, **params):
        """Calls `method` with by-name params; returns the result or raises RpcError.

        A bare service method name (`play_start`) gets its `LogicService.` prefix; CRUD names
        (`logic.get`) and `rpc.discover` are used as given.
        """
        if "." not in method:
            method = SERVICE + method
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                           "params": params})
        answer = self._post(body.encode("utf-8"), _timeout or self.timeout)
        if answer.get("error") is not None:
            error = answer["error"]
            raise RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
        if "result" not in answer:
            raise RpcError(0, f"the daemon's answer has no result: {answer!r}")
        return answer["result"]

    def _post(self, body, timeout):
        connection = UnixHTTPConnection(self.socket_path, timeout=timeout)
        try:
            connection.request("POST", "/", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            raw = response.read()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ConnectionError(
                f"cannot reach the hero_logic daemon at {self.socket_path}: {exc} "
                "(is it running? start it with `hero_logic up`)"
            ) from exc
        finally:
            connection.close()
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise RpcError(0, f"the daemon answered HTTP {response.status} with non-JSON: "
                              f"{raw[:200]!r}") from None

    # -- convenience -----------------------------------------------------------------------

    def play_start(self, logic, inputs=None, **kw):
        """Starts a Play of `logic` (name or sid); `kw` may add version, example, limits."""
        return self.call("play_start", logic=logic, inputs=inputs or {}, **kw)

    def play_wait(self, play_sid, timeout_ms=30_000):
        """The Play once terminal or waiting for a person, or as it is after `timeout_ms`."""
        timeout = self.timeout
        if timeout is not None:
            timeout = max(timeout, timeout_ms / 1000 + _WAIT_MARGIN_S)
        return self.call("play_wait", _timeout=timeout, play_sid=play_sid, timeout_ms=timeout_ms)

    def play_status(self, play_sid):
        return self.call("play_status", play_sid=play_sid)

    def play_resume(self, play_sid, resume_id, payload):
        """Answers the pause `resume_id` of the Play (or one in its chain)."""
        return self.call("play_resume", play_sid=play_sid, resume_id=resume_id, payload=payload)

    def play_cancel(self, play_sid):
        return self.call("play_cancel", play_sid=play_sid)

    def play_tree(self, play_sid):
        """`{play, descendants}` in one call."""
        return self.call("play_tree", play_sid=play_sid)
