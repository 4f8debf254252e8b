"""The runner's half of the protocol, driven in a real subprocess against a scripted peer."""

import unittest

from .fakedaemon import TOP_SID, FakeDaemon, make_spec

CHILD = make_spec("child", """
    from hero_tracing import logic

    print("child module loaded")

    @logic(name="child", outputs={"y": "integer"})
    def child(x):
        print("child got", x)
        if x < 0:
            raise logic.Failed(f"x is {x}: it must be 0 or more")
        return {"y": x + 1}
""", inputs=["x"], outputs=["y"], entry="child")


def run(source, inputs=None, name="main", outputs=(), others=(), **daemon):
    """Runs `source` as the top-level logic `name` and returns the transcript."""
    spec = make_spec(name, source, outputs=outputs)
    return FakeDaemon([spec, CHILD, *others], **daemon).run(name, inputs)


class HelloAndFinish(unittest.TestCase):
    def test_hello_then_success_with_inputs_as_kwargs(self):
        t = run("""
            import os
            from hero_tracing import logic

            @logic(name="main")
            def main(name, greeting="Hello"):
                return {"message": f"{greeting}, {name}!",
                        "secret_left": "HERO_LOGIC_CHANNEL_FD" in os.environ}
        """, {"name": "Ada", "unused": 1})
        hello = t.messages[0]
        self.assertEqual(hello["op"], "hello")
        self.assertEqual(hello["id"], 1)
        self.assertEqual(hello["secret"], "")
        self.assertIsInstance(hello["pid"], int)
        self.assertRegex(hello["python"], r"^3\.\d+\.\d+$")
        self.assertEqual(t.finish["status"], "success")
        self.assertEqual(t.finish["output"], {"message": "Hello, Ada!", "secret_left": False})
        self.assertEqual((t.finish["error"], t.finish["traceback"]), ("", ""))
        self.assertEqual(t.ops()[-1], "finish")
        self.assertEqual(t.returncode, 0, t.stderr)

    def test_non_dict_return_wraps_under_the_single_declared_output(self):
        t = run("""
            from hero_tracing import logic

            @logic(name="main", outputs={"total": "integer"})
            def main():
                return 42
        """, outputs=["total"])
        self.assertEqual(t.finish["output"], {"total": 42})

    def test_none_return_keeps_accumulated_outputs_and_dict_merges_over_them(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main(flag):
                logic.output(a=1, b=2)
                logic.output({"c": (3, 4)})
                return {"b": 20} if flag else None
        """, {"flag": True})
        self.assertEqual(t.all("output")[0], {"op": "output", "play_sid": TOP_SID,
                                              "values": {"a": 1, "b": 2}})
        self.assertEqual(t.finish["output"], {"a": 1, "b": 20, "c": [3, 4]})

    def test_stderr_and_partial_lines_land_in_the_plays_logs_in_order(self):
        t = run("""
            import sys
            from hero_tracing import logic

            @logic
            def main():
                print("one")
                print("two\\nthree", file=sys.stderr)
                logic.log("noted")
                sys.stdout.buffer.write("bytes \\u00e9\\n".encode())
                print("no newline", end="")
        """)
        texts = [m["text"] for m in t.all("log")]
        self.assertTrue(all(text.endswith("\n") for text in texts), texts)
        self.assertRegex(t.logs(TOP_SID),
                         r"^one\ntwo\nthree\n"
                         r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] noted\n"
                         "bytes \u00e9\nno newline\n$")
        self.assertLess(t.ops().index("log"), t.ops().index("finish"))


class ChildCalls(unittest.TestCase):
    def test_invoke_by_name_runs_the_child_in_process_with_its_own_logs(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                print("before")
                out = logic.invoke("child", x=2)
                print("after", out)
                return out
        """)
        start = t.one("invoke_start")
        self.assertEqual(start, {"id": 2, "op": "invoke_start", "parent": TOP_SID,
                                 "logic": "child", "args": {"x": 2}, "local": False, "seq": 0,
                                 "follow_policy": True})
        end = t.one("invoke_end")
        # Unanswered (no id): the daemon records it before it reads the runner's next line.
        self.assertEqual(end, {"op": "invoke_end", "play_sid": "c1", "status": "success",
                               "output": {"y": 3}, "error": "", "traceback": ""})
        self.assertEqual(t.logs("c1"), "child module loaded\nchild got 2\n")
        self.assertEqual(t.logs(TOP_SID), "before\nafter {'y': 3}\n")
        self.assertEqual(t.finish["output"], {"y": 3})

    def test_child_runs_with_the_validated_args_when_the_daemon_sends_them(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return logic.invoke("child")
        """, defaults={"child": {"x": 5, "extra": "dropped: child() does not take it"}})
        self.assertEqual(t.one("invoke_start")["args"], {})
        self.assertEqual(t.finish["output"], {"y": 6})

    def test_child_module_is_compiled_once_per_version(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return {"sum": sum(logic.invoke("child", x=i)["y"] for i in range(3))}
        """)
        self.assertEqual(t.finish["output"], {"sum": 6})
        loaded = [m for m in t.all("log") if m["text"] == "child module loaded\n"]
        self.assertEqual(len(loaded), 1)

    def test_local_decorated_function_is_a_local_child(self):
        t = run("""
            from hero_tracing import logic

            @logic(name="double", outputs={"doubled": "integer"})
            def double(x):
                print("doubling", x)
                return x * 2

            @logic(name="plain")
            def plain(x):
                return x

            @logic(name="main")
            def main():
                return {"d": double(4)["doubled"], "p": plain(x=5)["result"]}
        """)
        starts = t.all("invoke_start")
        self.assertEqual([(s["logic"], s["args"], s["local"]) for s in starts],
                         [("double", {"x": 4}, True), ("plain", {"x": 5}, True)])
        self.assertEqual(t.logs("c1"), "doubling 4\n")
        self.assertEqual(t.finish["output"], {"d": 8, "p": 5})

    def test_local_helper_calling_the_logic_itself_is_not_local(self):
        t = run("""
            from hero_tracing import logic

            @logic(name="helper")
            def helper(n):
                return main(n=n)

            @logic(name="main", outputs={"n": "integer"})
            def main(n):
                return n if n == 0 else helper(n - 1)["n"]
        """, {"n": 1}, outputs=["n"])
        starts = [(s["logic"], s["local"]) for s in t.all("invoke_start")]
        self.assertEqual(starts, [("helper", True), ("main", False)])
        self.assertEqual(t.finish["output"], {"n": 0})

    def test_calling_the_logic_itself_is_not_local(self):
        t = run("""
            from hero_tracing import logic

            @logic(name="main", outputs={"n": "integer"})
            def main(n):
                return n if n == 0 else main(n=n - 1)["n"]
        """, {"n": 2}, outputs=["n"])
        self.assertEqual([s["local"] for s in t.all("invoke_start")], [False, False])
        self.assertEqual(t.finish["output"], {"n": 0})

    def test_imported_logic_resolves_through_the_daemon_after_normal_finders(self):
        t = run("""
            import json
            from hero_tracing import logic
            from child import child

            @logic
            def main():
                try:
                    import no_such_logic_here
                except ImportError as exc:
                    missing = type(exc).__name__
                return {"y": child(7)["y"], "missing": missing, "repr": repr(child)}
        """)
        resolved = [m["logic"] for m in t.all("resolve")]
        self.assertEqual(resolved, ["child", "no_such_logic_here"])
        self.assertEqual(t.one("invoke_start")["args"], {"x": 7})
        self.assertFalse(t.one("invoke_start")["local"])
        self.assertEqual(t.finish["output"],
                         {"y": 8, "missing": "ModuleNotFoundError",
                          "repr": "<stored logic 'child'>"})

    def test_cached_step_returns_its_output_without_running(self):
        key = "child:0:" + __import__("hashlib").sha256(b'{"x":1}').hexdigest()[:16]
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return logic.invoke("child", x=1)
        """, cached={key: {"y": 100}})
        self.assertEqual(t.ops(), ["hello", "invoke_start", "finish"])
        self.assertEqual(t.finish["output"], {"y": 100})

    def test_child_failed_reports_without_traceback_and_raises_child_failed(self):
        t = run("""
            from hero_tracing import logic, ChildFailed

            @logic
            def main():
                try:
                    logic.invoke("child", x=-1)
                except ChildFailed as exc:
                    return {"caught": str(exc), "name": exc.logic_name, "sid": exc.play_sid}
        """)
        end = t.one("invoke_end")
        self.assertEqual((end["status"], end["error"], end["traceback"]),
                         ("failed", "x is -1: it must be 0 or more", ""))
        self.assertEqual(t.finish["output"], {
            "caught": "child logic 'child' failed: x is -1: it must be 0 or more",
            "name": "child", "sid": "c1"})

    def test_uncaught_child_failure_fails_the_caller(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.invoke("child", x=-5)
        """)
        self.assertEqual(t.finish["status"], "failed")
        self.assertEqual(t.finish["error"],
                         "ChildFailed: child logic 'child' failed: x is -5: it must be 0 or more")
        self.assertIn('logic.invoke("child", x=-5)', t.finish["traceback"])

    def test_start_refusals_raise_child_failed_with_the_kind(self):
        t = run("""
            from hero_tracing import logic, ChildFailed

            @logic
            def main():
                kinds = []
                for name in ("nope", "picky"):
                    try:
                        logic.invoke(name)
                    except ChildFailed as exc:
                        kinds.append([exc.kind, exc.message])
                return {"kinds": kinds}
        """, errors={"picky": ("validation", "x is required")})
        self.assertEqual(t.finish["output"]["kinds"],
                         [["not_found", "no logic named 'nope'"], ["validation", "x is required"]])
        self.assertEqual(t.all("invoke_end"), [])

    def test_non_json_argument_fails_in_the_caller_naming_it(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.invoke("child", x={1, 2})
        """)
        self.assertEqual(t.all("invoke_start"), [])
        self.assertTrue(t.finish["error"].startswith(
            "NotSerialisable: logic 'child' argument 'x' is not JSON-serialisable"), t.finish)


class Failures(unittest.TestCase):
    def test_failed_has_no_traceback(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.output(partial=1)
                raise logic.Failed("no way")
        """)
        self.assertEqual(t.finish, {"id": 2, "op": "finish", "status": "failed",
                                    "output": {"partial": 1}, "error": "no way", "traceback": ""})
        self.assertEqual(t.returncode, 0)

    def test_exception_has_type_text_and_a_traceback_from_user_code(self):
        t = run("""
            from hero_tracing import logic

            def helper():
                raise ValueError("boom")

            @logic
            def main():
                helper()
        """)
        self.assertEqual(t.finish["error"], "ValueError: boom")
        tb = t.finish["traceback"]
        self.assertTrue(tb.startswith("Traceback (most recent call last):\n"), tb)
        self.assertIn('File "main.py [version v-main]", line 9, in main', tb)
        self.assertIn('raise ValueError("boom")', tb)
        self.assertNotIn("runner.py", tb)

    def test_non_serialisable_output_names_the_field(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return {"ok": 1, "bad": object()}
        """)
        self.assertEqual(t.finish["status"], "failed")
        self.assertTrue(t.finish["error"].startswith(
            "output field 'bad' is not JSON-serialisable: Object of type object"), t.finish)
        self.assertEqual(t.finish["traceback"], "")

    def test_nan_output_names_the_field(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return {"x": float("nan")}
        """)
        self.assertTrue(t.finish["error"].startswith("output field 'x' is not JSON-serialisable"))

    def test_sys_exit_fails_the_play_instead_of_killing_it(self):
        t = run("""
            import sys
            from hero_tracing import logic

            @logic
            def main():
                sys.exit(3)
        """)
        self.assertEqual(t.finish["error"], "the logic called sys.exit(3)")
        self.assertIn("sys.exit(3)", t.finish["traceback"])
        self.assertEqual(t.returncode, 0)

    def test_keyboard_interrupt_and_base_exception_are_reported(self):
        t = run("""
            from hero_tracing import logic, ChildFailed

            class Odd(BaseException):
                pass

            @logic(name="odd")
            def odd():
                raise Odd("very odd")

            @logic
            def main():
                try:
                    odd()
                except ChildFailed as exc:
                    first = exc.message
                raise KeyboardInterrupt
        """)
        self.assertEqual(t.one("invoke_end")["error"], "Odd: very odd")
        self.assertEqual(t.finish["error"], "KeyboardInterrupt")
        self.assertIn("raise KeyboardInterrupt", t.finish["traceback"])

    def test_memory_error_names_the_limit(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                raise MemoryError()
        """, memory_mb="512")
        self.assertEqual(t.finish["error"], "memory limit of 512 MiB reached")

    def test_syntax_error_in_the_source_fails_the_play(self):
        t = run("def main(:\n    pass\n")
        self.assertEqual(t.finish["status"], "failed")
        self.assertTrue(t.finish["error"].startswith("SyntaxError: "), t.finish["error"])
        self.assertEqual(t.returncode, 0)

    def test_source_without_a_logic_function_says_how_to_fix_it(self):
        t = run("def main():\n    return 1\n")
        self.assertIn("has no @logic function", t.finish["error"])
        self.assertEqual(t.finish["traceback"], "")


class HostileBodies(unittest.TestCase):
    def test_replaced_and_closed_stdout_is_restored_for_the_rest_of_the_run(self):
        t = run("""
            import io, sys
            from hero_tracing import logic

            @logic(name="rude")
            def rude():
                sys.stdout.close()
                print("still routed")
                sys.stdout = io.StringIO()
                sys.stderr = None
                print("swallowed")

            @logic
            def main():
                rude()
                print("parent line")
        """)
        self.assertEqual(t.logs("c1"), "still routed\n")
        self.assertEqual(t.logs(TOP_SID), "parent line\n")
        self.assertEqual(t.finish["status"], "success")

    def test_emptied_meta_path_and_patched_json_still_report(self):
        t = run("""
            import json, sys
            from hero_tracing import logic

            @logic
            def main():
                json.dumps = json.JSONEncoder = None
                logic.output(kept=1)
                sys.meta_path.clear()
                raise ValueError("after clearing meta_path")
        """)
        self.assertEqual((t.returncode, t.finish["error"]),
                         (0, "ValueError: after clearing meta_path"))
        self.assertEqual(t.finish["output"], {"kept": 1})
        self.assertIn('raise ValueError("after clearing meta_path")', t.finish["traceback"])

    def test_lone_surrogates_do_not_break_the_wire(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                print("bad \\udc80 char")
                return {"s": "x\\udc80"}
        """)
        self.assertEqual(t.logs(TOP_SID), "bad ? char\n")
        self.assertEqual(t.finish["output"], {"s": "x?"})


