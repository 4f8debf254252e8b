"""Picks a plan for a customer, with the question asked two levels down the tree.

pick_plan -> plan_step -> choose_option, which asks a person "Which plan?". The pause
propagates awaiting_resume up to this Play; after the answer the whole tree replays and the
choice travels back up through the outputs.
"""

from hero_tracing import logic


@logic(
    name="pick_plan",
    description="Asks a person to pick a plan for a customer (the question sits two child calls down).",
    inputs={
        "customer": {
            "type": "string",
            "description": "Who the plan is for.",
            "default": "Ada",
        },
    },
    outputs={
        "customer": {"type": "string", "description": "Who the plan is for."},
        "plan": {"type": "string", "description": "The chosen plan: basic, pro or enterprise."},
        "monthly_price": {"type": "integer", "description": "The plan's price in USD per month."},
        "summary": {"type": "string", "description": "One line, e.g. 'Ada: pro at $30/month'."},
    },
)
def pick_plan(customer: str = "Ada") -> dict:
    step = logic.invoke("plan_step", customer=customer)
    plan, price = step["plan"], step["monthly_price"]
    return {
        "customer": customer,
        "plan": plan,
        "monthly_price": price,
        "summary": f"{customer}: {plan} at ${price}/month",
    }
