"""The Qdrant store, opened for questions.

Records (passages, FAQ pairs, their unit kinds), the vocabularies and the
FAQ pairs' vectors are read once when the store opens, as the folder store
reads its JSONL files; every question then costs a few requests: one dense
search, one keyword search per field and one read of the candidates'
vectors (``bench/scale.py`` counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.errors import IndexNotReadyError
from qa.store.base import FAQRecord, Field, PassageRecord, UnitHits
from qa.store.local.files import FORMAT_VERSION
from qa.store.manifest import Manifest, check_schemes
from qa.store.qdrant import bm25
from qa.store.qdrant.connection import Connection, connect
from qa.store.qdrant.keyword import Keyword, Sentences, paths_filter, ranges
from qa.store.qdrant.layout import (
    DENSE_FAQ,
    DENSE_PASSAGE,
    live_target,
    parts,
    read_meta,
    scroll_all,
)
from qa.store.qdrant.location import QdrantLocation, build_of
from qa.store.qdrant.scoped import LocalScope
from qa.store.scope import Scope
from qa.store.scores import Scores, SentenceScores
from qa.units import SENTENCE


class QdrantStore:
    """The build a Qdrant index's alias points at, read for questions.  Thread-safe.

    Args:
        where: The parsed location (:func:`qa.store.qdrant.location.parse`).

    Raises:
        IndexNotReadyError: Nothing is published there, the alias points at
            something qa did not write, or the build is incomplete.
        StoreUnavailableError: The server cannot be reached.
        QAError: The server refused the API key.
    """

    def __init__(self, where: QdrantLocation, conn: Connection | None = None) -> None:
        self.where = where
        self.conn = conn or connect(where)
        target = live_target(self.conn)
        if target is None:
            raise IndexNotReadyError(
                f"{where}: no index found; run `qa build --index {where}` to create it"
            )
        build = build_of(target)
        meta = read_meta(self.conn, target)
        assert build is not None  # read_meta checked it
        self._build = build
        self.collections = parts(build)
        self.manifest: Manifest = _check_manifest(where, meta["manifest"])
        try:
            self._read(meta)
        except IndexNotReadyError as exc:
            raise IndexNotReadyError(f"{exc} (the build {build} is incomplete)") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IndexNotReadyError(
                f"{where}: the index is damaged ({type(exc).__name__}: {exc}); "
                f"run `qa build --index {where}` to rebuild it"
            ) from None
        # Local mode filters in Python point by point; a scope is scored in memory.
        self._scoped: LocalScope | None = None
        if self.conn.local and not self.where.edge:
            self._scoped = LocalScope(
                self.conn,
                {
                    Field.PASSAGE: self.collections["passages"],
                    Field.SENTENCE: self.collections["sentences"],
                    Field.FAQ: self.collections["faqs"],
                },
                self._terms,
                (len(self.passages), len(self.faqs)),
                self.first_sentence,
                (self.vectors, self._kinds, self._starts),
            )
        # A server's dense search is approximate (HNSW); local mode's is exact.
        self._search: dict[str, Any] = {}
        if not self.conn.local:
            from qdrant_client import models

            self._search = {"search_params": models.SearchParams(hnsw_ef=256)}

    @property
    def build_id(self) -> str:
        return self._build

    def _read(self, meta: dict[str, Any]) -> None:
        where, conn, names = self.where, self.conn, self.collections
        chunks = meta["vocabulary"]
        ids = [i for field in ("passage", "faq") for i in chunks[field]]
        got = {
            int(p.id): p.payload["terms"]
            for p in conn.call("retrieve", names["meta"], ids, with_payload=True)
        }
        self._terms: dict[Field, dict[str, int]] = {}
        for field, key in ((Field.PASSAGE, "passage"), (Field.FAQ, "faq")):
            words = [t for i in chunks[key] for t in got[int(i)]]
            self._terms[field] = {t: n for n, t in enumerate(words)}
        self._terms[Field.SENTENCE] = self._terms[Field.PASSAGE]
        self._vocab = {f: frozenset(t) for f, t in self._terms.items()}

        self.passages: list[PassageRecord] = []
        kinds: list[np.ndarray] = []
        first_sentence = [0]
        for n, point in enumerate(scroll_all(conn, names["passages"])):
            if int(point.id) != n:
                raise ValueError(f"passage {n} is missing")
            row = point.payload
            self.passages.append(PassageRecord.from_json(row))
            kinds.append(np.asarray(row["kinds"], dtype=np.int32))
            start, end = row["sentences"]
            if start != first_sentence[-1]:
                raise ValueError(f"passage {n}'s sentences are out of order")
            first_sentence.append(int(end))
        self.faqs: list[FAQRecord] = []
        for n, point in enumerate(scroll_all(conn, names["faqs"])):
            if int(point.id) != n:
                raise ValueError(f"FAQ pair {n} is missing")
            self.faqs.append(FAQRecord.from_json(point.payload))
            kinds.append(np.asarray(point.payload["kinds"], dtype=np.int32))
        total = self.manifest.counts.vectors
        self._kinds = np.zeros(total, dtype=np.int32)
        spans = [p.units for p in self.passages] + [f.units for f in self.faqs]
        for (start, end), k in zip(spans, kinds, strict=True):
            self._kinds[start:end] = k
        self.first_sentence = np.asarray(first_sentence, dtype=np.int64)
        self._starts = np.array([p.units[0] for p in self.passages], dtype=np.int64)
        passage_kinds = kinds[: len(self.passages)]
        self._passage_units = int(sum(int((k <= SENTENCE).sum()) for k in passage_kinds))
        self.dim = self.manifest.dimension

        units = int(conn.call("count", names["units"], exact=True).count)
        sentences = int(conn.call("count", names["sentences"], exact=True).count)
        checks = [
            (len(self.passages), self.manifest.counts.passages, "passages"),
            (len(self.faqs), self.manifest.counts.faqs, "FAQ pairs"),
            (units, total, "unit vectors"),
            (sentences, int(self.first_sentence[-1]), "sentences"),
        ]
        for found, expected, what in checks:
            if found != expected:
                raise IndexNotReadyError(
                    f"{where}: {what} do not match the manifest ({found} != {expected}); "
                    f"run `qa build --index {where}` to rebuild the index"
                )
        # match_faq reads every FAQ pair's vectors for every question: keep them.
        faq_rows = [r for f in self.faqs for r in range(*f.units)]
        self._faq_vectors = dict(zip(faq_rows, self._fetch(faq_rows), strict=True))

    # -------------------------------------------------------------- Store

    def dense_top(self, qvec: np.ndarray, k: int, within: Scope | None = None) -> UnitHits:
        k = min(k, self._passage_units)
        if within is not None and self._scoped is not None and k >= 1:
            return self._scoped.dense(qvec, k, within)
        if k < 1 or (within is not None and not within.passages):
            empty = np.zeros(0, dtype=np.int64)
            return UnitHits(empty, np.zeros(0, dtype=np.float32), empty)
        found = self.conn.call(
            "query_points",
            self.collections["units"],
            query=np.asarray(qvec, dtype=np.float32).tolist(),
            using=DENSE_PASSAGE,
            query_filter=None if within is None else ranges("owner", within.passages, within.units),
            limit=k,
            with_payload=False,
            with_vectors=False,
            **self._search,
        ).points
        rows = np.array([int(p.id) for p in found], dtype=np.int64)
        scores = np.array([p.score for p in found], dtype=np.float32)
        owners = np.searchsorted(self._starts, rows, side="right") - 1
        return UnitHits(rows, scores, owners.astype(np.int64))

    def keyword(
        self, field: Field, terms: Sequence[str], within: Scope | None = None
    ) -> Keyword | Scores:
        if field is Field.SENTENCE:
            return self.sentences(terms, within)
        if within is not None and self._scoped is not None:
            return self._scoped.keyword(field, terms, within)
        n = len(self.faqs) if field is Field.FAQ else len(self.passages)
        name = self.collections["faqs" if field is Field.FAQ else "passages"]
        ids = self._terms[field]
        keyword = Keyword(self.conn, name, bm25.query(terms, ids), n)
        keyword.columns = [ids.get(t) for t in terms]
        if within is not None:
            keep = within.faq_mask(n) if field is Field.FAQ else within.passage_mask(n)
            keyword.scope(paths_filter(within.paths, np.flatnonzero(keep)), keep)
        return keyword

    def sentences(
        self, terms: Sequence[str], within: Scope | None = None
    ) -> Sentences | SentenceScores:
        if within is not None and self._scoped is not None:
            return self._scoped.sentences(terms, within)
        found = Sentences(
            self.conn,
            self.collections["sentences"],
            bm25.query(terms, self._terms[Field.SENTENCE]),
            self.first_sentence,
        )
        if within is not None:
            first = self.first_sentence
            rows = [(int(first[a]), int(first[b])) for a, b in within.passages]
            found.scope(ranges("passage", within.passages, rows), within.passage_mask(found.n))
        return found

    def vocabulary(self, field: Field) -> frozenset[str]:
        return self._vocab[field]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        faq = self._faq_vectors
        need = sorted({int(r) for r in rows if int(r) not in faq})
        fetched = dict(zip(need, self._fetch(need), strict=True)) if need else {}
        for i, r in enumerate(rows.tolist()):
            out[i] = faq[r] if r in faq else fetched[r]
        return out

    def kinds(self, rows: np.ndarray) -> np.ndarray:
        return self._kinds[np.asarray(rows, dtype=np.int64)]

    def _fetch(self, rows: list[int]) -> list[np.ndarray]:
        """The stored vectors of ``rows`` (one request), in order."""
        if not rows:
            return []
        points = self.conn.call(
            "retrieve", self.collections["units"], rows, with_payload=False, with_vectors=True
        )
        by_id = {}
        for p in points:
            vector = p.vector.get(DENSE_PASSAGE) or p.vector.get(DENSE_FAQ)
            by_id[int(p.id)] = np.asarray(vector, dtype=np.float32)
        missing = [r for r in rows if r not in by_id]
        if missing:
            raise IndexNotReadyError(
                f"{self.where}: {len(missing)} unit vectors are missing (row {missing[0]}); "
                f"run `qa build --index {self.where}` to rebuild the index"
            )
        return [by_id[r] for r in rows]


def _check_manifest(where: QdrantLocation, raw: dict[str, Any]) -> Manifest:
    version = raw.get("format_version")
    if not isinstance(version, int) or version != FORMAT_VERSION:
        raise IndexNotReadyError(
            f"{where}: index format {version!r} is not the one this qa reads ({FORMAT_VERSION}); "
            f"run `qa build --index {where}` to rebuild it"
        )
    rebuild = f"qa build --index {where}"
    try:
        manifest = Manifest.from_dict(raw)
    except ValueError:
        raise IndexNotReadyError(f"{where}: the manifest is incomplete; run `{rebuild}`") from None
    check_schemes(manifest, str(where), rebuild)
    return manifest
