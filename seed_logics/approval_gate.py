"""Asks a person to approve something, then reports the decision.

The Play pauses (status awaiting_resume, no process held) at each question until someone
answers it in the admin, over JSON-RPC (play_resume) or with the CLI; the run then replays up
to that point and continues with the answer.
"""

from hero_tracing import ask_user, logic

URGENCY = ["now", "today", "this week"]
REJECTION_REASONS = ["too expensive", "not needed", "needs more detail", "other"]


@logic(
    name="approval_gate",
    description="Asks a person to approve a request and how urgent it is, or why not.",
    inputs={
        "request": {
            "type": "string",
            "description": "What needs approval, e.g. 'buy 3 new laptops'.",
            "required": True,
        },
        "requested_by": {
            "type": "string",
            "description": "Who asks, shown to the approver.",
            "default": "a logic",
        },
    },
    outputs={
        "approved": {"type": "boolean", "description": "Whether the person approved."},
        "decision": {
            "type": "string",
            "description": "'approved: <urgency>' or 'rejected: <reason>'.",
        },
    },
)
def approval_gate(request: str, requested_by: str = "a logic") -> dict:
    if not request.strip():
        raise logic.Failed("request is empty: say what needs approval")
    approved = ask_user.confirm(f"Approve {request!r} (asked by {requested_by})?")
    if approved:
        urgency = ask_user.choice("How urgent is it?", options=URGENCY)
        decision = f"approved: {urgency}"
    else:
        reason = ask_user.choice("Why not?", options=REJECTION_REASONS)
        decision = f"rejected: {reason}"
    logic.log(decision)
    return {"approved": bool(approved), "decision": decision}
