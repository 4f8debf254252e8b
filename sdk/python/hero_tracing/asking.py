"""Questions to a person: `ask_user.*`, the checks of `logic.pause`, and the terminal fallback.

Each `ask_user.<kind>` builds the form (`ui`: kind, prompt, options and hints) and the JSON
schema of the answer, calls `logic.pause`, and returns the answer as a Python value of the
kind's type. Everything that can be wrong with a question is checked here, before anything is
sent, so a mistake fails at the line that asked and never reaches the daemon.

Outside a runner (a logic tried as a plain `python file.py`) the question is asked on the
terminal with `input()` when stdin is one; with no terminal there is nobody to ask, and
`logic.pause` raises RuntimeError.
"""

import math
import sys

from .jsonwire import decode, json_object

KINDS = ("text", "number", "choice", "multi_choice", "confirm")
_YES = ("y", "yes", "true", "1")
_NO = ("n", "no", "false", "0")


# -- logic.pause ------------------------------------------------------------------------------


def pause_request(name, ui, schema):
    """`(name, ui, schema)` as `pause` sends them; raises TypeError/ValueError when unfit.

    `ui` gets `kind` ("text"), `prompt` (the name) and `options` ([]) when it lacks them;
    both dicts are JSON round-tripped (NotSerialisable, a TypeError, names a bad field).
    """
    if not isinstance(name, str):
        raise TypeError(f"a pause's name must be a string, not {type(name).__name__}")
    if not name.strip():
        raise ValueError("a pause's name is empty: name the question, e.g. 'approve'")
    if ui is None:
        ui = {}
    if not isinstance(ui, dict):
        raise TypeError(f"pause {name!r}: ui must be a dict, not {type(ui).__name__}")
    ui = dict(ui)
    ui.setdefault("kind", "text")
    ui.setdefault("prompt", name)
    ui.setdefault("options", [])
    if not isinstance(ui["kind"], str) or not ui["kind"]:
        raise TypeError(f"pause {name!r}: ui kind must be one of {', '.join(KINDS)}, "
                        f"not {ui['kind']!r}")
    if not isinstance(ui["prompt"], str):
        raise TypeError(f"pause {name!r}: ui prompt must be a string, "
                        f"not {type(ui['prompt']).__name__}")
    if schema is None:
        schema = {}
    if not isinstance(schema, dict):
        raise TypeError(f"pause {name!r}: schema must be a dict (a JSON schema), "
                        f"not {type(schema).__name__}")
    return (name, json_object(ui, f"pause {name!r} ui"),
            json_object(schema, f"pause {name!r} schema", "keyword"))


# -- ask_user ---------------------------------------------------------------------------------


