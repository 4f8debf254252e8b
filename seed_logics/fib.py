"""Fibonacci numbers, computed the slow way on purpose.

Every call for n > 1 invokes this same logic twice (n - 1 and n - 2), so one run builds a real
tree of child Plays that mirrors the recursion: a good load for the engine and a good picture
for the Flow view. fib(n) creates 2*F(n+1) - 1 Plays in all, hence the cap on n.
"""

from hero_tracing import logic

# fib(20) already makes 21,891 Plays; beyond that a demo turns into a stress test.
MAX_N = 20


@logic(
    name="fib",
    description="The n-th Fibonacci number, each step a child Play (n from 0 to 20).",
    inputs={
        "n": {
            "type": "integer",
            "description": "Which Fibonacci number to compute: fib(0) = 0, fib(1) = 1 (0 to 20).",
            "required": True,
        },
    },
    outputs={
        "value": {"type": "integer", "description": "The n-th Fibonacci number."},
    },
)
def fib(n: int) -> dict:
    if n < 0:
        raise logic.Failed(f"n is {n}: it must be 0 or more")
    if n > MAX_N:
        raise logic.Failed(
            f"n is {n}: it must be at most {MAX_N}, since every step is its own Play "
            f"and fib({n}) would create tens of thousands of them"
        )
    if n <= 1:
        return {"value": n}
    left = logic.invoke("fib", n=n - 1)
    right = logic.invoke("fib", n=n - 2)
    return {"value": left["value"] + right["value"]}
