"""Transport-level auto-trace: model usage in JSON responses, priced and added to the Play.

Every JSON response that passes through the SDK's transports (`hero_tracing.client`,
`hero_tracing.llm.chat`) goes through `trace(document)`. When it carries
`usage.prompt_tokens` / `usage.completion_tokens` (the OpenAI shape; for a JSON-RPC answer,
inside `result`), the tokens are priced from the models table and added to the totals of the
Play whose body is running now, never to its parent (ancestors see them rolled up on read).
Nothing else is stored per call.

A model the table does not know still has its tokens counted, at cost 0, and the Play's logs
say, once per model and Play, that the model has no price.

The table comes from the daemon (`HERO_LOGIC_MODELS_JSON`, the merged shipped and user
`models.toml`); `set_table` replaces it (tests, headless scripts that fetched
`LogicService.models_config`).
"""

import json
import math
import os
import re
import threading

from .context import active_runtime, current_frame
from .results import timestamp

_lock = threading.Lock()
_state = {"table": None}
# (play sid, model) pairs already told they have no price.
_warned = set()
_DATED = (re.compile(r"^(.+)-\d{4}-\d{2}-\d{2}$"), re.compile(r"^(.+)-\d{8}$"))


def set_table(table):
    """Uses `table` ({"models": {name: {...}}, "aliases": {alias: name}}, the shape of
    `LogicService.models_config`) from now on; None goes back to the daemon's."""
    with _lock:
        _state["table"] = _normalise(table) if table is not None else None


def table():
    """The models table in use (loaded from the daemon's environment at first use)."""
    with _lock:
        if _state["table"] is None:
            _state["table"] = _normalise(_from_environment())
        return _state["table"]


def _from_environment():
    text = os.environ.get("HERO_LOGIC_MODELS_JSON") or ""
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _normalise(raw):
    models, aliases = {}, {}
    raw = raw if isinstance(raw, dict) else {}
    for name, price in (raw.get("models") or {}).items():
        if not isinstance(price, dict):
            continue
        try:
            prompt = float(price.get("prompt_per_million", 0) or 0)
            completion = float(price.get("completion_per_million", 0) or 0)
        except (TypeError, ValueError):
            continue
        models[str(name)] = (prompt, completion)
        for alias in price.get("aliases") or ():
            aliases.setdefault(str(alias).strip().lower(), str(name))
    for alias, name in (raw.get("aliases") or {}).items():
        aliases[str(alias).strip().lower()] = str(name)
    lowered = {name.lower(): name for name in models}
    return {"models": models, "aliases": aliases, "lowered": lowered}


def resolve(model):
    """The table's name for `model` and its (prompt, completion) price per million tokens, or
    None: the exact name, an alias, then the name without a date suffix, case-insensitively."""
    if not isinstance(model, str) or not model.strip():
        return None
    current = table()
    wanted = model.strip().lower()
    candidates = [wanted] + [m.group(1) for m in (p.match(wanted) for p in _DATED) if m]
    for key in candidates:
        name = current["lowered"].get(key)
        if name is None:
            target = current["aliases"].get(key)
            name = target if target in current["models"] else None
        if name is not None:
            return name, current["models"][name]
    return None


def cost(model, prompt_tokens, completion_tokens):
    """US dollars for these tokens of `model`, or None when the table has no price for it."""
    found = resolve(model)
    if found is None:
        return None
    _, (prompt, completion) = found
    return (prompt_tokens * prompt + completion_tokens * completion) / 1_000_000


def usage_of(document):
    """`(prompt_tokens, completion_tokens, model)` of a response, or None when it has no usage.

    Looks at `document.usage`, then (a JSON-RPC answer) `document.result.usage`; the model is
    the `model` next to that usage ("" when absent).
    """
    for holder in (document, document.get("result") if isinstance(document, dict) else None):
        if not isinstance(holder, dict):
            continue
        usage = holder.get("usage")
        if not isinstance(usage, dict):
            continue
        prompt = _count(usage.get("prompt_tokens"))
        completion = _count(usage.get("completion_tokens"))
        if prompt is None and completion is None:
            continue
        model = holder.get("model")
        return prompt or 0, completion or 0, model if isinstance(model, str) else ""
    return None


def _count(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return max(0, int(value))


def price(document, requested_model=""):
    """What a response's usage costs, without recording it: None when it has no usage, else
    `{"prompt_tokens", "completion_tokens", "cost_usd", "model", "priced"}`. The price is
    looked up by the response's model, then by `requested_model`."""
    found = usage_of(document)
    if found is None:
        return None
    prompt, completion, model = found
    name, spent = model or requested_model or "", None
    for candidate in (model, requested_model):
        spent = cost(candidate, prompt, completion) if candidate else None
        if spent is not None:
            name = candidate
            break
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "cost_usd": spent or 0.0, "model": name, "priced": spent is not None}


def trace(document, requested_model=""):
    """Adds the usage a response carries to the current Play; returns what was added.

    The result is what `price` says (None when the response has no usage). Outside a runner
    nothing is sent anywhere.
    """
    record = price(document, requested_model)
    if record is None:
        return None
    runtime = active_runtime()
    if runtime is not None:
        runtime.stats(record["prompt_tokens"], record["completion_tokens"],
                      float(record["cost_usd"]))
        if not record["priced"]:
            _warn_unpriced(runtime, record["model"], record["prompt_tokens"],
                           record["completion_tokens"])
    return record


def _warn_unpriced(runtime, model, prompt, completion):
    frame = current_frame()
    key = (getattr(frame, "play_sid", ""), model)
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    shown = repr(model) if model else "(the response names no model)"
    runtime.log(
        f"[{timestamp()}] model {shown} has no price in the models table: its tokens are "
        f"counted ({prompt} prompt + {completion} completion) at cost 0; add it to "
        "<data dir>/models.toml to price it\n"
    )
