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

    def test_a_plays_call_to_its_own_endpoint_reports_usage_as_stats(self):
        recorder = Recorder()
        context.set_runtime(recorder, PlayFrame("p0", "root", {"name": "root"}))
        self.addCleanup(context.set_runtime, None, None)
        response, usage = llm.chat_with_usage("house", MESSAGES, base_url=self.fake.base_url,
                                              api_key="own-key")
        self.assertEqual(llm.content_of(response), "reply 1")
        self.assertEqual(usage["cost_usd"], 0.00002)
        self.assertEqual(self.fake.requests[0]["headers"]["Authorization"], "Bearer own-key")
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
        print("key or endpoint visible:", any(k.startswith("HERO_LOGIC_MODEL_") and k != "HERO_LOGIC_MODEL_KEY_ENV" for k in os.environ))
        try:
            response, usage = llm.chat_with_usage(model, [{"role": "user", "content": "hi"}],
                                                  temperature=0, seed=3)
        except llm.ModelError as exc:
            return {"content": f"{exc.status}: {exc}"}
        return {"content": llm.content_of(response), "usage": usage}
""", inputs=["model"], outputs=["content"], entry="asker")

BOSS = """
    from hero_tracing import llm, logic

    @logic(name="main")
    def main():
        first = logic.invoke("asker", model="house")
        second = logic.invoke("asker", model="broken")["content"]
        try:
            llm.chat("house", [{"role": "user", "content": "x"}], stream=True)
        except TypeError as exc:
            refused = str(exc)
        return {"first": first, "second": second, "refused": refused}
"""


class InRunner(unittest.TestCase):
    def test_model_calls_go_to_the_daemon_which_holds_the_key_and_records_the_cost(self):
        def models(message):
            if message["model"] == "broken":
                return {"ok": False, "error": {
                    "kind": "model_error", "status": 500, "body": '{"error": "down"}',
                    "message": "the model endpoint answered HTTP 500 for model \"broken\": down"}}
            usage = {"model": message["model"], "prompt_tokens": 10, "completion_tokens": 5,
                     "cost_usd": 0.00002, "priced": True}
            return {"response": completion(message["model"], "reply"), "usage": usage}

        t = FakeDaemon([make_spec("main", BOSS), ASKER], models=models).run(
            "main", env={"HERO_LOGIC_MODELS_JSON": json.dumps(TABLE)})
        self.assertEqual(t.finish["status"], "success", t.finish)
        output = t.finish["output"]
        self.assertEqual(output["first"], {"content": "reply", "usage": {
            "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
            "cost_usd": 0.00002, "model": "house", "priced": True}})
        self.assertEqual(output["second"], "500: the model endpoint answered HTTP 500 for model "
                                           "\"broken\": down")
        self.assertIn("not stream", output["refused"])
        calls = t.all("model_call")
        self.assertEqual([(c["play_sid"], c["model"]) for c in calls], [("c1", "house"), ("c2", "broken")])
        self.assertEqual(calls[0]["messages"], [{"role": "user", "content": "hi"}])
        self.assertEqual((calls[0]["temperature"], calls[0]["seed"]), (0, 3))
        self.assertNotIn("max_tokens", calls[0], "parameters not given are not sent")
        self.assertEqual(t.all("stats"), [], "the daemon records the cost, the runner sends none")
        self.assertEqual(t.logs("c1"), "key or endpoint visible: False\n")


if __name__ == "__main__":
    unittest.main()
