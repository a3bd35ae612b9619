"""Query latency: ``ask()`` against its floor (encode + one search), question by question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import qa
from bench.common import summary, timed
from qa.embed import Embedder
from qa.store.local.files import build_dir
from qa.units import SENTENCE


def passage_vectors(index_dir: Path) -> np.ndarray:
    folder = build_dir(index_dir)
    vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
    units = np.load(folder / "units.npy", allow_pickle=False)
    return np.ascontiguousarray(vectors[np.flatnonzero(units[:, 1] <= SENTENCE)])


def flat_floor_index(index_dir: Path) -> Any:
    """The floor's exact index: the passage vectors (windows and sentences) that
    ``ask()`` searches, in a flat FAISS inner-product index."""
    import faiss

    vectors = passage_vectors(index_dir)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def query_latency(
    index_dir: Path, questions: list[str], embedder: Embedder, *, flat_floor: bool = True
) -> dict[str, Any]:
    """``ask()`` against its floor, interleaved question by question.

    The floor is what any dense retriever must do: encode the question once
    and search the passage vectors once.  It uses exact (flat) search, or the
    index's own search where the corpus is too large for flat search to be a
    fair floor (``flat_floor=False``).
    """
    retriever = qa.load(index_dir, embedder=embedder)
    floor_index = flat_floor_index(index_dir) if flat_floor else retriever.store.index
    k = min(64, floor_index.ntotal)

    def floor(q: str) -> None:
        floor_index.search(embedder.encode([q]), k)

    for q in questions[:5]:  # warm caches and lazy loads
        retriever.ask(q)
        floor(q)
    asks, floors = [], []
    for q in questions:
        asks.append(timed(lambda q=q: retriever.ask(q))[0])
        floors.append(timed(lambda q=q: floor(q))[0])
    a, f = summary(asks), summary(floors)
    pairs = [x / y for x, y in zip(asks, floors, strict=True)]
    return {
        "ask": a,
        "floor": f,
        # Each question's ask() and floor run back to back, under the same load.
        "ratio_median_of_pairs": round(float(np.median(pairs)), 3),
        "floor_kind": "flat" if flat_floor else (retriever.manifest.ann or {}).get("kind"),
        "ratio_p50": round(a["p50_ms"] / f["p50_ms"], 3),
        "vectors": int(retriever.store.index.ntotal),
        "passages": len(retriever.passages),
        "ann": retriever.manifest.ann,
    }
