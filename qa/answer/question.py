"""Cleaning and cutting a question to what the model will read."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.embed import Embedder

# Longer questions are cut: the model reads at most 256 word pieces anyway.
MAX_QUESTION_CHARS = 1000


def clean(question: object) -> tuple[str, str]:
    """Printable text of at most MAX_QUESTION_CHARS, and a note if it was cut."""
    text = question if isinstance(question, str) else str(question or "")
    text = text[: MAX_QUESTION_CHARS * 4]
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], (
            f"Your question was long, so only its first {MAX_QUESTION_CHARS} characters were used."
        )
    return text, ""


def question_text(question: object, model: Embedder) -> tuple[str, str]:
    """The question as the model will read it, and a note if it was cut.

    Empty when there is nothing to search for: no letter or digit at all.
    """
    text, note = clean(question)
    if not any(ch.isalnum() for ch in text):
        return "", ""
    budget = model.max_tokens - 2  # [CLS] and [SEP]
    # A word piece is at least one character, so a short text always fits.
    if len(text) <= budget:
        return text, note
    # The tokenizer splits on spaces first, so words can be counted one by one.
    words = text.split(" ")
    kept: list[str] = []
    used = 0
    for word, count in zip(words, model.count_tokens(words), strict=True):
        if used + count > budget:
            if not kept:
                kept.append(word[:budget])
            break
        kept.append(word)
        used += count
    cut = " ".join(kept)
    if cut != text:
        text = cut
        note = f"Your question was long, so only its first {len(text)} characters were used."
    return text, note
