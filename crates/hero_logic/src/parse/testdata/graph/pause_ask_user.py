"""Every ask_user form, with literal and computed prompts and options."""
from hero_tracing import ask_user, logic

SIZES = ["small", "medium", "large"]


@logic(name="ask_demo")
def ask_demo(customer: str) -> dict:
    note = ask_user.text("Any note for the order?", placeholder="optional")
    count = ask_user.number(f"How many for {customer}?", integer=True, min=1, max=9)
    size = ask_user.choice("Which size?", SIZES)
    extras = ask_user.multi_choice("Extras?", options=["gift wrap", "card"], max=2)
    sure = ask_user.confirm(prompt="Place the order?", name="place_order")
    level = ask_user.choice("Priority?", [p for p in ("low", "high")])
    return {"note": note, "count": count, "size": size, "extras": extras, "sure": sure, "level": level}
