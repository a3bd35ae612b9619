"""Refit the shown confidence on a deployment's own labelled questions.

The confidence model (``correct`` in ``qa/rank/scoring.json``) was fit on
other people's questions.  ``qa calibrate`` asks a deployment's questions
(a question file, as ``qa eval`` reads, or the chat's thumbs log), keeps
every one the bot answers with its label (right passage, or thumbs up),
and fits two numbers on them: ``p = sigmoid(scale * logit(p0) + shift)``
over the shipped confidence ``p0``.  The ranker and the decline model are
never touched, so which passage is shown and what is declined do not
change; only the confidence shown, and so which answers are "High".

Two numbers because a deployment has tens or hundreds of labels, not
thousands: a full refit of every weight would fit its noise.  They are
pulled towards no change (``scale`` 1, ``shift`` 0) by a prior whose
strength is picked from PRIORS by leave-one-out log-loss on the labels
themselves, so a handful of noisy votes moves the confidence only a little.

The fit is stored with the index as ``calibration.json`` (in the index
folder, next to ``current``, so it outlives rebuilds), and every
:class:`qa.Retriever` on that index reads it: the page, ``qa ask`` and
``qa eval``.  It is ignored, with a log line, once the shipped confidence
model it was fit over has changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import QAError
from qa.rank.scoring import HIGH_CONFIDENCE, Linear, Scorer

if TYPE_CHECKING:
    from qa.retrieve import Retriever
    from qa.store import Store

log = logging.getLogger(__name__)

FILE = "calibration.json"
PRIORS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # prior strengths tried, in labels
MIN_LABELS = 10


@dataclass(frozen=True)
class Calibration:
    """``sigmoid(scale * logit + shift)`` over the shipped confidence model."""

    scale: float
    shift: float
    model: str  # sha256 of the confidence model it was fit over
    labels: int
    right: int
    prior: float = 0.0  # its strength, in labels
    source: str = ""
    date: str = ""
    before: dict[str, float] | None = None
    after: dict[str, float] | None = None

    def apply(self, correct: Linear) -> Linear:
        """The confidence model with the calibration folded into its weights."""
        return replace(
            correct,
            weights=tuple(self.scale * w for w in correct.weights),
            bias=self.scale * correct.bias + self.shift,
        )


def model_key(correct: Linear) -> str:
    return hashlib.sha256(json.dumps(correct.to_dict(), sort_keys=True).encode()).hexdigest()


def location(store: Store) -> Path | None:
    """Where a store's calibration lives: its index folder (folder stores only)."""
    folder = getattr(store, "folder", None)
    return Path(folder).parent / FILE if folder is not None else None


def calibrated(scorer: Scorer, store: Store) -> Scorer:
    """``scorer`` with the index's calibration applied, when it has a usable one."""
    path = location(store)
    if path is None or not path.is_file():
        return scorer
    try:
        cal = Calibration(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring %s: unreadable (%s); run `qa calibrate` again", path, exc)
        return scorer
    if cal.model != model_key(scorer.correct):
        log.warning(
            "ignoring %s: fit over another confidence model; run `qa calibrate` again", path
        )
        return scorer
    params = dict(scorer.params)
    params["correct"] = cal.apply(scorer.correct).to_dict()
    return Scorer(params)


def fit(logits: np.ndarray, right: np.ndarray, prior: float) -> tuple[float, float]:
    """``scale`` and ``shift`` by Newton's method on the log-loss plus a
    Gaussian prior at (1, 0) worth ``prior`` labels."""
    theta = np.array([1.0, 0.0])
    x = np.column_stack([logits, np.ones_like(logits)])
    lam = prior / 2.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -50, 50)))
        grad = x.T @ (p - right) + 2 * lam * (theta - [1.0, 0.0])
        hess = (x * (p * (1 - p))[:, None]).T @ x + 2 * lam * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(theta[0]), float(theta[1])


