"""Writing a build into the folder store: the embedding cache, FAISS, bm25s, the swap."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from qa.errors import QAError
from qa.store import manifest as manifest_file
from qa.store.base import Cached, FAQRecord, PassageRecord
from qa.store.local import ann
from qa.store.local.files import (
    BUILD_PREFIX,
    FORMAT_VERSION,
    build_dir,
    build_lock,
    fsync_dir,
    fsync_tree,
    read_jsonl,
    read_manifest,
    remove_stale,
    swap_in,
    write_jsonl,
    write_npy,
)
from qa.store.manifest import Manifest
from qa.units import SENTENCE, keyword_terms


class LocalWriter:
    """Writes one build into ``index_dir`` and swaps it in atomically.

    Entering takes the build lock and clears unfinished builds; leaving
    without :meth:`publish` deletes the unfinished folder, so a failed or
    killed build leaves the live one untouched.
    """

    def __init__(self, index_dir: str | os.PathLike[str], model: str) -> None:
        self.root = Path(index_dir)
        self.model = model
        self._lock = build_lock(self.root)
        self._folder: Path | None = None
        self._vectors: np.ndarray | None = None
        self._cache = _Cache()

    def __enter__(self) -> LocalWriter:
        self._lock.__enter__()
        try:
            remove_stale(self.root)
            self._cache = _Cache.of(self.root, self.model)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._vectors = None
            if self._folder is not None:  # not published
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
            else:
                remove_stale(self.root)
        finally:
            self._lock.__exit__(None, None, None)

    @property
    def staging(self) -> Path | None:
        return self._folder

    def cached(self, key: str) -> Cached | None:
        return self._cache.find(key)

    def allocate(self, total: int, dim: int) -> np.ndarray:
        folder = self.root / f".tmp-{BUILD_PREFIX}{os.getpid()}-{time.time_ns()}"
        folder.mkdir(parents=True)
        self._folder = folder
        # Vectors go straight into the file: a million-passage build never
        # holds two copies of them in memory.
        self._vectors = np.lib.format.open_memmap(
            folder / "vectors.npy", mode="w+", dtype=np.float32, shape=(total, dim)
        )
        return self._vectors

    def write(
        self,
        manifest: Manifest,
        passages: list[PassageRecord],
        faqs: list[FAQRecord],
        units: np.ndarray,
    ) -> None:
        import bm25s
        import faiss

        folder, vectors = self._folder, self._vectors
        assert folder is not None and vectors is not None, "allocate() first"
        write_jsonl(folder / "passages.jsonl", [p.to_json() for p in passages])
        write_jsonl(folder / "faqs.jsonl", [f.to_json() for f in faqs])
        if isinstance(vectors, np.memmap):
            vectors.flush()
        write_npy(folder / "units.npy", units)

        passage_rows = np.flatnonzero(units[:, 1] <= SENTENCE)
        params = ann.choose(len(passage_rows))
        centroids = self._cache.centroids(params)
        faiss_index = ann.build_index(vectors, params, passage_rows, centroids=centroids)
        try:
            faiss.write_index(faiss_index, str(folder / "units.faiss"))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
            raise OSError(f"FAISS could not write units.faiss: {exc}") from exc
        centroids = ann.centroids_of(faiss_index)
        if centroids is not None:  # the next build reuses them instead of training again
            write_npy(folder / ann.CENTROIDS_FILE, centroids)
        del faiss_index

        passage_terms, sentence_terms, sentence_owner, faq_terms = keyword_terms(passages, faqs)
        indexes = [("bm25", passage_terms), ("bm25_sentences", sentence_terms)]
        if faqs:
            indexes.append(("bm25_faqs", faq_terms))
        for name, corpus_terms in indexes:
            bm25 = bm25s.BM25()
            bm25.index(corpus_terms, show_progress=False)
            bm25.save(str(folder / name))
        write_npy(folder / "sentence_passage.npy", np.array(sentence_owner, dtype=np.int32))

        manifest = manifest.with_store(format_version=FORMAT_VERSION, ann=params.to_manifest())
        fsync_tree(folder)
        manifest_file.write_file(folder, manifest)
        fsync_dir(folder)
        del vectors
        self._vectors = None

    def publish(self) -> None:
        folder = self._folder
        assert folder is not None, "write() first"
        try:
            swap_in(self.root, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._folder = None
            raise
        self._folder = None


class _Cache:
    """Vectors of the previous build, by cache key, read lazily from disk."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, int]] = {}
        self.vectors: np.ndarray | None = None
        self.kinds: np.ndarray = np.zeros(0, dtype=np.int32)
        self.folder: Path | None = None
        self.manifest: Manifest | None = None

    @classmethod
    def of(cls, index_dir: Path, model: str) -> _Cache:
        cache = cls()
        try:
            folder = build_dir(index_dir)
            manifest = read_manifest(folder)
            if manifest.model != model or manifest.format_version != FORMAT_VERSION:
                return cache
            vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            units = np.load(folder / "units.npy", mmap_mode="r", allow_pickle=False)
            if len(vectors) != len(units):
                return cache
            rows = {}
            for name in ("passages.jsonl", "faqs.jsonl"):
                for row in read_jsonl(folder / name):
                    start, end = int(row["units"][0]), int(row["units"][1])
                    if 0 <= start < end <= len(vectors):
                        rows[row["key"]] = (start, end)
            cache.rows, cache.vectors, cache.kinds = rows, vectors, units[:, 1]
            cache.folder, cache.manifest = folder, manifest
        except (QAError, OSError, ValueError, KeyError, IndexError, TypeError):
            cache.rows = {}  # an unreadable old index is just an empty cache
        return cache

    def find(self, key: str) -> Cached | None:
        found = self.rows.get(key)
        if found is None or self.vectors is None:
            return None
        start, end = found
        return Cached(self.vectors[start:end], self.kinds[start:end])

    def centroids(self, params: ann.AnnParams) -> np.ndarray | None:
        """The previous build's IVF cluster centres, when ``params`` can reuse them."""
        if self.folder is None or self.manifest is None or params.kind is not ann.IndexKind.IVF:
            return None
        try:
            old = ann.AnnParams.from_manifest(self.manifest.ann)
            if (old.kind, old.nlist) != (params.kind, params.nlist):
                return None
            return np.load(self.folder / ann.CENTROIDS_FILE, allow_pickle=False)
        except (QAError, OSError, ValueError):
            return None
