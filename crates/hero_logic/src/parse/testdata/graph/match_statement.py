"""match: a branch per case, guards included."""
from hero_tracing import logic


@logic(name="match_demo")
def match_demo(command: dict) -> dict:
    match logic.invoke("parse_command", text=command["text"]):
        case {"action": "greet", "name": str(name)}:
            out = logic.invoke("greeting", name=name)
        case {"action": "count", "words": [*words]} if len(words) > 100:
            out = logic.invoke("word_stats", words=words[:100])
        case {"action": "count", "words": words}:
            out = logic.invoke("word_stats", words=words)
        case _:
            out = {"error": "unknown"}
    return out
