"""What the daemon tells a runner about model endpoints and other services (stdlib only).

The daemon hands a runner, in its environment (see docs/protocol.md):

| variable | what |
|---|---|
| `HERO_LOGIC_MODEL_BASE_URL` | the OpenAI-compatible endpoint, up to `/v1` (`[models] base_url`) |
| `HERO_LOGIC_MODEL_KEY` | its API key, read by the daemon from the variable `[models] api_key_env` names |
| `HERO_LOGIC_MODEL_KEY_ENV` | the name of that variable, for messages |
| `HERO_LOGIC_MODEL_DEFAULT` | the model used when a caller names none |
| `HERO_LOGIC_MODELS_JSON` | the models table: `{"models": {name: {prompt_per_million, completion_per_million}}, "aliases": {alias: name}}` |
| `HERO_LOGIC_CATALOG_SOCKETS` | more JSON-RPC service sockets for `fetch_catalog`, `:`-separated |

The runner takes the key out of `os.environ` before any logic runs (`take_from_environ`), so a
body that prints its environment, and any process it starts, never sees it; the SDK keeps it
here and sends it only as the `Authorization` header of model requests. Outside a runner (a
headless script) the usual `OPENAI_API_KEY` / `OPENAI_BASE_URL` are used when the
`HERO_LOGIC_*` ones are absent.
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
