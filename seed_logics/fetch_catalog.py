"""The JSON-RPC services the agent can use, each described by its `rpc.discover` document.

The daemon's own socket (`HERO_LOGIC_SOCKET`) is tried first, but a sandboxed Play cannot reach
it (README "Security model"), so it is skipped; the services come from `[catalog] sockets` in
service.toml and from the `sockets` input. A socket that does not answer is skipped with a line
in the logs. Each service is reduced to what a model needs to pick from
it: its name, description and methods with their summaries and parameters.
"""

from hero_tracing import logic, settings
from hero_tracing.client import RpcClient, default_socket_path

# Longest summary kept per method, so the catalog stays small enough for a model prompt.
SUMMARY_CHARS = 200


@logic(
    name="fetch_catalog",
    description="Lists the JSON-RPC services a Play can reach ([catalog] sockets), each "
                "described by its rpc.discover document.",
    inputs={
        "sockets": {
            "type": "array",
            "description": "More Unix sockets of JSON-RPC services to describe.",
            "default": [],
        },
    },
    outputs={
        "services": {
            "type": "array",
            "description": "One {name, socket, description, methods: [{name, summary, params: "
                           "[{name, required}]}]} per service that answered.",
        },
    },
)
def fetch_catalog(sockets: list = ()) -> dict:
    targets = []
    for target in [default_socket_path(), *settings.catalog_sockets(), *(sockets or [])]:
        if isinstance(target, str) and target and target not in targets:
            targets.append(target)
    services, names = [], set()
    for target in targets:
        try:
            document = RpcClient(target, timeout=10).discover()
        except Exception as exc:  # noqa: BLE001 - an unreachable service is skipped, said why
            logic.log(f"skipped {target}: {exc}")
            continue
        service = describe(target, document)
        base, n = service["name"], 2
        while service["name"] in names:
            service["name"] = f"{base}_{n}"
            n += 1
        names.add(service["name"])
        services.append(service)
        logic.log(f"{service['name']} at {target}: {len(service['methods'])} methods")
    if not services:
        raise logic.Failed(f"no JSON-RPC service answered rpc.discover (tried {', '.join(targets)})")
    return {"services": services}


def describe(target: str, document) -> dict:
    """The parts of an OpenRPC document a model needs."""
    document = document if isinstance(document, dict) else {}
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    methods = []
    for method in document.get("methods") or []:
        if not isinstance(method, dict) or not isinstance(method.get("name"), str):
            continue
        params = [
            {"name": p.get("name", ""), "required": bool(p.get("required"))}
            for p in method.get("params") or [] if isinstance(p, dict)
        ]
        summary = str(method.get("summary") or method.get("description") or "")
        methods.append({"name": method["name"], "summary": summary[:SUMMARY_CHARS], "params": params})
    name = str(info.get("title") or target.rsplit("/", 1)[-1].split(".")[0] or "service")
    return {
        "name": name,
        "socket": target,
        "description": str(info.get("description") or ""),
        "methods": methods,
    }
