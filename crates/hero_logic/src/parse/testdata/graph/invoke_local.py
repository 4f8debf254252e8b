"""Several @logic functions in one file: calling one runs it as a child Play."""
from hero_tracing import logic


@logic(name="clean")
def clean(text: str) -> dict:
    return {"text": text.strip()}


@logic(name="shout", description="Upper-cases cleaned text.")
def shout(text: str, times: int = 1) -> dict:
    cleaned = clean(text)
    if times > 1:
        again = shout(cleaned["text"], times - 1)
        return {"text": again["text"] + "!"}
    return {"text": cleaned["text"].upper()}
