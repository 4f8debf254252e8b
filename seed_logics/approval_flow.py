"""Drafts a message, then asks a person whether to send it.

The draft comes from the greeting logic, as a child Play. The question is an
ask_user.confirm: the Play waits in awaiting_resume, holding no process, until someone
answers it (admin, play_resume, the CLI, or examples/pause_resume_demo.py). The run then
replays from the start: the finished greeting step returns its stored output instead of
running again, and the question returns the answer.
"""

from hero_tracing import ask_user, logic


@logic(
    name="approval_flow",
    description="Drafts a greeting with the greeting logic and asks a person whether to send it.",
    inputs={
        "recipient": {
            "type": "string",
            "description": "Who the message is for.",
            "default": "Ada",
        },
        "greeting": {
            "type": "string",
            "description": "The word to greet with.",
            "default": "Hello",
        },
    },
    outputs={
        "message": {"type": "string", "description": "The drafted message, e.g. 'Hello, Ada!'."},
        "approved": {"type": "boolean", "description": "Whether the person said to send it."},
    },
)
def approval_flow(recipient: str = "Ada", greeting: str = "Hello") -> dict:
    draft = logic.invoke("greeting", name=recipient, greeting=greeting)
    message = draft["message"]
    logic.log(f"drafted: {message}")
    approved = ask_user.confirm("Send this message?")
    logic.log("approved: sending it" if approved else "not approved: not sent")
    return {"message": message, "approved": approved}
