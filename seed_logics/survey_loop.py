"""Asks a person to score n items, one question per loop turn.

Every turn pauses for a number, then calls score_label as a child Play. Each answer means a
new replay from the start: the questions already answered return their answers, the labels
already computed return their stored outputs, and the loop reaches the next question. The
questions share the name "number"; the daemon tells them apart by their order.
"""

from hero_tracing import ask_user, logic

# Each item is a pause and a child Play; a survey is for people, so keep it short.
MAX_ITEMS = 20


@logic(
    name="survey_loop",
    description="Asks a person for a 0-10 score per item and labels each with score_label.",
    inputs={
        "n": {
            "type": "integer",
            "description": "How many items to score (1 to 20).",
            "default": 3,
        },
    },
    outputs={
        "scores": {"type": "array", "description": "The scores in item order (integers 0 to 10)."},
        "labels": {"type": "array", "description": "score_label's name for each score."},
        "total": {"type": "integer", "description": "The sum of the scores."},
    },
)
def survey_loop(n: int = 3) -> dict:
    if not 1 <= n <= MAX_ITEMS:
        raise logic.Failed(f"n is {n}: it must be between 1 and {MAX_ITEMS}")
    scores = []
    labels = []
    for i in range(1, n + 1):
        score = ask_user.number(f"Score for item {i}?", integer=True, min=0, max=10)
        labelled = logic.invoke("score_label", score=score)
        scores.append(score)
        labels.append(labelled["label"])
    logic.log(f"{n} items scored, total {sum(scores)}")
    return {"scores": scores, "labels": labels, "total": sum(scores)}
