"""Retry policies: which stored failures are tried again, the waits, and bad options."""

import unittest

from hero_tracing.errors import Failed
from hero_tracing.retrying import Policy, failure_type, policy_of, split_call_options
from hero_tracing.sdk import logic

TRACEBACK = "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nValueError: no"


class FailureTypes(unittest.TestCase):
    def test_a_failure_with_a_traceback_is_its_exception_class(self):
        self.assertEqual(failure_type("ValueError: no\n\n" + TRACEBACK), "ValueError")
        self.assertEqual(failure_type("json.decoder.JSONDecodeError: x\n\n" + TRACEBACK), "JSONDecodeError")

    def test_one_without_a_traceback_is_logic_failed_and_a_timeout_is_timed_out(self):
        self.assertEqual(failure_type("n must be positive"), "Failed")
        self.assertEqual(failure_type("ValueError: looks like one"), "Failed")
        self.assertEqual(failure_type("anything", timed_out=True), "TimedOut")


class Policies(unittest.TestCase):
    def test_logic_failed_is_retried_only_when_named(self):
        self.assertTrue(Policy(retries=1).retries_failure("ValueError"))
        self.assertFalse(Policy(retries=1).retries_failure("Failed"))
        named = policy_of({"retries": 1, "retry_on": [Failed, KeyError]}, "call")
        self.assertTrue(named.retries_failure("Failed"))
        self.assertTrue(named.retries_failure("KeyError"))
        self.assertFalse(named.retries_failure("ValueError"))
        every = policy_of({"retries": 1, "retry_on": Exception}, "call")
        self.assertTrue(every.retries_failure("TimedOut"))
        self.assertFalse(every.retries_failure("Failed"))

    def test_the_waits_grow_by_the_factor(self):
        policy = policy_of({"retries": 3, "backoff_s": 1, "backoff_factor": 2}, "call")
        self.assertEqual([policy.delay(k) for k in (1, 2, 3)], [1.0, 2.0, 4.0])

    def test_bad_options_say_which_and_what_fits(self):
        cases = [({"retries": -1}, "retries must be a whole number >= 0"),
                 ({"retries": True}, "retries must be a whole number >= 0"),
                 ({"backoff_s": float("nan")}, "backoff_s must be a finite number >= 0"),
                 ({"backoff_factor": 0.5}, "backoff_factor must be a finite number >= 1"),
                 ({"timeout_s": 0}, "timeout_s must be > 0")]
        for options, message in cases:
            with self.subTest(options=options):
                with self.assertRaisesRegex(ValueError, message):
                    policy_of(options, "logic.invoke('x')")
        with self.assertRaisesRegex(TypeError, "retry_on takes exception classes or their names"):
            policy_of({"retry_on": [3]}, "call")

    def test_a_calls_options_are_not_the_childs_inputs(self):
        inputs, options = split_call_options({"text": "a", "retries": 2, "timeout_s": 1.5})
        self.assertEqual(inputs, {"text": "a"})
        self.assertEqual(options, {"retries": 2, "timeout_s": 1.5})

    def test_a_decorator_checks_its_policy_at_once(self):
        with self.assertRaisesRegex(ValueError, "@logic 'f': retries must be"):
            logic(name="f", retries="3")(lambda: None)
        decorated = logic(name="g", retries=2, backoff_s=0.5)(lambda: None)
        self.assertEqual(decorated.__hero_logic__.policy.retries, 2)


if __name__ == "__main__":
    unittest.main()
