"""Chat completions against an OpenAI-compatible endpoint, over urllib (stdlib only).

    from hero_tracing import llm
    response = llm.chat("gpt-4o-mini", [{"role": "user", "content": "Say hi"}])
    print(llm.content_of(response))

Inside the daemon's runner the endpoint and its key come from the daemon's configuration
(`[models]` in service.toml; the key from the environment variable `api_key_env` names), handed
to the runner without being stored anywhere (`hero_tracing.settings`). The response's `usage`
is priced from the models table and added to the Play whose body called `chat`
(`hero_tracing.pricing`). The `model_call` seed logic wraps this as a Logic of its own, so each
model call is a child Play with its own tokens and cost.
"""

from . import pricing, settings
from .client import HttpError, decode_json, exchange

DEFAULT_TIMEOUT_S = 120.0


class ModelNotConfigured(RuntimeError):
    """No endpoint (or no model) is configured; the message says which setting to set."""


class ModelError(RuntimeError):
    """The endpoint refused the request or answered something that is not a completion."""

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


def endpoint():
    """`(base_url, key)` in use; raises ModelNotConfigured when there is no base URL."""
    base_url = settings.base_url()
    if not base_url:
        raise ModelNotConfigured(
            "no model endpoint is configured: set `base_url` under [models] in service.toml "
            "(an OpenAI-compatible URL up to /v1, e.g. https://api.openai.com/v1), or "
            "HERO_LOGIC_MODEL_BASE_URL in the daemon's environment, and restart the daemon; the "
            f"API key goes in the daemon's environment variable {settings.key_env_name()}"
        )
    return base_url, settings.model_key()


def pick_model(model):
    """`model`, else the configured default; raises ModelNotConfigured when neither is set."""
    chosen = (model or "").strip() if isinstance(model, str) else model
    if chosen:
        return chosen
    default = settings.default_model()
    if default:
        return default
    raise ModelNotConfigured(
        "no model given and no default model configured: pass a model, or set `default_model` "
        "under [models] in service.toml (or HERO_LOGIC_MODEL_DEFAULT in the daemon's "
        "environment)"
    )


def chat(model, messages, *, temperature=None, max_tokens=None, base_url=None, api_key=None,
         timeout=DEFAULT_TIMEOUT_S, **options):
    """One chat completion (`POST <base_url>/chat/completions`); returns the response dict.

    `messages` is the OpenAI list of `{"role", "content"}`; `options` go into the request as
    they are (`response_format`, `stop`, `seed`, ...). The response's usage is added to the
    current Play. Raises ModelNotConfigured, ModelError (HTTP error or no choices),
    ConnectionError, TimeoutError. The key never appears in an error message.
    """
    if not isinstance(messages, list) or not messages:
        raise TypeError("messages must be a non-empty list of {'role': ..., 'content': ...}")
    if base_url is None:
        base_url, key = endpoint()
    else:
        key = settings.model_key()
    model = pick_model(model)
    key = api_key if api_key is not None else key
    body = dict(options, model=model, messages=messages)
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = base_url.rstrip("/") + "/chat/completions"
    try:
        _, raw = exchange("POST", url, body, headers=headers, timeout=timeout, redact=(key,))
    except HttpError as exc:
        hint = ""
        if exc.status in (401, 403) and not key:
            hint = (f" (no API key was sent: set {settings.key_env_name()} in the daemon's "
                    "environment and restart it)")
        raise ModelError(f"the model endpoint answered HTTP {exc.status} for model {model!r}: "
                         f"{exc.message}{hint}", exc.status, exc.body) from None
    try:
        response = decode_json(raw, "the model endpoint")
    except ValueError as exc:
        raise ModelError(str(exc).replace(key, "***") if key else str(exc)) from None
    if not isinstance(response, dict):
        raise ModelError(f"the model endpoint answered {type(response).__name__}, not an object")
    pricing.trace(response, model)
    if not isinstance(response.get("choices"), list) or not response["choices"]:
        error = response.get("error")
        detail = error.get("message") if isinstance(error, dict) else error
        raise ModelError(f"the model endpoint's answer has no choices"
                         f"{': ' + str(detail) if detail else ''}", None, response)
    return response


def content_of(response):
    """The text of the first choice ("" when the model returned none)."""
    try:
        message = response["choices"][0].get("message") or {}
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def usage_of(response):
    """`{"prompt_tokens", "completion_tokens", "total_tokens"}` of a response (0s when absent)."""
    found = pricing.usage_of(response)
    prompt, completion = (found[0], found[1]) if found else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}
