"""Objects built from *Client(...) constructors are RPC clients."""
from hero_tracing import logic
from models import ModelClient
import anthropic


@logic(name="rpc_clients")
def rpc_clients(prompt: str) -> dict:
    model = ModelClient(api_key="k")
    answer = model.chat.completions.create(messages=[{"role": "user", "content": prompt}])
    with MailClient("smtp.local") as mail:
        mail.send(to="ops", body=answer)
    other = anthropic.Client()
    other.messages.create(model="m", messages=[])
    SearchClient().search(query=prompt)
    plain = dict(a=1)
    plain.get("a")
    return {"answer": answer}
