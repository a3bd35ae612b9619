"""What the fits share: the cached embedder, one BLAS thread, cross-validation, provenance."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from qa.corpus import file_hashes
from qa.embed import DEFAULT_MODEL, Embedder
from qa.export import cache_root
from qa.rank import Linear

# The checkout: fitted files are written into it, and their data paths are relative to it.
ROOT = Path(__file__).resolve().parents[2]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SQUAD_CORPUS = SHARED_EVAL / "squad2-dev" / "corpus"
SQUAD_QUESTIONS = SHARED_EVAL / "squad2-dev" / "questions.jsonl"
# Figures in a fitted file's provenance are rounded to this many decimals.
DECIMALS = 6
# The fitted files, as a git pathspec that leaves them out.
FITTED_FILES = ":(exclude,glob)qa/**/*.json"


def default_cache(model: str = DEFAULT_MODEL) -> Path:
    """Where the fits keep their embeddings between runs (beside the model's ONNX export)."""
    return cache_root() / "fit" / re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")


@contextmanager
def one_thread() -> Iterator[None]:
    """Numerical libraries on one thread while a fit runs.

    OpenBLAS splits a sum across its threads, so a logistic regression's
    weights depend on how many there are (one core or two change the alias
    model's threshold from 0.33 to 0.394): on one thread a fit gives the same
    numbers on any number of cores.
    """
    with threadpool_limits(limits=1):
        yield


def in_one_thread(main: Callable[[Sequence[str] | None], int]) -> Callable[..., int]:
    """A fit's ``main``, run under :func:`one_thread`."""

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None) -> int:
        with one_thread():
            return main(argv)

    return run


class MemoEmbedder(Embedder):
    """Encodes each distinct text once across the many indexes built here,
    and across runs when given a cache folder.

    Each text is encoded on its own: in a padded batch its vector moves by
    about 1e-7 with the texts beside it, so a vector would depend on which
    texts a run (or an earlier one, through the cache) happened to encode
    with it, and a top passage tied that closely could change.
    """

    def __init__(self, cache: Path | None = None) -> None:
        super().__init__()
        self.memo: dict[str, np.ndarray] = {}
        self.cache = cache
        if cache and self._meta() == _read_json(cache / "meta.json"):
            texts = json.loads((cache / "texts.json").read_text("utf-8"))
            vectors = np.load(cache / "vectors.npy", allow_pickle=False)
            self.memo = dict(zip(texts, vectors, strict=True))

    def _meta(self) -> dict[str, Any]:
        return {"model": self.name, "fingerprint": self.fingerprint(), "batch_size": 1}

    def save(self) -> None:
        if self.cache and self.memo:
            self.cache.mkdir(parents=True, exist_ok=True)
            (self.cache / "texts.json").write_text(json.dumps(list(self.memo)), "utf-8")
            np.save(self.cache / "vectors.npy", np.stack(list(self.memo.values())))
            (self.cache / "meta.json").write_text(json.dumps(self._meta()), "utf-8")

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            for t, v in zip(new, super().encode(new, batch_size=1), strict=True):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


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
    """The checkout's commit, with ``-dirty`` when files differ from it ('' outside git).

    The fitted files themselves do not count: ``make fit`` rewrites them one
    after another, and a fit run after another is still of that commit's code.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", FITTED_FILES],
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
        data: Every data file the fit read (a file named twice is listed once).
        module: The fit's module (``qa.fit.scoring``).
        argv: The command-line arguments it was given.
        scores: The out-of-fold figures.
    """
    files: dict[str, Path] = {}
    for p in data:  # each file once, in the order first read
        files.setdefault(relative(p), Path(p))
    return {
        "data": [{"path": name, "sha256": sha256(p)} for name, p in files.items()],
        "commit": commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python", "-m", module, *argv]),
        "scores": rounded(scores),
    }


def write_fitted(path: Path, params: dict[str, Any]) -> None:
    """Write a fitted file as the product reads it: indented JSON, one final newline."""
    Path(path).write_text(json.dumps(params, indent=1) + "\n", "utf-8")


def corpus_files(corpus: Path) -> list[Path]:
    """The files ``qa build`` reads from ``corpus``, in its order."""
    return [Path(corpus) / rel for rel in file_hashes(corpus)]


def main_args(argv: Sequence[str] | None) -> list[str]:
    """The fit's arguments; and its progress shown on stderr (qa's own messages only,
    and the fit's when it runs as ``__main__``)."""
    for name in ("qa", "__main__"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
    return list(sys.argv[1:] if argv is None else argv)
