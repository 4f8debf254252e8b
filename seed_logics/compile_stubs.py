"""Python client stubs for the chosen services, for the generated script to call.

Each service becomes an object named after it whose methods call the service's JSON-RPC
methods by name (`hero_logic.logic_stats(logic="fib")` calls `LogicService.logic_stats`),
through `hero_tracing.client.RpcClient`, so any model usage in their answers is traced too.
`stubs` is the code put before the generated script; `api` is the short reference the model
writes the script from.
"""

import keyword
import re

from hero_tracing import logic

HEADER = '''# Service stubs compiled by hero_logic's compile_stubs. Call methods with by-name params;
# each returns the JSON-RPC result or raises hero_tracing.client.RpcError.
from hero_tracing.client import RpcClient, RpcError  # noqa: F401
'''


@logic(
    name="compile_stubs",
    description="Compiles Python client stubs for the chosen services of the catalog.",
    inputs={
        "catalog": {"type": "array", "description": "fetch_catalog's services.", "required": True},
        "services": {"type": "array", "description": "Names of the services to compile.",
                     "required": True},
    },
    outputs={
        "stubs": {"type": "string", "description": "Python source defining one object per service."},
        "api": {"type": "string", "description": "One line per callable stub method, for a model."},
    },
)
def compile_stubs(catalog: list, services: list) -> dict:
    chosen = [s for s in catalog if s["name"] in services]
    if not chosen:
        raise logic.Failed(f"none of the services {services} is in the catalog "
                           f"({', '.join(s['name'] for s in catalog)})")
    code, api = [HEADER], []
    for service in chosen:
        obj = identifier(service["name"])
        cls = "_" + obj.title().replace("_", "") + "Service"
        code.append(f"\nclass {cls}:")
        code.append(f"    {docstring(service.get('description') or service['name'])}")
        code.append(f"    _client = RpcClient({service['socket']!r}, timeout=120)\n")
        taken = set()
        for method in service["methods"]:
            name = method_identifier(method["name"], taken)
            params = method.get("params", [])
            # Required params plain, optional ones with `?`; all are passed by name.
            shown = ", ".join(p["name"] + ("" if p.get("required") else "?") for p in params)
            summary = method.get("summary", "")
            code.append(f"    def {name}(self, **params):")
            doc = docstring(f"{summary} Params (by name): {shown or 'none'}")
            code.append(f"        {doc}")
            code.append(f"        return self._client.call({method['name']!r}, **params)\n")
            api.append(f"{obj}.{name}({shown})  # {summary}")
        code.append(f"\n{obj} = {cls}()\n")
    stubs = "\n".join(code)
    compile(stubs, "stubs.py", "exec")  # a bug here must fail this Play, not the script
    logic.log(f"{len(api)} stub methods for {', '.join(s['name'] for s in chosen)}")
    return {"stubs": stubs, "api": "\n".join(api)}


def identifier(name: str) -> str:
    """A Python name for `name`: other characters become `_`."""
    text = re.sub(r"\W", "_", name).strip("_") or "service"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = "_" + text
    return text


def method_identifier(method: str, taken: set) -> str:
    """`LogicService.logic_stats` -> `logic_stats`, `logic.list` -> `logic_list`."""
    head, _, tail = method.rpartition(".")
    short = tail if head.endswith("Service") else method
    name = identifier(short.replace(".", "_"))
    if name in taken:
        name = identifier(method.replace(".", "_"))
    taken.add(name)
    return name


def docstring(text: str) -> str:
    return repr(" ".join(str(text).split()))
