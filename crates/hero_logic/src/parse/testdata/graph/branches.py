"""if/elif/else chains; conditions that are steps themselves."""
from hero_tracing import ask_user, logic


@logic(name="branch_demo")
def branch_demo(score: int, mode: str = "auto") -> dict:
    if score < 0:
        raise logic.Failed("negative")
    if ask_user.confirm("Proceed?"):
        result = logic.invoke("proceed", score=score)
    elif mode == "ask" and ask_user.choice("Then what?", ["retry", "stop"]) == "retry":
        result = logic.invoke("retry", score=score)
    elif (score > 10
          and mode != "quiet"):
        result = {"big": True}
    else:
        result = logic.invoke("fallback")
    if result:
        if score > 5:
            logic.invoke("notify", score=score)
    return result
