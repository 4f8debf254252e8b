"""Output shaping, failure messages and timestamps: the protocol's "Results" rules."""

import sys
import unittest

from hero_tracing import Failed
from hero_tracing.errors import NotSerialisable
from hero_tracing.results import declared_names, describe_failure, shape_output, timestamp


class OutputShaping(unittest.TestCase):
    def test_dict_is_kept_as_is(self):
        self.assertEqual(shape_output({"a": 1}, {}, ["x"]), {"a": 1})

    def test_non_dict_goes_under_the_single_declared_output(self):
        self.assertEqual(shape_output(5, {}, ["total"]), {"total": 5})

    def test_non_dict_goes_under_result_unless_exactly_one_output(self):
        self.assertEqual(shape_output("hi", {}, []), {"result": "hi"})
        self.assertEqual(shape_output([1], {}, ["a", "b"]), {"result": [1]})

    def test_none_keeps_the_accumulated_outputs(self):
        self.assertEqual(shape_output(None, {"a": 1}, []), {"a": 1})
        self.assertEqual(shape_output(None, {}, ["x"]), {})

    def test_return_value_is_merged_over_accumulated(self):
        self.assertEqual(shape_output({"b": 2, "a": 0}, {"a": 1, "c": 3}, []),
                         {"a": 0, "b": 2, "c": 3})
        self.assertEqual(shape_output(7, {"a": 1}, ["n"]), {"a": 1, "n": 7})

    def test_output_reads_back_as_json_would(self):
        self.assertEqual(shape_output({"t": (1, 2), "d": {1: "x"}}, {}, []),
                         {"t": [1, 2], "d": {"1": "x"}})

    def test_non_serialisable_names_the_field(self):
        with self.assertRaises(NotSerialisable) as caught:
            shape_output({"fine": 1, "bad": {1, 2}}, {}, [])
        self.assertTrue(str(caught.exception).startswith(
            "output field 'bad' is not JSON-serialisable: Object of type set"))
        self.assertIsInstance(caught.exception, TypeError)

    def test_wrapped_value_is_named_by_its_wrapping_key(self):
        with self.assertRaisesRegex(NotSerialisable, "^output field 'total' "):
            shape_output(object(), {}, ["total"])

    def test_nan_and_infinity_are_not_json(self):
        for value in (float("nan"), float("inf")):
            with self.assertRaisesRegex(NotSerialisable, "^output field 'x' "):
                shape_output({"x": [value]}, {}, [])

    def test_non_string_field_names_are_refused(self):
        with self.assertRaisesRegex(NotSerialisable, "field name 1 is not a string"):
            shape_output({1: "one"}, {}, [])

    def test_declared_names_reads_every_spelling(self):
        self.assertEqual(declared_names([{"name": "a"}, {"name": "b"}]), ["a", "b"])
        self.assertEqual(declared_names({"a": "string", "b": {"type": "integer"}}), ["a", "b"])
        self.assertEqual(declared_names(["a", {"name": "b"}, 3]), ["a", "b"])
        self.assertEqual(declared_names(None), [])


def _raised(exc):
    """`exc` with a traceback, as the runner sees it."""
    try:
        raise exc
    except BaseException as caught:  # noqa: B036
        return caught


class FailureMessages(unittest.TestCase):
    def test_failed_is_its_message_without_traceback(self):
        self.assertEqual(describe_failure(_raised(Failed("n must be > 0"))), ("n must be > 0", ""))

    def test_exception_is_type_and_text_with_traceback(self):
        error, tb = describe_failure(_raised(ValueError("boom")))
        self.assertEqual(error, "ValueError: boom")
        self.assertTrue(tb.startswith("Traceback (most recent call last):"))
        self.assertTrue(tb.rstrip().endswith("ValueError: boom"))

    def test_empty_text_is_the_type_alone(self):
        self.assertEqual(describe_failure(_raised(RuntimeError()))[0], "RuntimeError")
        self.assertEqual(describe_failure(_raised(KeyboardInterrupt()))[0], "KeyboardInterrupt")

    def test_sys_exit_is_named(self):
        def exit_with(code):
            try:
                sys.exit(code)
            except SystemExit as exc:
                return describe_failure(exc)[0]
        self.assertEqual(exit_with(3), "the logic called sys.exit(3)")
        self.assertEqual(exit_with(None), "the logic called sys.exit()")
        self.assertEqual(exit_with("bye"), "the logic called sys.exit('bye')")

    def test_memory_error_names_the_limit(self):
        self.assertEqual(describe_failure(_raised(MemoryError()), 1024)[0],
                         "memory limit of 1024 MiB reached")
        self.assertEqual(describe_failure(_raised(MemoryError()))[0],
                         "memory limit reached (MemoryError)")

    def test_hostile_str_does_not_hide_the_failure(self):
        class Hostile(Exception):
            def __str__(self):
                raise RuntimeError("no")
        self.assertEqual(describe_failure(_raised(Hostile()))[0],
                         "Hostile: <exception text unavailable>")


class Timestamps(unittest.TestCase):
    def test_format_is_utc_with_milliseconds(self):
        self.assertEqual(timestamp(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(timestamp(1700000000.123), "2023-11-14T22:13:20.123Z")
        self.assertEqual(timestamp(1700000000.9999), "2023-11-14T22:13:20.999Z")

    def test_now_matches_the_pattern(self):
        self.assertRegex(timestamp(), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


if __name__ == "__main__":
    unittest.main()


class TracebackTrimming(unittest.TestCase):
    """A failure that passes through the SDK (a `logic.invoke` between two logics) shows only
    the logics' frames."""

    def _failure_through_the_sdk(self):
        import os
        from hero_tracing import results
        # A function whose frames count as the SDK's: compiled under a file name in its dir.
        sdk_code = compile("def call_child(child):\n    return child()\n",
                           os.path.join(os.path.dirname(results.__file__), "fake_invoke.py"), "exec")
        sdk = {}
        exec(sdk_code, sdk)
        user_code = compile("def child():\n    raise ValueError('bad input')\n"
                            "def parent(call_child):\n    return call_child(child)\n",
                            "service_agent.py [version 0001]", "exec")
        user = {}
        exec(user_code, user)
        try:
            sdk["call_child"](lambda: user["parent"](sdk["call_child"]))
        except ValueError as exc:
            return exc
        self.fail("the logic did not raise")

    def test_sdk_frames_are_cut_and_the_logics_kept(self):
        from hero_tracing.results import format_traceback
        text = format_traceback(self._failure_through_the_sdk())
        self.assertNotIn("fake_invoke.py", text)
        self.assertIn('File "service_agent.py [version 0001]", line 4, in parent', text)
        self.assertIn('File "service_agent.py [version 0001]", line 2, in child', text)
        self.assertTrue(text.rstrip().endswith("ValueError: bad input"), text)

    def test_untrimmed_keeps_every_frame(self):
        from hero_tracing.results import format_traceback
        self.assertIn("fake_invoke.py", format_traceback(self._failure_through_the_sdk(), trim=False))

    def test_chained_exceptions_are_trimmed_too(self):
        from hero_tracing.results import format_traceback
        try:
            try:
                raise self._failure_through_the_sdk()
            except ValueError as inner:
                raise RuntimeError("wrapped") from inner
        except RuntimeError as outer:
            text = format_traceback(outer)
        self.assertNotIn("fake_invoke.py", text)
        self.assertIn("ValueError: bad input", text)
        self.assertIn("RuntimeError: wrapped", text)
