"""Asking within documents on qdrant-client's local mode, in memory.

Local mode is qdrant-client's pure-Python stand-in for a server.  On every
request it computes the score of every point of the collection and checks a
filter on every point, in Python, so a filtered search costs more than an
unfiltered one: asked within three SQuAD articles, a question took 1.41
times as long as over all of them (bench/filtered.py).  Its points live in
this process anyway, so within documents the store scores only the scope,
with numpy, as the folder store does: the dense vectors of the scope's units
(one read of their rows), and BM25 from each keyword collection's sparse
vectors, read once on the first such question into the folder store's BM25
arrays.  A Qdrant server and qdrant-edge filter inside their own engine and
never come here; an unscoped question on local mode still goes through
Qdrant's queries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from qa.store.base import Field, UnitHits
from qa.store.local.bm25 import BM25Index
from qa.store.qdrant.connection import Connection
from qa.store.qdrant.layout import SPARSE, scroll_all
from qa.store.scope import Scope
from qa.store.scores import (
    Scores,
    SentenceScores,
    best_first,
    keyword_scores,
    sentence_scores,
)
from qa.units import SENTENCE


class LocalScope:
    """Dense and BM25 search over a scope of one local-mode build.

    Args:
        conn: The local-mode connection.
        collections: Each keyword field's collection name.
        terms: Each field's term numbering (the sparse vectors' indices).
        counts: The numbers of passages and of FAQ pairs.
        first_sentence: Passage ``p``'s sentences are ids
            ``first_sentence[p]:first_sentence[p + 1]``.
        units: The store's unit vectors (a function of rows), each unit's
            kind, and each passage's first unit.
    """

    def __init__(
        self,
        conn: Connection,
        collections: dict[Field, str],
        terms: dict[Field, dict[str, int]],
        counts: tuple[int, int],
        first_sentence: np.ndarray,
        units: tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray],
    ) -> None:
        self.conn, self.collections, self.terms = conn, collections, terms
        passages, faqs = counts
        self.counts = {
            Field.PASSAGE: passages,
            Field.SENTENCE: int(first_sentence[-1]),
            Field.FAQ: faqs,
        }
        self.first = first_sentence
        self.owner = np.repeat(np.arange(len(first_sentence) - 1), np.diff(first_sentence))
        self.vectors, self.kinds, self.starts = units
        self._indexes: dict[Field, BM25Index] = {}
        self._lock = threading.Lock()

    def dense(self, qvec: np.ndarray, k: int, within: Scope) -> UnitHits:
        """Exact dense search over the scope's passage units."""
        spans = [np.arange(a, b, dtype=np.int64) for a, b in within.units]
        rows = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
        rows = rows[self.kinds[rows] <= SENTENCE]
        if not len(rows):
            empty = np.zeros(0, dtype=np.int64)
            return UnitHits(empty, np.zeros(0, dtype=np.float32), empty)
        sims = self.vectors(rows) @ np.asarray(qvec, dtype=np.float32)
        k = min(k, len(rows))
        best = best_first(sims, k)
        owners = np.searchsorted(self.starts, rows[best], side="right") - 1
        return UnitHits(rows[best], sims[best].astype(np.float32), owners.astype(np.int64))

    def keyword(self, field: Field, terms: Sequence[str], within: Scope) -> Scores:
        n = self.counts[field]
        if not terms or n == 0:
            return Scores(np.zeros(n, dtype=np.float32))
        keep = within.faq_mask(n) if field is Field.FAQ else within.passage_mask(n)
        return keyword_scores(self._index(field), terms, keep)

    def sentences(self, terms: Sequence[str], within: Scope) -> SentenceScores:
        return sentence_scores(self._index(Field.SENTENCE), terms, self.owner, self.first, within)

    def _index(self, field: Field) -> BM25Index:
        with self._lock:
            if field not in self._indexes:
                self._indexes[field] = read_sparse(
                    self.conn, self.collections[field], self.terms[field], self.counts[field]
                )
            return self._indexes[field]


def read_sparse(conn: Connection, name: str, terms: dict[str, int], n: int) -> BM25Index:
    """Collection ``name``'s BM25 as the folder store keeps it: per term, the
    ids that have it and their scores.

    The stored values are BM25's term-frequency part; Qdrant's IDF modifier
    multiplies the query by each term's idf over the collection
    (qa/store/qdrant/bm25.py), so the idf is applied here, with Qdrant's
    formula, to make the scores the ones Qdrant's own query gives.
    """
    columns = len(terms)
    ids: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    with_vector = 0  # Qdrant's N: the points that have the sparse vector, empty or not
    for p in scroll_all(conn, name, payload=False, vectors=[SPARSE]):
        sparse = (p.vector or {}).get(SPARSE)
        if sparse is None:
            continue
        with_vector += 1
        if not sparse.indices:
            continue
        cols.append(np.asarray(sparse.indices, dtype=np.int64))
        vals.append(np.asarray(sparse.values, dtype=np.float64))
        ids.append(np.full(len(sparse.indices), int(p.id), dtype=np.int64))
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    val = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float64)
    row = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    order = np.lexsort((row, col))  # by term, then by id, as bm25s stores its matrix
    col, val, row = col[order], val[order], row[order]
    df = np.bincount(col, minlength=columns)  # each term's texts: its column's length
    idf = np.log((with_vector - df + 0.5) / (df + 0.5) + 1.0)
    indptr = np.zeros(columns + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return BM25Index(
        vocab=terms,
        data=(val * idf[col]).astype(np.float32),
        indices=row.astype(np.int32),
        indptr=indptr,
        num_docs=n,
        dtype=np.dtype(np.float32),
    )
