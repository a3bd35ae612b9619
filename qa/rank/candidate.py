"""Typed candidates: the signals of one passage (or FAQ pair) for one question."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import overload

import numpy as np

_EMPTY = np.zeros(0, dtype=np.float32)

# A question's content words: each as its BM25 term and its rarity in English.
Words = list[tuple[str, float]]


# Slotted, not frozen: a frozen dataclass sets each field through
# object.__setattr__, which made ranking 20 candidates measurably slower.
@dataclass(slots=True)
class Candidate:
    """One passage (or FAQ pair) ranked for one question.

    The float fields are the signals the fitted ranker reads by name
    (``qa/rank/scoring.json``): dense cosines of the best window, best
    sentence and best plain window, their gaps to the best candidate's, and
    BM25 of the passage and of its best sentence relative to the best in the
    corpus.  The coverage fields are the same for every candidate of one
    question.
    """

    id: int
    dense: float
    dense_sentence: float
    dense_gap: float
    dense_sentence_gap: float
    bm25_rel: float
    bm25_sentence_rel: float
    coverage: float
    info_coverage: float
    missing_info: float
    score: float
    # Word match: ``match`` is the rarity-weighted share of the question's
    # content words this passage contains; ``unmatched`` is one minus the
    # best candidate's match, the same for every candidate of one question.
    # The products let the ranker trust BM25 by how much of the question a
    # passage shares, and dense more when no passage shares much of it
    # (docs/retrieval.md, "Questions that share few words with the answer").
    match: float = 0.0
    unmatched: float = 0.0
    bm25_match: float = 0.0
    bm25_sentence_match: float = 0.0
    dense_unmatched: float = 0.0
    dense_sentence_unmatched: float = 0.0
    # The cosine of the best plain window (the passage without its title and
    # heading), its gap to the best candidate's, and its product with
    # ``unmatched`` (docs/retrieval.md).
    dense_plain: float = 0.0
    dense_plain_gap: float = 0.0
    dense_plain_unmatched: float = 0.0
    # Evidence for choosing the best sentence: the cosine and kind of each of
    # the passage's units, and the BM25 of each of its sentences.
    sims: np.ndarray = field(default_factory=lambda: _EMPTY, repr=False, compare=False)
    kinds: np.ndarray = field(default_factory=lambda: _EMPTY, repr=False, compare=False)
    sentence_bm25: np.ndarray = field(default_factory=lambda: _EMPTY, repr=False, compare=False)


@dataclass(slots=True)
class AnswerSignals:
    """Signals about the question as a whole, from its ranked candidates.

    The decline (``in_scope``) and confidence (``correct``) models read
    these by name.  The last four look at whether the top passage answers
    the question (:mod:`qa.rank.answerable`).
    """

    score: float
    margin: float
    dense: float
    dense_sentence: float
    dense_plain: float
    bm25_rel: float
    bm25_second: float
    coverage: float
    info_coverage: float
    missing_info: float
    agree: float
    type_missing: float = 0.0
    negation_unmatched: float = 0.0
    sentence_missing_info: float = 0.0
    sentence_name_missing: float = 0.0


class Candidates(Sequence[Candidate]):
    """A question's candidates, best first, each made when it is first read.

    Answering reads three or four of a question's forty or so candidates
    (the top, the runner-up, the sources); making every one of them cost
    about 0.1 ms a question.  ``make(position)`` builds the candidate at
    that position; each is made once.
    """

    __slots__ = ("_made", "_make")

    def __init__(self, n: int, make: Callable[[int], Candidate]) -> None:
        self._made: list[Candidate | None] = [None] * n
        self._make = make

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, i: int) -> Candidate: ...

    @overload
    def __getitem__(self, i: slice) -> list[Candidate]: ...

    def __getitem__(self, i: int | slice) -> Candidate | list[Candidate]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        found = self._made[i]  # raises IndexError past the end, as a list does
        if found is None:
            found = self._made[i] = self._make(i % len(self._made))
        return found

    def __iter__(self) -> Iterator[Candidate]:
        return (self[i] for i in range(len(self)))


@dataclass(slots=True)
class Ranking:
    """A question's candidates, best first, and what was found about them.

    ``agree``: the top candidate is also the best by dense best-sentence and
    by passage BM25.  ``runner_up``: the position of the best candidate that
    answers differently from the top (a restatement is passed over).
    ``sentences`` caches each candidate's chosen sentence, by position.
    ``question`` and ``passage`` (the top passage with its title and
    heading) are what the answer-level checks read; empty when unknown.
    """

    candidates: Sequence[Candidate]
    qvec: np.ndarray
    words: Words
    agree: float = 0.0
    runner_up: int = 1
    sentences: dict[int, str] = field(default_factory=dict)
    question: str = ""
    passage: str = ""

    def __len__(self) -> int:
        return len(self.candidates)

    def __getitem__(self, i: int) -> Candidate:
        return self.candidates[i]

    @property
    def top(self) -> Candidate:
        return self.candidates[0]


def signal_names(cls: type) -> frozenset[str]:
    """The float signal fields of ``cls`` (what a fitted model may read)."""
    return frozenset(f.name for f in fields(cls) if f.type in ("float", float))
