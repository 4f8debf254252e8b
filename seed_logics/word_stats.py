"""Word counts, the second step of the text_pipeline logic."""

from collections import Counter

from hero_tracing import logic


@logic(
    name="word_stats",
    description="Counts words and finds the most frequent ones.",
    inputs={
        "words": {"type": "array", "description": "Words (strings), already normalised.", "required": True},
        "top_n": {"type": "integer", "description": "How many of the most frequent words to report.", "default": 5},
    },
    outputs={
        "word_count": {"type": "integer", "description": "Number of words."},
        "unique_count": {"type": "integer", "description": "Number of distinct words."},
        "top_words": {
            "type": "array",
            "description": "The most frequent words, most frequent first, as {word, count} objects.",
        },
    },
)
def word_stats(words: list, top_n: int = 5) -> dict:
    if not all(isinstance(w, str) for w in words):
        raise logic.Failed("words must be a list of strings")
    if top_n < 0:
        raise logic.Failed(f"top_n is {top_n}: it must be 0 or more")
    counts = Counter(words)
    # Ties keep first-seen order (Counter preserves insertion order), so results are stable.
    top = [{"word": w, "count": c} for w, c in counts.most_common(top_n)]
    return {"word_count": len(words), "unique_count": len(counts), "top_words": top}
