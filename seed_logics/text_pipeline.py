"""Word statistics for a text, as a pipeline of three logics.

Each step is its own Logic in its own file, and each call below becomes a child Play:
normalize_text, then word_stats, then summarize_stats. The first two are called with
logic.invoke by name; the last is imported and called like a function, the other way to call
a Logic.
"""

from hero_tracing import logic
from summarize_stats import summarize_stats

# Keep in step with the top_n description below.
MAX_TOP_N = 50


@logic(
    name="text_pipeline",
    description="Counts the words of a text and summarises them, in three child steps.",
    inputs={
        "text": {"type": "string", "description": "The text to analyse.", "required": True},
        "top_n": {
            "type": "integer",
            "description": "How many of the most frequent words to report (1 to 50).",
            "default": 5,
        },
    },
    outputs={
        "word_count": {"type": "integer", "description": "Number of words in the text."},
        "top_words": {
            "type": "array",
            "description": "The most frequent words, most frequent first, as {word, count} objects.",
        },
        "summary": {"type": "string", "description": "One sentence describing the counts."},
    },
)
def text_pipeline(text: str, top_n: int = 5) -> dict:
    if not 1 <= top_n <= MAX_TOP_N:
        raise logic.Failed(f"top_n is {top_n}: it must be between 1 and {MAX_TOP_N}")
    normalized = logic.invoke("normalize_text", text=text)
    logic.log(f"normalised to {len(normalized['words'])} words")
    stats = logic.invoke("word_stats", words=normalized["words"], top_n=top_n)
    summary = summarize_stats(
        word_count=stats["word_count"],
        unique_count=stats["unique_count"],
        top_words=stats["top_words"],
    )
    return {
        "word_count": stats["word_count"],
        "top_words": stats["top_words"],
        "summary": summary["summary"],
    }
