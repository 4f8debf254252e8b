"""Text normalisation, the first step of the text_pipeline logic.

Lower-cases (Unicode case folding), keeps words and contractions ("don't"), and drops
punctuation and extra whitespace.
"""

import re
import unicodedata

from hero_tracing import logic

# Runs of letters/digits (not underscores), optionally joined by one apostrophe: "don't"
# stays one word, "snake_case" becomes two.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@logic(
    name="normalize_text",
    description="Normalises text into lower-case words without punctuation.",
    inputs={
        "text": {"type": "string", "description": "Any text.", "required": True},
    },
    outputs={
        "text": {"type": "string", "description": "The words joined by single spaces."},
        "words": {"type": "array", "description": "The words in order (strings)."},
    },
)
def normalize_text(text: str) -> dict:
    # NFKC first so that ligatures and full-width forms fold like their plain letters.
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    words = WORD.findall(folded)
    return {"text": " ".join(words), "words": words}
