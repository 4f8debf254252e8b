"""A logic that always fails.

Used to check how a failed Play looks everywhere: its status, its error message, the logs
written before the failure, and the failure rate in the stats.
"""

from hero_tracing import logic


@logic(
    name="always_fails",
    description="Fails every time, with a clear message; for testing failure handling.",
    inputs={
        "reason": {
            "type": "string",
            "description": "Put into the error message, to tell failures apart.",
            "default": "on purpose",
        },
    },
    outputs={
        "never": {
            "type": "string",
            "description": "Never produced: this logic fails before returning anything.",
        },
    },
)
def always_fails(reason: str = "on purpose") -> dict:
    logic.log(f"about to fail ({reason})")
    raise logic.Failed(f"always_fails failed {reason}: this logic exists to show a failed Play")
