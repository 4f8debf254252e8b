"""Says why a generated script failed and what the next attempt must do differently.

A model (through `model_call`) reads the task, the script and how it failed; its diagnosis
and the tail of the error output go back to `service_code_gen` for the next attempt.
"""

from hero_tracing import logic

SYSTEM = """You are the debugger of hero_logic's service_agent. A generated Python script
failed. Say in a few sentences what went wrong and what the next attempt must do differently.
Do not write the whole script."""

# Lines of the error output kept for the model and the next attempt.
TAIL_LINES = 30


@logic(
    name="debug_feedback",
    description="Explains, with a model, why a generated script failed and what to change.",
    inputs={
        "prompt": {"type": "string", "description": "The task.", "required": True},
        "code": {"type": "string", "description": "The script that failed.", "required": True},
        "stdout": {"type": "string", "description": "What it printed.", "default": ""},
        "stderr": {"type": "string", "description": "Its errors.", "default": ""},
        "exit_code": {"type": "integer", "description": "Its exit code.", "default": 1},
        "timed_out": {"type": "boolean", "description": "Killed at the time limit.",
                      "default": False},
        "model": {"type": "string", "description": "Model for model_call; empty for the default.",
                  "default": ""},
    },
    outputs={"feedback": {"type": "string", "description": "What to change, and the error."}},
)
def debug_feedback(prompt: str, code: str, stdout: str = "", stderr: str = "", exit_code: int = 1,
                   timed_out: bool = False, model: str = "") -> dict:
    how = "it ran out of time" if timed_out else f"it exited with code {exit_code}"
    error = "\n".join(stderr.strip().splitlines()[-TAIL_LINES:]) or "(no error output)"
    printed = "\n".join(stdout.strip().splitlines()[-TAIL_LINES:]) or "(nothing)"
    reply = logic.invoke("model_call", model=model, temperature=0, messages=[
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Task: {prompt}\n\nScript:\n```python\n{code}\n```\n\n"
                                    f"It failed: {how}.\nError output:\n{error}\n\n"
                                    f"Printed before failing:\n{printed}"},
    ])
    feedback = f"{reply['content'].strip()}\n\nThe script failed ({how}); its error output:\n{error}"
    return {"feedback": feedback}
