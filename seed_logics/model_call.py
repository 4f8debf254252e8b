"""One chat completion against the configured OpenAI-compatible endpoint.

The endpoint and its key come from the daemon (`[models]` in service.toml; the key from the
environment variable `api_key_env` names) and never appear in this Play's inputs, outputs or
logs. The response's tokens, priced from the models table, are added to this Play; whoever
called it sees them rolled up. Without an endpoint the Play fails saying which setting to set.
"""

from hero_tracing import llm, logic, pricing


@logic(
    name="model_call",
    # Model calls reach the endpoint over the network (until the daemon makes them).
    network=True,
    description="One chat completion against the configured OpenAI-compatible model endpoint; "
                "its tokens and cost land on this Play.",
    inputs={
        "model": {
            "type": "string",
            "description": "Model name (an alias works); empty for [models] default_model.",
            "default": "",
        },
        "messages": {
            "type": "array",
            "description": "The chat so far: [{\"role\": \"system\" | \"user\" | \"assistant\", "
                           "\"content\": \"...\"}, ...].",
            "required": True,
        },
        "temperature": {"type": "number", "description": "Sampling temperature.", "default": None},
        "max_tokens": {"type": "integer", "description": "Longest answer, in tokens.", "default": None},
    },
    outputs={
        "content": {"type": "string", "description": "The model's answer."},
        "usage": {
            "type": "object",
            "description": "{prompt_tokens, completion_tokens, total_tokens, cost_usd}.",
        },
        "model": {"type": "string", "description": "The model that answered."},
    },
)
def model_call(messages: list, model: str = "", temperature=None, max_tokens=None) -> dict:
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) \
                or "content" not in message:
            raise logic.Failed(f"messages[{index}] must be an object with a role and content")
    try:
        response = llm.chat(model, messages, temperature=temperature, max_tokens=max_tokens)
    except llm.ModelNotConfigured as exc:
        raise logic.Failed(str(exc)) from None
    except (llm.ModelError, ConnectionError, TimeoutError) as exc:
        raise logic.Failed(f"the model call failed: {exc}") from None
    spent = pricing.price(response, llm.pick_model(model)) or {}
    usage = llm.usage_of(response)
    usage["cost_usd"] = spent.get("cost_usd", 0.0)
    answered_by = response.get("model") or llm.pick_model(model)
    logic.log(f"{answered_by}: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} "
              f"completion tokens, ${usage['cost_usd']:.6f}")
    return {"content": llm.content_of(response), "usage": usage, "model": answered_by}
