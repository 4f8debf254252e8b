"""hero_tracing: the SDK a hero_logic logic is written with (stdlib only).

    from hero_tracing import logic, ask_user

    @logic(name="greeting", inputs={"name": "string"}, outputs={"message": "string"})
    def greeting(name: str) -> dict:
        logic.log("greeting", name)
        return {"message": f"Hello, {name}!"}

Inside the daemon's runner, calling another `@logic` function or `logic.invoke("name", ...)`
runs it as a child Play and returns its output dict; as a plain Python program the functions
are ordinary functions. `logic.map(name, [inputs, ...])`, `logic.spawn(name, ...)` (a handle
with `.result()`) and `await logic.ainvoke(name, ...)` run children side by side, numbered in
call order so that a replay matches whatever order they finish in. `ask_user.confirm("Send it?")` (and `.text`, `.number`, `.choice`,
`.multi_choice`, or `logic.pause` for a form of your own) waits for a person: the Play waits
in `awaiting_resume`, holding no process, and continues by replay once someone answers
(outside a runner the question is asked on the terminal). `hero_tracing.client` talks
JSON-RPC to the daemon (`Client`) or to any service (`RpcClient`, `http_json`),
`hero_tracing.llm.chat` asks an OpenAI-compatible model endpoint, and the `usage` in any
response they get is priced from the models table and added to the Play that made the call
(`hero_tracing.pricing`). `hero_tracing.runner` is the process the daemon starts for each
top-level Play.
"""

from .errors import ChildFailed, Failed, PauseRefused, TimedOut
from .sdk import ask_user, flow, logic

__all__ = ["logic", "flow", "ask_user", "Failed", "ChildFailed", "PauseRefused", "TimedOut"]
__version__ = "0.1.0"
