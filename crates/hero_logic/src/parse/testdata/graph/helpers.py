"""Helpers are followed where they are called: plain, nested, recursive and called twice."""
from hero_tracing import ask_user, logic


def fetch(key):
    return logic.invoke("lookup", key=key)


def confirm_all(keys):
    for key in keys:
        if not ask_user.confirm(f"Keep {key}?"):
            return False
    return True


def walk(node, depth=0):
    logic.invoke("visit", node=node)
    for child in node.get("children", []):
        walk(child, depth + 1)


@logic(name="helper_demo")
def helper_demo(keys: list) -> dict:
    def enrich(value):
        return logic.invoke("enrich", value=value)

    first = fetch(keys[0])
    second = fetch(keys[1])
    kept = confirm_all(keys)
    walk({"children": []})
    rich = enrich(first)
    no_steps = sorted(keys)
    return {"first": first, "second": second, "kept": kept, "rich": rich, "n": no_steps}