class AskUser:
    """`ask_user.*`: typed questions to a person, each a `logic.pause` with a form.

    `name` (default: the kind, e.g. "confirm") names the question; the daemon tells repeated
    names apart by their order, so a loop of `ask_user.number(...)` needs no names.
    """

    def __init__(self, owner):
        self._logic = owner

    def __repr__(self):
        return "<hero_tracing.ask_user>"

    def _ask(self, kind, name, prompt, options, schema, hints):
        _check_prompt(kind, prompt)
        ui = {"kind": kind, "prompt": prompt, "options": options}
        ui.update((key, value) for key, value in hints.items() if value is not None)
        return self._logic.pause(kind if name is None else name, ui=ui, schema=schema)

    def text(self, prompt, *, name=None, default=None, placeholder=None, multiline=False):
        """A free-text answer (str). `multiline` asks for a text area."""
        _check_type(default, str, "text", "default")
        _check_type(placeholder, str, "text", "placeholder")
        answer = self._ask("text", name, prompt, [], {"type": "string"},
                           {"default": default, "placeholder": placeholder,
                            "multiline": bool(multiline)})
        return as_text(answer, name or "text")

    def number(self, prompt, *, name=None, default=None, min=None, max=None,  # noqa: A002
               integer=False):
        """A number, between `min` and `max` when given: an int when `integer`, else the
        number as given (an int or a float)."""
        for what, value in (("default", default), ("min", min), ("max", max)):
            _check_number(value, what)
        if min is not None and max is not None and min > max:
            raise ValueError(f"ask_user.number: min ({min}) is greater than max ({max})")
        if integer and default is not None and default != int(default):
            raise ValueError(f"ask_user.number: default {default!r} is not a whole number")
        schema = {"type": "integer" if integer else "number"}
        if min is not None:
            schema["minimum"] = min
        if max is not None:
            schema["maximum"] = max
        answer = self._ask("number", name, prompt, [], schema,
                           {"default": default, "min": min, "max": max,
                            "integer": bool(integer)})
        return as_number(answer, name or "number", bool(integer))

    def choice(self, prompt, options, *, name=None, default=None):
        """One of `options` (a non-empty list of strings): the chosen string."""
        options = _check_options("choice", options)
        if default is not None and default not in options:
            raise ValueError(f"ask_user.choice: default {default!r} is not one of the options "
                             f"{options}")
        answer = self._ask("choice", name, prompt, options,
                           {"type": "string", "enum": options}, {"default": default})
        return as_choice(answer, name or "choice", options)

    def multi_choice(self, prompt, options, *, name=None, min=None, max=None):  # noqa: A002
        """Any subset of `options`, at least `min` and at most `max` of them: a list of the
        chosen strings."""
        options = _check_options("multi_choice", options)
        for what, value in (("min", min), ("max", max)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):
                raise TypeError(f"ask_user.multi_choice: {what} must be a whole number >= 0, "
                                f"not {value!r}")
        if min is not None and min > len(options):
            raise ValueError(f"ask_user.multi_choice: min ({min}) is more than the "
                             f"{len(options)} options")
        if min is not None and max is not None and min > max:
            raise ValueError(f"ask_user.multi_choice: min ({min}) is greater than max ({max})")
        schema = {"type": "array", "items": {"type": "string", "enum": options},
                  "uniqueItems": True}
        if min is not None:
            schema["minItems"] = min
        if max is not None:
            schema["maxItems"] = max
        answer = self._ask("multi_choice", name, prompt, options, schema,
                           {"min": min, "max": max})
        return as_choices(answer, name or "multi_choice", options)

    def confirm(self, prompt, *, name=None, default=None):
        """Yes or no (bool)."""
        _check_type(default, bool, "confirm", "default")
        answer = self._ask("confirm", name, prompt, [], {"type": "boolean"},
                           {"default": default})
        return as_bool(answer, name or "confirm")


