"""The `logic` object outside a runner: a logic file is an ordinary Python program."""

import contextlib
import io
import unittest
from unittest import mock

from hero_tracing import ChildFailed, Failed, ask_user, flow, logic
from hero_tracing.errors import NotSerialisable
from hero_tracing.sdk import REGISTRY, bind_arguments, logic_meta


@logic(name="greeting", description="Greets.", inputs={"name": "string"},
       outputs={"message": "string"})
def greeting(name, greeting="Hello"):
    """Builds a greeting."""
    return {"message": f"{greeting}, {name}!"}


@logic
def bare(x):
    """Docstring as description."""
    return x * 2


@logic("positional_name")
def positional(x):
    return x


@flow(name="older", entry=True, tags=["kept"])
def older():
    return "old"


class Decorator(unittest.TestCase):
    def test_decorated_functions_are_plain_callables_outside_a_runner(self):
        self.assertEqual(greeting("Ada"), {"message": "Hello, Ada!"})
        self.assertEqual(greeting(name="Bo", greeting="Hi"), {"message": "Hi, Bo!"})
        self.assertEqual(bare(21), 42)
        self.assertEqual(older(), "old")

    def test_metadata_is_recorded(self):
        meta = logic_meta(greeting)
        self.assertEqual((meta.name, meta.description), ("greeting", "Greets."))
        self.assertEqual(meta.inputs, {"name": "string"})
        self.assertEqual(meta.outputs, {"message": "string"})
        self.assertEqual((logic_meta(bare).name, logic_meta(bare).description),
                         ("bare", "Docstring as description."))
        self.assertEqual(logic_meta(positional).name, "positional_name")
        self.assertIs(logic_meta(older).entry, True)
        self.assertEqual(logic_meta(older).extra, {"tags": ["kept"]})

    def test_wrapper_looks_like_the_function(self):
        self.assertEqual(greeting.__name__, "greeting")
        self.assertEqual(greeting.__doc__, "Builds a greeting.")
        self.assertTrue(callable(greeting.__wrapped__))

    def test_functions_are_registered_in_declaration_order(self):
        names = [logic_meta(f).name for f in globals()[REGISTRY]]
        self.assertEqual(names, ["greeting", "bare", "positional_name", "older"])

    def test_flow_is_logic_and_exceptions_are_shared(self):
        self.assertIs(flow, logic)
        self.assertIs(logic.Failed, Failed)
        self.assertIs(logic.ChildFailed, ChildFailed)
        self.assertEqual(str(Failed("msg")), "msg")
        self.assertEqual(str(ChildFailed("x", "bad")), "child logic 'x' failed: bad")

    def test_bad_decorator_arguments(self):
        with self.assertRaises(TypeError):
            logic(1, 2)
        with self.assertRaises(TypeError):
            logic("a", name="b")
        with self.assertRaises(TypeError):
            logic()(42)


class Calls(unittest.TestCase):
    def test_invoke_needs_a_runner(self):
        pattern = r"logic.invoke\('fib'\) needs the hero_logic runner"
        with self.assertRaisesRegex(RuntimeError, pattern):
            logic.invoke("fib", n=3)

    def test_log_outside_a_runner_goes_to_stderr_with_a_timestamp(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            logic.log("counted", 3, "words")
        self.assertRegex(err.getvalue(),
                         r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] counted 3 words\n$")

    def test_output_checks_json_at_once(self):
        logic.output({"a": 1}, b=[1, 2])
        with self.assertRaisesRegex(NotSerialisable, "^output field 'bad' "):
            logic.output(bad={1})
        with self.assertRaises(TypeError):
            logic.output([1])

    def test_record_stats_validates(self):
        logic.record_stats(prompt_tokens=10, completion_tokens=5, cost_usd=0.01)
        for bad in ({"prompt_tokens": -1}, {"completion_tokens": 1.5}, {"cost_usd": float("nan")},
                    {"prompt_tokens": True}):
            with self.assertRaises(ValueError):
                logic.record_stats(**bad)

    def test_pause_and_ask_user_need_a_runner_or_a_terminal(self):
        calls = [lambda: logic.pause("approve", ui={"kind": "confirm"}),
                 lambda: ask_user.text("Name?"), lambda: ask_user.number("How many?", integer=True),
                 lambda: ask_user.choice("Pick", ["a", "b"]),
                 lambda: ask_user.multi_choice("Pick some", ["a", "b"]),
                 lambda: ask_user.confirm("Sure?")]
        with mock.patch("sys.stdin", io.StringIO("")):
            for call in calls:
                with self.assertRaisesRegex(RuntimeError, "needs the hero_logic runner or a "
                                                          "terminal"):
                    call()


class Binding(unittest.TestCase):
    def test_positional_arguments_take_parameter_names(self):
        def f(a, b=2, *, c=3):
            return a
        self.assertEqual(bind_arguments(f, (1,), {"c": 4}, "f"), {"a": 1, "c": 4})
        self.assertEqual(bind_arguments(f, (), {"a": 1}, "f"), {"a": 1})

    def test_too_many_or_twice(self):
        def f(a):
            return a
        with self.assertRaisesRegex(TypeError, "pass a logic's inputs by name"):
            bind_arguments(f, (1, 2), {}, "f")
        with self.assertRaisesRegex(TypeError, "multiple values for argument 'a'"):
            bind_arguments(f, (1,), {"a": 2}, "f")


if __name__ == "__main__":
    unittest.main()
