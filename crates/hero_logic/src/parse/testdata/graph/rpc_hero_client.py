"""The hero_logic JSON-RPC client, spelled the ways the SDK allows."""
import hero_tracing.client
from hero_tracing import client as hc
from hero_tracing import logic
from hero_tracing.client import Client

SHARED = Client()


@logic(name="rpc_hero")
def rpc_hero(name: str) -> dict:
    local = hc.Client(timeout=5)
    play = local.call("play_start", logic=name, inputs={})
    done = SHARED.play_wait(play["sid"], timeout_ms=1000)
    found = local.call("logic.get", sid=play["logic_sid"])
    method = "play_status"
    status = local.call(method, play_sid=play["sid"])
    tree = hero_tracing.client.Client().play_tree(play["sid"])
    return {"done": done, "found": found, "status": status, "tree": tree}
