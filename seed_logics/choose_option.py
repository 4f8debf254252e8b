"""Asks a person which plan they want; the innermost step of pick_plan.

pick_plan calls plan_step, which calls this logic, so the question is asked two levels down
the Play tree. Its Play waits in awaiting_resume and so do plan_step's and pick_plan's above
it; play_resume may name any of the three.
"""

from hero_tracing import ask_user, logic


@logic(
    name="choose_option",
    description="Asks a person which plan they want: basic, pro or enterprise.",
    inputs={
        "customer": {
            "type": "string",
            "description": "Who the plan is for; written to the logs with the question.",
            "default": "a customer",
        },
    },
    outputs={
        "choice": {"type": "string", "description": "The plan the person picked."},
    },
)
def choose_option(customer: str = "a customer") -> dict:
    logic.log(f"asking which plan {customer} wants")
    choice = ask_user.choice("Which plan?", ["basic", "pro", "enterprise"])
    return {"choice": choice}
