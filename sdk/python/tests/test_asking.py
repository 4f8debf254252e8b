"""ask_user's forms and schemas, typed answers, and the terminal fallback (in process)."""

import io
import unittest
from unittest import mock

from hero_tracing import ask_user, logic
from hero_tracing.asking import AskUser, ask_on_terminal, parse_answer, pause_request
from hero_tracing.errors import NotSerialisable


class Recorder:
    """Stands in for `logic`: records each pause and answers with the next canned payload."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def pause(self, name, *, ui=None, schema=None):
        # What logic.pause would send, so the defaults it adds are checked too.
        self.calls.append(pause_request(name, ui, schema))
        return self.answers.pop(0)


def ask(method, *args, answer=None, **kwargs):
    """(name, ui, schema) sent, and the typed answer returned, for one ask_user call."""
    recorder = Recorder(answer)
    value = getattr(AskUser(recorder), method)(*args, **kwargs)
    (call,) = recorder.calls
    return call, value


class Forms(unittest.TestCase):
    def test_text(self):
        call, value = ask("text", "Your name?", answer="Ada")
        self.assertEqual(call, ("text", {"kind": "text", "prompt": "Your name?", "options": [],
                                         "multiline": False}, {"type": "string"}))
        self.assertEqual(value, "Ada")
        call, _ = ask("text", "Notes?", name="notes", default="none", placeholder="...",
                      multiline=True, answer="x")
        self.assertEqual(call[0], "notes")
        self.assertEqual(call[1], {"kind": "text", "prompt": "Notes?", "options": [],
                                   "default": "none", "placeholder": "...", "multiline": True})

    def test_number(self):
        call, value = ask("number", "Score?", integer=True, min=0, max=10, answer=7.0)
        self.assertEqual(call, ("number",
                                {"kind": "number", "prompt": "Score?", "options": [], "min": 0,
                                 "max": 10, "integer": True},
                                {"type": "integer", "minimum": 0, "maximum": 10}))
        self.assertEqual((value, type(value)), (7, int))
        call, value = ask("number", "Weight?", default=1.5, answer=2.25)
        self.assertEqual(call[1], {"kind": "number", "prompt": "Weight?", "options": [],
                                   "default": 1.5, "integer": False})
        self.assertEqual(call[2], {"type": "number"})
        self.assertEqual((value, type(value)), (2.25, float))
        _, value = ask("number", "Count?", answer=4)
        self.assertEqual((value, type(value)), (4, int))
        _, value = ask("number", "Count?", integer=True, answer="12")
        self.assertEqual(value, 12)

    def test_choice(self):
        call, value = ask("choice", "Which plan?", ["basic", "pro"], default="pro", answer="basic")
        self.assertEqual(call, ("choice",
                                {"kind": "choice", "prompt": "Which plan?",
                                 "options": ["basic", "pro"], "default": "pro"},
                                {"type": "string", "enum": ["basic", "pro"]}))
        self.assertEqual(value, "basic")
        call, _ = ask("choice", "Which?", ("a", "b"), answer="a")
        self.assertEqual(call[1]["options"], ["a", "b"])

    def test_multi_choice(self):
        call, value = ask("multi_choice", "Toppings?", ["ham", "egg", "cheese"], min=1, max=2,
                          answer=["egg", "ham"])
        self.assertEqual(call, ("multi_choice",
                                {"kind": "multi_choice", "prompt": "Toppings?",
                                 "options": ["ham", "egg", "cheese"], "min": 1, "max": 2},
                                {"type": "array",
                                 "items": {"type": "string", "enum": ["ham", "egg", "cheese"]},
                                 "uniqueItems": True, "minItems": 1, "maxItems": 2}))
        self.assertEqual(value, ["egg", "ham"])
        call, value = ask("multi_choice", "Any?", ["a"], answer=[])
        self.assertNotIn("minItems", call[2])
        self.assertEqual(value, [])

    def test_confirm(self):
        call, value = ask("confirm", "Send this message?", answer=True)
        self.assertEqual(call, ("confirm", {"kind": "confirm", "prompt": "Send this message?",
                                            "options": []}, {"type": "boolean"}))
        self.assertIs(value, True)
        call, value = ask("confirm", "Sure?", name="sure", default=False, answer="no")
        self.assertEqual((call[0], call[1]["default"]), ("sure", False))
        self.assertIs(value, False)

    def test_name_defaults_to_the_kind_for_every_kind(self):
        recorder = Recorder("t", 1, "a", ["a"], True)
        asker = AskUser(recorder)
        asker.text("t?")
        asker.number("n?")
        asker.choice("c?", ["a"])
        asker.multi_choice("m?", ["a"])
        asker.confirm("y?")
        self.assertEqual([c[0] for c in recorder.calls],
                         ["text", "number", "choice", "multi_choice", "confirm"])


class BadQuestions(unittest.TestCase):
    def test_bad_options_raise_type_error_before_anything_is_sent(self):
        recorder = Recorder()
        asker = AskUser(recorder)
        for bad in ("abc", [], (), [1, "a"], ["a", None], ["a", "a"], {"a", "b"}, None,
                    iter(["a"]), {"a": 1}):
            for method in (asker.choice, asker.multi_choice):
                with self.subTest(bad=bad, method=method.__name__), \
                        self.assertRaises(TypeError):
                    method("Pick", bad)
        self.assertEqual(recorder.calls, [])

    def test_other_mistakes_fail_at_the_call(self):
        recorder = Recorder()
        asker = AskUser(recorder)
        cases = [
            (ValueError, lambda: asker.text("   ")),
            (TypeError, lambda: asker.confirm(42)),
            (TypeError, lambda: asker.confirm("Sure?", default="yes")),
            (TypeError, lambda: asker.text("Name?", default=3)),
            (ValueError, lambda: asker.number("N?", min=5, max=1)),
            (TypeError, lambda: asker.number("N?", min="1")),
            (TypeError, lambda: asker.number("N?", max=True)),
            (ValueError, lambda: asker.number("N?", max=float("inf"))),
            (ValueError, lambda: asker.number("N?", integer=True, default=1.5)),
            (ValueError, lambda: asker.choice("C?", ["a", "b"], default="c")),
            (ValueError, lambda: asker.multi_choice("M?", ["a"], min=2)),
            (ValueError, lambda: asker.multi_choice("M?", ["a", "b"], min=2, max=1)),
            (TypeError, lambda: asker.multi_choice("M?", ["a"], max=-1)),
        ]
        for error, call in cases:
            with self.assertRaises(error):
                call()
        self.assertEqual(recorder.calls, [])

    def test_wrong_typed_answers_raise(self):
        cases = [("text", ("T?",), 3), ("number", ("N?",), "many"), ("number", ("N?",), True),
                 ("confirm", ("Y?",), "perhaps"), ("confirm", ("Y?",), 2),
                 ("choice", ("C?", ["a"]), 1), ("multi_choice", ("M?", ["a"]), "a")]
        for method, args, answer in cases:
            with self.subTest(method=method, answer=answer), self.assertRaises(TypeError):
                ask(method, *args, answer=answer)
        with self.assertRaises(TypeError):
            ask("number", "N?", integer=True, answer=2.5)
        with self.assertRaisesRegex(ValueError, "not one of"):
            ask("choice", "C?", ["a", "b"], answer="c")
        with self.assertRaisesRegex(ValueError, "not one of"):
            ask("multi_choice", "M?", ["a", "b"], answer=["a", "c"])

    def test_pause_request_checks_and_fills_in(self):
        self.assertEqual(pause_request("approve", None, None),
                         ("approve", {"kind": "text", "prompt": "approve", "options": []}, {}))
        self.assertEqual(pause_request("approve", {"kind": "confirm", "extra": (1, 2)}, None)[1],
                         {"kind": "confirm", "prompt": "approve", "options": [],
                          "extra": [1, 2]})
        for name, ui, schema, error in [(3, None, None, TypeError), ("  ", None, None, ValueError),
                                        ("a", "confirm", None, TypeError),
                                        ("a", {"kind": ""}, None, TypeError),
                                        ("a", {"prompt": 1}, None, TypeError),
                                        ("a", None, [], TypeError),
                                        ("a", {"default": {1}}, None, NotSerialisable),
                                        ("a", None, {"enum": {1}}, NotSerialisable)]:
            with self.subTest(name=name, ui=ui, schema=schema), self.assertRaises(error):
                pause_request(name, ui, schema)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class Terminal(unittest.TestCase):
    """Outside a runner, with a terminal on stdin, the person at it answers."""

    def answer(self, call, *typed):
        out = io.StringIO()
        lines = iter(typed)

        def read(prompt):
            out.write(prompt)
            return next(lines)

        with mock.patch("sys.stdin", FakeTerminal()), mock.patch("sys.stdout", out), \
                mock.patch("builtins.input", read):
            return call(), out.getvalue()

    def test_each_kind_reads_a_typed_answer_and_asks_again_when_it_does_not_fit(self):
        value, shown = self.answer(lambda: ask_user.confirm("Send it?"), "maybe", "Y")
        self.assertIs(value, True)
        self.assertIn("[confirm] Send it?\n[y/n] > ", shown)
        self.assertIn("answer y or n; try again", shown)
        value, shown = self.answer(
            lambda: ask_user.number("Score?", integer=True, min=0, max=10), "11", "2.5", "7")
        self.assertEqual((value, type(value)), (7, int))
        self.assertIn("11 is more than 10", shown)
        self.assertIn("2.5 is not a whole number", shown)
        value, shown = self.answer(
            lambda: ask_user.choice("Which plan?", ["basic", "pro"]), "4", "2")
        self.assertEqual(value, "pro")
        self.assertIn("  1) basic\n  2) pro\n", shown)
        value, _ = self.answer(
            lambda: ask_user.multi_choice("Which?", ["a", "b", "c"], min=2), "c", "c, 1,c")
        self.assertEqual(value, ["c", "a"])
        value, _ = self.answer(lambda: ask_user.text("Name?", default="Ada"), "")
        self.assertEqual(value, "Ada")
        value, _ = self.answer(
            lambda: logic.pause("raw", ui={"kind": "custom"}, schema={}), '{"a": [1]}')
        self.assertEqual(value, {"a": [1]})

    def test_closed_stdin_raises(self):
        def read(prompt):
            raise EOFError

        with mock.patch("sys.stdin", FakeTerminal()), mock.patch("sys.stdout", io.StringIO()):
            with self.assertRaisesRegex(RuntimeError, "no answer to 'x': stdin closed"):
                ask_on_terminal("x", {"kind": "text", "prompt": "x?"}, {}, read=read)

    def test_parse_answer_by_schema_for_other_kinds(self):
        self.assertIs(parse_answer("yes", {"kind": "other"}, {"type": "boolean"}), True)
        self.assertEqual(parse_answer("3", {"kind": "other"}, {"type": "integer"}), 3)
        self.assertEqual(parse_answer("[1]", {"kind": "other"}, {"type": "string"}), "[1]")
        self.assertEqual(parse_answer("plain words", {"kind": "other"}, {}), "plain words")


if __name__ == "__main__":
    unittest.main()
