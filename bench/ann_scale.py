"""Search at scale: exact and IVF search over clustered synthetic vectors, up to 1M.

Also where exact search stops being cheap (:func:`flat_threshold`), the
figure behind ``qa.store.local.ann.FLAT_MAX_VECTORS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PeakMemory, summary, timed
from bench.synthetic import clustered, neighbour_profile
from qa.store.local import ann


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """The mean share of each query's true top-k that ``found`` holds."""
    k = truth.shape[1]
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def single_query_ms(index: Any, queries: np.ndarray, k: int = 10) -> dict[str, float]:
    """Median and p95 of searching one query at a time, after one warm-up search."""
    index.search(queries[:1], k)
    return summary(
        [timed(lambda i=i: index.search(queries[i : i + 1], k))[0] for i in range(len(queries))]
    )


def index_bytes(index: Any, folder: Path) -> int:
    """The size of ``index`` as FAISS writes it to disk."""
    import faiss

    path = folder / "probe.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size
    path.unlink()
    return size


def synthetic_scale(sizes: list[int], tmp: Path, n_queries: int) -> dict[str, Any]:
    """Exact and IVF search over clustered vectors, from small to the largest size."""
    import faiss

    largest = max(sizes)
    out: dict[str, Any] = {"sizes": {}}
    path = tmp / "vectors.npy"
    for n in sizes:
        # Each size is its own corpus: groups of ~8 related vectors at every
        # size, as a passage's window and sentences are (a prefix of a bigger
        # draw would scatter the groups and make small sizes artificially hard).
        seconds, data = timed(lambda n=n: clustered(n + n_queries, seed=7))
        queries = data[n:]
        if n == largest:
            out["generate_seconds"] = round(seconds, 1)
            out["neighbour_profile"] = neighbour_profile(data[:4262])
        # Kept on disk so that building from them is measured the way qa.build
        # does it: read from a memory map, not from a second array.
        np.save(path, data[:n])
        del data
        mapped = np.load(path, mmap_mode="r")
        row: dict[str, Any] = {}
        flat = faiss.IndexFlatIP(mapped.shape[1])
        for start in range(0, n, ann.ADD_CHUNK):
            flat.add(np.ascontiguousarray(mapped[start : min(n, start + ann.ADD_CHUNK)]))
        _, truth = flat.search(queries, 10)
        row["flat"] = single_query_ms(flat, queries[: 40 if n > 200_000 else n_queries])
        row["flat"]["bytes"] = n * mapped.shape[1] * 4
        del flat
        params = ann.choose(n, flat_max=0)
        storages = list(ann.Storage) if n == largest else [params.storage]
        for storage in storages:
            p = ann.AnnParams(params.kind, params.nlist, params.nprobe, storage, params.train_size)
            with PeakMemory() as memory:
                build_seconds, index = timed(lambda p=p, v=mapped[:n]: ann.build_index(v, p))
            _, found = index.search(queries, 10)
            entry = single_query_ms(index, queries)
            entry.update(
                {
                    "recall_at_10": round(recall_at(found, truth), 4),
                    "bytes": index_bytes(index, tmp),
                    "build_seconds": round(build_seconds, 1),
                    "build_memory_grew_mb": memory.grew_mb,
                    "params": p.to_manifest(),
                }
            )
            row[f"ivf_{storage.value}"] = entry
            del index
        out["sizes"][str(n)] = row
        print(
            f"  {n:>9,} vectors: flat p50 {row['flat']['p50_ms']:.2f} ms; "
            + "; ".join(
                f"{k} p50 {v['p50_ms']:.2f} ms recall {v['recall_at_10']:.3f}"
                for k, v in row.items()
                if k.startswith("ivf")
            ),
            flush=True,
        )
        del mapped
    out["vector_bytes_largest"] = largest * 384 * 4
    path.unlink()
    return out


def flat_threshold(scale: dict[str, Any], budget_ms: float = 2.0) -> dict[str, float]:
    """Where exact search reaches ``budget_ms``, from its cost per vector.

    The cost per vector is the slope between the two largest sizes, so the
    fixed cost of a call (and the machine's scheduling noise at small sizes)
    does not count as per-vector work.
    """
    ns = sorted(int(n) for n in scale["sizes"])
    (n1, n2) = ns[-2:]
    p1, p2 = (scale["sizes"][str(n)]["flat"]["p50_ms"] for n in (n1, n2))
    per_vector_us = max(1e-6, (p2 - p1) / (n2 - n1) * 1000)
    return {
        "per_vector_us": round(per_vector_us, 4),
        "vectors_at_budget": int(budget_ms * 1000 / per_vector_us),
        "budget_ms": budget_ms,
    }