def pick_prior(logits: np.ndarray, right: np.ndarray) -> float:
    """The prior strength of PRIORS with the lowest leave-one-out log-loss."""
    losses = []
    for prior in PRIORS:
        loss = 0.0
        for i in range(len(logits)):
            keep = np.arange(len(logits)) != i
            scale, shift = fit(logits[keep], right[keep], prior)
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, scale * logits[i] + shift))))
            loss -= math.log(max(1e-9, p if right[i] else 1.0 - p))
        losses.append(loss)
    return PRIORS[int(np.argmin(losses))]


def _figures(conf: np.ndarray, right: np.ndarray) -> dict[str, float]:
    high = conf >= HIGH_CONFIDENCE
    return {
        "right_at_high": round(float((high & right).sum() / max(1, right.sum())), 4),
        "high_precision": round(float(right[high].mean()) if high.any() else 0.0, 4),
        "high_answers": int(high.sum()),
    }


@dataclass(frozen=True)
class Labelled:
    """One answered question: the shipped model's logit and whether it was right."""

    logit: float
    right: bool


def label_questions(retriever: Retriever, rows: list[dict[str, Any]]) -> list[Labelled]:
    """Ask each labelled question; keep the answered ones with their label."""
    out = []
    for row in rows:
        answer = retriever.ask(row["question"])
        # An answer of the FAQ pair alone shows the FAQ model's probability, not this one's.
        if not answer.answered or answer.passage is None or answer.kind == "faq":
            continue
        right = bool(row["in_scope"]) and any(n in answer.passage.text for n in row["passage_any"])
        out.append(Labelled(_logit(answer.confidence), right))
    return out


def label_votes(retriever: Retriever, votes: list[Any]) -> tuple[list[Labelled], int]:
    """Ask each voted question again; keep it when the same passage is shown.

    Returns the labels and how many votes were left out (declined now, or
    another passage shown since a rebuild).
    """
    out, skipped = [], 0
    for vote in votes:
        if not vote.answered:
            skipped += 1
            continue
        answer = retriever.ask(vote.question)
        p = answer.passage
        same = p is not None and (
            (vote.build == retriever.build_id and p.id == vote.passage_id)
            or (vote.build != retriever.build_id and (p.doc, p.heading) == (vote.doc, vote.heading))
        )
        if not answer.answered or not same or answer.kind == "faq":
            skipped += 1
            continue
        out.append(Labelled(_logit(answer.confidence), vote.vote == "up"))
    return out, skipped


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def calibrate(retriever: Retriever, labelled: list[Labelled], source: str) -> Calibration:
    """Fit the calibration on ``labelled`` and store it with the retriever's index.

    Raises:
        QAError: Too few labels, only one kind of label, or not a folder index.
    """
    path = location(retriever.store)
    if path is None:
        raise QAError(
            "qa calibrate stores its fit with a folder index (--index FOLDER); "
            "this index is on a server"
        )
    right = np.array([x.right for x in labelled], dtype=bool)
    if len(labelled) < MIN_LABELS or right.all() or not right.any():
        raise QAError(
            f"{source}: {len(labelled)} answered questions, {int(right.sum())} right; "
            f"calibrating needs at least {MIN_LABELS}, some right and some wrong"
        )
    logits = np.array([x.logit for x in labelled])
    prior = pick_prior(logits, right.astype(np.float64))
    scale, shift = fit(logits, right.astype(np.float64), prior)
    after = 1.0 / (1.0 + np.exp(-(scale * logits + shift)))
    cal = Calibration(
        scale=round(scale, 6),
        shift=round(shift, 6),
        model=model_key(retriever.scorer.correct),
        labels=len(labelled),
        right=int(right.sum()),
        prior=prior,
        source=source,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        before=_figures(1.0 / (1.0 + np.exp(-logits)), right),
        after=_figures(after, right),
    )
    path.write_text(json.dumps(asdict(cal), indent=1) + "\n", "utf-8")
    return cal
