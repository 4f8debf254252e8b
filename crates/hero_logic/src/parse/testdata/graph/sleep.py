"""Durable waits are markers of the flow: a literal amount shows in the label."""
from hero_tracing import logic

DELAY = 30


@logic(name="sleepy", inputs={"until_ms": "integer"})
def sleepy(until_ms):
    logic.sleep(5)
    logic.invoke("notify", text="woke")
    logic.sleep(DELAY * 2)
    logic.sleep_until(until_ms)
    logic.invoke("flaky", retries=3, backoff_s=1, timeout_s=10)
    return {"done": True}
