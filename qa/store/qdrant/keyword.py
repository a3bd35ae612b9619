"""Keyword search and scope filters as Qdrant requests, for the server and qdrant-edge.

A question's BM25 over one field (:class:`Keyword`) or over sentences, read
per passage (:class:`Sentences`), asks the collection's sparse vectors only
for what the ranker reads: the top hits, then the scores of the candidates.
Scores already fetched are kept for the rest of the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.store.qdrant.connection import Connection
from qa.store.qdrant.layout import SPARSE


class Keyword:
    """One question's BM25 over one field's collection; scores are fetched as asked."""

    def __init__(
        self, conn: Connection, name: str, vector: tuple[list[int], list[float]], n: int
    ) -> None:
        self.conn, self.name, self.n = conn, name, n
        self.vector = vector
        self.known: dict[int, float] = {}
        self.complete = not vector[0]  # every positive score is in ``known``
        # The query's terms as sparse indices, in the order given (for matched()).
        self.columns: list[int | None] = []
        self.within: Any = None  # the scope's filter, for top()
        self.keep: np.ndarray | None = None  # the scope's ids, as a mask

    def scope(self, where: Any, keep: np.ndarray) -> None:
        """Search only the points ``where`` selects (``keep``: the same, as an id mask)."""
        self.within, self.keep = where, keep
        if not keep.any():  # nothing in scope: no request can find anything
            self.complete = True

    def _query(self, limit: int, ids: Sequence[int] | None = None) -> list[Any]:
        from qdrant_client import models

        where = self.within
        if ids is not None:
            where = models.Filter(must=[models.HasIdCondition(has_id=list(ids))])
        return list(
            self.conn.call(
                "query_points",
                self.name,
                query=models.SparseVector(indices=self.vector[0], values=self.vector[1]),
                using=SPARSE,
                query_filter=where,
                limit=limit,
                with_payload=False,
                with_vectors=False,
            ).points
        )

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.complete or k < 1:
            keep = self.keep
            positive = [
                (i, v) for i, v in self.known.items() if v > 0 and (keep is None or keep[i])
            ]
            best = sorted(positive, key=lambda kv: -kv[1])[: max(k, 0)]
        else:
            best = [(int(p.id), float(p.score)) for p in self._query(k)]
            self.known.update(best)
            self.complete = len(best) < k
        return (
            np.array([i for i, _ in best], dtype=np.int64),
            np.array([s for _, s in best], dtype=np.float32),
        )

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        missing = [i for i in dict.fromkeys(ids) if i not in self.known]
        if missing and not self.complete:
            everything = len(missing) >= self.n
            found = self._query(len(missing), None if everything else missing)
            self.known.update(dict.fromkeys(missing, 0.0))  # no query term: not returned
            self.known.update((int(p.id), float(p.score)) for p in found)
            self.complete = self.complete or everything
        return np.array([self.known.get(i, 0.0) for i in ids], dtype=np.float32)

    def matched(self, ids: Sequence[int]) -> np.ndarray:
        """Which query terms each id has: the ids' own sparse vectors, in one request."""
        rows = [int(i) for i in ids]
        out = np.zeros((len(rows), len(self.columns)), dtype=bool)
        if not rows or not any(c is not None for c in self.columns):
            return out
        points = self.conn.call(
            "retrieve", self.name, sorted(set(rows)), with_payload=False, with_vectors=[SPARSE]
        )
        has = {int(p.id): set(p.vector[SPARSE].indices) for p in points if p.vector}
        for i, r in enumerate(rows):
            present = has.get(r, set())
            out[i] = [c is not None and c in present for c in self.columns]
        return out


class Sentences(Keyword):
    """BM25 over sentences, read per passage as each passage's best sentence."""

    def __init__(
        self,
        conn: Connection,
        name: str,
        vector: tuple[list[int], list[float]],
        first: np.ndarray,
    ) -> None:
        super().__init__(conn, name, vector, len(first) - 1)
        self.first = first
        self.per_passage: dict[int, np.ndarray] = {}

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.vector[0] or k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        from qdrant_client import models

        groups = self.conn.call(
            "query_points_groups",
            self.name,
            query=models.SparseVector(indices=self.vector[0], values=self.vector[1]),
            using=SPARSE,
            group_by="passage",
            group_size=1,
            query_filter=self.within,
            limit=k,
            with_payload=False,
        ).groups
        best = [(int(g.id), float(g.hits[0].score)) for g in groups]
        self.known.update(best)
        return (
            np.array([i for i, _ in best], dtype=np.int64),
            np.array([s for _, s in best], dtype=np.float32),
        )

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        self._fetch(ids)
        return np.array(
            [max(0.0, float(self.per_passage[i].max(initial=0.0))) for i in ids], dtype=np.float32
        )

    def of_passage(self, passage: int) -> np.ndarray:
        self._fetch([passage])
        return self.per_passage[passage]

    def _fetch(self, passages: list[int]) -> None:
        """Every sentence score of ``passages`` (one request for those not read yet)."""
        missing = [p for p in dict.fromkeys(passages) if p not in self.per_passage]
        if not missing:
            return
        first = self.first
        for p in missing:
            self.per_passage[p] = np.zeros(int(first[p + 1] - first[p]), dtype=np.float32)
        if not self.vector[0]:
            return
        from qdrant_client import models

        # By sentence id, not by the payload's passage: a server answers both
        # from its indexes, and local mode checks ids three times faster.
        rows = [r for p in missing for r in range(int(first[p]), int(first[p + 1]))]
        found = self.conn.call(
            "query_points",
            self.name,
            query=models.SparseVector(indices=self.vector[0], values=self.vector[1]),
            using=SPARSE,
            query_filter=models.Filter(must=[models.HasIdCondition(has_id=list[Any](rows))]),
            limit=max(len(rows), 1),
            with_payload=["passage"],
            with_vectors=False,
        ).points
        for point in found:
            p = int(point.payload["passage"])
            self.per_passage[p][int(point.id) - int(first[p])] = point.score


# Up to this many ids, a scope is sent as the ids themselves: local mode checks
# ids far faster than payload values, and a server answers both from an index.
# Past it, by payload (passage number or file name), so requests stay small.
MAX_FILTER_IDS = 20_000


def ranges(key: str, spans: Sequence[tuple[int, int]], ids: Sequence[tuple[int, int]]) -> Any:
    """Points whose integer payload ``key`` lies in one of ``spans`` (``[start, end)``),
    which are the points with ids in the ranges ``ids``."""
    from qdrant_client import models

    if sum(b - a for a, b in ids) <= MAX_FILTER_IDS:
        listed = [i for a, b in ids for i in range(a, b)]
        return models.Filter(must=[models.HasIdCondition(has_id=listed)])  # type: ignore[arg-type]
    return models.Filter(
        should=[models.FieldCondition(key=key, range=models.Range(gte=a, lt=b)) for a, b in spans]
    )


def paths_filter(paths: Sequence[str], ids: np.ndarray) -> Any:
    """Records whose document is one of ``paths``, which are the records ``ids``."""
    from qdrant_client import models

    if len(ids) <= MAX_FILTER_IDS:
        return models.Filter(must=[models.HasIdCondition(has_id=[int(i) for i in ids])])  # type: ignore[arg-type]
    return models.Filter(
        must=[models.FieldCondition(key="path", match=models.MatchAny(any=list(paths)))]
    )
