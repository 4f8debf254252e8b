"""One chat completion against the configured OpenAI-compatible endpoint.

The daemon makes the call (`model_call` over this Play's channel) with the endpoint of
`[models]` in service.toml and the key from its own environment (the variable `api_key_env`
names): the key never reaches this process, nor this Play's inputs, outputs or logs. The
daemon prices the answer's tokens with its models table and records them on this Play (the
line it adds to the logs says so); whoever called it sees them rolled up. Without an endpoint
the Play fails saying which setting to set.
"""

from hero_tracing import llm, logic


@logic(
    name="model_call",
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
        response, spent = llm.chat_with_usage(model, messages, temperature=temperature,
                                              max_tokens=max_tokens)
    except llm.ModelNotConfigured as exc:
        raise logic.Failed(str(exc)) from None
    except (llm.ModelError, ConnectionError, TimeoutError) as exc:
        raise logic.Failed(f"the model call failed: {exc}") from None
    usage = {name: spent[name] for name in
             ("prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")}
    answered_by = response.get("model") or spent.get("model") or model
    return {"content": llm.content_of(response), "usage": usage, "model": answered_by}
