"""Returns: bare, early, in branches, and long values shortened."""
from hero_tracing import logic


@logic(name="return_demo")
def return_demo(kind: str) -> dict:
    if not kind:
        return
    if kind == "short":
        return {"kind": kind}
    return {
        "kind": kind,
        "details": logic.invoke("details", kind=kind),
        "a_very_long_key_name_that_goes_on": "and a long value that makes the returned expression far longer than a node label can show",
    }
