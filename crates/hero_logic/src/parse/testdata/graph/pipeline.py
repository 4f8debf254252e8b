"""A realistic mix: fetch, classify each item, ask for approval, publish."""
import httpx

from hero_tracing import ask_user, logic
from hero_tracing.client import Client

FEED = "https://feeds.example.com/latest.json"


def publish(items, client):
    for item in items:
        client.call("logic.set", object=item)


@logic(
    name="news_pipeline",
    description="Fetches a feed, classifies items, asks before publishing.",
    inputs={"max_items": {"type": "integer", "default": 10}},
)
def news_pipeline(max_items: int = 10) -> dict:
    feed = httpx.get(FEED, timeout=10).json()
    kept = []
    for entry in feed["items"][:max_items]:
        label = logic.invoke("classify", text=entry["title"])
        if label["label"] == "spam":
            continue
        kept.append(entry)
    if not kept:
        return {"published": 0}
    if ask_user.confirm(f"Publish {len(kept)} items?"):
        publish(kept, Client())
        return {"published": len(kept)}
    return {"published": 0}
