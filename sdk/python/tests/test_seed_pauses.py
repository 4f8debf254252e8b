"""The pausing seed logics (seed_logics/) run against the scripted daemon: answered, they
finish with the answers carried up; unanswered, they suspend at the right question."""

import os
import unittest

from .fakedaemon import SDK_DIR, Answers, FakeDaemon, make_spec

SEED_DIR = os.path.join(os.path.dirname(os.path.dirname(SDK_DIR)), "seed_logics")
SEEDS = ("greeting", "approval_flow", "pick_plan", "plan_step", "choose_option", "survey_loop",
         "score_label")


def seed_specs():
    specs = []
    for name in SEEDS:
        with open(os.path.join(SEED_DIR, f"{name}.py"), encoding="utf-8") as source:
            specs.append(make_spec(name, source.read()))
    return specs


@unittest.skipUnless(os.path.isdir(SEED_DIR), "needs the repository's seed_logics/")
class PausingSeeds(unittest.TestCase):
    def run_seed(self, name, inputs=None, **answers):
        fake = FakeDaemon(seed_specs(), answers=answers)
        return fake.run(name, inputs), fake

    def test_approval_flow(self):
        t, _ = self.run_seed("approval_flow", {"recipient": "Bo"}, confirm=True)
        self.assertEqual(t.finish["output"], {"message": "Hello, Bo!", "approved": True})
        self.assertEqual(t.one("pause")["ui"]["prompt"], "Send this message?")
        t, fake = self.run_seed("approval_flow")
        self.assertEqual((t.returncode, fake.resume_ids), (75, ["approval_flow:confirm:0"]))
        self.assertEqual([s["logic"] for s in t.all("invoke_start")], ["greeting"])

    def test_pick_plan_asks_two_levels_down(self):
        t, _ = self.run_seed("pick_plan", {"customer": "Ada"}, choice="pro")
        self.assertEqual(t.finish["output"], {"customer": "Ada", "plan": "pro",
                                              "monthly_price": 30,
                                              "summary": "Ada: pro at $30/month"})
        t, fake = self.run_seed("pick_plan")
        self.assertEqual((t.returncode, fake.resume_ids), (75, ["choose_option:choice:0"]))
        pause = t.one("pause")
        self.assertEqual(pause["play_sid"], "c2")
        self.assertEqual(pause["ui"]["options"], ["basic", "pro", "enterprise"])

    def test_survey_loop(self):
        t, _ = self.run_seed("survey_loop", {"n": 3}, number=Answers([2, 10, 5]))
        self.assertEqual(t.finish["output"], {"scores": [2, 10, 5],
                                              "labels": ["poor", "excellent", "fair"],
                                              "total": 17})
        self.assertEqual(t.all("pause")[0]["schema"],
                         {"type": "integer", "minimum": 0, "maximum": 10})
        t, fake = self.run_seed("survey_loop", number=Answers([7]))
        self.assertEqual((t.returncode, fake.resume_ids), (75, ["survey_loop:number:1"]))
        self.assertEqual([s["args"] for s in t.all("invoke_start")], [{"score": 7}])


if __name__ == "__main__":
    unittest.main()
