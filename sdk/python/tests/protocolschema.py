"""Checks runner protocol lines against schemas/runner-protocol.json (generated from the
daemon's Rust types), so the SDK's tests hold the runner to the daemon's definition.

A small JSON Schema checker for the keywords that schema uses; a keyword it does not know
is an error, so the schema cannot grow past what is checked without this saying so.
"""

import json
import os

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "..", "..", "schemas", "runner-protocol.json")
# Keywords that say nothing about validity.
_ANNOTATIONS = {"$schema", "title", "description", "default", "format", "examples"}
_CHECKED = {"$ref", "$defs", "oneOf", "anyOf", "const", "enum", "type", "properties",
            "required", "additionalProperties", "items", "minimum", "maximum"}


class SchemaError(AssertionError):
    """A line does not fit the protocol."""


def _load():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


SCHEMA = _load()


def check_runner_line(message):
    """Raises SchemaError unless `message` is a line a runner may send."""
    _check_root(message, SCHEMA["properties"]["runner_line"], "runner line")


def check_daemon_line(message):
    """Raises SchemaError unless `message` is a line the daemon may answer."""
    _check_root(message, SCHEMA["properties"]["daemon_line"], "daemon line")


def _check_root(message, schema, what):
    problems = _problems(message, schema, "$")
    if problems:
        raise SchemaError(f"{what} does not fit schemas/runner-protocol.json: "
                          f"{'; '.join(problems)}\n{json.dumps(message)[:500]}")


def _resolve(ref):
    if not ref.startswith("#/"):
        raise SchemaError(f"unsupported $ref {ref!r}")
    node = SCHEMA
    for part in ref[2:].split("/"):
        node = node[part]
    return node


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _problems(value, schema, path):
    """Why `value` does not fit `schema`: an empty list when it does."""
    if schema is True:
        return []
    if schema is False:
        return [f"{path}: nothing is allowed here"]
    unknown = set(schema) - _CHECKED - _ANNOTATIONS
    if unknown:
        raise SchemaError(f"the checker does not know the keywords {sorted(unknown)}")
    problems = []
    if "$ref" in schema:
        problems += _problems(value, _resolve(schema["$ref"]), path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return problems + [f"{path}: expected {' or '.join(types)}, got {_kind(value)}"]
    if "const" in schema and not _same(value, schema["const"]):
        problems.append(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        problems.append(f"{path}: {value} is below {schema['minimum']}")
    if "maximum" in schema and _TYPES["number"](value) and value > schema["maximum"]:
        problems.append(f"{path}: {value} is above {schema['maximum']}")
    if isinstance(value, dict):
        problems += _object_problems(value, schema, path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += _problems(item, schema["items"], f"{path}[{i}]")
    if "anyOf" in schema:
        if all(_problems(value, s, path) for s in schema["anyOf"]):
            problems.append(f"{path}: fits none of the anyOf alternatives")
    if "oneOf" in schema:
        results = [_problems(value, s, path) for s in schema["oneOf"]]
        fits = [r for r in results if not r]
        if len(fits) != 1:
            # Name the alternative that came closest, for a message that says what is wrong.
            closest = min(results, key=len) if not fits else []
            problems.append(f"{path}: fits {len(fits)} of the oneOf alternatives, not 1"
                            + (f" (closest: {'; '.join(closest)})" if closest else ""))
    return problems


def _object_problems(value, schema, path):
    problems = []
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            problems.append(f"{path}: missing field {name!r}")
    for name, item in value.items():
        if name in properties:
            problems += _problems(item, properties[name], f"{path}.{name}")
        elif schema.get("additionalProperties", True) is False:
            problems.append(f"{path}: unknown field {name!r}")
        elif isinstance(schema.get("additionalProperties"), dict):
            problems += _problems(item, schema["additionalProperties"], f"{path}.{name}")
    return problems


def _same(a, b):
    # JSON equality: True is not 1.
    return type(a) is type(b) and a == b or (_TYPES["number"](a) and _TYPES["number"](b) and a == b)


def _kind(value):
    for name, test in _TYPES.items():
        if name != "number" and test(value):
            return name
    return "number" if _TYPES["number"](value) else type(value).__name__
