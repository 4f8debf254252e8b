"""An agent that does a task against the JSON-RPC services it can reach, by writing code.

The walked example of hero_logic: each step is a Logic of its own, so each is a child Play
with its own inputs, outputs, logs, tokens and cost, and the Play tree shows the whole run:

    fetch_catalog -> select_services -> compile_stubs
      -> for attempt in 1..3: service_code_gen -> script_execution [-> debug_feedback]
      -> summarize

select_services may ask the person a question (the whole run then waits, holding no process,
until play_resume answers it). With a real model endpoint it does real work against the
daemon's own API, e.g. "list my logics and their success rates".
"""

from hero_tracing import logic

MAX_ATTEMPTS = 3


@logic(
    name="service_agent",
    description="Does a task against the reachable JSON-RPC services ([catalog] sockets) "
                "by writing and running a Python script with a model, up to 3 attempts.",
    inputs={
        "prompt": {"type": "string", "description": "The task, in plain words.", "required": True},
        "code_gen_model": {
            "type": "string",
            "description": "Model that selects services, writes and debugs the script; empty for "
                           "[models] default_model.",
            "default": "",
        },
    },
    outputs={
        "summary": {"type": "string", "description": "The answer, for a person."},
        "ok": {"type": "boolean", "description": "Whether a script did the task."},
        "attempts": {"type": "integer", "description": "Scripts written."},
        "code": {"type": "string", "description": "The last script."},
        "output": {"type": "string", "description": "What the last script printed."},
    },
    entry=True,
)
def service_agent(prompt: str, code_gen_model: str = "") -> dict:
    model = code_gen_model
    catalog = logic.invoke("fetch_catalog")["services"]
    selection = logic.invoke("select_services", prompt=prompt, catalog=catalog, model=model)
    stubs = logic.invoke("compile_stubs", catalog=catalog, services=selection["services"])
    code, feedback, result = "", "", {}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        code = logic.invoke("service_code_gen", prompt=prompt, api=stubs["api"],
                            focus=selection["focus"], model=model,
                            previous_code=code, feedback=feedback)["code"]
        result = logic.invoke("script_execution", code=code, stubs=stubs["stubs"])
        if result["ok"]:
            break
        logic.log(f"attempt {attempt} failed (exit code {result['exit_code']})")
        if attempt < MAX_ATTEMPTS:
            feedback = logic.invoke("debug_feedback", prompt=prompt, code=code,
                                    stdout=result["stdout"], stderr=result["stderr"],
                                    exit_code=result["exit_code"], timed_out=result["timed_out"],
                                    model=model)["feedback"]
    summary = logic.invoke("summarize", prompt=prompt, output=result["stdout"], ok=result["ok"],
                           attempts=attempt, error=result["stderr"], model=model)["summary"]
    outcome = {"summary": summary, "ok": result["ok"], "attempts": attempt, "code": code,
               "output": result["stdout"]}
    if not result["ok"]:
        logic.output(outcome)
        raise logic.Failed(summary)
    return outcome