class ProcessLevel(unittest.TestCase):
    def test_daemon_gone_exits_70_with_a_message(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.invoke("child", x=1)
        """, close_after="invoke_start")
        self.assertEqual(t.returncode, 70)
        self.assertIn("closed the channel before answering invoke_start", t.stderr)

    def test_missing_environment_exits_64(self):
        t = FakeDaemon([make_spec("main", "")]).run(
            "main", env={"HERO_LOGIC_CHANNEL_FD": None}, timeout=5)
        self.assertEqual(t.returncode, 64)
        self.assertIn("started by the hero_logic daemon", t.stderr)


if __name__ == "__main__":
    unittest.main()


class WarmUp(unittest.TestCase):
    """A process made ahead warms up in a subprocess of its own here (the fork server's
    children do it before their Play arrives)."""

    def test_warm_up_leaves_nothing_a_play_could_see(self):
        import json
        import os
        import subprocess
        import sys

        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        probe = f"""
import json, linecache, os, sys
sys.path.insert(0, {package!r})
from hero_tracing import runner, sdk
before = {{"fds": sorted(os.listdir("/proc/self/fd")), "env": dict(os.environ),
          "registry": sorted(sdk.REGISTRY), "lines": sorted(linecache.cache),
          "modules": sorted(sys.modules)}}
runner.warm_up()
after = {{"fds": sorted(os.listdir("/proc/self/fd")), "env": dict(os.environ),
         "registry": sorted(sdk.REGISTRY), "lines": sorted(linecache.cache),
         "modules": sorted(sys.modules)}}
print(json.dumps({{"before": before, "after": after}}))
"""
        out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True)
        self.assertTrue(out.stdout, out.stderr)
        seen = json.loads(out.stdout)
        self.assertEqual(seen["before"], seen["after"])


class Reserve(unittest.TestCase):
    def test_the_memory_reserve_holds_address_space_and_no_resident_memory(self):
        import json
        import os
        import subprocess
        import sys

        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        probe = f"""
import json, sys
sys.path.insert(0, {package!r})
from hero_tracing import runner
def statm():
    size, resident = open("/proc/self/statm").read().split()[:2]
    return int(size), int(resident)
before = statm()
kept = [runner._reserve_room() for _ in range(16)]
after = statm()
print(json.dumps({{"size": after[0] - before[0], "resident": after[1] - before[1],
                  "bytes": sum(len(r) for r in kept)}}))
"""
        out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True)
        self.assertTrue(out.stdout, out.stderr)
        seen = json.loads(out.stdout)
        page = os.sysconf("SC_PAGE_SIZE")
        self.assertEqual(seen["bytes"], 16 << 20)
        # 16 MiB of address space taken (what RLIMIT_AS counts), next to none of it resident.
        self.assertGreaterEqual(seen["size"] * page, 16 << 20, seen)
        self.assertLess(seen["resident"] * page, 1 << 20, seen)


class ChildEnds(unittest.TestCase):
    def test_a_bound_child_waits_for_its_mapped_result_and_others_are_not_answered(self):
        t = run("""
            from hero_tracing import logic

            @logic(name="main")
            def main():
                mapped = logic.invoke("child", x=1)
                plain = logic.invoke("plain", x=1)
                return {"mapped": mapped, "plain": plain}
        """, others=[make_spec("plain", """
            from hero_tracing import logic

            @logic(name="plain")
            def plain(x):
                return {"y": x}
        """, inputs=["x"], outputs=["y"], entry="plain")], bound={"child": {"z": 9}})
        ends = t.all("invoke_end")
        self.assertEqual([("id" in e, e["play_sid"]) for e in ends], [(True, "c1"), (False, "c2")])
        self.assertEqual(t.finish["output"], {"mapped": {"z": 9}, "plain": {"y": 1}})
