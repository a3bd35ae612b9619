"""The confidence part of :mod:`qa.fit.scoring`: P(right answer) over the real mix.

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

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from qa.evaluate import auroc, reliability_table
from qa.rank import Linear
from qa.rank.features import CORRECT
from qa.rank.scoring import HIGH_CONFIDENCE

log = logging.getLogger(__name__)

CORRECT_FEATURES = CORRECT  # the registry: qa/rank/features.py


Rows = list[dict[str, Any]]
OutOfFold = Callable[..., np.ndarray]  # qa.fit.common.out_of_fold


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


# The signals of the confidence model before the answer-level checks.
RANKING_ONLY = ("score", "margin", "dense", "dense_sentence", "bm25_second", "agree")


def oof_figures(answered: Rows, mix: Rows, out_of_fold: OutOfFold, features: tuple[str, ...]):
    """Out-of-fold confidence of every ``mix`` row (0 when declined) and its figures."""
    probs = out_of_fold(answered, features, "correct")
    by_row = {id(r): float(p) for r, p in zip(answered, probs, strict=True)}
    conf = np.array([by_row.get(id(r), 0.0) for r in mix])
    return conf, mix_figures(conf, mix)


def ablate(answered: Rows, mix: Rows, out_of_fold: OutOfFold) -> None:
    """Print the mix figures with each answer-level signal alone and without each."""
    variants: list[tuple[str, tuple[str, ...]]] = [
        ("ranking signals only, fit on the mix", RANKING_ONLY)
    ]
    extra = [f for f in CORRECT_FEATURES if f not in RANKING_ONLY]
    variants += [(f"ranking signals + {f}", (*RANKING_ONLY, f)) for f in extra]
    variants += [(f"all but {f}", tuple(g for g in CORRECT_FEATURES if g != f)) for f in extra]
    variants.append(("all", CORRECT_FEATURES))
    # Today's way: fit on the answered answerable questions, applied to the rest of the mix.
    answerable = [r for r in answered if r["setting"] == "full" and r["in_scope"]]
    mix_ids = {id(r) for r in mix}
    rest = [r for r in answered if id(r) in mix_ids and not r["in_scope"]]
    probs = out_of_fold(answerable, RANKING_ONLY, "correct", extra=rest)
    by_row = {id(r): float(p) for r, p in zip(answerable + rest, probs, strict=True)}
    today = mix_figures(np.array([by_row.get(id(r), 0.0) for r in mix]), mix)
    log.info("confidence ablation on the SQuAD mix (out-of-fold):")
    log.info("  %-52s %s", "ranking signals, fit on answerable questions only", _line(today))
    for name, features in variants:
        _, figures = oof_figures(answered, mix, out_of_fold, features)
        log.info("  %-52s %s", name, _line(figures))


def _line(f: dict[str, float]) -> str:
    return (
        f"AUROC {f['auroc']:.3f}  right of high {f['high_precision']:.3f}  "
        f"right with high {f['high_right']:.3f}"
    )


def fit_confidence(
    answered: Rows,
    mix: Rows,
    out_of_fold: OutOfFold,
    fit: Callable[[np.ndarray, np.ndarray, tuple[str, ...]], Linear],
    features: tuple[str, ...] = CORRECT_FEATURES,
) -> tuple[Linear, dict[str, float]]:
    """Fit the confidence model on ``answered`` rows and report on ``mix``.

    Args:
        answered: Every row the bot would answer, any setting; each has the
            features, ``correct``, ``in_scope``, ``doc`` and ``answered``.
        mix: The rows of the real mix (SQuAD's answerable and unanswerable
            questions on the full corpus), answered or not; a subset of
            ``answered`` by identity for those answered.
        out_of_fold: Probabilities from models fit without each row's document.
        fit: Fits the final model on a feature matrix and labels.

    Returns:
        The model, and its out-of-fold figures on ``mix`` (:func:`mix_figures`).
    """
    conf, figures = oof_figures(answered, mix, out_of_fold, features)
    log.info(
        "confidence on the SQuAD mix (out-of-fold, declined = 0): %s",
        ", ".join(f"{k} {v:.3f}" for k, v in figures.items()),
    )
    table = reliability_table(
        [(float(c), bool(r["correct"])) for c, r in zip(conf, mix, strict=True)]
    )
    log.info("confidence reliability on the mix (out-of-fold):")
    for b in table:
        log.info(
            "  %.3f-%.3f n=%5d conf=%.3f right=%.3f",
            b["low"],
            b["high"],
            int(b["n"]),
            b["confidence"],
            b["hit_rate"],
        )
    x = np.array([[r[f] for f in features] for r in answered], dtype=np.float64)
    return fit(x, np.array([r["correct"] for r in answered]), features), figures
