"""Small talk: greetings, thanks and "what can you do?" get a friendly reply.

The phrases are general English (``qa/answer/smalltalk.txt``), never any
article's.  A message is small talk only when, lower-cased and without
punctuation, it *is* one of the phrases, give or take filler words such as
"ok" or "there": matching is exact, so a real question ("What did the
minister say, thanks?" aside) is never taken for small talk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

PHRASES_FILE = Path(__file__).with_name("smalltalk.txt")
# Longer messages are questions: the longest phrase has five words.
_MAX_CHARS = 60


class SmallTalk(StrEnum):
    """The kinds of small talk, each with its own opening line."""

    GREETING = "greeting"
    THANKS = "thanks"
    ABOUT = "about"
    BYE = "bye"


_OPENING = {
    SmallTalk.GREETING: "Hello!",
    SmallTalk.THANKS: "You're welcome!",
    SmallTalk.ABOUT: "I answer questions from a set of articles, quoting the passage "
    "that answers them.",
    SmallTalk.BYE: "Goodbye, and thanks for asking!",
}


@lru_cache(maxsize=1)
def _phrases() -> tuple[dict[str, SmallTalk], frozenset[str]]:
    phrases: dict[str, SmallTalk] = {}
    filler: set[str] = set()
    for line in PHRASES_FILE.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, _, phrase = line.partition(":")
        words = _normal(phrase)
        if kind.strip() == "filler":
            filler.add(words)
        else:
            phrases[words] = SmallTalk(kind.strip())
    return phrases, frozenset(filler)


@lru_cache(maxsize=1)
def _phrase_words() -> frozenset[str]:
    return frozenset(w for phrase in _phrases()[0] for w in phrase.split())


_APOSTROPHES = re.compile(r"['’`]")
_MARKS = re.compile(r"[^\w\s]|_")


def _normal(text: str) -> str:
    # Apostrophes go without a space ("what's" -> "whats"), other marks become spaces.
    text = _APOSTROPHES.sub("", text.lower())
    return " ".join(_MARKS.sub(" ", text).split())


def classify(text: str) -> SmallTalk | None:
    """The kind of small talk ``text`` is, or None for anything else.

    >>> classify("Thanks!"), classify("hi there"), classify("Who is he?")
    (<SmallTalk.THANKS: 'thanks'>, <SmallTalk.GREETING: 'greeting'>, None)
    """
    if len(text) > _MAX_CHARS:
        return None
    phrases, filler = _phrases()
    words = _normal(text).split()
    # Drop filler at both ends ("ok thanks", "hi there"), then it must be a phrase,
    # or two phrases in a row ("hi, what can you do").
    while words and words[0] in filler and " ".join(words) not in phrases:
        words = words[1:]
    while words and words[-1] in filler and " ".join(words) not in phrases:
        words = words[:-1]
    if not words or not _phrase_words().issuperset(words):
        return None  # a word no phrase has: a question, not small talk
    joined = " ".join(words)
    if joined in phrases:
        return phrases[joined]
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if first in phrases and second in phrases:
            # "hi, what can you do" is about the bot; "ok thanks" is thanks.
            return phrases[second]
    return None


def reply(kind: SmallTalk, titles: Sequence[str], examples: Sequence[str]) -> str:
    """A short friendly reply that says what the bot covers.

    Args:
        kind: What the message was.
        titles: The corpus's document titles.
        examples: Questions the corpus answers, offered as examples.
    """
    parts = [_OPENING[kind]]
    if titles:
        shown = ", ".join(f"“{t}”" for t in titles[:5])
        more = f" and {len(titles) - 5} more" if len(titles) > 5 else ""
        parts.append(f"I can answer questions about {shown}{more}.")
    if examples:
        parts.append("You could ask: " + " · ".join(examples))
    return " ".join(parts)
