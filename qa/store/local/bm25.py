"""A bm25s index read for questions, without importing bm25s.

The build writes each BM25 index with bm25s (qa/store/local/writer.py): a
parameters file, the vocabulary as JSON and the score matrix as three numpy
arrays (compressed sparse columns: one column of precomputed BM25 scores per
term).  A question needs only those arrays and the vocabulary, and importing
bm25s (and the SciPy it imports) cost about 0.25 s on the way to the first
answer (docs/performance.md, "Cold start").  This reads the same files with
numpy and scores as bm25s's ``get_scores`` does, in the same float type;
``tests/test_fuzz.py`` checks the scores against bm25s's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# BM25L and BM25+ also score the terms a text lacks (bm25s's "nonoccurrence
# array"); the build uses bm25s's default, Lucene's BM25, which does not.
_SCORES_ABSENT_TERMS = frozenset({"bm25l", "bm25+"})


@dataclass(frozen=True)
class BM25Index:
    """One field's saved BM25 scores: ``data[indptr[t]:indptr[t + 1]]`` are
    term ``t``'s scores in the texts ``indices[indptr[t]:indptr[t + 1]]``."""

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    dtype: np.dtype

    @classmethod
    def read(cls, folder: Path) -> BM25Index:
        """Read the index bm25s saved in ``folder`` (memory-mapped arrays).

        Raises:
            ValueError: The index is of a BM25 variant this does not score.
            OSError: A file is missing or unreadable.
        """
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        method = str(params.get("method", "lucene")).lower()
        if method in _SCORES_ABSENT_TERMS:
            raise ValueError(f"{folder.name}: BM25 variant {method!r} is not supported")
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))

        def array(name: str) -> np.ndarray:
            # Plain ndarray views of the memory map: slicing an np.memmap makes
            # another memmap object, and a question slices these many times.
            return np.asarray(np.load(folder / name, mmap_mode="r", allow_pickle=False))

        indptr = array("indptr.csc.index.npy")
        # bm25s adds the empty term "" to the vocabulary, after the last
        # column of its matrix (no text has it); every other term has one.
        if len(indptr) - 1 < len(vocab) - ("" in vocab):
            raise ValueError(f"{folder.name}: {len(vocab)} terms but {len(indptr) - 1} columns")
        return cls(
            vocab=vocab,
            data=array("data.csc.index.npy"),
            indices=array("indices.csc.index.npy"),
            indptr=indptr,
            num_docs=int(params["num_docs"]),
            dtype=np.dtype(params.get("dtype", "float32")),
        )

    def scores(self, terms: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every text's BM25 score for ``terms``, and each term's postings.

        The scores bm25s's ``get_scores`` gives, added up the same way (term
        by term, a repeated term once per time it occurs).  Each term's
        postings (the texts that have it, in order) are a slice of the score
        matrix, so the word-match signals cost no extra pass.
        """
        out = np.zeros(self.num_docs, dtype=self.dtype)
        postings = []
        for term in terms:
            t = self.vocab.get(term)
            if t is None or t + 1 >= len(self.indptr):
                postings.append(self.indices[0:0])
                continue
            start, end = self.indptr[t], self.indptr[t + 1]
            ids = self.indices[start:end]
            # A term's postings hold each text once, so this adds what np.add.at adds.
            out[ids] += self.data[start:end]
            postings.append(ids)
        return out, postings
