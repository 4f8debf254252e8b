"""hero_tracing.llm.chat and the generic clients against a local fake endpoint; in a runner,
model usage lands on the Play that made the call and the key stays out of the environment."""

import json
import os
import unittest
from unittest import mock

from hero_tracing import client, context, llm, pricing, settings
from hero_tracing.context import PlayFrame

from .fakedaemon import FakeDaemon, make_spec
from .fakeopenai import FakeOpenAI, completion
from .test_pricing import TABLE, Recorder

KEY = "sk-test-0123456789-do-not-leak"
MESSAGES = [{"role": "user", "content": "Say hi"}]


class Settings(unittest.TestCase):
    def setUp(self):
        saved = dict(settings._state)
        self.addCleanup(settings._state.update, saved)
        settings._state.update(taken=False, key=None)

    def test_the_runner_takes_the_key_out_of_the_environment(self):
        environ = {settings.ENV_KEY: KEY, "PATH": "/bin"}
        settings.take_from_environ(environ)
        self.assertEqual(environ, {"PATH": "/bin"})
        self.assertEqual(settings.model_key(), KEY)

    def test_outside_a_runner_the_usual_variables_work(self):
        with mock.patch.dict(os.environ, {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://x/v1/"}):
            os.environ.pop(settings.ENV_BASE_URL, None)
            os.environ.pop(settings.ENV_KEY, None)
            self.assertEqual((settings.model_key(), settings.base_url()), ("k", "http://x/v1"))

    def test_catalog_sockets_split_and_deduplicate(self):
        with mock.patch.dict(os.environ, {settings.ENV_CATALOG_SOCKETS: "/a.sock::/b.sock:/a.sock"}):
            self.assertEqual(settings.catalog_sockets(), ["/a.sock", "/b.sock"])


class Chat(unittest.TestCase):
    def setUp(self):
        self.fake = FakeOpenAI()
        self.fake.__enter__()
        self.addCleanup(self.fake.__exit__)
        saved = dict(settings._state)
        self.addCleanup(settings._state.update, saved)
        settings._state.update(taken=True, key=KEY)
        patcher = mock.patch.dict(os.environ, {settings.ENV_BASE_URL: self.fake.base_url,
                                              settings.ENV_DEFAULT_MODEL: "house"})
        patcher.start()
        self.addCleanup(patcher.stop)
        pricing.set_table(TABLE)
        self.addCleanup(pricing.set_table, None)

    def test_a_chat_completion_with_the_key_as_bearer(self):
        response = llm.chat("gpt-4o-mini", MESSAGES, temperature=0, max_tokens=20, seed=1)
        self.assertEqual(llm.content_of(response), "reply 1")
        self.assertEqual(llm.usage_of(response),
                         {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
        request = self.fake.requests[0]
        self.assertEqual(request["path"], "/v1/chat/completions")
        self.assertEqual(request["headers"]["Authorization"], f"Bearer {KEY}")
        self.assertEqual(request["body"], {"model": "gpt-4o-mini", "messages": MESSAGES,
                                           "temperature": 0, "max_tokens": 20, "seed": 1})

    def test_no_model_takes_the_default_and_no_key_sends_no_header(self):
        settings._state.update(key=None)
        llm.chat("", MESSAGES)
        request = self.fake.requests[0]
        self.assertEqual(request["body"]["model"], "house")
        self.assertNotIn("Authorization", request["headers"])

    def test_usage_is_added_to_the_current_play(self):
        recorder = Recorder()
        context.set_runtime(recorder, PlayFrame("p0", "root", {"name": "root"}))
        self.addCleanup(context.set_runtime, None, None)
        llm.chat("house", MESSAGES)
        self.assertEqual(recorder.sent, [("stats", "p0", 10, 5, 0.00002)])

    def test_http_errors_never_show_the_key(self):
        self.fake.reply = lambda request: (401, {"error": {
            "message": f"Incorrect API key provided: {request['headers']['Authorization']}"}})
        with self.assertRaises(llm.ModelError) as caught:
            llm.chat("house", MESSAGES)
        self.assertEqual(caught.exception.status, 401)
        self.assertIn("HTTP 401", str(caught.exception))
        self.assertIn("Bearer ***", str(caught.exception))
        self.assertNotIn(KEY, str(caught.exception) + json.dumps(caught.exception.body))

    def test_an_answer_without_choices_is_an_error(self):
        self.fake.reply = lambda request: (200, {"error": {"message": "overloaded"}})
        with self.assertRaisesRegex(llm.ModelError, "no choices: overloaded"):
            llm.chat("house", MESSAGES)

    def test_not_configured_says_which_setting_to_set(self):
        with mock.patch.dict(os.environ, {settings.ENV_BASE_URL: ""}):
            with self.assertRaisesRegex(llm.ModelNotConfigured, r"`base_url` under \[models\]"):
                llm.chat("house", MESSAGES)
        with mock.patch.dict(os.environ, {settings.ENV_DEFAULT_MODEL: ""}):
            with self.assertRaisesRegex(llm.ModelNotConfigured, r"`default_model` under \[models\]"):
                llm.chat("", MESSAGES)
        self.assertEqual(self.fake.requests, [])

    def test_unreachable_endpoint_is_a_connection_error(self):
        with mock.patch.dict(os.environ, {settings.ENV_BASE_URL: "http://127.0.0.1:9/v1"}):
            with self.assertRaisesRegex(ConnectionError, "cannot reach http://127.0.0.1:9"):
                llm.chat("house", MESSAGES, timeout=5)


class GenericClients(unittest.TestCase):
    """RpcClient and http_json over TCP, traced like llm.chat."""

    def setUp(self):
        def reply(request):
            body = request["body"]
            if request["path"] == "/rpc":
                if body["method"] == "broken":
                    return 200, {"jsonrpc": "2.0", "id": body["id"],
                                 "error": {"code": -32601, "message": "no such method"}}
                return 200, {"jsonrpc": "2.0", "id": body["id"], "result": dict(
                    completion("house", "via rpc", 1000, 2000), params=body["params"])}
            if request["path"] == "/down":
                return 503, b"<html>maintenance</html>"
            return 200, {"ok": True, "echo": body}
        self.fake = FakeOpenAI(reply)
        self.fake.__enter__()
        self.addCleanup(self.fake.__exit__)
        self.root = "http://127.0.0.1:%d" % self.fake.server.server_address[1]
        pricing.set_table(TABLE)
        self.addCleanup(pricing.set_table, None)
        self.recorder = Recorder()
        context.set_runtime(self.recorder, PlayFrame("p0", "root", {"name": "root"}))
        self.addCleanup(context.set_runtime, None, None)

    def test_rpc_over_http_is_traced(self):
        rpc = client.RpcClient(self.root + "/rpc", timeout=5)
        result = rpc.call("broker.chat", prompt="x")
        self.assertEqual(result["params"], {"prompt": "x"})
        self.assertEqual(self.recorder.sent, [("stats", "p0", 1000, 2000, 0.005)])
        with self.assertRaises(client.RpcError) as caught:
            rpc.call("broken")
        self.assertEqual(caught.exception.code, -32601)

    def test_http_json_and_its_errors(self):
        status, body = client.http_json("POST", self.root + "/things", {"a": 1}, timeout=5)
        self.assertEqual((status, body), (200, {"ok": True, "echo": {"a": 1}}))
        with self.assertRaises(client.HttpError) as caught:
            client.http_json("POST", self.root + "/down", {}, timeout=5)
        self.assertEqual(caught.exception.status, 503)
        self.assertIn("maintenance", str(caught.exception))
        self.assertEqual(self.recorder.sent, [])


ASKER = make_spec("asker", """
    import os
    from hero_tracing import llm, logic

    @logic(name="asker", outputs={"content": "string"})
    def asker(model):
        print("key visible:", "HERO_LOGIC_MODEL_KEY" in os.environ)
        return {"content": llm.content_of(llm.chat(model, [{"role": "user", "content": "hi"}]))}
""", inputs=["model"], outputs=["content"], entry="asker")

BOSS = """
    from hero_tracing import logic

    @logic(name="main")
    def main():
        first = logic.invoke("asker", model="house")["content"]
        second = logic.invoke("asker", model="mystery-model")["content"]
        return {"answers": [first, second]}
"""


class InRunner(unittest.TestCase):
    def test_usage_lands_on_the_child_that_called_the_model_and_the_key_stays_hidden(self):
        with FakeOpenAI() as fake:
            env = {"HERO_LOGIC_MODEL_BASE_URL": fake.base_url, "HERO_LOGIC_MODEL_KEY": KEY,
                   "HERO_LOGIC_MODELS_JSON": json.dumps(TABLE)}
            spec = make_spec("main", BOSS)
            t = FakeDaemon([spec, ASKER]).run("main", env=env)
        self.assertEqual(t.finish["status"], "success", t.finish)
        self.assertEqual(t.finish["output"], {"answers": ["reply 1", "reply 2"]})
        self.assertEqual([r["headers"]["Authorization"] for r in fake.requests],
                         [f"Bearer {KEY}"] * 2)
        stats = [(m["play_sid"], m["prompt_tokens"], m["completion_tokens"], m["cost_usd"])
                 for m in t.all("stats")]
        self.assertEqual(stats, [("c1", 10, 5, 0.00002), ("c2", 10, 5, 0.0)])
        self.assertEqual(t.logs("c1"), "key visible: False\n")
        self.assertIn("model 'mystery-model' has no price", t.logs("c2"))
        self.assertEqual(t.logs("p0"), "")
        self.assertNotIn(KEY, json.dumps(t.messages) + t.stdout + t.stderr)


if __name__ == "__main__":
    unittest.main()
