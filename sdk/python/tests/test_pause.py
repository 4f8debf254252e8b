"""Pause and replay, the runner's half, in a real subprocess against the scripted daemon."""

import unittest

from .fakedaemon import TOP_SID, Answers, FakeDaemon, make_spec

ASKER = make_spec("asker", """
    from hero_tracing import ask_user, logic

    @logic(name="asker", outputs={"plan": "string"})
    def asker():
        print("asking", end="")
        return ask_user.choice("Which plan?", ["basic", "pro", "enterprise"])
""", outputs=["plan"])


def run(source, inputs=None, **daemon):
    """Runs `source` as the top-level logic `main`: (transcript, daemon)."""
    fake = FakeDaemon([make_spec("main", source), ASKER], **daemon)
    return fake.run("main", inputs), fake


class Answered(unittest.TestCase):
    def test_answered_pauses_return_typed_payloads(self):
        t, fake = run("""
            from hero_tracing import ask_user, logic

            @logic
            def main():
                values = [ask_user.number("How many?", integer=True),
                          ask_user.number("Weight?"),
                          ask_user.confirm("Sure?"),
                          ask_user.choice("Plan?", ["a", "b"]),
                          ask_user.multi_choice("Extras?", ["x", "y", "z"], max=2),
                          ask_user.text("Name?"),
                          logic.pause("raw", ui={"kind": "confirm", "prompt": "Raw?"})]
                return {"values": values, "types": [type(v).__name__ for v in values]}
        """, answers={"number": Answers([3.0, 2.5]), "confirm": True, "choice": "b",
                      "multi_choice": ["z", "x"], "text": "Ada", "raw": {"any": [1]}})
        self.assertEqual(t.finish["status"], "success", t.finish)
        self.assertEqual(t.finish["output"]["values"],
                         [3, 2.5, True, "b", ["z", "x"], "Ada", {"any": [1]}])
        self.assertEqual(t.finish["output"]["types"],
                         ["int", "float", "bool", "str", "list", "str", "dict"])
        self.assertEqual(fake.resume_ids, [])
        first, *_, last = t.all("pause")
        self.assertEqual(first, {
            "id": 2, "op": "pause", "play_sid": TOP_SID, "name": "number",
            "ui": {"kind": "number", "prompt": "How many?", "options": [], "integer": True},
            "schema": {"type": "integer"}})
        self.assertEqual(last, {"id": 8, "op": "pause", "play_sid": TOP_SID, "name": "raw",
                                "ui": {"kind": "confirm", "prompt": "Raw?", "options": []},
                                "schema": {}})

    def test_a_pause_in_a_child_names_the_child_play(self):
        t, _ = run("""
            from hero_tracing import logic

            @logic
            def main():
                return logic.invoke("asker")
        """, answers={"choice": "pro"})
        self.assertEqual(t.one("pause")["play_sid"], "c1")
        self.assertEqual(t.one("invoke_end")["output"], {"plan": "pro"})
        self.assertEqual(t.logs("c1"), "asking\n")
        self.assertEqual(t.finish["output"], {"plan": "pro"})

    def test_a_refused_pause_raises_in_the_body(self):
        t, _ = run("""
            from hero_tracing import PauseRefused, ask_user, logic

            @logic
            def main():
                try:
                    ask_user.confirm("Sure?")
                except PauseRefused as exc:
                    return {"kind": exc.kind, "text": str(exc),
                            "same": logic.PauseRefused is PauseRefused}
        """, pause_errors={"confirm": ("validation", "ui.kind: unknown")})
        self.assertEqual(t.finish["output"], {
            "kind": "validation", "text": "pause 'confirm' refused (validation): ui.kind: unknown",
            "same": True})

    def test_bad_options_fail_the_play_without_a_pause(self):
        t, _ = run("""
            from hero_tracing import ask_user, logic

            @logic
            def main():
                ask_user.choice("Which?", {"a", "b"})
        """)
        self.assertEqual(t.all("pause"), [])
        self.assertTrue(t.finish["error"].startswith(
            "TypeError: ask_user.choice: options must be a non-empty list of strings"),
            t.finish)


