"""Fan-out inside one runner: spawn, map, ainvoke, threads and questions in one branch.

Driven in a real subprocess against the scripted daemon. Concurrency is proven with barriers
(children that can only pass one if they run at the same time), never with timings.
"""

import unittest

from .fakedaemon import TOP_SID, FakeDaemon, make_spec

# Children of one map share their module (compiled once per version), so a module-level
# barrier only opens when `parties` of them run at once.
MEETS = make_spec("meets", """
    import threading, time
    from hero_tracing import ask_user, logic

    BARRIER = threading.Barrier(3, timeout=10)
    LOCK = threading.Lock()
    NOW, PEAK = [0], [0]

    @logic(name="meets", outputs={"i": "integer"})
    def meets(i, wait=True, fail=False, ask=False, nap=0.0):
        print(f"meets {i}")
        with LOCK:
            NOW[0] += 1
            PEAK[0] = max(PEAK[0], NOW[0])
        try:
            if ask:
                ask_user.confirm(f"go on with {i}?")
            if wait:
                BARRIER.wait()
            time.sleep(nap)
            if fail:
                raise logic.Failed(f"branch {i} failed")
            return {"i": i, "peak": PEAK[0], "threads": threading.active_count()}
        finally:
            with LOCK:
                NOW[0] -= 1
""", inputs=["i", "wait", "fail", "ask", "nap"], outputs=["i"], entry="meets")

ASYNC_LEAF = make_spec("async_leaf", """
    import asyncio
    from hero_tracing import logic

    @logic(name="async_leaf")
    async def async_leaf(x):
        await asyncio.sleep(0.05)
        return {"x": x, "loop": id(asyncio.get_running_loop())}
""", inputs=["x"], entry="async_leaf")

# A module that takes a while to load: concurrent children of it wait for the first.
SLOW_MODULE = make_spec("slow_module", """
    import time
    from hero_tracing import logic

    time.sleep(0.3)

    @logic(name="slow_module")
    def slow_module(i):
        return {"i": i}
""", inputs=["i"], entry="slow_module")

ASYNC_ASKS = make_spec("async_asks", """
    import asyncio
    from hero_tracing import ask_user, logic

    @logic(name="async_asks")
    async def async_asks(x):
        await asyncio.sleep(0.01 if x == 1 else 0.2)
        if x == 1:
            ask_user.confirm("go on?")
        return {"x": x}
""", inputs=["x"], entry="async_asks")

ASYNC_MID = make_spec("async_mid", """
    import asyncio
    from hero_tracing import logic

    @logic(name="async_mid")
    async def async_mid(x):
        inner = await logic.ainvoke("async_leaf", x=x * 10)
        return {"x": inner["x"] + 1, "loop": id(asyncio.get_running_loop()),
                "inner_loop": inner["loop"]}
""", inputs=["x"], entry="async_mid")


def run(source, **daemon):
    fake = FakeDaemon([make_spec("main", source), MEETS, ASYNC_LEAF, ASYNC_MID, ASYNC_ASKS,
                       SLOW_MODULE], **daemon)
    return fake.run("main")


def starts(t):
    return [m for m in t.all("invoke_start")]


