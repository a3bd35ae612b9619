"""One question's BM25 scores over every text of a field, as the stores hand them to the ranker.

The folder store scores from its saved arrays (:mod:`qa.store.local.bm25`);
the Qdrant store does the same in local mode when asked within documents
(:mod:`qa.store.qdrant.scoped`).  A scope zeroes the scores outside it
before anything is ranked, so nothing outside is ever returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.store.local.bm25 import BM25Index
from qa.store.scope import Scope


def keyword_scores(bm25: BM25Index, terms: Sequence[str], keep: np.ndarray | None) -> Scores:
    """Every text's score for ``terms``; ``keep``: the texts in scope, as a mask."""
    scores, postings = bm25.scores(terms)
    if keep is not None:
        scores = np.where(keep, scores, 0).astype(np.float32)
    return Scores(scores, postings)


def sentence_scores(
    bm25: BM25Index,
    terms: Sequence[str],
    owner: np.ndarray,
    first: np.ndarray,
    within: Scope | None = None,
) -> SentenceScores:
    """Every sentence's score for ``terms``, read per passage.

    ``owner``: each sentence's passage; passage ``p``'s sentences are rows
    ``first[p]:first[p + 1]``.
    """
    scores = bm25.scores(terms)[0] if terms else np.zeros(len(owner), dtype=np.float32)
    if within is not None and terms:
        keep = np.zeros(len(scores), dtype=bool)
        for a, b in within.passages:  # a passage range's sentences are one run too
            keep[first[a] : first[b]] = True
        scores = np.where(keep, scores, 0).astype(np.float32)
    return SentenceScores(scores, owner, first)


class Scores:
    """Every id's BM25 score for one question (bm25s scores all ids in one pass)."""

    def __init__(self, scores: np.ndarray, postings: list[np.ndarray] | None = None) -> None:
        self.all = scores
        self.postings = postings or []

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        ids = top_positive(self.all, k)
        return ids, self.all[ids]

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        return self.all[np.asarray(ids, dtype=np.int64)]

    def matched(self, ids: Sequence[int]) -> np.ndarray:
        rows = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(rows), len(self.postings)), dtype=bool)
        for j, posting in enumerate(self.postings):
            if len(posting):
                # Postings are sorted: bm25s builds its matrix sorted by (term,
                # id).  A binary search per id replaces np.isin's sorting,
                # which cost 0.27 ms a question on SQuAD dev.
                at = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
                out[:, j] = posting[at] == rows
        return out


class SentenceScores(Scores):
    """Sentence scores, read per passage as each passage's best sentence."""

    def __init__(self, scores: np.ndarray, owner: np.ndarray, first: np.ndarray) -> None:
        self.sentence = scores
        self.first = first
        super().__init__(best_per_passage(scores, owner, len(first) - 1))

    def of_passage(self, passage: int) -> np.ndarray:
        return self.sentence[self.first[passage] : self.first[passage + 1]]


def best_first(sims: np.ndarray, k: int) -> np.ndarray:
    """The positions of the ``k`` highest of ``sims``, best first (equal ones
    in their order): an exact dense search over rows already scored."""
    best = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    return best[np.argsort(-sims[best], kind="stable")]


def top_positive(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` best scores above 0, in no order.  Only passages
    with a query term score above 0, usually a small part of the corpus."""
    hits = np.nonzero(scores > 0)[0]
    if len(hits) > k:
        hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
    return hits


def best_per_passage(sentence_scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Each passage's best sentence score, from the scores of every sentence.

    Only sentences scoring above 0 (those with a query term) can matter, and
    a passage's sentences are consecutive rows (``owner`` never decreases),
    so one ``reduceat`` over the runs of those sentences gives the maxima.
    """
    best = np.zeros(n, dtype=np.float32)
    hits = np.nonzero(sentence_scores > 0)[0]
    if len(hits):
        owners = owner[hits]
        first = np.empty(len(owners), dtype=bool)  # where each passage's run starts
        first[0] = True
        np.not_equal(owners[1:], owners[:-1], out=first[1:])
        starts = np.nonzero(first)[0]
        best[owners[starts]] = np.maximum.reduceat(sentence_scores[hits], starts)
    return best
