"""Model calls, http_json, RpcClient calls and the stdlib markers of spec §5."""

import ast
import re

from hero_tracing import llm, logic
from hero_tracing.client import RpcClient, http_json

CATALOG = "/run/catalog.sock"


@logic(name="sdk_calls", entry=True)
def sdk_calls(prompt: str) -> dict:
    answer = llm.chat("", [{"role": "user", "content": prompt}])
    response, spent = llm.chat_with_usage("", [{"role": "user", "content": prompt}])
    status, body = http_json("POST", "https://api.example.org/v1/things", {"name": "x"})
    catalog = RpcClient(CATALOG)
    logics = catalog.call("logic_list")
    play = catalog.call("LogicService.play_status", play_sid="0001")
    document = RpcClient(CATALOG).discover()
    fenced = re.search(r"```(.*?)```", llm.content_of(answer), re.S)
    ast.parse(fenced.group(1) if fenced else "")
    return {"logics": logics, "play": play, "document": document, "status": status, "body": body}
