"""Ranking: a question's candidates from a store, their scores, the answer's parts.

A :class:`Ranker` holds one store and its fitted models.  A question flows
``Ranker.gather`` (candidates and signals, via the
:class:`~qa.store.base.Store`) -> ``Ranker.decide`` (answer or decline, and
the confidence) -> ``Ranker.best_sentence`` and ``Ranker.match_faq`` (what
to show).
"""

from qa.rank.candidate import AnswerSignals, Candidate, Ranking, Words
from qa.rank.faq import FAQMatch
from qa.rank.gather import coverage, question_words
from qa.rank.ranker import Ranker
from qa.rank.scoring import Decision, Linear, Scorer, answer_signals, as_row, percent

__all__ = [
    "AnswerSignals",
    "Candidate",
    "Decision",
    "FAQMatch",
    "Linear",
    "Ranker",
    "Ranking",
    "Scorer",
    "Words",
    "answer_signals",
    "as_row",
    "coverage",
    "percent",
    "question_words",
]