class Suspended(unittest.TestCase):
    def test_unanswered_pause_flushes_logs_and_exits_75_without_unwinding(self):
        t, fake = run("""
            import atexit, os, sys
            from hero_tracing import ask_user, logic

            atexit.register(lambda: os.write(1, b"atexit ran\\n"))

            @logic
            def main():
                print("full line")
                print("top partial", end="")
                sys.stderr.write("err partial")
                logic.output(done=1)
                try:
                    logic.invoke("asker")
                except BaseException:
                    print("caught")
                finally:
                    print("unwound")
                    os.write(1, b"finally ran\\n")
                return {"never": True}
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertEqual(fake.resume_ids, ["asker:choice:0"])
        self.assertEqual(t.ops(), ["hello", "log", "output", "invoke_start", "pause",
                                   "log", "log", "log"])
        # Unfinished lines go per stream, stderr first, as when a body ends.
        self.assertEqual(t.logs(TOP_SID), "full line\nerr partial\ntop partial\n")
        self.assertEqual(t.logs("c1"), "asking\n")
        self.assertEqual(t.all("invoke_end"), [])
        self.assertEqual(t.all("finish"), [])
        self.assertEqual((t.stdout, t.stderr), ("", ""))

    def test_answers_so_far_replay_and_the_next_question_suspends(self):
        t, fake = run("""
            from hero_tracing import ask_user, logic

            @logic
            def main(n):
                scores = []
                for i in range(n):
                    scores.append(ask_user.number(f"Score for item {i}?", integer=True))
                    logic.invoke("asker")
                return {"scores": scores}
        """, {"n": 3}, answers={"number": Answers([4, 9]), "choice": "pro"})
        self.assertEqual(t.returncode, 75)
        self.assertEqual(fake.resume_ids, ["main:number:2"])
        prompts = [m["ui"]["prompt"] for m in t.all("pause") if m["name"] == "number"]
        self.assertEqual(prompts, ["Score for item 0?", "Score for item 1?", "Score for item 2?"])
        self.assertEqual(len(t.all("invoke_end")), 2)

    def test_a_pause_from_a_thread_suspends_the_whole_process(self):
        t, _ = run("""
            import threading
            from hero_tracing import ask_user, logic

            @logic
            def main():
                worker = threading.Thread(target=lambda: ask_user.confirm("From a thread?"))
                worker.start()
                worker.join()
                return {"never": True}
        """)
        self.assertEqual(t.returncode, 75)
        self.assertEqual(t.one("pause")["play_sid"], TOP_SID)
        self.assertEqual(t.all("finish"), [])


class ReplayRefusals(unittest.TestCase):
    def test_child_failed_and_nondeterminism_raise_child_failed_with_the_kind(self):
        t, _ = run("""
            from hero_tracing import ChildFailed, logic

            @logic
            def main():
                seen = []
                for name in ("asker", "other"):
                    try:
                        logic.invoke(name)
                    except ChildFailed as exc:
                        seen.append([exc.kind, exc.message, exc.play_sid, str(exc)])
                return {"seen": seen}
        """, errors={"asker": ("child_failed", "no plan chosen", "c7"),
                     "other": ("nondeterminism", "step 1 was 'asker' before, now 'other'")})
        self.assertEqual(t.finish["output"]["seen"], [
            ["child_failed", "no plan chosen", "c7", "child logic 'asker' failed: no plan chosen"],
            ["nondeterminism", "step 1 was 'asker' before, now 'other'", "",
             "child logic 'other' failed: step 1 was 'asker' before, now 'other'"]])
        self.assertEqual(t.all("invoke_end"), [])

    def test_uncaught_child_failed_on_replay_fails_the_caller_as_the_first_run_did(self):
        t, _ = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.invoke("asker")
        """, errors={"asker": ("child_failed", "no plan chosen")})
        self.assertEqual(t.finish["status"], "failed")
        self.assertEqual(t.finish["error"],
                         "ChildFailed: child logic 'asker' failed: no plan chosen")


if __name__ == "__main__":
    unittest.main()


class Sleep(unittest.TestCase):
    def test_a_sleep_is_a_timer_pause_and_returns_none_once_woken(self):
        t, fake = run("""
            from hero_tracing import logic

            @logic
            def main():
                return {"woke": [logic.sleep(90), logic.sleep_until(1700000000000)]}
        """, answers={"sleep": Answers([None, None])})
        self.assertEqual(t.finish["output"], {"woke": [None, None]}, t.finish)
        first, second = t.all("pause")
        self.assertEqual(first["name"], "sleep")
        self.assertEqual(first["ui"], {"kind": "timer", "prompt": "sleep 90 s", "options": [],
                                       "seconds": 90})
        self.assertEqual(second["ui"]["wake_at"], 1700000000000)

    def test_a_bad_amount_fails_at_the_call_and_sends_nothing(self):
        from hero_tracing import logic
        for bad, error in [(-1, ValueError), (float("nan"), ValueError), ("5", TypeError),
                           (True, TypeError)]:
            with self.assertRaises(error):
                logic.sleep(bad)
        with self.assertRaises(ValueError):
            logic.sleep_until(-5)

    def test_outside_a_runner_it_is_a_plain_sleep(self):
        import time
        from hero_tracing import logic
        started = time.monotonic()
        self.assertIsNone(logic.sleep(0.01))
        self.assertIsNone(logic.sleep_until(0))
        self.assertGreaterEqual(time.monotonic() - started, 0.01)
