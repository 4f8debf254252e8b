"""Answers the person from what the agent's script printed, in a sentence or two.

With a successful run a model (through `model_call`) turns the script's output into the
answer; when every attempt failed, the summary says so with the last error, without a model.
"""

from hero_tracing import logic

SYSTEM = """You are the summarizer of hero_logic's service_agent. A script did the person's task
and printed the output below. Answer the person in one or two sentences, from that output only."""


@logic(
    name="summarize",
    description="Answers the person from the agent script's output, in a sentence or two.",
    inputs={
        "prompt": {"type": "string", "description": "The task.", "required": True},
        "output": {"type": "string", "description": "What the script printed.", "default": ""},
        "ok": {"type": "boolean", "description": "Whether the last attempt worked.", "default": True},
        "attempts": {"type": "integer", "description": "Attempts made.", "default": 1},
        "error": {"type": "string", "description": "The last attempt's error output.", "default": ""},
        "model": {"type": "string", "description": "Model for model_call; empty for the default.",
                  "default": ""},
    },
    outputs={"summary": {"type": "string", "description": "The answer, for a person."}},
)
def summarize(prompt: str, output: str = "", ok: bool = True, attempts: int = 1, error: str = "",
              model: str = "") -> dict:
    if not ok:
        last = (error.strip().splitlines() or ["no error output"])[-1]
        return {"summary": f"The agent could not do this in {attempts} attempt"
                           f"{'s' if attempts != 1 else ''}; the last one failed with: {last}"}
    reply = logic.invoke("model_call", model=model, temperature=0, messages=[
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Task: {prompt}\n\nOutput:\n{output.strip() or '(nothing)'}"},
    ])
    return {"summary": reply["content"].strip()}
