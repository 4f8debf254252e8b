"""Fan-out: logic.map, logic.spawn and logic.ainvoke are invocations that run side by side."""
from hero_tracing import logic


@logic(name="fan_demo")
async def run(docs: list) -> dict:
    summaries = logic.map("summarize_doc", [{"text": d} for d in docs], max_concurrency=4)
    judge = logic.spawn("judge", text=summaries[0]["summary"])
    answer = await logic.ainvoke("ask_model", prompt=judge.result()["verdict"])
    return {"answer": answer}
