"""Turning retrieval signals into a ranking, a decline decision and a confidence.

Every number here comes from ``qa/scoring.json``, written by
``scripts/fit_scoring.py`` from labelled questions; docs/retrieval.md says how.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARAMS_FILE = Path(__file__).with_name("scoring.json")


@dataclass(frozen=True)
class Decision:
    answered: bool
    confidence: float


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


class Scorer:
    """Linear fusion of dense and BM25 signals, plus logistic decline/confidence."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.rank_weights: dict[str, float] = params["rank"]["weights"]
        self.candidates: int = int(params["rank"].get("candidates", 20))
        self.confidence_weights: dict[str, float] = params["confidence"]["weights"]
        self.confidence_bias: float = params["confidence"]["bias"]
        self.decline_below: float = params["confidence"]["decline_below"]
        self.faq_weights: dict[str, float] = params["faq"]["weights"]
        self.faq_threshold: float = params["faq"]["threshold"]

    @classmethod
    def default(cls) -> Scorer:
        return cls(json.loads(PARAMS_FILE.read_text("utf-8")))

    def score(self, rows: list[dict[str, Any]]) -> None:
        """Set ``row["score"]`` on every candidate."""
        w = self.rank_weights
        for row in rows:
            row["score"] = sum(w[name] * row[name] for name in w)

    def features(self, ranked: list[dict[str, Any]]) -> dict[str, float]:
        top = ranked[0]
        second = ranked[1]["score"] if len(ranked) > 1 else 0.0
        return {
            "score": top["score"],
            "margin": top["score"] - second,
            "dense": top["dense"],
            "dense_sentence": top["dense_sentence"],
            "bm25_rel": top["bm25_rel"],
            "coverage": top["coverage"],
        }

    def decide(self, ranked: list[dict[str, Any]]) -> Decision:
        """Whether to answer with ``ranked[0]``, and how sure we are it is right."""
        if not ranked:
            return Decision(False, 0.0)
        feats = self.features(ranked)
        z = self.confidence_bias + sum(
            w * feats[name] for name, w in self.confidence_weights.items()
        )
        confidence = _sigmoid(z)
        return Decision(confidence >= self.decline_below, confidence)

    def faq_score(self, question_sim: float, pair_sim: float) -> float:
        w = self.faq_weights
        return w["question"] * question_sim + w["pair"] * pair_sim
