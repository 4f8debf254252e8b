"""logic.invoke with a literal name, a computed name, and an invocation inside another's arguments."""
from hero_tracing import logic

STEP = "normalize_text"


@logic(name="invoke_demo")
def run(text: str, which: str) -> dict:
    first = logic.invoke("normalize_text", text=text)
    second = logic.invoke(which, text=first["text"])
    third = logic.invoke(STEP, text=text)
    nested = logic.invoke("word_stats", words=logic.invoke("splitter", text=text)["words"])
    return {"a": first, "b": second, "c": third, "d": nested}
