"""Chat completions against an OpenAI-compatible endpoint, over urllib (stdlib only).

    from hero_tracing import llm
    response = llm.chat("gpt-4o-mini", [{"role": "user", "content": "Say hi"}])
    print(llm.content_of(response))

Inside the daemon's runner the call goes over the Play's channel (`model_call`,
docs/protocol.md): the daemon calls its configured endpoint (`[models]` in service.toml) with
the key from its own environment, which the runner never sees, and records the answer's tokens
and cost, priced with its models table, on the Play whose body called `chat`. This works in a
sandbox without network. Outside a runner (a plain script) `chat` calls the endpoint itself with
the caller's own key (`OPENAI_API_KEY` / `OPENAI_BASE_URL`, or `base_url=` / `api_key=`). The
`model_call` seed logic wraps this as a Logic of its own, so each model call is a child Play
with its own tokens and cost.
"""

from . import pricing, settings
from .channel import DaemonError
from .client import HttpError, decode_json, exchange
from .context import active_runtime, current_frame

DEFAULT_TIMEOUT_S = 120.0

# The OpenAI chat parameters `model_call` carries besides model and messages (the daemon
# refuses any other field).
DAEMON_OPTIONS = ("temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty",
                  "frequency_penalty", "response_format", "tools", "tool_choice")


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
    they are (`response_format`, `stop`, `seed`, ...; in a Play those of DAEMON_OPTIONS). The
    response's usage is added to the current Play. Raises ModelNotConfigured, ModelError (HTTP
    error or no choices), ConnectionError, TimeoutError. The key never appears in an error
    message.
    """
    return chat_with_usage(model, messages, temperature=temperature, max_tokens=max_tokens,
                           base_url=base_url, api_key=api_key, timeout=timeout, **options)[0]


def chat_with_usage(model, messages, *, temperature=None, max_tokens=None, base_url=None,
                    api_key=None, timeout=DEFAULT_TIMEOUT_S, **options):
    """`chat`, and what the call cost: `(response, usage)`, usage being `{"prompt_tokens",
    "completion_tokens", "total_tokens", "cost_usd", "model", "priced"}`.

    In a Play (and without `base_url=` / `api_key=` of the caller's own) the daemon makes the
    call and `usage` is what it recorded on this Play; otherwise it is priced here.
    """
    if not isinstance(messages, list) or not messages:
        raise TypeError("messages must be a non-empty list of {'role': ..., 'content': ...}")
    runtime = active_runtime()
    if runtime is not None and base_url is None and api_key is None:
        return _through_daemon(runtime, model, messages,
                               dict(options, temperature=temperature, max_tokens=max_tokens))
    response = _direct(model, messages, temperature, max_tokens, base_url, api_key, timeout,
                       options)
    spent = pricing.price(response, pick_model(model)) or {}
    usage = usage_of(response)
    usage.update(cost_usd=spent.get("cost_usd", 0.0), model=spent.get("model", ""),
                 priced=spent.get("priced", False))
    return response, usage


def _through_daemon(runtime, model, messages, options):
    """`model_call` over the Play's channel: the daemon holds the key and records the cost."""
    unknown = sorted(set(options) - set(DAEMON_OPTIONS))
    if unknown:
        raise TypeError(f"llm.chat in a Play passes only {', '.join(DAEMON_OPTIONS)} to the "
                        f"model; not {', '.join(unknown)}")
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model must be a string, got {type(model).__name__}")
    fields = {name: value for name, value in options.items() if value is not None}
    try:
        reply = runtime.channel.request("model_call", play_sid=current_frame().play_sid,
                                        model=(model or "").strip(), messages=messages, **fields)
    except DaemonError as exc:
        if exc.kind == "not_configured":
            raise ModelNotConfigured(exc.message) from None
        error = exc.response.get("error") or {}
        raise ModelError(exc.message, error.get("status"), error.get("body")) from None
    response, recorded = reply.get("response"), reply.get("usage") or {}
    if not isinstance(response, dict):
        raise ModelError("the daemon's answer to model_call carries no response")
    prompt = int(recorded.get("prompt_tokens") or 0)
    completion = int(recorded.get("completion_tokens") or 0)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion,
             "cost_usd": float(recorded.get("cost_usd") or 0.0),
             "model": str(recorded.get("model") or ""), "priced": bool(recorded.get("priced"))}
    return response, usage


def _direct(model, messages, temperature, max_tokens, base_url, api_key, timeout, options):
    """The call made from this process, with the caller's own endpoint and key."""
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
            hint = (f" (no API key was sent: set {settings.key_env_name()} in this "
                    "program's environment, or pass api_key=)")
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
