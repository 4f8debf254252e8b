"""Writes the Python script that does the task, with a model (through `model_call`).

The model gets the task, the person's answer to the selector's question (if any), the stubs'
reference and, on a retry, the previous script with the debugger's feedback. The script is the
first fenced code block of its answer (or the whole answer); a script that does not parse is
still returned, with a line in the logs, so that running it fails and the debugger sees why.
"""

import ast
import re

from hero_tracing import logic

SYSTEM = """You are the code writer of hero_logic's service_agent.
Write one short Python 3 script that does the task using only the standard library and the
service stubs listed below. The stubs are already defined when the script runs: call them as
listed, with by-name params; do not import or redefine them. Print the result for a person to
read. Answer with the script in one ```python block."""


@logic(
    name="service_code_gen",
    description="Writes a Python script for a task against the compiled service stubs, with a model.",
    inputs={
        "prompt": {"type": "string", "description": "The task.", "required": True},
        "api": {"type": "string", "description": "compile_stubs' reference of the stub methods.",
                "required": True},
        "focus": {"type": "string", "description": "What the person said the task means.",
                  "default": ""},
        "model": {"type": "string", "description": "Model for model_call; empty for the default.",
                  "default": ""},
        "previous_code": {"type": "string", "description": "The script that failed, on a retry.",
                          "default": ""},
        "feedback": {"type": "string", "description": "Why it failed (debug_feedback).",
                     "default": ""},
    },
    outputs={"code": {"type": "string", "description": "The script, without the stubs."}},
)
def service_code_gen(prompt: str, api: str, focus: str = "", model: str = "",
                     previous_code: str = "", feedback: str = "") -> dict:
    request = f"Task: {prompt}\n"
    if focus:
        request += f"The person means: {focus}\n"
    request += f"\nService stubs:\n{api}\n"
    if previous_code:
        request += (f"\nThe previous attempt failed. Its script:\n```python\n{previous_code}\n```\n"
                    f"What went wrong:\n{feedback}\n\nWrite a corrected script.\n")
    reply = logic.invoke("model_call", model=model, temperature=0, messages=[
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": request},
    ])
    code = script_of(reply["content"])
    try:
        ast.parse(code)
    except SyntaxError as exc:
        logic.log(f"the generated script does not parse (line {exc.lineno}: {exc.msg})")
    return {"code": code}


def script_of(answer: str) -> str:
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", answer, re.S)
    return (fenced.group(1) if fenced else answer).strip() + "\n"
