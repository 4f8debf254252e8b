"""JSON-RPC 2.0 and JSON-over-HTTP clients for any service, traced (stdlib only).

    from hero_tracing.client import Client, RpcClient, http_json
    client = Client()                       # the hero_logic daemon: $HERO_LOGIC_SOCKET, else
    play = client.play_start("greeting", {"name": "Ada"})      # the data dir's socket
    play = client.play_wait(play["sid"], timeout_ms=30_000)

    mail = RpcClient("/run/hero_mail.sock")                     # any JSON-RPC service on a
    mail.call("mail.send", to="ada@example.org")                # Unix socket ...
    broker = RpcClient("http://127.0.0.1:8080/rpc")             # ... or an http(s) URL
    status, body = http_json("POST", "https://api.example.org/v1/things", {"name": "x"})

Services speak HTTP/1.1 (POST, one JSON-RPC request per exchange) on a Unix socket or over
TCP. Every JSON response that goes through these clients (and `hero_tracing.llm.chat`) is
auto-traced: when it carries `usage.prompt_tokens` / `usage.completion_tokens`, the tokens are
priced from the models table and added to the Play whose body made the call
(`hero_tracing.pricing`).
"""

import http.client
import itertools
import json
import os
import socket

from . import pricing

SERVICE = "LogicService."

# Error codes the daemon uses besides the JSON-RPC standard ones.
NOT_FOUND = -32004
CONFLICT = -32009
INVALID_STATE = -32010
VALIDATION = -32022

# How much longer than a play_wait's own timeout the HTTP exchange may take.
_WAIT_MARGIN_S = 30.0


class RpcError(Exception):
    """The service answered with a JSON-RPC error; `data` holds kind/field/hint when given."""

    def __init__(self, code, message, data=None):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @property
    def kind(self):
        """`not_found`, `validation`, ... from `data.kind`, or "" when absent."""
        return self.data.get("kind", "") if isinstance(self.data, dict) else ""


class HttpError(Exception):
    """An HTTP exchange answered with a status of 400 or more.

    `body` is the decoded JSON answer when it was JSON, else its text (at most 2,000
    characters); `message` the service's own error message when it gave one.
    """

    def __init__(self, status, message, body=None, url=""):
        super().__init__(f"HTTP {status} from {url or 'the service'}: {message}")
        self.status = status
        self.message = message
        self.body = body
        self.url = url


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


def _is_url(target):
    return target.startswith(("http://", "https://"))


def _error_message(document, raw):
    """The service's own words from an error answer (OpenAI, JSON-RPC and plain shapes)."""
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        for key in ("message", "detail"):
            if isinstance(document.get(key), str) and document[key]:
                return document[key]
    text = raw.decode("utf-8", "replace").strip()
    return text[:500] or "(empty answer)"


def exchange(method, target, body=None, *, headers=None, timeout=None, redact=()):
    """One HTTP exchange; returns `(status, raw bytes)` for a status below 400.

    `target` is an http(s) URL or the path of a Unix socket (the request goes to `/`).
    Raises HttpError for a status of 400 or more, TimeoutError when the answer takes longer
    than `timeout` seconds, ConnectionError when the service cannot be reached. Strings in
    `redact` (secrets) never appear in an error's text.
    """
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    headers.setdefault("Accept", "application/json")
    try:
        if _is_url(target):
            status, raw = _over_tcp(method, target, body, headers, timeout)
        else:
            status, raw = _over_unix(method, target, body, headers, timeout)
    except HttpError as exc:
        raise _scrubbed(exc, redact) from None
    except (TimeoutError, socket.timeout) as exc:  # socket.timeout: Python < 3.10
        raise TimeoutError(_scrub(f"{target} did not answer in time: {exc}", redact)) from None
    except OSError as exc:
        text = _scrub(f"cannot reach {target}: {exc}", redact)
        raise ConnectionError(text) from None
    return status, raw


def _over_tcp(method, url, body, headers, timeout):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read() or b""
        raise _http_error(exc.code, raw, url) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, OSError):
            raise exc.reason from None
        raise OSError(str(exc.reason)) from None


