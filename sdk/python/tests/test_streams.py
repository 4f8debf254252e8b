"""print/stderr/logs/outputs land in the Play whose body runs, never its parent."""

import os
import sys
import textwrap
import threading
import unittest
from unittest import mock

from hero_tracing import context
from hero_tracing.context import PlayFrame
from hero_tracing.runner import Runtime
from hero_tracing.streams import MAX_PARTIAL, PlayStream, flush_partials

SOURCE = textwrap.dedent("""
    import sys, threading
    from hero_tracing import logic

    @logic(name="child", outputs={"n": "integer"})
    def child(n):
        print("child line")
        logic.log("child log")
        logic.output(seen=n)
        logic.record_stats(prompt_tokens=3, completion_tokens=1, cost_usd=0.5)
        worker = threading.Thread(target=print, args=("from a thread",))
        worker.start()
        worker.join()
        print("child partial", end="")
        return n + 1

    @logic(name="main")
    def main():
        print("parent starts")
        result = child(n=1)
        print("resumed")
        print("to stderr", file=sys.stderr)
        return result
""")
SPEC = {"name": "main", "logic_sid": "l1", "version_sid": "v1", "entry": "main",
        "python_source": SOURCE, "inputs": [], "outputs": []}


class FakeChannel:
    """Records what a Runtime sends; answers invoke_start with a fresh child sid."""

    def __init__(self):
        self.sent = []

    def notify(self, op, **fields):
        self.sent.append(dict(op=op, **fields))

    def request(self, op, fatal=False, **fields):
        self.sent.append(dict(op=op, **fields))
        if op == "invoke_start":
            return {"ok": True, "play_sid": "c1", "step_key": "k", "cached": False, "logic": SPEC}
        return {"ok": True}


class RoutingThroughTheRuntime(unittest.TestCase):
    def setUp(self):
        self.channel = FakeChannel()
        self.runtime = Runtime(self.channel, memory_mb=64)
        self.addCleanup(context.set_runtime, None, None)
        streams = {"stdout": PlayStream("stdout", 1, self.runtime.send_log),
                   "stderr": PlayStream("stderr", 2, self.runtime.send_log)}
        for name, stream in streams.items():
            patcher = mock.patch.object(sys, name, stream)
            patcher.start()
            self.addCleanup(patcher.stop)
        self.runtime.run_top({"sid": "p0", "name": "main", "inputs": {}}, SPEC)

    def events(self):
        return [(m["op"], m.get("play_sid", m.get("parent")), m.get("text", m.get("values")))
                for m in self.channel.sent]

    def test_each_line_goes_to_the_play_that_wrote_it(self):
        logs = [(sid, text) for op, sid, text in self.events() if op == "log"]
        self.assertEqual(logs[:2], [("p0", "parent starts\n"), ("c1", "child line\n")])
        self.assertEqual(logs[2][0], "c1")
        self.assertTrue(logs[2][1].endswith("] child log\n"))
        self.assertEqual(logs[3:], [
            ("p0", "from a thread\n"),  # no carry_into_threads here: the top-level Play
            ("c1", "child partial\n"),
            ("p0", "resumed\n"),
            ("p0", "to stderr\n"),
        ])

    def test_child_lines_are_flushed_before_its_invoke_end(self):
        ops = [(op, sid) for op, sid, _ in self.events()]
        self.assertLess(ops.index(("log", "c1")), ops.index(("invoke_end", "c1")))
        partial = self.events().index(("log", "c1", "child partial\n"))
        self.assertEqual(ops[partial + 1], ("invoke_end", "c1"))

    def test_outputs_and_stats_belong_to_the_child(self):
        outputs = [m for m in self.channel.sent if m["op"] == "output"]
        self.assertEqual(outputs, [{"op": "output", "play_sid": "c1", "values": {"seen": 1}}])
        stats = [m for m in self.channel.sent if m["op"] == "stats"]
        self.assertEqual(stats, [{"op": "stats", "play_sid": "c1", "prompt_tokens": 3,
                                  "completion_tokens": 1, "cost_usd": 0.5}])
        end = next(m for m in self.channel.sent if m["op"] == "invoke_end")
        self.assertEqual(end["output"], {"seen": 1, "n": 2})
        finish = self.channel.sent[-1]
        self.assertEqual((finish["op"], finish["status"], finish["output"]),
                         ("finish", "success", {"seen": 1, "n": 2}))


class PlayStreamUnits(unittest.TestCase):
    def setUp(self):
        self.sent = []
        self.stream = PlayStream("stdout", 1, lambda sid, text: self.sent.append((sid, text)))
        self.frame = PlayFrame("p1", "x", {})
        token = context.enter(self.frame)
        self.addCleanup(context.leave, token)

    def test_complete_lines_are_sent_together_partial_kept(self):
        self.stream.write("a\nb\nc")
        self.assertEqual(self.sent, [("p1", "a\nb\n")])
        self.assertEqual(self.frame.partial, {("stdout", threading.get_ident()): "c"})
        flush_partials(self.frame, lambda sid, text: self.sent.append((sid, text)))
        self.assertEqual(self.sent[-1], ("p1", "c\n"))
        self.assertEqual(self.frame.partial, {})

    def test_nested_frames_keep_their_own_partial_lines(self):
        self.stream.write("parent ")
        inner = PlayFrame("p2", "y", {})
        token = context.enter(inner)
        self.stream.write("child\n")
        context.leave(token)
        self.stream.write("done\n")
        self.assertEqual(self.sent, [("p2", "child\n"), ("p1", "parent done\n")])

    def test_runaway_line_is_sent_in_pieces(self):
        self.stream.write("x" * MAX_PARTIAL)
        self.assertEqual(len(self.sent), 1)
        self.assertEqual(self.frame.partial[("stdout", threading.get_ident())], "")

    def test_close_is_ignored_and_bytes_are_decoded(self):
        self.stream.close()
        self.assertFalse(self.stream.closed)
        self.stream.buffer.write("\u00e9".encode()[:1])
        self.stream.buffer.write("\u00e9\n".encode()[1:])
        self.assertEqual(self.sent, [("p1", "\u00e9\n")])
        with self.assertRaises(TypeError):
            self.stream.write(b"bytes")

    def test_without_a_play_it_writes_to_the_real_descriptor(self):
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, read_end)
        self.addCleanup(os.close, write_end)
        stream = PlayStream("stdout", write_end, lambda sid, text: self.fail("sent"))
        result = {}
        # A fresh thread has no current frame, and no runtime root is set here.
        worker = threading.Thread(target=lambda: result.setdefault("n", stream.write("raw\n")))
        worker.start()
        worker.join()
        self.assertEqual((result["n"], os.read(read_end, 100)), (4, b"raw\n"))
        self.assertEqual(stream.fileno(), write_end)


if __name__ == "__main__":
    unittest.main()
