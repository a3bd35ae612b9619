"""What the fits share: the cached embedder, cross-validation, and provenance."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.embed import Embedder
from qa.rank import Linear

# The checkout: fitted files are written into it, and their data paths are relative to it.
ROOT = Path(__file__).resolve().parents[2]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SQUAD_CORPUS = SHARED_EVAL / "squad2-dev" / "corpus"
SQUAD_QUESTIONS = SHARED_EVAL / "squad2-dev" / "questions.jsonl"
# Figures in a fitted file's provenance are rounded to this many decimals.
DECIMALS = 6


class MemoEmbedder(Embedder):
    """Encodes each distinct text once across the many indexes built here,
    and across runs when given a cache folder."""

    def __init__(self, cache: Path | None = None) -> None:
        super().__init__()
        self.memo: dict[str, np.ndarray] = {}
        self.cache = cache
        if cache and (cache / "texts.json").is_file():
            texts = json.loads((cache / "texts.json").read_text())
            vectors = np.load(cache / "vectors.npy", allow_pickle=False)
            self.memo = dict(zip(texts, vectors, strict=True))

    def save(self) -> None:
        if self.cache:
            self.cache.mkdir(parents=True, exist_ok=True)
            (self.cache / "texts.json").write_text(json.dumps(list(self.memo)))
            np.save(self.cache / "vectors.npy", np.stack(list(self.memo.values())))

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            for t, v in zip(new, super().encode(new), strict=True):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def hit(text: str, needles: list[str]) -> bool:
    """Whether ``text`` holds one of a question's answer strings."""
    return any(n in text for n in needles)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, y)
    return model


def to_linear(
    model: LogisticRegression, features: tuple[str, ...], threshold: float = 0.5
) -> Linear:
    return Linear(
        features, tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), threshold
    )


def matrix(rows: list[dict[str, float]], features: tuple[str, ...]) -> np.ndarray:
    return np.array([[r[f] for f in features] for r in rows], dtype=np.float64)


def out_of_fold(
    rows: list[dict[str, Any]],
    features: tuple[str, ...],
    label: str,
    c: float = 1.0,
    extra: Sequence[dict[str, Any]] = (),
) -> np.ndarray:
    """Probabilities for each row, then each of ``extra`` (rows not fitted
    on), from a model fit without the row's document."""
    docs = sorted({r["doc"] for r in rows})
    probs = np.zeros(len(rows) + len(extra))
    x, y = matrix(rows, features), np.array([r[label] for r in rows])
    x_all = matrix(rows + list(extra), features) if extra else x
    for doc in docs:
        test = np.array([r["doc"] == doc for r in rows])
        if len(set(y[~test])) < 2:
            continue
        wanted = np.array([r["doc"] == doc for r in rows + list(extra)])
        probs[wanted] = fit_logistic(x[~test], y[~test], c).predict_proba(x_all[wanted])[:, 1]
    return probs


# ------------------------------------------------------------------ provenance


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def relative(path: Path) -> str:
    """``path`` relative to the checkout (``../shared/...`` for the shared data).

    Lexically, without following links, so a linked data folder keeps its name.
    """
    return Path(os.path.relpath(os.path.abspath(path), ROOT)).as_posix()


def commit() -> str:
    """The checkout's commit, with ``-dirty`` when files differ from it ('' outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"{head}-dirty" if changed else head


def rounded(value: Any) -> Any:
    """``value`` with every float rounded to DECIMALS (nested dicts and lists too)."""
    if isinstance(value, dict):
        return {str(k): rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    if isinstance(value, float | np.floating):
        return round(float(value), DECIMALS)
    if isinstance(value, np.integer):
        return int(value)
    return value


def provenance(
    data: Sequence[Path], module: str, argv: Sequence[str], scores: dict[str, Any]
) -> dict[str, Any]:
    """What made a fitted file: its data files with their sha256, the commit,
    the date, the command, and the fit's out-of-fold figures.

    Args:
        data: Every data file the fit read.
        module: The fit's module (``qa.fit.scoring``).
        argv: The command-line arguments it was given.
        scores: The out-of-fold figures.
    """
    return {
        "data": [{"path": relative(p), "sha256": sha256(Path(p))} for p in data],
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python", "-m", module, *argv]),
        "scores": rounded(scores),
    }


def write_fitted(path: Path, params: dict[str, Any]) -> None:
    """Write a fitted file as the product reads it: indented JSON, one final newline."""
    Path(path).write_text(json.dumps(params, indent=1) + "\n", "utf-8")


def corpus_files(corpus: Path) -> list[Path]:
    """The corpus files a fit reads, in a fixed order."""
    return sorted(p for p in Path(corpus).iterdir() if p.suffix in (".txt", ".md"))


def main_args(argv: Sequence[str] | None) -> list[str]:
    """The fit's arguments; and its progress shown on stderr (qa's own messages only)."""
    logger = logging.getLogger("qa")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return list(sys.argv[1:] if argv is None else argv)
