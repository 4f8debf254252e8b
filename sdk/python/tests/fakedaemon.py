"""A scripted stand-in for the daemon's end of the runner protocol, for the runner tests.

It spawns the runner exactly as docs/protocol.md says the daemon does (`python -I -c
<bootstrap>` with the HERO_LOGIC_* environment and the channel fd), answers its requests from an in-memory table
of logics, and records every line the runner sends so tests can check the SDK's half.
Every line either way is checked against schemas/runner-protocol.json (the daemon's types).
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

from .protocolschema import check_daemon_line, check_runner_line

SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {SDK_DIR!r}); "
    "import hero_tracing.runner as runner; runner.main()"
)
# What hello carries as `secret`: nothing (the inherited channel fd is the authentication).
SECRET = ""
TOP_SID = "p0"


def make_spec(name, source, outputs=(), inputs=(), entry="", version_sid=None):
    """A LogicSpec as the daemon sends it; `source` is dedented for readable tests."""
    return {
        "name": name,
        "logic_sid": f"l-{name}",
        "version_sid": version_sid or f"v-{name}",
        "entry": entry,
        "python_source": textwrap.dedent(source),
        "inputs": [{"name": n, "field_type": "any"} for n in inputs],
        "outputs": [{"name": n, "field_type": "any"} for n in outputs],
    }


def make_step_key(logic, n, args):
    """The step key as the daemon makes it (test_transcripts checks this against the
    daemon's recorded answers)."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"))
    return f"{logic}:{n}:{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def make_resume_id(logic, name, n):
    """A question's id as the daemon makes it: the Logic, the pause's name, and how many
    pauses that Play made before in this run."""
    return f"{logic}:{name}:{n}"


class Transcript:
    """What one run produced: the runner's messages in order, its exit code and real output."""

    def __init__(self, messages, returncode, stdout, stderr):
        self.messages = messages
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def ops(self):
        return [m.get("op") for m in self.messages]

    def all(self, op):
        return [m for m in self.messages if m.get("op") == op]

    def one(self, op):
        found = self.all(op)
        if len(found) != 1:
            raise AssertionError(f"expected one {op}, got {len(found)}: {self.ops()}")
        return found[0]

    @property
    def finish(self):
        return self.one("finish")

    def logs(self, play_sid):
        """The Play's logs as the daemon stores them: the texts appended in order."""
        return "".join(m["text"] for m in self.all("log") if m["play_sid"] == play_sid)


class FakeDaemon:
    """Serves one runner process for one top-level Play."""

    def __init__(self, logics, cached=None, errors=None, memory_mb="256", close_after=None,
                 defaults=None, answers=None, pause_errors=None, source_once=False, models=None,
                 bound=None):
        self.logics = {spec["name"]: spec for spec in logics}
        # logic name -> the result its output mappings make: invoke_start says `bound: true`
        # and the invoke_end request is answered with it.
        self.bound = dict(bound or {})
        self._bound_sids = {}
        # step_key -> output: steps "already finished" by an earlier run.
        self.cached = dict(cached or {})
        # logic name -> (kind, message) or (kind, message, play_sid): invoke_start refusals.
        self.errors = dict(errors or {})
        # pause name -> the stored answer, or Answers([...]) for that name's 1st, 2nd, ...
        # pause; a pause with no answer (left) is recorded and answered `answered: false`.
        self.answers = {k: Answers(v) if isinstance(v, Answers) else v
                        for k, v in (answers or {}).items()}
        # pause name -> (kind, message): pause refusals.
        self.pause_errors = dict(pause_errors or {})
        # resume_ids handed out with `answered: false`, in order.
        self.resume_ids = []
        self._pauses = {}
        self.memory_mb = memory_mb
        # Drop the connection instead of answering this op (a daemon that went away).
        self.close_after = close_after
        # logic name -> inputs the daemon fills in; when given, invoke_start answers with the
        # validated `args`, as the protocol allows.
        self.defaults = dict(defaults or {})
        # As the daemon does: a version's source goes with the first spec of it only.
        self.source_once = source_once
        self._sent_versions = set()
        # model_call request -> the reply's fields (the daemon's model calls); None: refused.
        self.models = models
        self._specs = {}
        self._calls = {}
        self._next_sid = 0

    def run(self, logic, inputs=None, timeout=30, env=None):
        with tempfile.TemporaryDirectory() as tmp:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", BOOTSTRAP],
                cwd=tmp,
                env=self._environment(theirs.fileno(), env),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(),),
            )
            theirs.close()
            try:
                messages = self._serve(ours, process, logic, inputs or {}, timeout)
                stdout, stderr = process.communicate(timeout=timeout)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
                ours.close()
        return Transcript(messages, process.returncode, stdout.decode(), stderr.decode())

    def _environment(self, fd, extra):
        env = {"PATH": os.environ.get("PATH", ""),
               "HERO_LOGIC_CHANNEL_FD": str(fd),
               "HERO_LOGIC_PLAY_SID": TOP_SID,
               "HERO_LOGIC_MEMORY_MB": self.memory_mb}
        env.update(extra or {})
        return {k: v for k, v in env.items() if v is not None}

    def _serve(self, connection, process, logic, inputs, timeout):
        messages = []
        connection.settimeout(timeout)
        with connection, connection.makefile("rb") as reader:
            for line in reader:
                message = json.loads(line)
                check_runner_line(message)
                messages.append(message)
                self._received(message)
                if "id" not in message:
                    continue
                if message["op"] == self.close_after:
                    break
                reply = self._answer(message, logic, inputs)
                reply.setdefault("ok", True)
                reply["id"] = message["id"]
                reply["op"] = message["op"]
                check_daemon_line(reply)
                connection.sendall((json.dumps(reply) + "\n").encode())
                if message["op"] == "finish":
                    break
        return messages

    def _received(self, message):
        """Sees every line the runner sends, in order (a transcript checks them)."""

    def _answer(self, message, logic, inputs):
        op = message["op"]
        if op == "hello":
            assert message["secret"] == SECRET, "the channel fd is the authentication"
            self._specs[TOP_SID] = self.logics[logic]
            return {"play": {"sid": TOP_SID, "name": logic, "inputs": inputs},
                    "logic": self.logics[logic]}
        if op == "resolve":
            if message["logic"] not in self.logics:
                return _error("not_found", f"no logic named {message['logic']!r}")
            return {"logic": self.logics[message["logic"]]}
        if op == "invoke_start":
            return self._invoke_start(message)
        if op == "pause":
            return self._pause(message)
        if op == "invoke_end" and message["play_sid"] in self._bound_sids:
            return {"status": "success", "output": self._bound_sids[message["play_sid"]], "error": ""}
        if op == "model_call":
            if self.models is None:
                return _error("not_configured", "no model endpoint is configured: set `base_url` "
                                                "under [models] in service.toml")
            return self.models(message)
        return {}

    def _pause(self, message):
        name, play = message["name"], message["play_sid"]
        if name in self.pause_errors:
            return _error(*self.pause_errors[name])
        n = self._pauses.get(play, 0)
        self._pauses[play] = n + 1
        resume_id = make_resume_id(self._specs[play]["name"], name, n)
        answer = self.answers.get(name, _NO_ANSWER)
        if isinstance(answer, Answers):
            answer = answer.pop(0) if answer else _NO_ANSWER
        if answer is _NO_ANSWER:
            self.resume_ids.append(resume_id)
            return {"answered": False, "resume_id": resume_id}
        return {"answered": True, "payload": answer}

    def _invoke_start(self, message):
        name, parent = message["logic"], message["parent"]
        if name in self.errors:
            return _error(*self.errors[name])
        if not message["local"] and name not in self.logics:
            return _error("not_found", f"no logic named {name!r}")
        if message.get("unordered"):
            # As the daemon does: the occurrence of this name and these arguments.
            digest = make_step_key(name, 0, message["args"]).rsplit(":", 1)[1]
            k = self._calls.get((parent, name, digest), 0)
            self._calls[(parent, name, digest)] = k + 1
            key = f"{name}:~{k}:{digest}"
        else:
            n = message.get("seq", self._calls.get(parent, 0))
            self._calls[parent] = max(self._calls.get(parent, 0), n + 1)
            key = make_step_key(name, n, message["args"])
        self._next_sid += 1
        sid = f"c{self._next_sid}"
        if key in self.cached:
            return {"play_sid": "", "step_key": key, "cached": True, "output": self.cached[key]}
        # As the daemon does: a local callee runs under the caller's spec, renamed.
        spec = dict(self._specs[parent], name=name) if message["local"] else self.logics[name]
        self._specs[sid] = spec
        if self.source_once:
            if spec["version_sid"] in self._sent_versions:
                spec = dict(spec, python_source="")
            self._sent_versions.add(spec["version_sid"])
        reply = {"play_sid": sid, "step_key": key, "cached": False, "logic": spec}
        if name in self.bound:
            reply["bound"] = True
            self._bound_sids[sid] = self.bound[name]
        if name in self.defaults:
            reply["args"] = dict(self.defaults[name], **message["args"])
        return reply


class Answers(list):
    """Answers for one pause name, consumed in order (a list payload is just `[...]`)."""


_NO_ANSWER = object()


def _error(kind, message, play_sid=None, **more):
    error = {"kind": kind, "message": message}
    if play_sid is not None:
        error["play_sid"] = play_sid
    error.update(more)
    return {"ok": False, "error": error}
