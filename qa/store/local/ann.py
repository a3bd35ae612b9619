"""The FAISS index over passage vectors: exact search when small, IVF when large.

Exact (flat) search reads every stored vector for every question, so its cost
grows with the corpus, and up to ``FLAT_MAX_VECTORS`` vectors it stays small
next to encoding the question (docs/performance.md).  Above that, an
inverted-file index (IVF) splits the vectors into ``nlist`` clusters and
searches only the ``nprobe`` clusters nearest the question.  It finds nearly
all of the exact top 10 (recall@10 >= 0.95 in the benchmark) while reading a
few thousand vectors instead of all of them.

The chosen parameters go into the build's manifest under ``"ann"`` and are
read back when the index is opened, so ``nprobe`` (a search-time setting that
FAISS does not save) is the one the build was measured with.

The retriever rescores every candidate with the exact stored vectors, so the
8-bit codes an IVF index keeps only decide which passages become candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import IndexNotReadyError

if TYPE_CHECKING:
    import faiss

# Up to this many vectors, exact search is cheap enough and has no recall loss
# or training cost: it reads every vector, 0.17 us each on the 2-core
# benchmark machine, so 10,000 cost 1.7 ms, within the benchmark's 2 ms
# budget and under half of encoding the question (4-5 ms; docs/performance.md).
# Above it, IVF keeps search well under a millisecond.
FLAT_MAX_VECTORS = 10_000
# FAISS warns when k-means gets fewer than 39 training points per cluster.
TRAIN_POINTS_PER_LIST = 40
# Vectors go into FAISS in slices, so no full second copy is ever made.
ADD_CHUNK = 65_536
# Saved next to an IVF index so the next build can skip k-means.
CENTROIDS_FILE = "centroids.npy"


class IndexKind(StrEnum):
    """The kinds of FAISS index a build can choose."""

    FLAT = "flat"
    IVF = "ivf"


class Storage(StrEnum):
    """How an IVF index stores its vectors: 8-bit codes take a quarter of float32."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