def _check_prompt(kind, prompt):
    if not isinstance(prompt, str):
        raise TypeError(f"ask_user.{kind}: the prompt must be a string, "
                        f"not {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError(f"ask_user.{kind}: the prompt is empty: say what you ask")


def _check_type(value, wanted, kind, what):
    if value is not None and not isinstance(value, wanted):
        raise TypeError(f"ask_user.{kind}: {what} must be a {wanted.__name__}, "
                        f"not {type(value).__name__}")


def _check_number(value, what):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"ask_user.number: {what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"ask_user.number: {what} must be finite, not {value!r}")


def _check_options(kind, options):
    """A list copy of `options`; TypeError unless a non-empty list (or tuple) of distinct
    strings. Sets and other unordered or one-shot iterables are refused: the form must show
    the same options in the same order on every run."""
    if not isinstance(options, (list, tuple)):
        raise TypeError(f"ask_user.{kind}: options must be a non-empty list of strings, "
                        f"not {type(options).__name__}")
    if not options:
        raise TypeError(f"ask_user.{kind}: options is empty: give at least one option")
    for option in options:
        if not isinstance(option, str):
            raise TypeError(f"ask_user.{kind}: options must be strings, got {option!r} "
                            f"({type(option).__name__})")
    if len(set(options)) != len(options):
        twice = sorted({o for o in options if options.count(o) > 1})
        raise TypeError(f"ask_user.{kind}: options must be distinct, {twice[0]!r} is there "
                        "more than once")
    return list(options)


# -- typed answers ----------------------------------------------------------------------------
#
# The daemon checks an answer against the schema when it is given, so these mostly confirm
# what is there; a form may still deliver a number or a yes/no as text, which is accepted.


def _wrong(name, wanted, answer):
    return TypeError(f"the answer to {name!r} is not {wanted}: {answer!r}")


def as_text(answer, name):
    if not isinstance(answer, str):
        raise _wrong(name, "a string", answer)
    return answer


def as_number(answer, name, integer):
    value = answer
    if isinstance(value, str):
        value = _parse_number(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise _wrong(name, "a number", answer)
    if integer:
        if value != int(value):
            raise _wrong(name, "a whole number", answer)
        return int(value)
    return value


def as_bool(answer, name):
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, str) and answer.strip().lower() in _YES + _NO:
        return answer.strip().lower() in _YES
    if isinstance(answer, int) and answer in (0, 1):
        return bool(answer)
    raise _wrong(name, "yes or no (a boolean)", answer)


def as_choice(answer, name, options):
    if not isinstance(answer, str):
        raise _wrong(name, "a string", answer)
    if answer not in options:
        raise ValueError(f"the answer to {name!r} is {answer!r}, not one of {options}")
    return answer


def as_choices(answer, name, options):
    if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
        raise _wrong(name, "a list of strings", answer)
    unknown = [a for a in answer if a not in options]
    if unknown:
        raise ValueError(f"the answer to {name!r} has {unknown[0]!r}, not one of {options}")
    return list(answer)


def _parse_number(text):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


# -- on the terminal --------------------------------------------------------------------------


def terminal_available():
    """Whether a person can answer here: stdin is a terminal."""
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def ask_on_terminal(name, ui, schema, read=None):
    """Asks `ui`'s question on the terminal until the answer fits; returns it.

    Raises RuntimeError when stdin is not a terminal, or closes before an answer.
    """
    if not terminal_available():
        raise RuntimeError(
            f"the question {name!r} (logic.pause/ask_user) needs the hero_logic runner or a "
            "terminal: start the logic with `hero_logic run` or play_start and answer it with "
            "play_resume, or run this file from a terminal to answer it on stdin"
        )
    read = read or input
    out = sys.stdout
    out.write(f"[{name}] {ui.get('prompt') or name}\n")
    options = ui.get("options") or []
    for number, option in enumerate(options, 1):
        out.write(f"  {number}) {option}\n")
    hint = _answer_hint(ui, schema)
    while True:
        try:
            text = read(f"{hint}> ")
        except EOFError:
            raise RuntimeError(f"no answer to {name!r}: stdin closed") from None
        try:
            return parse_answer(text, ui, schema)
        except ValueError as exc:
            out.write(f"  {exc}; try again\n")


def _answer_hint(ui, schema):
    kind = ui.get("kind")
    default = ui.get("default")
    if kind == "confirm":
        hint = "[Y/n]" if default is True else "[y/N]" if default is False else "[y/n]"
        return hint + " "
    parts = []
    if kind == "multi_choice":
        parts.append("numbers or options, comma-separated")
    elif kind == "choice":
        parts.append("number or option")
    low, high = _bounds(ui, schema)
    if kind == "number" and (low is not None or high is not None):
        parts.append(f"{'' if low is None else low}..{'' if high is None else high}")
    if default is not None:
        parts.append(f"default {default}")
    return f"({', '.join(parts)}) " if parts else ""


def _bounds(ui, schema):
    low = ui.get("min", schema.get("minimum", schema.get("minItems")))
    high = ui.get("max", schema.get("maximum", schema.get("maxItems")))
    return low, high


def parse_answer(text, ui, schema):
    """The typed answer a person typed; ValueError (shown to them) when it does not fit."""
    text = text.strip()
    if not text and ui.get("default") is not None:
        return ui["default"]
    kind = ui.get("kind")
    wanted = schema.get("type")
    if kind == "confirm" or (kind not in KINDS and wanted == "boolean"):
        if text.lower() in _YES + _NO:
            return text.lower() in _YES
        raise ValueError("answer y or n")
    if kind == "number" or (kind not in KINDS and wanted in ("number", "integer")):
        return _parse_bounded_number(text, ui, schema)
    if kind == "choice":
        return _pick(text, ui.get("options") or [])
    if kind == "multi_choice":
        return _pick_many(text, ui, schema)
    if kind == "text" or wanted == "string":
        return text
    try:
        return decode(text)
    except ValueError:
        return text


def _parse_bounded_number(text, ui, schema):
    value = _parse_number(text)
    if value is None or not math.isfinite(value):
        raise ValueError(f"{text!r} is not a number")
    if (ui.get("integer") or schema.get("type") == "integer") and value != int(value):
        raise ValueError(f"{text} is not a whole number")
    if isinstance(value, float) and value == int(value) and \
            (ui.get("integer") or schema.get("type") == "integer"):
        value = int(value)
    low, high = _bounds(ui, schema)
    if low is not None and value < low:
        raise ValueError(f"{value} is less than {low}")
    if high is not None and value > high:
        raise ValueError(f"{value} is more than {high}")
    return value


def _pick(text, options):
    if text in options:
        return text
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    raise ValueError(f"{text!r} is not one of the options (type its number or its text)")


def _pick_many(text, ui, schema):
    options = ui.get("options") or []
    chosen = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            option = _pick(part, options)
            if option not in chosen:
                chosen.append(option)
    low, high = _bounds(ui, schema)
    if low is not None and len(chosen) < low:
        raise ValueError(f"choose at least {low}")
    if high is not None and len(chosen) > high:
        raise ValueError(f"choose at most {high}")
    return chosen
