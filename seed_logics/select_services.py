"""Picks the services (and methods) a task needs, asking a person when the task is ambiguous.

A model (through `model_call`) reads the task and the catalog and answers with JSON: the
services and methods to use, and, when the task could mean clearly different things, a question
with a few options. The question goes to a person as `ask_user.choice`: this Play, and every
Play above it, waits in `awaiting_resume` until `play_resume` answers it; the run then replays
(the model call is not made again) and carries on with the answer as the task's focus. A model
that names no service of the catalog gets the same treatment: the person picks the service.
"""

import json
import re

from hero_tracing import ask_user, logic

SYSTEM = """You are the service selector of hero_logic's service_agent.
Given a task and a catalog of JSON-RPC services, pick the services and methods a short Python
script needs to do the task. Answer with one JSON object and nothing else:
{"services": ["<service name>", ...], "methods": ["<method name>", ...], "question": "", "options": []}
When the task could mean clearly different things, put the question you would ask the person in
"question" and 2 to 6 short answers in "options"; otherwise leave them empty."""


@logic(
    name="select_services",
    description="Picks the services and methods a task needs from the catalog, with a model; "
                "asks a person (a choice) when the task is ambiguous.",
    inputs={
        "prompt": {"type": "string", "description": "The task, in plain words.", "required": True},
        "catalog": {"type": "array", "description": "fetch_catalog's services.", "required": True},
        "model": {"type": "string", "description": "Model for model_call; empty for the default.",
                  "default": ""},
    },
    outputs={
        "services": {"type": "array", "description": "Names of the chosen services."},
        "methods": {"type": "array", "description": "Method names the model suggested."},
        "focus": {"type": "string", "description": "The person's answer to the model's question, "
                                                    "or empty when none was asked."},
    },
)
def select_services(prompt: str, catalog: list, model: str = "") -> dict:
    names = [service["name"] for service in catalog]
    if not names:
        raise logic.Failed("the catalog is empty: fetch_catalog found no service")
    reply = logic.invoke("model_call", model=model, temperature=0, messages=[
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Task: {prompt}\n\nCatalog:\n{listing(catalog)}"},
    ])
    choice = json_object(reply["content"])
    services = [s for s in strings(choice.get("services")) if s in names]
    if not services:
        logic.log(f"the model named no service of the catalog: {reply['content'][:200]!r}")
        services = names[:1] if len(names) == 1 else [
            ask_user.choice(f"Which service should the agent use for: {prompt}", names,
                            name="service")
        ]
    known = {m["name"] for s in catalog if s["name"] in services for m in s["methods"]}
    methods = [m for m in strings(choice.get("methods")) if m in known]
    focus = ""
    options = list(dict.fromkeys(o.strip() for o in strings(choice.get("options")) if o.strip()))
    question = choice.get("question") if isinstance(choice.get("question"), str) else ""
    if question.strip() and len(options) >= 2:
        focus = ask_user.choice(question.strip(), options, name="interpretation")
        logic.log(f"the person chose {focus!r}")
    return {"services": services, "methods": methods, "focus": focus}


def listing(catalog: list) -> str:
    """The catalog as compact text: one line per service and per method."""
    lines = []
    for service in catalog:
        lines.append(f"service {service['name']}: {service.get('description', '')}")
        for method in service["methods"]:
            params = ", ".join(p["name"] + ("" if p.get("required") else "?")
                               for p in method.get("params", []))
            lines.append(f"  - {method['name']}({params}): {method.get('summary', '')}")
    return "\n".join(lines)


def json_object(text: str) -> dict:
    """The first JSON object in a model's answer (inside a code fence or not); {} if none."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidates = [fenced.group(1)] if fenced else []
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def strings(value) -> list:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