@dataclass(frozen=True)
class AnnParams:
    """Which FAISS index a build uses, and how to search it.

    Attributes:
        kind: Exact (flat) or inverted-file (IVF) search.
        nlist: IVF only: number of clusters.
        nprobe: IVF only: clusters searched per question.
        storage: IVF only: how the vectors are stored.
        train_size: IVF only: vectors sampled to train the clusters.
    """

    kind: IndexKind = IndexKind.FLAT
    nlist: int = 0
    nprobe: int = 0
    storage: Storage = Storage.FLOAT32
    train_size: int = 0

    def __post_init__(self) -> None:
        if self.kind is IndexKind.IVF and not (1 <= self.nprobe <= self.nlist):
            raise ValueError(
                f"an IVF index needs 1 <= nprobe <= nlist, not {self.nprobe}/{self.nlist}"
            )

    def to_manifest(self) -> dict[str, Any]:
        """The JSON object stored under ``"ann"`` in the manifest."""
        if self.kind is IndexKind.FLAT:
            return {"kind": self.kind.value}
        return {
            "kind": self.kind.value,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "storage": self.storage.value,
            "train_size": self.train_size,
        }

    @classmethod
    def from_manifest(cls, data: Any) -> AnnParams:
        """Read the manifest's ``"ann"`` object; a missing one means flat.

        Raises:
            IndexNotReadyError: The object is not one this version writes.
        """
        if data is None:
            return cls()
        try:
            kind = IndexKind(data["kind"])
            if kind is IndexKind.FLAT:
                return cls()
            return cls(
                kind=kind,
                nlist=int(data["nlist"]),
                nprobe=int(data["nprobe"]),
                storage=Storage(data.get("storage", Storage.FLOAT32.value)),
                train_size=int(data.get("train_size", 0)),
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise IndexNotReadyError(
                f"the manifest's index settings are not readable ({exc}); "
                "run `qa build` to rebuild the index"
            ) from None


def choose(n_vectors: int, *, flat_max: int | None = None) -> AnnParams:
    """The index for ``n_vectors`` passage vectors.

    ``nlist`` is the power of two nearest ``sqrt(n)``, so each cluster holds
    about ``sqrt(n)`` vectors (1,024 clusters of ~1,000 at a million); more
    clusters would search faster but k-means training grows with ``nlist``
    squared and took minutes on two cores at 4,096.  ``nprobe`` searches at
    least 16 clusters, 1/64 of them on larger indexes, which the benchmark
    found enough for recall@10 >= 0.95 from 10,000 to 1,000,000 vectors.

    Args:
        n_vectors: How many vectors the index will hold.
        flat_max: Largest count that still gets exact search
            (default ``FLAT_MAX_VECTORS``).

    Example:
        >>> choose(4_000).kind.value
        'flat'
        >>> p = choose(1_000_000)
        >>> (p.kind.value, p.nlist, p.nprobe, p.storage.value)
        ('ivf', 1024, 16, 'int8')
    """
    if n_vectors <= (FLAT_MAX_VECTORS if flat_max is None else flat_max):
        return AnnParams()
    nlist = max(1, min(n_vectors, 2 ** round(math.log2(math.sqrt(n_vectors)))))
    nprobe = min(nlist, max(16, nlist // 64))
    return AnnParams(
        kind=IndexKind.IVF,
        nlist=nlist,
        nprobe=nprobe,
        storage=Storage.INT8,
        train_size=min(n_vectors, TRAIN_POINTS_PER_LIST * nlist),
    )


def build_index(
    vectors: np.ndarray,
    params: AnnParams,
    rows: np.ndarray | None = None,
    *,
    centroids: np.ndarray | None = None,
    seed: int = 0,
) -> faiss.Index:
    """A FAISS inner-product index over ``vectors[rows]``, in ``rows`` order.

    ``vectors`` may be a memory-mapped file: it is read in slices, so the
    build never holds a second full copy of it.

    Args:
        vectors: ``(n, dim)`` float32 unit vectors.
        params: From :func:`choose`.
        rows: Which rows to index (all when None).  Search results number
            these rows 0, 1, 2, ... in this order.
        centroids: IVF cluster centres from an earlier build with the same
            ``nlist``; reusing them skips k-means, the slow part of training.
        seed: Seed for the training sample and k-means.

    Returns:
        The index, ready to search (``nprobe`` already set).
    """
    import faiss

    dim = int(vectors.shape[1])
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    if params.kind is IndexKind.FLAT:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        ivf = _ivf(dim, params, centroids)
        rng = np.random.default_rng(seed)
        n_train = min(len(rows), max(params.train_size, params.nlist))
        sample = np.sort(rng.choice(len(rows), n_train, replace=False))
        ivf.cp.seed = seed
        ivf.train(np.ascontiguousarray(vectors[rows[sample]], dtype=np.float32))
        index = ivf
    for start in range(0, len(rows), ADD_CHUNK):
        block = rows[start : start + ADD_CHUNK]
        index.add(np.ascontiguousarray(vectors[block], dtype=np.float32))
    configure(index, params)
    return index


def _ivf(dim: int, params: AnnParams, centroids: np.ndarray | None) -> Any:
    import faiss

    quantizer = faiss.IndexFlatIP(dim)
    if centroids is not None and centroids.shape == (params.nlist, dim):
        # A quantizer that already holds nlist centres makes train() skip k-means.
        quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    metric = faiss.METRIC_INNER_PRODUCT
    if params.storage is Storage.FLOAT32:
        return faiss.IndexIVFFlat(quantizer, dim, params.nlist, metric)
    kind = {
        Storage.FLOAT16: faiss.ScalarQuantizer.QT_fp16,
        Storage.INT8: faiss.ScalarQuantizer.QT_8bit,
    }[params.storage]
    return faiss.IndexIVFScalarQuantizer(quantizer, dim, params.nlist, kind, metric)


def centroids_of(index: faiss.Index) -> np.ndarray | None:
    """The IVF cluster centres of ``index``, or None for a flat index."""
    import faiss

    if not isinstance(index, faiss.IndexIVF):
        return None
    quantizer = faiss.downcast_index(index.quantizer)
    return np.asarray(quantizer.reconstruct_n(0, quantizer.ntotal), dtype=np.float32)


def configure(index: faiss.Index, params: AnnParams) -> None:
    """Apply the search-time settings FAISS does not save (``nprobe``).

    Raises:
        IndexNotReadyError: The FAISS file and the manifest disagree.
    """
    import faiss

    concrete: Any = faiss.downcast_index(index)
    is_ivf = isinstance(concrete, faiss.IndexIVF)
    if is_ivf != (params.kind is IndexKind.IVF):
        raise IndexNotReadyError(
            f"the FAISS index is {type(concrete).__name__} but the manifest "
            f"says {params.kind.value}; run `qa build` to rebuild the index"
        )
    if is_ivf:
        concrete.nprobe = params.nprobe
