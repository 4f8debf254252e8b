"""The JSON-RPC client against a tiny HTTP-over-Unix-socket server in the test."""

import http.server
import json
import os
import socketserver
import tempfile
import threading
import unittest
from unittest import mock

from hero_tracing.client import NOT_FOUND, Client, RpcError, default_socket_path


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server spelling
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, self.headers["Content-Type"], request))
        if request["method"] == "LogicService.play_status":
            answer = {"error": {"code": NOT_FOUND, "message": "no play 'zz'",
                                "data": {"kind": "not_found", "hint": "list plays"}}}
        else:
            answer = {"result": {"method": request["method"], "params": request["params"]}}
        body = json.dumps(dict(answer, jsonrpc="2.0", id=request["id"])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ClientTests(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.path = os.path.join(tmp.name, "hero_logic.sock")
        server = _Server(self.path, _Handler)
        server.seen = []
        self.server = server
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.client = Client(self.path, timeout=10)

    def test_call_posts_json_rpc_to_root_and_returns_the_result(self):
        result = self.client.call("logic.get", sid="02j7")
        self.assertEqual(result, {"method": "logic.get", "params": {"sid": "02j7"}})
        path, content_type, request = self.server.seen[0]
        self.assertEqual((path, content_type, request["jsonrpc"]), ("/", "application/json", "2.0"))

    def test_bare_service_methods_get_their_prefix(self):
        self.assertEqual(self.client.call("logic_stats", logic="fib")["method"],
                         "LogicService.logic_stats")
        self.assertEqual(self.client.call("rpc.discover")["method"], "rpc.discover")

    def test_convenience_methods(self):
        started = self.client.play_start("greeting", {"name": "Ada"}, version="v1")
        self.assertEqual(started["params"],
                         {"logic": "greeting", "inputs": {"name": "Ada"}, "version": "v1"})
        self.assertEqual(self.client.play_wait("p1", timeout_ms=5)["params"],
                         {"play_sid": "p1", "timeout_ms": 5})
        self.assertEqual(self.client.play_resume("p1", "r1", {"ok": True})["params"],
                         {"play_sid": "p1", "resume_id": "r1", "payload": {"ok": True}})
        self.assertEqual(self.client.play_tree("p1")["method"], "LogicService.play_tree")
        ids = [request["id"] for _, _, request in self.server.seen]
        self.assertEqual(len(set(ids)), len(ids))

    def test_errors_raise_rpc_error_with_code_and_data(self):
        with self.assertRaises(RpcError) as caught:
            self.client.play_status("zz")
        error = caught.exception
        self.assertEqual((error.code, error.message, error.kind),
                         (NOT_FOUND, "no play 'zz'", "not_found"))
        self.assertEqual(error.data["hint"], "list plays")

    def test_no_daemon_says_how_to_start_it(self):
        with self.assertRaisesRegex(ConnectionError, "hero_logic up"):
            Client(self.path + ".missing").call("rpc.discover")


class DefaultSocket(unittest.TestCase):
    def test_env_socket_then_home_then_default(self):
        with mock.patch.dict(os.environ, {"HERO_LOGIC_SOCKET": "/s.sock", "HERO_LOGIC_HOME": "/h"}):
            self.assertEqual(default_socket_path(), "/s.sock")
        with mock.patch.dict(os.environ, {"HERO_LOGIC_HOME": "/h"}):
            os.environ.pop("HERO_LOGIC_SOCKET", None)
            self.assertEqual(default_socket_path(), "/h/hero_logic.sock")
        with mock.patch.dict(os.environ, {"HOME": "/home/u"}):
            os.environ.pop("HERO_LOGIC_SOCKET", None)
            os.environ.pop("HERO_LOGIC_HOME", None)
            self.assertEqual(default_socket_path(), "/home/u/.hero_logic/hero_logic.sock")


if __name__ == "__main__":
    unittest.main()
