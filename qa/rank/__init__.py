"""Ranking: a question's candidates from a store, their scores, the answer's parts.

A question flows ``gather`` (candidates and signals, via the
:class:`~qa.store.base.Store`) -> ``Scorer.decide`` (answer or decline, and
the confidence) -> ``best_sentence`` and ``match_faq`` (what to show).
"""

from qa.rank.candidate import AnswerSignals, Candidate, Ranking, Words
from qa.rank.faq import FAQMatch, match_faq
from qa.rank.gather import coverage, gather, question_words
from qa.rank.rules import names_every_word
from qa.rank.scoring import Decision, Linear, Scorer, answer_signals, as_row, percent
from qa.rank.sentence import best_sentence, runner_up

__all__ = [
    "AnswerSignals",
    "Candidate",
    "Decision",
    "FAQMatch",
    "Linear",
    "Ranking",
    "Scorer",
    "Words",
    "answer_signals",
    "as_row",
    "best_sentence",
    "coverage",
    "gather",
    "match_faq",
    "names_every_word",
    "percent",
    "question_words",
    "runner_up",
]
