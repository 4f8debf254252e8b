"""Names a score from 0 to 10; survey_loop calls it after each answer."""

from hero_tracing import logic


@logic(
    name="score_label",
    description="Names a score from 0 to 10: poor, fair, good or excellent.",
    inputs={
        "score": {"type": "integer", "description": "The score, 0 to 10.", "required": True},
    },
    outputs={
        "label": {"type": "string", "description": "poor (0-3), fair (4-5), good (6-8) or excellent (9-10)."},
    },
)
def score_label(score: int) -> dict:
    if not 0 <= score <= 10:
        raise logic.Failed(f"score is {score}: it must be between 0 and 10")
    if score <= 3:
        label = "poor"
    elif score <= 5:
        label = "fair"
    elif score <= 8:
        label = "good"
    else:
        label = "excellent"
    return {"label": label}
