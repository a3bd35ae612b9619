"""The confidence part of ``scripts/fit_scoring.py``: P(right answer) over the real mix.

The confidence model is fit on every question the bot would answer, in
every setting the fit makes: SQuAD's answerable questions (right when the
top passage is theirs) and its adversarial unanswerable ones on the full
corpus, questions asked of the corpus without their article, and other
articles' questions asked of one article alone (all never right).  So it
is the probability that an answer is right over answerable and
unanswerable questions together, not only which passage is best.

Every figure printed is out-of-fold: whole articles are left out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from qa.evaluate import auroc, reliability_table
from qa.rank import Linear
from qa.rank.scoring import HIGH_CONFIDENCE

CORRECT_FEATURES = (
    "score",
    "margin",
    "dense",
    "dense_sentence",
    "bm25_second",
    "agree",
    "negation_unmatched",
    "sentence_missing_info",
    "sentence_name_missing",
    "passage_missing_info",
    "passage_info_coverage",
    "type_missing",
)

Rows = list[dict[str, Any]]
OutOfFold = Callable[[Rows, tuple[str, ...], str], np.ndarray]


def mix_figures(conf: np.ndarray, rows: Rows) -> dict[str, float]:
    """What ``qa eval`` reports on the SQuAD mix, from each row's shown confidence
    (0 when declined)."""
    right = [float(c) for c, r in zip(conf, rows, strict=True) if r["correct"]]
    unanswerable = [float(c) for c, r in zip(conf, rows, strict=True) if not r["in_scope"]]
    others = [float(c) for c, r in zip(conf, rows, strict=True) if not r["correct"]]
    high = conf >= HIGH_CONFIDENCE
    correct = np.array([r["correct"] for r in rows], dtype=bool)
    answerable = sum(r["in_scope"] for r in rows)
    return {
        "auroc": auroc(right, unanswerable) or 0.0,
        "auroc_all": auroc(right, others) or 0.0,
        "high_precision": float(correct[high].mean()) if high.any() else 0.0,
        "high_answers": float(high.sum()),
        "high_right": float((correct & high).sum()) / max(1, answerable),
    }


def fit_confidence(
    answered: Rows,
    mix: Rows,
    out_of_fold: OutOfFold,
    fit: Callable[[np.ndarray, np.ndarray, tuple[str, ...]], Linear],
    features: tuple[str, ...] = CORRECT_FEATURES,
) -> Linear:
    """Fit the confidence model on ``answered`` rows and report on ``mix``.

    Args:
        answered: Every row the bot would answer, any setting; each has the
            features, ``correct``, ``in_scope``, ``doc`` and ``answered``.
        mix: The rows of the real mix (SQuAD's answerable and unanswerable
            questions on the full corpus), answered or not; a subset of
            ``answered`` by identity for those answered.
        out_of_fold: Probabilities from models fit without each row's document.
        fit: Fits the final model on a feature matrix and labels.
    """
    probs = out_of_fold(answered, features, "correct")
    by_row = {id(r): float(p) for r, p in zip(answered, probs, strict=True)}
    conf = np.array([by_row.get(id(r), 0.0) for r in mix])
    figures = mix_figures(conf, mix)
    print(
        "confidence on the SQuAD mix (out-of-fold, declined = 0): "
        + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()),
        file=sys.stderr,
    )
    table = reliability_table(
        [(float(c), bool(r["correct"])) for c, r in zip(conf, mix, strict=True)]
    )
    print("confidence reliability on the mix (out-of-fold):", file=sys.stderr)
    for b in table:
        print(
            f"  {b['low']:.3f}-{b['high']:.3f} n={int(b['n']):5d} "
            f"conf={b['confidence']:.3f} right={b['hit_rate']:.3f}",
            file=sys.stderr,
        )
    x = np.array([[r[f] for f in features] for r in answered], dtype=np.float64)
    return fit(x, np.array([r["correct"] for r in answered]), features)
