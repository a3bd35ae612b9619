"""Writing a build into Qdrant: new collections, then one alias move.

A build writes five new collections (``qa/store/qdrant/layout.py``) and
publishes them with one ``update_collection_aliases`` call that deletes the
index's alias and creates it on the new meta collection: Qdrant applies the
two together, so readers see the old build or the new one.  A build that
fails or is killed before that call leaves the alias where it was; its
collections are deleted on the way out, or by the next build.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.store.base import Cached, FAQRecord, PassageRecord
from qa.store.local.files import FORMAT_VERSION
from qa.store.manifest import Manifest
from qa.store.qdrant import bm25
from qa.store.qdrant.connection import Connection, connect
from qa.store.qdrant.layout import (
    CHUNK,
    DENSE_FAQ,
    DENSE_PASSAGE,
    LAYOUT,
    SPARSE,
    builds,
    live_target,
    parts,
    previous_alias,
    read_meta,
    scroll_all,
)
from qa.store.qdrant.location import QdrantLocation, build_of
from qa.units import SENTENCE, keyword_terms

BATCH = 256  # points per upsert request
# Rows of the old build's vectors read per request by the embedding cache.
READ_AHEAD = 4096
# A server build that has not published after this long was killed: the next
# build removes its collections.  (Local mode lets one process in, so an
# unpublished build found there is dead.)
STALE_SECONDS = 3600
_building: dict[str, threading.Lock] = {}
_building_lock = threading.Lock()


class QdrantWriter:
    """Writes one build of a Qdrant index and moves its alias to it.

    Args:
        where: The parsed location.
        model: The model the build embeds with (the cache only reuses its vectors).
    """

    def __init__(self, where: QdrantLocation, model: str) -> None:
        self.where = where
        self.model = model
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.build = f"{where.build_prefix()}{stamp}-{os.getpid()}-{os.urandom(3).hex()}"
        self.collections = parts(self.build)
        self.conn: Connection | None = None
        self._live: str | None = None
        self._tmp: Path | None = None
        self._vectors: np.ndarray | None = None
        self._written = False
        self._published = False
        self._cache = _Cache()
        key = where.url or os.path.realpath(where.path or "")
        with _building_lock:
            self._lock = _building.setdefault(f"{key}#{where.name}", threading.Lock())

    def __enter__(self) -> QdrantWriter:
        self._lock.acquire()  # one build of an index at a time in this process
        try:
            self.conn = conn = connect(self.where, create=True)
            names = {str(c.name) for c in conn.call("get_collections").collections}
            if self.where.name in names:
                raise QAError(
                    f"{self.where}: {self.where.name!r} is a collection, and qa publishes each "
                    "build by moving an alias of that name; choose another name for the index"
                )
            self._live = live_target(conn)
            self._remove_builds(older_than=None if conn.local else time.time() - STALE_SECONDS)
            self._cache = _Cache.of(conn, self._live, self.model)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._vectors = None
            if not self._published and self.conn is not None:
                with contextlib.suppress(QAError):
                    self._delete(list(self.collections.values()))
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
        finally:
            self._lock.release()

    @property
    def staging(self) -> Path | None:
        return self._tmp

    def cached(self, key: str) -> Cached | None:
        return self._cache.find(key)

    def allocate(self, total: int, dim: int) -> np.ndarray:
        self._tmp = Path(tempfile.mkdtemp(prefix="qa-qdrant-build-"))
        # The vectors wait in a file until write() uploads them, so a large
        # build never holds them all in memory.
        self._vectors = np.lib.format.open_memmap(
            self._tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(total, dim)
        )
        return self._vectors

    # ---------------------------------------------------------------- write

    def write(
        self,
        manifest: Manifest,
        passages: list[PassageRecord],
        faqs: list[FAQRecord],
        units: np.ndarray,
    ) -> None:
        conn, vectors = self.conn, self._vectors
        assert conn is not None and vectors is not None, "allocate() first"
        with conn.turn():
            self._create(int(vectors.shape[1]))
            self._upload(self.collections["units"], _units(vectors, units))
            self._write_keywords(manifest, passages, faqs, units)
            for name in self.collections.values():
                conn.make_durable(name)
        self._vectors = None
        self._written = True

    def _create(self, dim: int) -> None:
        from qdrant_client import models

        conn, names = self.conn, self.collections
        assert conn is not None
        sparse = {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)}
        dense = models.VectorParams(size=dim, distance=models.Distance.DOT)
        conn.call("create_collection", names["meta"], vectors_config={})
        conn.call(
            "create_collection",
            names["units"],
            vectors_config={DENSE_PASSAGE: dense, DENSE_FAQ: dense},
        )
        for part in ("passages", "sentences", "faqs"):
            conn.call(
                "create_collection", names[part], vectors_config={}, sparse_vectors_config=sparse
            )
        if not conn.local:
            # Sentences are filtered and grouped by their passage; asking within
            # documents filters units by their passage and records by their file.
            for part, key, schema in (
                ("sentences", "passage", models.PayloadSchemaType.INTEGER),
                ("units", "owner", models.PayloadSchemaType.INTEGER),
                ("passages", "path", models.PayloadSchemaType.KEYWORD),
                ("faqs", "path", models.PayloadSchemaType.KEYWORD),
            ):
                conn.call("create_payload_index", names[part], field_name=key, field_schema=schema)
        for name in names.values():
            conn.fast_writes(name)

    def _write_keywords(
        self,
        manifest: Manifest,
        passages: list[PassageRecord],
        faqs: list[FAQRecord],
        units: np.ndarray,
    ) -> None:
        """The passages, sentences and FAQ pairs with their BM25 vectors, then the meta."""
        names = self.collections
        passage_terms, sentence_terms, sentence_owner, faq_terms = keyword_terms(passages, faqs)
        vocab = {"passage": bm25.vocabulary(passage_terms), "faq": bm25.vocabulary(faq_terms)}
        ids = {field: {t: i for i, t in enumerate(words)} for field, words in vocab.items()}
        first = np.searchsorted(sentence_owner, np.arange(len(passages) + 1))
        passage_rows = [
            {
                **row.to_json(),
                "kinds": _kinds(units, row),
                "sentences": [int(first[n]), int(first[n + 1])],
            }
            for n, row in enumerate(passages)
        ]
        faq_rows = [{**row.to_json(), "kinds": _kinds(units, row)} for row in faqs]
        sentence_rows = [{"passage": owner} for owner in sentence_owner]
        self._upload(names["passages"], _documents(passage_terms, ids["passage"], passage_rows))
        self._upload(names["sentences"], _documents(sentence_terms, ids["passage"], sentence_rows))
        self._upload(names["faqs"], _documents(faq_terms, ids["faq"], faq_rows))
        self._upload(names["meta"], _meta(manifest, vocab))

    def _upload(self, name: str, points: Iterator[Any]) -> None:
        assert self.conn is not None
        batch: list[Any] = []
        for point in points:
            batch.append(point)
            if len(batch) == BATCH:
                self.conn.call("upsert", name, batch, wait=True)
                batch = []
        if batch:
            self.conn.call("upsert", name, batch, wait=True)

    # ---------------------------------------------------------------- publish

    def publish(self) -> None:
        from qdrant_client import models

        conn, name = self.conn, self.where.name
        assert conn is not None and self._written, "write() first"
        read_meta(conn, self.collections["meta"])  # complete, and still there
        live, previous = live_target(conn), live_target(conn, previous_alias(name))

        def move(alias: str, was: str | None, to: str) -> list[Any]:
            ops: list[Any] = []
            if was is not None:
                ops.append(
                    models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
                )
            ops.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=to, alias_name=alias)
                )
            )
            return ops

        ops = move(name, live, self.collections["meta"])
        if live is not None:  # the build it replaces stays, for readers that still have it open
            ops += move(previous_alias(name), previous, live)
        conn.call("update_collection_aliases", ops)  # the atomic step
        self._published = True
        with contextlib.suppress(QAError):
            self._remove_builds(older_than=None)

    # ---------------------------------------------------------------- housekeeping

    def _remove_builds(self, older_than: float | None) -> None:
        """Delete every build but the live one, the one it replaced, and this one.

        With ``older_than``, only builds started before it (a server may have
        another build running); without, only builds started before this one.
        """
        assert self.conn is not None
        conn = self.conn
        keep = {
            build_of(live_target(conn) or ""),
            build_of(live_target(conn, previous_alias(conn.where.name)) or ""),
            self.build,
        }
        limit = _started(self.build) if older_than is None else older_than
        for build, names in builds(conn).items():
            if build not in keep and _started(build) <= limit:
                self._delete(names)

    def _delete(self, names: list[str]) -> None:
        assert self.conn is not None
        existing = {str(c.name) for c in self.conn.call("get_collections").collections}
        for name in names:
            if name in existing:
                self.conn.call("delete_collection", name)


def _units(vectors: np.ndarray, units: np.ndarray) -> Iterator[Any]:
    """One point per unit: its vector under the name dense search uses (or not)."""
    from qdrant_client import models

    for row in range(len(units)):
        owner, kind = int(units[row, 0]), int(units[row, 1])
        # Dense search reads the "passage" vectors only; FAQ units and plain
        # windows are stored under "faq" and read back by row.
        name = DENSE_PASSAGE if kind <= SENTENCE else DENSE_FAQ
        yield models.PointStruct(
            id=row,
            vector={name: np.asarray(vectors[row], dtype=np.float32).tolist()},
            payload={"owner": owner, "kind": kind},
        )


def _documents(
    docs: list[list[str]], ids: dict[str, int], payloads: list[dict[str, Any]]
) -> Iterator[Any]:
    """One point per keyword document: its BM25 vector and its payload."""
    from qdrant_client import models

    for n, ((index, values), payload) in enumerate(
        zip(bm25.documents(docs, ids), payloads, strict=True)
    ):
        vector: dict[str, Any] = {SPARSE: models.SparseVector(indices=index, values=values)}
        yield models.PointStruct(id=n, vector=vector, payload=payload)


def _meta(manifest: Manifest, vocab: dict[str, list[str]]) -> Iterator[Any]:
    """Point 0: the manifest and where each vocabulary is; then the vocabularies."""
    from qdrant_client import models

    chunks: dict[str, list[int]] = {}
    terms: list[list[str]] = []
    for field, words in vocab.items():
        chunks[field] = []
        for s in range(0, max(len(words), 1), CHUNK):
            terms.append(words[s : s + CHUNK])
            chunks[field].append(len(terms))
    meta = {
        "manifest": manifest.with_store(format_version=FORMAT_VERSION, store="qdrant").to_dict(),
        "layout": LAYOUT,
        "vocabulary": chunks,
    }
    yield models.PointStruct(id=0, vector={}, payload=meta)
    for i, words in enumerate(terms, start=1):
        yield models.PointStruct(id=i, vector={}, payload={"terms": words})


def _kinds(units: np.ndarray, row: PassageRecord | FAQRecord) -> list[int]:
    start, end = row.units
    return [int(k) for k in units[start:end, 1]]


def _started(build: str) -> float:
    """When ``build`` started, from its name (``...-build-YYYYmmddTHHMMSS-pid-rand``)."""
    try:
        stamp = build.rsplit("-build-", 1)[1].split("-")[0]
        return float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S")))
    except (IndexError, ValueError):
        return 0.0


class _Cache:
    """The live build's vectors, by cache key, read from Qdrant a slice at a time."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, int, list[int]]] = {}
        self.conn: Connection | None = None
        self.units = ""
        self.total = 0
        self.window = (0, 0)
        self.buffer = np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def of(cls, conn: Connection, live: str | None, model: str) -> _Cache:
        cache = cls()
        build = build_of(live or "")
        if live is None or build is None:
            return cache
        try:
            manifest = Manifest.from_dict(read_meta(conn, live)["manifest"])
            if manifest.model != model or manifest.format_version != FORMAT_VERSION:
                return cache
            names = parts(build)
            for part in ("passages", "faqs"):
                for point in scroll_all(conn, names[part], payload=["key", "units", "kinds"]):
                    row = point.payload
                    start, end = int(row["units"][0]), int(row["units"][1])
                    if 0 <= start < end and len(row["kinds"]) == end - start:
                        cache.rows[str(row["key"])] = (start, end, list(row["kinds"]))
            cache.conn, cache.units = conn, names["units"]
            cache.total = manifest.counts.vectors
        except (QAError, KeyError, TypeError, ValueError):
            cache.rows = {}  # an unreadable old build is just an empty cache
        return cache

    def find(self, key: str) -> Cached | None:
        found = self.rows.get(key)
        if found is None or self.conn is None:
            return None
        start, end, kinds = found
        lo, hi = self.window
        if not (lo <= start and end <= hi):
            # A rebuild asks for the keys in corpus order, which is the old
            # build's row order: read ahead, one request per READ_AHEAD rows.
            hi = max(end, min(self.total, start + READ_AHEAD))
            try:
                self.buffer = self._read(start, hi)
            except QAError:
                self.conn = None  # the old build went away: embed the rest
                return None
            self.window = lo, hi = start, hi
        return Cached(self.buffer[start - lo : end - lo].copy(), np.asarray(kinds, dtype=np.int32))

    def _read(self, start: int, end: int) -> np.ndarray:
        assert self.conn is not None
        points = self.conn.call(
            "retrieve", self.units, list(range(start, end)), with_payload=False, with_vectors=True
        )
        by_id = {int(p.id): p.vector.get(DENSE_PASSAGE) or p.vector.get(DENSE_FAQ) for p in points}
        if len(by_id) != end - start:
            raise QAError(f"{self.conn.where}: the live build's vectors are incomplete")
        return np.asarray([by_id[r] for r in range(start, end)], dtype=np.float32)
