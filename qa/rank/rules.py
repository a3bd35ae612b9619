"""The one hand-written rule on top of the fitted models: questions about a name."""

from __future__ import annotations

from qa.rank.candidate import Candidate, Words
from qa.store.base import Store
from qa.text import names, terms
from qa.units import context


def names_every_word(store: Store, candidate: Candidate, text: str, words: Words) -> bool:
    """The passage has every content word of the question, and one of them
    is a name or figure (written so by the question or the passage).

    "Who is Pal Jonson?" is about the passage that names him even when the
    model's cosine for a bare name is low (``Scorer.decide``'s ``named``).
    """
    if not words or candidate.coverage < 1.0:  # a word the whole corpus lacks: no
        return False
    p = store.passages[candidate.id]
    present = set(terms(context(p.doc, p.heading) + p.text))
    if any(term not in present for term, _ in words):
        return False
    named = names(text) | names(p.text)
    return any(term in named for term, _ in words)
