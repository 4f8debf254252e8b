"""logic.pause with and without a literal ui."""
import hero_tracing
from hero_tracing import logic

UI = {"kind": "choice", "prompt": "Ship or hold?", "options": ["ship", "hold"]}


@logic(name="pause_demo")
def pause_demo(ui_kind: str) -> dict:
    plain = logic.pause("free_text")
    chosen = logic.pause("decision", ui=UI, schema={"type": "string"})
    custom = logic.pause("custom", ui={"kind": ui_kind, "prompt": "Custom?"})
    sure = hero_tracing.logic.pause("sure", ui={"kind": "confirm"})
    return {"plain": plain, "chosen": chosen, "custom": custom, "sure": sure}