def _over_unix(method, socket_path, body, headers, timeout):
    path = "/"
    connection = UnixHTTPConnection(socket_path, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    if response.status >= 400:
        raise _http_error(response.status, raw, socket_path)
    return response.status, raw


def _http_error(status, raw, where):
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError:
        document = None
    body = document if document is not None else raw.decode("utf-8", "replace")[:2000]
    return HttpError(status, _error_message(document, raw), body, where)


def _scrub(text, redact):
    for secret in redact:
        if secret:
            text = text.replace(secret, "***")
    return text


def _scrubbed(exc, redact):
    if not any(redact):
        return exc
    body = exc.body
    if body is not None:
        body = json.loads(_scrub(json.dumps(body), redact)) if not isinstance(body, str) \
            else _scrub(body, redact)
    return HttpError(exc.status, _scrub(exc.message, redact), body, _scrub(exc.url, redact))


def decode_json(raw, where="the service"):
    """A response body as JSON, or ValueError saying who answered what."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{where} answered with non-JSON: {raw[:200]!r}") from None


def http_json(method, url, body=None, *, headers=None, timeout=None, model="", redact=()):
    """A JSON-over-HTTP exchange with any service; returns `(status, decoded JSON)`.

    `url` is an http(s) URL or a Unix socket path. The response is auto-traced (its `usage`,
    if any, priced by its `model` or by `model` given here). Raises HttpError (status >= 400),
    ConnectionError, ValueError (not JSON).
    """
    status, raw = exchange(method, url, body, headers=headers, timeout=timeout, redact=redact)
    document = decode_json(raw, url) if raw.strip() else None
    pricing.trace(document, model)
    return status, document


class RpcClient:
    """JSON-RPC 2.0 over HTTP to any service: a Unix socket path or an http(s) URL.

    One connection per call, so a client is safe to share between threads. `prefix` is put
    before method names that have no `.` (the daemon's `Client` uses `LogicService.`).
    """

    def __init__(self, target, *, timeout=None, headers=None, prefix=""):
        if not target:
            raise ValueError("RpcClient needs a Unix socket path or an http(s) URL")
        self.target = str(target)
        # Seconds per call (None: wait as long as it takes).
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.prefix = prefix
        self._ids = itertools.count(1)

    def __repr__(self):
        return f"{type(self).__name__}({self.target!r})"

    def call(self, method, _timeout=None, **params):
        """Calls `method` with by-name params; returns the result or raises RpcError."""
        if "." not in method and self.prefix:
            method = self.prefix + method
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                           "params": params}).encode("utf-8")
        answer = self._post(body, _timeout or self.timeout)
        if not isinstance(answer, dict):
            raise RpcError(0, f"{self._who()} answered with something else than a JSON-RPC "
                              f"response: {answer!r:.200}")
        pricing.trace(answer)
        if answer.get("error") is not None:
            error = answer["error"]
            if not isinstance(error, dict):
                raise RpcError(0, str(error))
            raise RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
        if "result" not in answer:
            raise RpcError(0, f"{self._who()}'s answer has no result: {answer!r:.200}")
        return answer["result"]

    def discover(self):
        """The service's OpenRPC document (`rpc.discover`)."""
        return self.call("rpc.discover")

    def _who(self):
        return f"the service at {self.target}"

    def _post(self, body, timeout):
        headers = dict(self.headers)
        headers["Content-Type"] = "application/json"
        try:
            _, raw = exchange("POST", self.target, body, headers=headers, timeout=timeout)
        except HttpError as exc:
            # JSON-RPC servers may answer errors with an HTTP error status and a JSON body.
            if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
                return exc.body
            raise RpcError(0, str(exc), exc.body) from None
        except ConnectionError as exc:
            raise self._unreachable(exc) from None
        try:
            return decode_json(raw, self._who())
        except ValueError as exc:
            raise RpcError(0, str(exc)) from None

    def _unreachable(self, exc):
        return ConnectionError(str(exc))


class Client(RpcClient):
    """The hero_logic daemon's client: `play_start("fib", {"n": 5})`, `call("logic_stats", ...)`.

    A bare service method name (`play_start`) gets its `LogicService.` prefix; CRUD names
    (`logic.get`) and `rpc.discover` are used as given.
    """

    def __init__(self, socket_path=None, timeout=None):
        super().__init__(socket_path or default_socket_path(), timeout=timeout, prefix=SERVICE)

    @property
    def socket_path(self):
        return self.target

    def _who(self):
        return "the daemon"

    def _unreachable(self, exc):
        return ConnectionError(
            f"cannot reach the hero_logic daemon at {self.target}: {exc} "
            "(is it running? start it with `hero_logic up`)"
        )

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

    def models_config(self):
        """The models table and the model endpoint settings (never the key)."""
        return self.call("models_config")
