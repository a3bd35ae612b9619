"""Turning retrieval signals into a ranking, a decline decision and a confidence.

Three small linear models, all fit by ``qa/fit/scoring.py`` on labelled
questions and stored in ``qa/rank/scoring.json`` (docs/retrieval.md explains them):

* ``rank``: fuses dense and BM25 signals into one score per passage;
* ``in_scope``: the probability that the corpus covers the question at all;
  below its threshold the bot declines (FAQ sections are judged by it too),
  unless the top passage contains every content word of the question, a
  name among them (``Scorer.decide``'s ``named``);
* ``correct``: the probability that the top passage is the right one, shown
  as the answer's confidence.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.rank.answerable import answer_checks
from qa.rank.candidate import AnswerSignals, Candidate, Ranking, signal_names
from qa.rank.features import RANK

PARAMS_FILE = Path(__file__).with_name("scoring.json")

RANK_FEATURES = RANK  # the registry: qa/rank/features.py


# From this confidence on, an answer is shown as "High confidence".
HIGH_CONFIDENCE = 0.75


def percent(confidence: float) -> str:
    """A confidence in whole percent, never "100%": the models are never
    certain, and a reader takes 100% at its word.

    >>> percent(0.999), percent(0.5), percent(0.0)
    ('99%', '50%', '0%')
    """
    return f"{min(99, round(confidence * 100))}%"


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


@dataclass(frozen=True)
class Linear:
    """``bias + sum(weight * feature)``, optionally squashed to a probability."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float = 0.0
    threshold: float = 0.5

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Linear:
        return cls(
            tuple(d["features"]),
            tuple(float(w) for w in d["weights"]),
            float(d.get("bias", 0.0)),
            float(d.get("threshold", 0.5)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 6),
        }

    @cached_property
    def _by_feature(self) -> dict[str, float]:
        return dict(zip(self.features, self.weights, strict=True))

    def weight(self, feature: str) -> float:
        """The weight of ``feature`` (0 when the model does not use it)."""
        return self._by_feature.get(feature, 0.0)

    @cached_property
    def _values(self) -> Callable[[Mapping[str, float]], tuple[float, ...]]:
        if len(self.features) < 2:  # itemgetter returns a bare value for one key
            return lambda row: tuple(row[f] for f in self.features)
        return operator.itemgetter(*self.features)

    def value(self, row: Mapping[str, float]) -> float:
        # itemgetter and map: twice as fast as a generator over the pairs,
        # and the ranker runs this for every candidate of every question.
        return self.bias + sum(map(operator.mul, self.weights, self._values(row)))

    def values(self, cols: Mapping[str, np.ndarray]) -> np.ndarray:
        """``value`` of many rows at once, from one array per feature.

        The products are added feature by feature, from 0, as ``value``
        adds them, so each row gets exactly the float ``value`` gives it.
        """
        total = np.zeros(len(next(iter(cols.values()))))
        for weight, feature in zip(self.weights, self.features, strict=True):
            total = total + weight * cols[feature]
        return self.bias + total

    def probability(self, row: Mapping[str, float]) -> float:
        return sigmoid(self.value(row))

    def check(self, name: str, known: frozenset[str]) -> None:
        """Every feature must be a signal the code computes.

        Raises:
            QAError: A feature is not in ``known``; the message lists them.
        """
        unknown = [f for f in self.features if f not in known]
        if unknown:
            raise QAError(
                f"scoring model {name!r} reads unknown signals {unknown}; the signals are "
                f"{sorted(known)}; refit it with python -m qa.fit.scoring"
            )


@dataclass(frozen=True)
class Decision:
    answered: bool
    confidence: float
    in_scope: float


def answer_signals(ranking: Ranking) -> AnswerSignals:
    """Signals about the question as a whole, from its ranked candidates."""
    top = ranking.candidates[0]
    # The runner-up is the best candidate that is not a restatement of the top.
    runner_up = ranking.runner_up
    second = ranking.candidates[runner_up] if runner_up < len(ranking) else None
    return AnswerSignals(
        score=top.score,
        margin=top.score - (second.score if second else top.score - 1.0),
        dense=top.dense,
        dense_sentence=top.dense_sentence,
        dense_plain=top.dense_plain,
        bm25_rel=top.bm25_rel,
        bm25_second=second.bm25_rel if second else 0.0,
        coverage=top.coverage,
        info_coverage=top.info_coverage,
        missing_info=top.missing_info,
        agree=ranking.agree,
        **answer_checks(
            ranking.question, ranking.words, ranking.sentences.get(0, ""), ranking.passage
        ),
    )


def as_row(signals: AnswerSignals | Candidate) -> dict[str, float]:
    """The signals by name, as the fitted models read them."""
    names = _ANSWER_SIGNALS if isinstance(signals, AnswerSignals) else _CANDIDATE_SIGNALS
    return {name: getattr(signals, name) for name in names}


_ANSWER_SIGNALS = signal_names(AnswerSignals)
_CANDIDATE_SIGNALS = signal_names(Candidate)


class Scorer:
    """The three fitted models, loaded from ``qa/rank/scoring.json``."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.rank = Linear.from_dict(params["rank"])
        self.in_scope = Linear.from_dict(params["in_scope"])
        self.correct = Linear.from_dict(params["correct"])
        self.candidates = int(params.get("candidates", 20))
        self.rank.check("rank", _CANDIDATE_SIGNALS - {"score"})
        self.in_scope.check("in_scope", _ANSWER_SIGNALS)
        self.correct.check("correct", _ANSWER_SIGNALS)

    @classmethod
    def default(cls) -> Scorer:
        return cls(json.loads(PARAMS_FILE.read_text("utf-8")))

    def sentence_scores(
        self, cosines: np.ndarray, bm25_rel: np.ndarray, match: float = 0.0, unmatched: float = 0.0
    ) -> np.ndarray:
        """How well each sentence of one passage answers the question.

        The ranker's own weights for a passage's best-sentence signals (the
        cosine, its gap to the best candidate's, the relative BM25, and their
        products with the passage's ``match`` and the question's
        ``unmatched``), so a sentence is judged as its passage was.
        """
        w = self.rank.weight
        dense = (
            w("dense_sentence")
            + w("dense_sentence_gap")
            + w("dense_sentence_unmatched") * unmatched
        )
        bm25 = w("bm25_sentence_rel") + w("bm25_sentence_match") * match
        return dense * cosines + bm25 * bm25_rel

    def decide(self, ranking: Ranking, *, named: bool = False) -> Decision:
        """Whether to answer with the top candidate, and how sure we are it is right.

        ``named``: the top passage has every content word of the question, a
        name or figure among them ("Who is Pal Jonson?").  Such a question is
        about that passage even when the model's cosine for a bare name is
        low, so it is answered whatever the in-scope model says.
        """
        if not ranking.candidates:
            return Decision(False, 0.0, 0.0)
        feats = as_row(answer_signals(ranking))
        in_scope = self.in_scope.probability(feats)
        correct = self.correct.probability(feats)
        answered = named or in_scope >= self.in_scope.threshold
        return Decision(answered, correct if answered else correct * in_scope, in_scope)

    def covers(self, ranking: Ranking) -> float:
        """The probability that the texts behind ``ranking`` cover the question."""
        if not ranking.candidates:
            return 0.0
        return self.in_scope.probability(as_row(answer_signals(ranking)))
