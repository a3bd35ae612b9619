"""The folder store, opened for questions: FAISS, BM25 and memory-mapped vectors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexNotReadyError, QAError
from qa.store import manifest as manifest_file
from qa.store.base import FAQRecord, Field, PassageRecord, UnitHits
from qa.store.local import ann
from qa.store.local.bm25 import BM25Index
from qa.store.local.files import FORMAT_VERSION, build_dir, read_jsonl
from qa.store.manifest import Manifest, check_schemes
from qa.store.scope import Scope
from qa.store.scores import (
    Scores,
    SentenceScores,
    best_first,
    keyword_scores,
    sentence_scores,
)
from qa.units import SENTENCE


class LocalStore:
    """One complete build folder, read for questions.  Thread-safe for reads.

    Args:
        index_dir: The index folder (its ``current`` build is read) or a
            build folder itself.

    Raises:
        IndexNotReadyError: The index is missing, damaged, or from a newer
            or older format; the message says to run ``qa build``.
    """

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        # A rebuild may repoint ``current`` and delete the folder being read;
        # then read the new build instead.
        for attempt in range(3):
            folder = None
            try:
                folder = build_dir(index_dir)
                self._read(folder)
                break
            except IndexNotReadyError:
                if attempt == 2 or (folder is not None and not _moved(index_dir, folder)):
                    raise
        assert folder is not None
        self.folder = folder
        self._passage_units = np.flatnonzero(self.units[:, 1] <= SENTENCE)
        # Passage p's sentences are rows first_sentence[p]:first_sentence[p + 1]
        # of the sentence BM25 index (they are stored in passage order).
        self.first_sentence = np.searchsorted(
            self.sentence_passage, np.arange(len(self.passages) + 1)
        )
        self._vocab = {
            Field.PASSAGE: frozenset(self._bm25[Field.PASSAGE].vocab),
            Field.SENTENCE: frozenset(self._bm25[Field.SENTENCE].vocab),
            Field.FAQ: frozenset(self._bm25[Field.FAQ].vocab)
            if Field.FAQ in self._bm25
            else frozenset(),
        }

    @property
    def build_id(self) -> str:
        return self.folder.name

    def _read(self, folder: Path) -> None:
        import faiss

        try:
            manifest = _read_manifest(folder)
            self.manifest = manifest
            self.passages: list[PassageRecord] = [
                PassageRecord.from_json(r) for r in read_jsonl(folder / "passages.jsonl")
            ]
            self.faqs: list[FAQRecord] = [
                FAQRecord.from_json(r) for r in read_jsonl(folder / "faqs.jsonl")
            ]
            # Memory-mapped, but read through plain ndarray views: every slice
            # of a np.memmap builds another memmap object, and a question
            # slices these arrays (and the BM25 ones) dozens of times.
            self._vectors = np.asarray(
                np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            )
            self.units = np.load(folder / "units.npy", allow_pickle=False)
            self.index = faiss.read_index(str(folder / "units.faiss"))
            ann.configure(self.index, ann.AnnParams.from_manifest(manifest.ann))

            self._bm25 = {
                Field.PASSAGE: BM25Index.read(folder / "bm25"),
                Field.SENTENCE: BM25Index.read(folder / "bm25_sentences"),
            }
            if self.faqs:
                self._bm25[Field.FAQ] = BM25Index.read(folder / "bm25_faqs")
            self.sentence_passage = np.load(folder / "sentence_passage.npy", allow_pickle=False)
            counts = manifest.counts
            dim = manifest.dimension
            checks = [
                (len(self.passages), counts.passages, "passages"),
                (len(self.faqs), counts.faqs, "FAQ pairs"),
                (self._vectors.shape, (counts.vectors, dim), "vectors"),
                (self.units.shape, (counts.vectors, 2), "units"),
                (self.index.d, dim, "FAISS dimension"),
            ]
        except QAError:
            raise
        except Exception as exc:  # JSON, numpy and FAISS each raise their own
            raise IndexNotReadyError(
                f"{folder}: index is damaged ({type(exc).__name__}: {exc}); "
                "run `qa build` to rebuild it"
            ) from None
        for found, expected, what in checks:
            if found != expected:
                raise IndexNotReadyError(
                    f"{folder}: {what} do not match the manifest ({found} != {expected}); "
                    "run `qa build` to rebuild the index"
                )

    # -------------------------------------------------------------- Store

    def dense_top(self, qvec: np.ndarray, k: int, within: Scope | None = None) -> UnitHits:
        if within is not None:
            return self._dense_within(qvec, k, within)
        k = min(k, len(self._passage_units))
        if k < 1:
            empty = np.zeros(0, dtype=np.int64)
            return UnitHits(empty, np.zeros(0, dtype=np.float32), empty)
        scores, ids = self.index.search(qvec[None, :], k)
        found = ids[0] >= 0
        rows = self._passage_units[ids[0][found]]
        return UnitHits(rows, scores[0][found], self.units[rows, 0])

    def _dense_within(self, qvec: np.ndarray, k: int, within: Scope) -> UnitHits:
        """Dense search over the scope's units only.

        The scope's searched units are a few runs of the FAISS index's ids.
        Up to ``ann.FLAT_MAX_VECTORS`` of them (or with an exact index) they
        are scored exactly, straight from the stored vectors, which reads no
        more than the unfiltered exact search; past that an IVF index
        searches with an id selector, so its clusters yield only scope hits.
        """
        import faiss

        spans = [
            (int(a), int(b))
            for a, b in (np.searchsorted(self._passage_units, span) for span in within.units)
            if b > a
        ]
        size = sum(b - a for a, b in spans)
        k = min(k, size)
        if k < 1:
            empty = np.zeros(0, dtype=np.int64)
            return UnitHits(empty, np.zeros(0, dtype=np.float32), empty)
        concrete: Any = faiss.downcast_index(self.index)
        if size > ann.FLAT_MAX_VECTORS and isinstance(concrete, faiss.IndexIVF):
            selectors: list[Any] = [faiss.IDSelectorRange(a, b) for a, b in spans]
            selector = selectors[0]
            for other in selectors[1:]:
                selector = faiss.IDSelectorOr(selector, other)
                selectors.append(selector)  # FAISS keeps no reference to the parts
            params: Any = faiss.SearchParametersIVF()
            params.sel, params.nprobe = selector, concrete.nprobe
            scores, ids = self.index.search(qvec[None, :], k, params=params)
            found = ids[0] >= 0
            rows = self._passage_units[ids[0][found]]
            return UnitHits(rows, scores[0][found], self.units[rows, 0])
        # Each document's units are one run of rows: a view of the vectors, no copy.
        sims = np.concatenate([self._vectors[a:b] @ qvec for a, b in within.units])
        rows = np.concatenate([np.arange(a, b) for a, b in within.units])
        searched = self.units[rows, 1] <= SENTENCE  # not the plain windows
        rows, sims = rows[searched], sims[searched]
        best = best_first(sims, k)
        rows = rows[best]
        return UnitHits(rows, sims[best].astype(np.float32), self.units[rows, 0])

    def keyword(self, field: Field, terms: Sequence[str], within: Scope | None = None) -> Scores:
        if field is Field.SENTENCE:
            return self.sentences(terms, within)
        n = len(self.faqs) if field is Field.FAQ else len(self.passages)
        bm25 = self._bm25.get(field)
        if bm25 is None or not terms:
            return Scores(np.zeros(n, dtype=np.float32))
        keep = None
        if within is not None:
            keep = within.faq_mask(n) if field is Field.FAQ else within.passage_mask(n)
        return keyword_scores(bm25, terms, keep)

    def sentences(self, terms: Sequence[str], within: Scope | None = None) -> SentenceScores:
        return sentence_scores(
            self._bm25[Field.SENTENCE], terms, self.sentence_passage, self.first_sentence, within
        )

    def vocabulary(self, field: Field) -> frozenset[str]:
        return self._vocab[field]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self._vectors[rows])

    def kinds(self, rows: np.ndarray) -> np.ndarray:
        return self.units[rows, 1]


def _read_manifest(folder: Path) -> Manifest:
    raw = manifest_file.read_file(folder)
    version = raw.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexNotReadyError(
            f"{folder}: index format {version} is newer than this qa "
            f"understands ({FORMAT_VERSION}); upgrade qa or run `qa build` again"
        )
    if not isinstance(version, int):
        raise ValueError(f"format_version is {version!r}")
    manifest = Manifest.from_dict(raw)
    check_schemes(manifest, str(folder), "qa build")
    return manifest


def _moved(index_dir: str | os.PathLike[str], folder: Path) -> bool:
    """True when ``current`` no longer points at ``folder``: it is being removed."""
    try:
        return build_dir(index_dir) != folder
    except IndexNotReadyError:
        return False
