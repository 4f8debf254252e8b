"""What the daemon tells a runner about model endpoints and other services (stdlib only).

The daemon hands a runner, in its environment (see docs/protocol.md):

| variable | what |
|---|---|
| `HERO_LOGIC_MODEL_KEY_ENV` | the name of the daemon's variable holding the endpoint's key, for messages |
| `HERO_LOGIC_MODEL_DEFAULT` | the model used when a caller names none |
| `HERO_LOGIC_MODELS_JSON` | the models table: `{"models": {name: {prompt_per_million, completion_per_million}}, "aliases": {alias: name}}` |
| `HERO_LOGIC_CATALOG_SOCKETS` | more JSON-RPC service sockets for `fetch_catalog`, `:`-separated |

Never the endpoint's key nor its URL: in a runner `hero_tracing.llm.chat` asks the daemon to
make the call (`model_call`), so the key stays in the daemon. Outside a runner (a headless
script) the caller's own `HERO_LOGIC_MODEL_BASE_URL` / `HERO_LOGIC_MODEL_KEY`, else the usual
`OPENAI_BASE_URL` / `OPENAI_API_KEY`, are used. `take_from_environ` (the runner calls it
first) still moves a `HERO_LOGIC_MODEL_KEY` out of `os.environ`, should an environment carry
one, so a body and the processes it starts never see it.
"""

import os

ENV_BASE_URL = "HERO_LOGIC_MODEL_BASE_URL"
ENV_KEY = "HERO_LOGIC_MODEL_KEY"
ENV_KEY_ENV = "HERO_LOGIC_MODEL_KEY_ENV"
ENV_DEFAULT_MODEL = "HERO_LOGIC_MODEL_DEFAULT"
ENV_MODELS_JSON = "HERO_LOGIC_MODELS_JSON"
ENV_CATALOG_SOCKETS = "HERO_LOGIC_CATALOG_SOCKETS"

_state = {"taken": False, "key": None}


def take_from_environ(environ=None):
    """Moves the model key out of the environment into this module (the runner calls it once)."""
    environ = os.environ if environ is None else environ
    key = environ.pop(ENV_KEY, None)
    if not _state["taken"] or key:
        _state["key"] = key or None
    _state["taken"] = True


def model_key():
    """The API key for the model endpoint, or None when there is none."""
    if not _state["taken"]:
        # Not in a runner: a headless script's own environment.
        return os.environ.get(ENV_KEY) or os.environ.get("OPENAI_API_KEY") or None
    return _state["key"]


def base_url():
    """The OpenAI-compatible base URL (no trailing `/`), or "" when none is configured."""
    url = os.environ.get(ENV_BASE_URL) or ""
    if not url and not _state["taken"]:
        url = os.environ.get("OPENAI_BASE_URL") or ""
    return url.strip().rstrip("/")


def key_env_name():
    """The daemon's variable the key comes from (for messages)."""
    return os.environ.get(ENV_KEY_ENV) or "OPENAI_API_KEY"


def default_model():
    return (os.environ.get(ENV_DEFAULT_MODEL) or "").strip()


def catalog_sockets():
    """The extra JSON-RPC service sockets `fetch_catalog` describes besides the daemon's."""
    found = []
    for path in (os.environ.get(ENV_CATALOG_SOCKETS) or "").split(":"):
        path = path.strip()
        if path and path not in found:
            found.append(path)
    return found
