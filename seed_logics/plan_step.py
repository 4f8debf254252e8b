"""Gets a plan chosen by a person and prices it; the middle step of pick_plan.

The question itself is asked by choose_option, one level further down.
"""

from hero_tracing import logic

# Monthly price in US dollars, per plan choose_option offers.
PRICES = {"basic": 10, "pro": 30, "enterprise": 100}


@logic(
    name="plan_step",
    description="Has choose_option ask a person for a plan, then prices the plan.",
    inputs={
        "customer": {
            "type": "string",
            "description": "Who the plan is for.",
            "default": "a customer",
        },
    },
    outputs={
        "plan": {"type": "string", "description": "The chosen plan: basic, pro or enterprise."},
        "monthly_price": {"type": "integer", "description": "The plan's price in USD per month."},
    },
)
def plan_step(customer: str = "a customer") -> dict:
    picked = logic.invoke("choose_option", customer=customer)
    plan = picked["choice"]
    if plan not in PRICES:
        raise logic.Failed(f"choose_option returned {plan!r}, not one of {sorted(PRICES)}")
    return {"plan": plan, "monthly_price": PRICES[plan]}
