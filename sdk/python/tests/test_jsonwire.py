"""Canonical JSON, step keys and wire lines."""

import hashlib
import json
import unittest

from hero_tracing.errors import NotSerialisable
from hero_tracing.jsonwire import canonical_json, json_object, step_key, to_line


class Canonical(unittest.TestCase):
    def test_sorted_keys_no_spaces_raw_unicode(self):
        self.assertEqual(canonical_json({"b": [1, {"d": 1, "c": 2}], "a": "é"}),
                         '{"a":"é","b":[1,{"c":2,"d":1}]}')

    def test_same_value_same_text_whatever_the_key_order(self):
        self.assertEqual(canonical_json({"x": 1, "y": 2}), canonical_json({"y": 2, "x": 1}))

    def test_step_key_follows_the_protocol(self):
        digest = hashlib.sha256(b'{"n":3}').hexdigest()[:16]
        self.assertEqual(step_key("fib", 0, {"n": 3}), f"fib:0:{digest}")
        self.assertEqual(step_key("fib", 1, {}), "fib:1:" + hashlib.sha256(b"{}").hexdigest()[:16])

    def test_nan_is_refused(self):
        with self.assertRaises(ValueError):
            canonical_json({"x": float("nan")})


class WireLines(unittest.TestCase):
    def test_one_compact_utf8_line(self):
        line = to_line({"op": "log", "text": "a\nb é"})
        self.assertTrue(line.endswith(b"\n"))
        self.assertEqual(line.count(b"\n"), 1)
        self.assertEqual(json.loads(line), {"op": "log", "text": "a\nb é"})
        self.assertNotIn(b": ", line)

    def test_lone_surrogate_becomes_a_question_mark(self):
        self.assertEqual(json.loads(to_line({"text": "x\udc80y"})), {"text": "x?y"})


class JsonObject(unittest.TestCase):
    def test_arguments_are_named_in_messages(self):
        with self.assertRaisesRegex(NotSerialisable,
                                    r"^logic 'w' argument 'words' is not JSON-serialisable"):
            json_object({"words": {"a"}}, "logic 'w'", "argument")

    def test_not_a_dict(self):
        with self.assertRaisesRegex(NotSerialisable, "must be a dict of fields, not list"):
            json_object([1], "output")

    def test_circular_values_are_reported_not_raised_raw(self):
        loop = []
        loop.append(loop)
        with self.assertRaisesRegex(NotSerialisable, "^output field 'x' "):
            json_object({"x": loop})


if __name__ == "__main__":
    unittest.main()


class SameJson(unittest.TestCase):
    """The runner matches a call with a memo by `_same_json`: it must agree with comparing
    canonical JSON, which is what the daemon's step keys hash."""

    def test_same_json_agrees_with_canonical_json(self):
        from hero_tracing.jsonwire import canonical_json
        from hero_tracing.runner import _same_json

        values = [1, 1.0, True, False, 0, 0.0, -0.0, None, "1", "", [], {}, [1], [1.0], {"a": 1},
                  {"a": 1.0}, {"a": True}, {"b": 1}, {"a": [1, {"b": None}]},
                  {"a": [1, {"b": False}]}, {"a": 1, "b": 2}, {"b": 2, "a": 1}, 1e20, 1e-7, "é"]
        for a in values:
            for b in values:
                self.assertEqual(_same_json(a, b), canonical_json(a) == canonical_json(b), (a, b))
