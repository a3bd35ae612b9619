"""Choosing the sentence of a passage that best answers the question."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from qa.rank.candidate import Candidate, Ranking
from qa.text import near_copy
from qa.units import SENTENCE, passage_sentences

if TYPE_CHECKING:
    from qa.rank.ranker import Ranker


@lru_cache(maxsize=4096)
def sentences_of(text: str) -> tuple[str, ...]:
    """A passage's sentences, split once per passage (answers keep coming back
    to the same passages, and splitting is the costly part of picking one)."""
    return tuple(passage_sentences(text))


def best_sentence(ranker: Ranker, ranking: Ranking, position: int) -> str:
    """The sentence of candidate ``position`` that best answers the question ("" if unknown).

    By cosine and BM25 together, weighed as the ranker weighs a passage's
    best sentence.  By cosine alone, "Where did the ministers gather?"
    picked "The gathering at Nato headquarters ..." over "Defence
    ministers ... gathered in Brussels".  Cached on the ranking.
    """
    found = ranking.sentences.get(position)
    if found is None:
        found = _choose(ranker, ranking.candidates[position])
        ranking.sentences[position] = found
    return found


def _choose(ranker: Ranker, candidate: Candidate) -> str:
    sentences = sentences_of(ranker.store.passages[candidate.id].text)
    sent_sims = candidate.sims[candidate.kinds == SENTENCE]
    bm25 = candidate.sentence_bm25
    if len(sentences) == len(sent_sims) == len(bm25) > 1:
        # Relative to the best sentence of any candidate, as bm25_sentence_rel
        # is: this passage's best sentence has exactly that value.
        best = float(bm25.max())
        relative = bm25 * (candidate.bm25_sentence_rel / best) if best > 0 else bm25
        fit = ranker.scorer.sentence_scores(
            sent_sims, relative, candidate.match, candidate.unmatched
        )
        return sentences[int(np.argmax(fit))]
    return sentences[0] if len(sentences) == 1 else ""


def runner_up(ranker: Ranker, ranking: Ranking) -> int:
    """The position of the best candidate that answers differently from the top.

    A passage whose best sentence restates the top one's (a conclusion
    repeating the lead) is the same answer, not a rival: it says nothing
    about doubt, so the confidence's margin is measured past it.
    """
    passages = ranker.store.passages
    top = best_sentence(ranker, ranking, 0) or passages[ranking[0].id].text
    for i in range(1, len(ranking)):
        other = best_sentence(ranker, ranking, i) or passages[ranking[i].id].text
        if not near_copy(top, other):
            return i
    return len(ranking)
