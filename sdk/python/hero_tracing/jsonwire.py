"""JSON as it crosses to the daemon: strict, compact, and the same on every run.

The daemon is Rust (serde_json): it rejects NaN/Infinity and lone surrogates, so everything sent
goes through the encoders here, bound once at import so a logic that patches the `json` module
cannot break the runner's own traffic.
"""

import json

from .errors import NotSerialisable

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True
)
_DECODER = json.JSONDecoder()
_ENCODE_ERRORS = (TypeError, ValueError, RecursionError)


def encode(value):
    """Compact JSON text of `value` (raises TypeError/ValueError for non-JSON values)."""
    return _ENCODER.encode(value)


def decode(text):
    """Parses JSON text."""
    return _DECODER.decode(text)


def to_line(message):
    """One wire line: UTF-8, newline-terminated; lone surrogates become '?' so serde accepts it."""
    return (_ENCODER.encode(message) + "\n").encode("utf-8", "replace")


def canonical_json(value):
    """Sorted keys, no spaces: the form the protocol hashes for step keys."""
    return _CANONICAL.encode(value)


def step_key(logic_name, n, args):
    """`<logic name>:<n>:<hash>` as the protocol defines it.

    The daemon computes the real keys; this mirrors the definition so tools and tests can
    predict them (floats may be spelled differently by Rust, so keep them out of such checks).
    """
    import hashlib  # only tools and tests need it; keeps OpenSSL out of the runner's start

    digest = hashlib.sha256(canonical_json(args).encode("utf-8")).hexdigest()
    return f"{logic_name}:{n}:{digest[:16]}"


def json_object(values, what="output", item="field"):
    """`values` (a dict with string keys) as it reads back from JSON.

    Round-tripping makes a first run see exactly what a replay will (tuples become lists),
    and checks serialisability; a failure names the offending entry, e.g.
    `output field 'x' is not JSON-serialisable: Object of type set is not JSON serializable`.
    """
    if not isinstance(values, dict):
        raise NotSerialisable(f"{what} must be a dict of {item}s, not {type(values).__name__}")
    for key in values:
        if not isinstance(key, str):
            raise NotSerialisable(f"{what} {item} name {key!r} is not a string")
    try:
        return _DECODER.decode(_ENCODER.encode(values))
    except _ENCODE_ERRORS as exc:
        raise NotSerialisable(_name_bad_entry(values, what, item, exc)) from None


def _name_bad_entry(values, what, item, whole_error):
    """Finds the first entry that does not encode, for a message that says where to look."""
    for key, value in values.items():
        try:
            _ENCODER.encode(value)
        except _ENCODE_ERRORS as exc:
            return f"{what} {item} {key!r} is not JSON-serialisable: {exc}"
    return f"{what} is not JSON-serialisable: {whole_error}"
