"""A tiny OpenAI-compatible chat endpoint on 127.0.0.1, for the SDK's tests only.

`replies` maps to each request: a callable `request -> (status, body dict)`, or None for the
default answer (the request's model echoed, content `reply <n>`, 10 prompt + 5 completion
tokens). Every request is recorded with its path, headers and JSON body.
"""

import http.server
import json
import threading


class FakeOpenAI:
    def __init__(self, reply=None):
        self.reply = reply
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server spelling
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                request = {"path": self.path, "headers": dict(self.headers), "body": body}
                fake.requests.append(request)
                status, answer = fake.answer(request)
                raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, request):
        if self.reply is not None:
            return self.reply(request)
        return 200, completion(request["body"].get("model", ""), f"reply {len(self.requests)}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def completion(model, content, prompt_tokens=10, completion_tokens=5):
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
