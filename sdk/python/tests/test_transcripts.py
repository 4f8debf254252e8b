"""The replay transcripts of crates/hero_logic/src/engine/testdata/replay, from the runner's
side: the real runner, driven by a fake daemon that answers with the transcript's daemon
lines, must send exactly the transcript's runner lines. The daemon's side of the same files
is checked by the crate's replay tests, so the two halves are held to one record.
"""

import glob
import json
import os
import unittest

from .fakedaemon import (SDK_DIR, SECRET, TOP_SID, FakeDaemon, make_resume_id, make_spec,
                         make_step_key)
from .protocolschema import SchemaError, check_daemon_line, check_runner_line

TRANSCRIPTS = os.path.join(SDK_DIR, "..", "..", "crates", "hero_logic", "src", "engine",
                           "testdata", "replay")


def load(path):
    """(logics by name, top-level logic, its inputs, runs); a run is a dict with its lines."""
    logics, start, runs = {}, None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if "logic" in entry:
                logics[entry["logic"]["name"]] = entry["logic"]["source"]
            elif "start" in entry:
                start = entry["start"]
            elif "run" in entry:
                runs.append(dict(entry, lines=[]))
            elif "runner" in entry or "daemon" in entry:
                runs[-1]["lines"].append(entry)
    return logics, start, runs


class Names:
    """Placeholders of a transcript, as the fake daemon fills them: `$root` is the fake's
    top-level sid, `$c1` is `c1`, `$spec:x` the LogicSpec of x; `$pid`/`$python` bind to
    what the runner sends."""

    def __init__(self, logics):
        self.logics = logics
        self.bound = {"$root": TOP_SID, "$secret": SECRET}

    def spec(self, name):
        return make_spec(name, self.logics[name])

    def fill(self, value):
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if not isinstance(value, str):
            return value
        if value.startswith("$spec:"):
            return self.spec(value[len("$spec:"):])
        if value.startswith("$prefix:"):
            value = value[len("$prefix:"):]
        if value in self.bound:
            return self.bound[value]
        if _is_name(value):
            self.bound[value] = value[1:]
            return value[1:]
        for name in sorted(self.bound, key=len, reverse=True):
            if isinstance(self.bound[name], str):
                value = value.replace(name, self.bound[name])
        return value

    def match(self, expected, actual, at="$"):
        if expected == "$any":
            return
        if isinstance(expected, str) and _is_name(expected) and expected not in self.bound:
            self.bound[expected] = actual
            return
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or set(expected) != set(actual):
                raise AssertionError(f"at {at}: expected {expected}, the runner sent {actual}")
            for key in expected:
                self.match(expected[key], actual[key], f"{at}.{key}")
            return
        if isinstance(expected, list):
            if not isinstance(actual, list) or len(expected) != len(actual):
                raise AssertionError(f"at {at}: expected {expected}, the runner sent {actual}")
            for i, (e, a) in enumerate(zip(expected, actual)):
                self.match(e, a, f"{at}[{i}]")
            return
        wanted = self.fill(expected)
        if wanted != actual or type(wanted) is not type(actual):
            raise AssertionError(f"at {at}: expected {wanted!r}, the runner sent {actual!r}")


def _is_name(text):
    return (len(text) > 1 and text[0] == "$"
            and all(c.isalnum() or c == "_" for c in text[1:]))


class TranscriptDaemon(FakeDaemon):
    """Answers each request with the transcript's next daemon line, after checking that the
    runner sent the transcript's next runner line."""

    def __init__(self, names, lines):
        super().__init__([names.spec(n) for n in names.logics])
        self.names = names
        self.lines = list(lines)

    def _received(self, message):
        if not self.lines or "runner" not in self.lines[0]:
            raise AssertionError(f"the runner sent {message}, the transcript expects "
                                 f"{self.lines[:1]}")
        self.names.match(self.lines.pop(0)["runner"], message)

    def _answer(self, message, logic, inputs):
        if not self.lines or "daemon" not in self.lines[0]:
            raise AssertionError(f"no daemon line for {message}")
        return self.names.fill(self.lines.pop(0)["daemon"])


def transcript_files():
    return sorted(glob.glob(os.path.join(TRANSCRIPTS, "*.jsonl")))


