"""Pricing and transport-level auto-trace: usage in responses lands on the current Play."""

import json
import os
import unittest
from unittest import mock

from hero_tracing import context, pricing
from hero_tracing.context import PlayFrame

TABLE = {
    "models": {
        "gpt-4o-mini": {"prompt_per_million": 0.15, "completion_per_million": 0.60,
                        "aliases": ["openai/gpt-4o-mini"]},
        "Fake-GPT": {"prompt_per_million": 1.0, "completion_per_million": 2.0},
    },
    "aliases": {"house": "Fake-GPT", "dangling": "nowhere"},
}


class Recorder:
    """Stands in for the runner's Runtime: what the SDK would send to the daemon."""

    def __init__(self):
        self.sent = []

    def stats(self, prompt_tokens, completion_tokens, cost_usd):
        self.sent.append(("stats", context.current_frame().play_sid,
                          prompt_tokens, completion_tokens, cost_usd))

    def log(self, text):
        self.sent.append(("log", context.current_frame().play_sid, text))


class WithTable(unittest.TestCase):
    def setUp(self):
        pricing.set_table(TABLE)
        self.addCleanup(pricing.set_table, None)


class Resolve(WithTable):
    def test_exact_alias_dated_and_case_insensitive(self):
        self.assertEqual(pricing.resolve("gpt-4o-mini")[0], "gpt-4o-mini")
        self.assertEqual(pricing.resolve("OpenAI/GPT-4o-mini")[0], "gpt-4o-mini")
        self.assertEqual(pricing.resolve("gpt-4o-mini-2024-07-18")[0], "gpt-4o-mini")
        self.assertEqual(pricing.resolve("fake-gpt-20250101")[0], "Fake-GPT")
        self.assertEqual(pricing.resolve("HOUSE")[0], "Fake-GPT")
        for unknown in ("dangling", "gpt-5", "", None, 3):
            self.assertIsNone(pricing.resolve(unknown), unknown)

    def test_cost_per_million(self):
        self.assertAlmostEqual(pricing.cost("gpt-4o-mini", 1_000_000, 1_000_000), 0.75)
        self.assertAlmostEqual(pricing.cost("house", 100, 50), 0.0002)
        self.assertIsNone(pricing.cost("gpt-5", 1, 1))

    def test_the_table_comes_from_the_daemon_environment(self):
        pricing.set_table(None)
        with mock.patch.dict(os.environ, {"HERO_LOGIC_MODELS_JSON": json.dumps(
                {"models": {"m": {"prompt_per_million": 3, "completion_per_million": 0}},
                 "aliases": {"mm": "m"}})}):
            self.assertAlmostEqual(pricing.cost("mm", 1_000_000, 5), 3.0)
        pricing.set_table(None)
        with mock.patch.dict(os.environ, {"HERO_LOGIC_MODELS_JSON": "not json"}):
            self.assertIsNone(pricing.resolve("m"))


class UsageOf(unittest.TestCase):
    def test_openai_and_json_rpc_shapes(self):
        self.assertEqual(pricing.usage_of({"model": "x", "usage": {"prompt_tokens": 3,
                                                                   "completion_tokens": 4}}),
                         (3, 4, "x"))
        self.assertEqual(pricing.usage_of({"jsonrpc": "2.0", "result": {
            "model": "y", "usage": {"prompt_tokens": 1}}}), (1, 0, "y"))
        for nothing in (None, [], "usage", {"usage": {"total_tokens": 5}},
                        {"usage": {"prompt_tokens": "7"}}, {"result": {"usage": 3}},
                        {"usage": {"prompt_tokens": float("nan")}}):
            self.assertIsNone(pricing.usage_of(nothing), nothing)
        self.assertEqual(pricing.usage_of({"usage": {"prompt_tokens": -2,
                                                     "completion_tokens": 2.0}}), (0, 2, ""))


class Trace(WithTable):
    def setUp(self):
        super().setUp()
        self.recorder = Recorder()
        self.root = PlayFrame("p0", "root", {"name": "root"})
        context.set_runtime(self.recorder, self.root)
        self.addCleanup(context.set_runtime, None, None)
        pricing._warned.clear()

    def in_play(self, sid, function):
        token = context.enter(PlayFrame(sid, "child", {"name": "child"}))
        try:
            return function()
        finally:
            context.leave(token)

    def test_usage_goes_to_the_play_whose_body_runs(self):
        response = {"model": "house", "usage": {"prompt_tokens": 100, "completion_tokens": 50}}
        record = self.in_play("c1", lambda: pricing.trace(response))
        self.assertEqual(record, {"prompt_tokens": 100, "completion_tokens": 50,
                                  "cost_usd": 0.0002, "model": "house", "priced": True})
        self.assertEqual(self.recorder.sent, [("stats", "c1", 100, 50, 0.0002)])

    def test_the_requested_model_prices_when_the_answer_names_an_unknown_one(self):
        response = {"model": "weird-deployment-name", "usage": {"prompt_tokens": 1_000_000}}
        record = pricing.trace(response, "gpt-4o-mini")
        self.assertAlmostEqual(record["cost_usd"], 0.15)
        self.assertEqual(record["model"], "gpt-4o-mini")
        self.assertEqual(self.recorder.sent[0][:4], ("stats", "p0", 1_000_000, 0))

    def test_an_unknown_model_counts_tokens_at_cost_0_and_says_so_once_per_play(self):
        response = {"model": "mystery-1", "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
        for _ in range(2):
            self.in_play("c1", lambda: pricing.trace(response))
        self.in_play("c2", lambda: pricing.trace(response))
        stats = [m for m in self.recorder.sent if m[0] == "stats"]
        logs = [m for m in self.recorder.sent if m[0] == "log"]
        self.assertEqual(stats, [("stats", "c1", 7, 3, 0.0)] * 2 + [("stats", "c2", 7, 3, 0.0)])
        self.assertEqual([m[1] for m in logs], ["c1", "c2"])
        self.assertIn("model 'mystery-1' has no price in the models table", logs[0][2])
        self.assertIn("7 prompt + 3 completion", logs[0][2])
        self.assertTrue(logs[0][2].endswith("\n"))

    def test_responses_without_usage_send_nothing(self):
        self.assertIsNone(pricing.trace({"result": {"sid": "02j7"}}))
        self.assertIsNone(pricing.trace(None))
        self.assertEqual(self.recorder.sent, [])


if __name__ == "__main__":
    unittest.main()
