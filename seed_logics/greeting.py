"""Greets someone by name.

The smallest useful logic: one required input, one with a default, one output. Handy for
checking that the daemon, the runner and the admin work end to end.
"""

from hero_tracing import logic


@logic(
    name="greeting",
    description="Builds a greeting for a person, e.g. 'Hello, Ada!'.",
    inputs={
        "name": {
            "type": "string",
            "description": "Who to greet.",
            "required": True,
        },
        "greeting": {
            "type": "string",
            "description": "The word to greet with.",
            "default": "Hello",
        },
    },
    outputs={
        "message": {"type": "string", "description": "The greeting, e.g. 'Hello, Ada!'."},
    },
)
def greeting(name: str, greeting: str = "Hello") -> dict:
    person = name.strip()
    if not person:
        raise logic.Failed("name is empty: pass the name of the person to greet")
    word = greeting.strip() or "Hello"
    return {"message": f"{word}, {person}!"}