class TranscriptTest(unittest.TestCase):
    def test_the_transcripts_are_there(self):
        self.assertGreaterEqual(len(transcript_files()), 5, TRANSCRIPTS)

    def test_the_runner_sends_what_each_transcript_records(self):
        for path in transcript_files():
            logics, start, runs = load(path)
            for number, run in enumerate(runs, 1):
                if run.get("scripted"):
                    continue
                with self.subTest(transcript=os.path.basename(path), run=number):
                    names = Names(logics)
                    fake = TranscriptDaemon(names, run["lines"])
                    t = fake.run(start["logic"], start["inputs"], env=run.get("runner_env"))
                    self.assertEqual(fake.lines, [], f"not sent: {fake.lines[:1]}\n{t.stderr}")
                    waits = run["lines"][-1].get("daemon", {}).get("answered") is False
                    self.assertEqual(t.returncode, 75 if waits else 0, t.stderr)

    def test_every_transcript_line_fits_the_schema(self):
        for path in transcript_files():
            logics, _, runs = load(path)
            for run in runs:
                names = Names(logics)
                for entry in run["lines"]:
                    if "daemon" in entry:
                        check_daemon_line(names.fill(entry["daemon"]))
                        continue
                    line = names.fill(dict(entry["runner"], pid=1, python="3.11.2")
                                      if entry["runner"].get("op") == "hello" else entry["runner"])
                    if entry.get("malformed"):
                        with self.assertRaises(SchemaError, msg=json.dumps(line)):
                            check_runner_line(line)
                    else:
                        check_runner_line(line)

    def test_the_fake_daemon_makes_keys_and_ids_as_the_daemon_does(self):
        seen = 0
        for path in transcript_files():
            # A key hashes the args as recorded (defaults applied), which a replayed call
            # may have left out: those of the earlier run's call at the same place.
            recorded = {}
            for run in load(path)[2]:
                calls, requests = {}, {}
                for entry in run["lines"]:
                    if "runner" in entry and "id" in entry["runner"] and not entry.get("malformed"):
                        requests[entry["runner"]["id"]] = entry["runner"]
                    answer = entry.get("daemon", {})
                    request = requests.pop(answer.get("id"), {}) if answer else {}
                    if request.get("op") == "invoke_start":
                        n = request.get("seq", calls.setdefault(request["parent"], 0))
                        calls[request["parent"]] = n + 1
                        place = (request["parent"], n)
                        if isinstance(answer.get("args"), dict):
                            recorded[place] = answer["args"]
                        if "step_key" in answer:
                            args = recorded.get(place, request["args"])
                            self.assertEqual(answer["step_key"],
                                             make_step_key(request["logic"], n, args))
                            seen += 1
                    if request.get("op") == "pause" and "resume_id" in answer:
                        asker = self._asker_logic(run["lines"], request["play_sid"])
                        self.assertEqual(answer["resume_id"],
                                         make_resume_id(asker, request["name"], 0))
                        seen += 1
        self.assertGreater(seen, 5)

    @staticmethod
    def _asker_logic(lines, play_sid):
        """The Logic a transcript's Play runs: the top-level one, or the callee it started."""
        for entry in lines:
            answer = entry.get("daemon", {})
            if answer.get("op") == "hello" and play_sid == "$root":
                return answer["play"]["name"]
            if answer.get("play_sid") == play_sid and "logic" in answer:
                return answer["logic"][len("$spec:"):]
        raise AssertionError(f"no Play {play_sid} in the transcript")


class SchemaCheckerTest(unittest.TestCase):
    def test_a_good_line_passes_and_a_bad_one_names_the_field(self):
        check_runner_line({"op": "log", "play_sid": "p0", "text": "hi\n"})
        with self.assertRaises(SchemaError) as caught:
            check_runner_line({"op": "log", "play_sid": "p0", "txt": "hi\n"})
        self.assertIn("txt", str(caught.exception))
        with self.assertRaises(SchemaError):
            check_runner_line({"id": 1, "op": "finish", "status": "ok", "output": {},
                               "error": "", "traceback": ""})
        with self.assertRaises(SchemaError):
            check_runner_line({"id": True, "op": "resolve", "logic": "x"})

    def test_replies_need_their_op_and_ok(self):
        check_daemon_line({"id": 1, "op": "finish", "ok": True})
        check_daemon_line({"id": 1, "op": "resolve", "ok": False,
                           "error": {"kind": "not_found", "message": "no logic"}})
        with self.assertRaises(SchemaError):
            check_daemon_line({"id": 1, "ok": True})
        with self.assertRaises(SchemaError):
            check_daemon_line({"id": 1, "op": "resolve", "ok": False,
                               "error": {"kind": "oops", "message": "?"}})


if __name__ == "__main__":
    unittest.main()
