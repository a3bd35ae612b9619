"""What gets embedded and indexed for each passage and FAQ pair.

A passage is stored as several *units*, each one vector: its windows (as
many whole sentences as fit the model's window), when it has more than one
sentence each sentence, and its windows once more without the title and
heading (the *plain* windows).  An FAQ pair is stored as its question, its
answer and the two together.  Keyword search indexes whole passages, single
sentences and FAQ pairs.  Every store keeps the same units, so the ranker
sees the same signals whichever store answers.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from qa.text import split_sentences, terms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from qa.embed import Embedder
    from qa.store.base import FAQRecord, PassageRecord

# Bump when the texts that get embedded for a passage change, so cached
# vectors from an older scheme are not reused.
UNIT_SCHEME = 3

# Unit kinds: what each stored vector embeds.  Dense search runs over the
# kinds up to SENTENCE only; a passage's PLAIN windows are read for its
# candidates' signals, not searched (an index from before them has none).
WINDOW, SENTENCE, FAQ_QUESTION, FAQ_ANSWER, FAQ_PAIR, PLAIN = 0, 1, 2, 3, 4, 5


def context(title: str, heading: str) -> str:
    """What is put before a passage's text when it is embedded or indexed.

    The title and heading say what a paragraph is about even when the
    paragraph itself only says "he" or "the force" (docs/retrieval.md).
    """
    return f"{title}. {heading}. " if heading else f"{title}. "


def passage_sentences(text: str) -> list[str]:
    """A passage's sentences, verbatim; the whole text when it has no boundary."""
    return split_sentences(text) or [text]


def passage_unit_texts(
    embedder: Embedder, title: str, heading: str, text: str
) -> list[tuple[int, str]]:
    """The texts embedded for one passage: its windows, its sentences, its plain windows.

    A window is as many whole sentences as fit the model's window, so a long
    paragraph is embedded as several windows; a one-window paragraph is just
    its text.  Sentences let a question match one line of a long paragraph,
    and pick the sentence to highlight.  Those texts start with the context;
    the plain windows are the same windows without it.  A question that
    says things in other words than the article matches the bare paragraph
    better than the one led by the article's title and heading, while one
    that names the topic matches the other better, so the ranker reads both
    (docs/retrieval.md, "Questions that share few words with the answer").
    """
    prefix = context(title, heading)
    sentences = passage_sentences(text)
    budget = embedder.max_tokens - 2 - embedder.count_tokens([prefix])[0]
    counts = embedder.count_tokens(sentences)
    windows: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, count in zip(sentences, counts, strict=True):
        if current and used + count > budget:
            windows.append(" ".join(current))
            current, used = [], 0
        current.append(sentence)
        used += count
    windows.append(" ".join(current))
    units = [(WINDOW, prefix + w) for w in windows]
    if len(sentences) > 1:
        units += [(SENTENCE, prefix + s) for s in sentences]
    return units + [(PLAIN, w) for w in windows]


def faq_unit_texts(question: str, answer: str) -> list[tuple[int, str]]:
    """The texts embedded for one FAQ pair: question, answer, both."""
    return [(FAQ_QUESTION, question), (FAQ_ANSWER, answer), (FAQ_PAIR, f"{question} {answer}")]


def cache_key(model: str, parts: list[tuple[int, str]]) -> str:
    """The embedding cache's key for one passage or FAQ pair's units."""
    digest = hashlib.sha256(f"{UNIT_SCHEME}\0{model}".encode())
    for kind, text in parts:
        digest.update(f"\0{kind}\0{text}".encode())
    return digest.hexdigest()


def keyword_terms(
    passages: Sequence[PassageRecord], faqs: Sequence[FAQRecord]
) -> tuple[list[list[str]], list[list[str]], list[int], list[list[str]]]:
    """The BM25 terms of every passage, sentence and FAQ pair, with context.

    Returns:
        Passage terms, sentence terms (passages' sentences in passage order),
        the passage each sentence belongs to, and FAQ terms.
    """
    sentence_terms: list[list[str]] = []
    sentence_owner: list[int] = []
    passage_terms: list[list[str]] = []
    for number, p in enumerate(passages):
        prefix = terms(context(p.doc, p.heading))
        sentences = [terms(s) for s in passage_sentences(p.text)]
        passage_terms.append(prefix + [t for s in sentences for t in s])
        sentence_terms += [prefix + s for s in sentences]
        sentence_owner += [number] * len(sentences)
    # FAQ pairs are keyword-indexed on their own: the FAQ section is matched
    # as a corpus of its own (docs/retrieval.md).
    faq_terms = [terms(f"{f.question} {f.answer}") for f in faqs]
    return passage_terms, sentence_terms, sentence_owner, faq_terms
