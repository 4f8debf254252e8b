"""for, while, async for, for-else and comprehensions around steps."""
from hero_tracing import ask_user, logic


@logic(name="loop_demo")
async def loop_demo(items: list, limit: int = 3) -> dict:
    labels = []
    for index, item in enumerate(logic.invoke("list_items", source=items)["items"]):
        labels.append(logic.invoke("label", item=item, index=index))
    else:
        logic.log("all labelled")
    tries = 0
    while tries < limit and not ask_user.confirm(f"Good enough after {tries} tries?"):
        tries += 1
    async for chunk in stream(items):
        logic.invoke("store_chunk", chunk=chunk)
    scores = [logic.invoke("score", item=i) for i in items if i]
    lengths = [len(i) for i in items]
    by_name = {i: logic.invoke("lookup", key=i) for i in items}
    for row in items:
        for cell in row:
            if cell:
                logic.invoke("cell", value=cell)
    return {"labels": labels, "scores": scores, "lengths": lengths, "by_name": by_name}