class MapAndSpawn(unittest.TestCase):
    def test_map_runs_children_at_once_with_keys_in_call_order(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                out = logic.map("meets", [{"i": i, "nap": 0.05 * (3 - i)} for i in range(3)])
                return {"order": [o["i"] for o in out]}
        """)
        self.assertEqual(t.finish["status"], "success", t.finish)
        self.assertEqual(t.finish["output"], {"order": [0, 1, 2]})
        self.assertEqual([m["seq"] for m in starts(t)], [0, 1, 2])
        self.assertEqual([m["args"]["i"] for m in starts(t)], [0, 1, 2])
        ends = t.all("invoke_end")
        # The last started finishes first: the children overlapped.
        self.assertEqual([m["play_sid"] for m in ends], ["c3", "c2", "c1"])
        self.assertEqual(t.logs("c2"), "meets 1\n")

    def test_a_source_sent_once_serves_every_concurrent_child(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                return {"i": [o["i"] for o in logic.map("slow_module", [{"i": i} for i in range(4)])]}
        """, source_once=True)
        self.assertEqual(t.finish["output"], {"i": [0, 1, 2, 3]}, t.finish)

    def test_spawn_handles_and_a_body_ends_after_its_unjoined_children(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                first = logic.spawn("meets", i=0)
                logic.spawn("meets", i=1)
                logic.spawn("meets", i=2)
                after = logic.invoke("meets", i=3, wait=False)
                return {"first": first.result()["i"], "after": after["i"]}
        """)
        self.assertEqual(t.finish["output"], {"first": 0, "after": 3})
        self.assertEqual([m["seq"] for m in starts(t)], [0, 1, 2, 3])
        self.assertEqual(len(t.all("invoke_end")), 4)
        self.assertEqual(t.ops()[-1], "finish")

    def test_map_raises_the_first_failure_in_call_order_after_all_finish(self):
        t = run("""
            from hero_tracing import logic, ChildFailed

            @logic
            def main():
                try:
                    logic.map("meets", [{"i": 0}, {"i": 1, "fail": True, "nap": 0.2},
                                        {"i": 2, "fail": True}], max_concurrency=3)
                except ChildFailed as exc:
                    return {"caught": exc.message}
        """)
        self.assertEqual(t.finish["output"], {"caught": "branch 1 failed"})
        ends = {m["play_sid"]: m["status"] for m in t.all("invoke_end")}
        self.assertEqual(ends, {"c1": "success", "c2": "failed", "c3": "failed"})

    def test_max_concurrency_bounds_the_running_bodies(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                out = logic.map("meets", [{"i": i, "wait": False, "nap": 0.1} for i in range(5)],
                                max_concurrency=2)
                return {"peak": max(o["peak"] for o in out), "n": len(out)}
        """)
        self.assertEqual(t.finish["output"], {"peak": 2, "n": 5})
        many = run("""
            from hero_tracing import logic

            @logic
            def main():
                out = logic.map("meets", [{"i": i, "wait": False} for i in range(40)],
                                max_concurrency=3)
                return {"threads": max(o["threads"] for o in out), "n": len(out)}
        """)
        # The main thread and three branch threads: queued children wait without a thread.
        self.assertEqual(many.finish["output"], {"threads": 4, "n": 40})
        bad = run("""
            from hero_tracing import logic

            @logic
            def main():
                logic.map("meets", [{"i": 0}], max_concurrency=0)
        """)
        self.assertIn("max_concurrency must be a whole number >= 1", bad.finish["error"])


