"""Matching a question to the corpus's FAQ pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.rank.answerable import wanted
from qa.rank.candidate import Candidate, Ranking, Words
from qa.rank.gather import add_gaps, add_match, coverage
from qa.store.base import Field
from qa.units import FAQ_ANSWER, FAQ_PAIR, FAQ_QUESTION

if TYPE_CHECKING:
    from qa.rank.ranker import Ranker

# An FAQ pair is shown when its section more likely covers the question than not.
FAQ_SHOW = 0.5


@dataclass(frozen=True, slots=True)
class FAQMatch:
    """The FAQ pair that answers a question, and how likely its section covers it."""

    id: int
    probability: float


def match_faq(ranker: Ranker, qvec: np.ndarray, words: Words, text: str = "") -> FAQMatch | None:
    """The FAQ pair that answers the question, if one does.

    The FAQ section is scored as a small corpus of its own, with the same
    fitted ranker and in-scope model as the passages: its best pair is
    shown when that model finds it more likely than not that the FAQ
    section covers the question.  No FAQ-specific parameter is fitted.
    Given the question's ``text``, the model's answer-level checks read the
    best pair's answer as the passage's best sentence, and a pair whose
    question asks for another kind of answer (a name, a date, a number)
    than the user's is not shown.
    """
    store, scorer = ranker.store, ranker.scorer
    faqs = store.faqs
    if not faqs:
        return None
    vocab = store.vocabulary(Field.FAQ)
    known = [t for t, _ in words if t in vocab]
    query = store.keyword(Field.FAQ, known)
    bm25 = query.scores(range(len(faqs)))
    top_bm25 = float(bm25.max())
    covered = coverage(words, vocab)
    rows: list[dict[str, float]] = []
    for i, f in enumerate(faqs):
        start, end = f.units
        rows_range = np.arange(start, end)
        sims = store.vectors(rows_range) @ qvec
        kinds = list(store.kinds(rows_range))
        relative = float(bm25[i]) / top_bm25 if top_bm25 > 0 else 0.0
        rows.append(
            {
                "dense": float(sims[kinds.index(FAQ_PAIR)]),
                "dense_plain": float(sims[kinds.index(FAQ_PAIR)]),
                "dense_sentence": float(
                    max(sims[kinds.index(FAQ_QUESTION)], sims[kinds.index(FAQ_ANSWER)])
                ),
                "bm25_rel": relative,
                "bm25_sentence_rel": relative,
                **covered,
            }
        )
    add_gaps(rows)
    add_match(rows, words, vocab, query.matched(range(len(faqs))))
    empty = np.zeros(0, dtype=np.float32)
    ranked = [
        Candidate(
            id=i, score=scorer.rank.value(row), sims=empty, kinds=empty, sentence_bm25=empty, **row
        )  # fmt: skip
        for i, row in enumerate(rows)
    ]
    ranked.sort(key=lambda c: -c.score)
    # FAQ rankings have no agreement or runner-up signals (0 and the second pair).
    best = faqs[ranked[0].id]
    ranking = Ranking(ranked, qvec, words, question=text, passage=f"{best.question} {best.answer}")
    ranking.sentences[0] = best.answer
    probability = scorer.covers(ranking)
    if probability < FAQ_SHOW:
        return None
    # A pair answers the question its own question asks: one asking "who"
    # ("Who is leading the coalition?") is no answer to "What is the
    # coalition?" or "What comes next for it?", however alike the words.
    asks = wanted(best.question)
    if text and asks and asks != wanted(text):
        return None
    return FAQMatch(ranked[0].id, probability)
