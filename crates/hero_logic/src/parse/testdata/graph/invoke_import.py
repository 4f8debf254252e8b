"""Logics imported by name; standard-library look-alikes are not Logics."""
from pprint import pprint

from hero_tracing import logic
from summarize_stats import summarize_stats
from word_stats import word_stats as count_words
from datetime import datetime


@logic(name="import_demo")
def import_demo(words: list) -> dict:
    stats = count_words(words=words, top_n=3)
    pprint(stats)
    stamp = datetime.now().isoformat()
    summary = summarize_stats(
        word_count=stats["word_count"],
        unique_count=stats["unique_count"],
    )
    return {"summary": summary["summary"], "at": stamp}
