"""A one-sentence summary of word counts, the last step of the text_pipeline logic."""

from hero_tracing import logic


@logic(
    name="summarize_stats",
    description="Turns word counts into a readable sentence.",
    inputs={
        "word_count": {"type": "integer", "description": "Number of words.", "required": True},
        "unique_count": {"type": "integer", "description": "Number of distinct words.", "required": True},
        "top_words": {
            "type": "array",
            "description": "Most frequent words as {word, count} objects, most frequent first.",
            "default": [],
        },
    },
    outputs={
        "summary": {"type": "string", "description": "One sentence describing the counts."},
    },
)
def summarize_stats(word_count: int, unique_count: int, top_words: list = ()) -> dict:
    if word_count == 0:
        return {"summary": "The text has no words."}
    noun = "word" if word_count == 1 else "words"
    sentence = f"{word_count} {noun}, {unique_count} distinct"
    if top_words:
        listed = ", ".join(f"{t['word']} ({t['count']})" for t in top_words)
        sentence += f"; most frequent: {listed}"
    return {"summary": sentence + "."}
