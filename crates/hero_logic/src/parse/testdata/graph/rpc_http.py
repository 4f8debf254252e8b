"""HTTP calls through requests, httpx and urllib.request."""
import json
import urllib.request
from urllib.request import Request, urlopen

import httpx
import requests as rq

from hero_tracing import logic

API = "https://api.example.com/v1/items"


@logic(name="http_demo")
def http_demo(item: str, base: str) -> dict:
    listed = rq.get("https://api.example.com/v1/items?limit=5").json()
    rq.post(f"https://hooks.example.org/notify/{item}", json={"item": item})
    rq.request("DELETE", API)
    with httpx.Client() as session:
        session.get("http://user:secret@internal.example.net:8080/health")
        session.headers.update({"x": "y"})
        session.close()
    httpx.put(f"{base}/items/{item}", json={})
    raw = urllib.request.urlopen("https://data.example.com/feed.json").read()
    urlopen(Request(f"https://api.example.com/items/{item}", method="PUT", data=b"{}"))
    urlopen("https://api.example.com/form", data=b"a=1")
    return {"listed": listed, "feed": json.loads(raw)}