class QuestionInOneBranch(unittest.TestCase):
    def test_other_branches_finish_before_the_run_waits(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                calls = [{"i": i, "wait": False, "nap": 0.2} for i in range(5)]
                calls[2] = {"i": 2, "wait": False, "ask": True}
                logic.map("meets", calls)
                return {"done": True}
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertNotIn("finish", t.ops())
        pause = t.one("pause")
        self.assertEqual(pause["play_sid"], "c3")
        ended = sorted(m["play_sid"] for m in t.all("invoke_end"))
        self.assertEqual(ended, ["c1", "c2", "c4", "c5"])
        # The branches that ran on ended after the question was asked.
        self.assertLess(t.ops().index("pause"), t.ops().index("invoke_end"))
        self.assertEqual(t.logs("c3"), "meets 2\n")

    def test_queued_children_still_run_when_every_thread_of_the_map_waits(self):
        t = run("""
            from hero_tracing import logic

            @logic
            def main():
                calls = [{"i": i, "wait": False, "ask": i < 2} for i in range(5)]
                logic.map("meets", calls, max_concurrency=2)
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertEqual(len(t.all("pause")), 2)
        ended = sorted(m["play_sid"] for m in t.all("invoke_end"))
        self.assertEqual(ended, ["c3", "c4", "c5"])

    def test_a_question_in_the_body_waits_for_its_running_threads(self):
        t = run("""
            import threading
            from hero_tracing import ask_user, logic

            @logic
            def main():
                out = []
                worker = threading.Thread(
                    target=lambda: out.append(logic.invoke("meets", i=7, wait=False, nap=0.2)))
                worker.start()
                ask_user.confirm("go?")
                worker.join()
                return {"out": out}
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertEqual([m["status"] for m in t.all("invoke_end")], ["success"])


class ThreadsAndContext(unittest.TestCase):
    def test_executor_calls_are_unordered_and_act_for_the_submitting_play(self):
        t = run("""
            from concurrent.futures import ThreadPoolExecutor
            from hero_tracing import logic

            @logic(name="fan")
            def fan(n):
                with ThreadPoolExecutor(4) as ex:
                    futs = [ex.submit(logic.invoke, "meets", i=i, wait=False) for i in range(n)]
                    return {"r": [f.result()["i"] for f in futs]}

            @logic
            def main():
                logic.invoke("meets", i=-1, wait=False)
                return fan(n=4)
        """)
        self.assertEqual(t.finish["output"], {"r": [0, 1, 2, 3]}, t.finish)
        first, local, *fanned = starts(t)
        self.assertEqual((first["seq"], local["seq"], local["logic"]), (0, 1, "fan"))
        self.assertTrue(all(m.get("unordered") and "seq" not in m for m in fanned), fanned)
        # Submitted from inside `fan`, so `fan` (c2) is their parent, not the top-level Play.
        self.assertEqual({m["parent"] for m in fanned}, {"c2"})

    def test_a_plain_thread_acts_for_the_play_that_started_it(self):
        t = run("""
            import threading
            from hero_tracing import logic

            @logic(name="starter")
            def starter():
                out = {}
                worker = threading.Thread(target=lambda: out.update(
                    logic.invoke("meets", i=5, wait=False)))
                worker.start()
                worker.join()
                print("from starter")
                return out

            @logic
            def main():
                return starter()
        """)
        self.assertEqual(t.finish["output"]["i"], 5, t.finish)
        local, inner = starts(t)
        self.assertEqual((local["logic"], inner["parent"], inner.get("unordered")),
                         ("starter", "c1", True))

    def test_concurrent_prints_lose_no_text(self):
        t = run("""
            import threading
            from hero_tracing import logic

            @logic
            def main():
                def chatter(n):
                    for k in range(300):
                        print(f"t{n} line {k}")
                threads = [threading.Thread(target=chatter, args=(n,)) for n in range(6)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
        """)
        lines = t.logs(TOP_SID).split("\n")
        for n in range(6):
            mine = [line for line in lines if line.startswith(f"t{n} ")]
            self.assertEqual(mine, [f"t{n} line {k}" for k in range(300)])
        self.assertEqual(len([line for line in lines if line]), 6 * 300)


class Async(unittest.TestCase):
    def test_async_logics_await_async_logics_on_one_loop(self):
        t = run("""
            import asyncio
            from hero_tracing import logic

            @logic
            async def main():
                ticks = []

                async def ticker():
                    for _ in range(5):
                        ticks.append(1)
                        await asyncio.sleep(0.01)

                tick = asyncio.create_task(ticker())
                a, b = await asyncio.gather(logic.ainvoke("async_mid", x=1),
                                            logic.ainvoke("async_mid", x=2))
                await tick
                here = id(asyncio.get_running_loop())
                return {"x": [a["x"], b["x"]], "ticks": len(ticks),
                        "one_loop": {a["loop"], b["loop"], a["inner_loop"], here} == {here}}
        """)
        self.assertEqual(t.finish["status"], "success", t.finish)
        self.assertEqual(t.finish["output"], {"x": [11, 21], "ticks": 5, "one_loop": True})
        top = [m for m in starts(t) if m["parent"] == TOP_SID]
        self.assertEqual([(m["seq"], m["args"]["x"]) for m in top], [(0, 1), (1, 2)])

    def test_a_question_in_an_async_branch_leaves_the_loop_to_the_others(self):
        t = run("""
            import asyncio
            from hero_tracing import logic

            @logic
            async def main():
                await asyncio.gather(*(logic.ainvoke("async_asks", x=x) for x in range(3)))
                return {"done": True}
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertEqual(t.one("pause")["play_sid"], "c2")
        # The two branches sharing the asking one's event loop still ended, after the question.
        ends = t.all("invoke_end")
        self.assertEqual(sorted(m["play_sid"] for m in ends), ["c1", "c3"])
        self.assertLess(t.ops().index("pause"), t.ops().index("invoke_end"))
        self.assertNotIn("finish", t.ops())

    def test_a_question_inside_the_bodys_own_event_loop_waits_like_a_thread(self):
        t = run("""
            import asyncio
            from hero_tracing import ask_user, logic

            async def helper():
                return ask_user.confirm("asked from a loop of the body's own")

            @logic
            def main():
                return {"ok": asyncio.run(helper())}
        """)
        self.assertEqual(t.returncode, 75, t.stderr)
        self.assertEqual([op for op in t.ops() if op != "resolve"], ["hello", "pause"])

    def test_sync_invoke_of_an_async_child_from_async_code_does_not_nest_asyncio_run(self):
        t = run("""
            from hero_tracing import logic

            @logic
            async def main():
                return logic.invoke("async_leaf", x=3)
        """)
        self.assertEqual(t.finish["status"], "success", t.finish)
        self.assertEqual(t.finish["output"]["x"], 3)


if __name__ == "__main__":
    unittest.main()
