"""The one seam between qa and where an index lives.

Ranking (``qa/rank/``) asks a :class:`Store` for what it needs and nothing
more: the top units by cosine, the top passages, sentences or FAQ pairs by
BM25, the BM25 scores of given ids, the terms the corpus knows, and the
stored vectors of given rows.  Every question is top-k or "score these
ids", never an array over the whole corpus, so a server store answers it
with a few requests.  A build writes through a :class:`StoreWriter` and
becomes visible in one :meth:`StoreWriter.publish`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.store.manifest import Manifest

if TYPE_CHECKING:
    from qa.store.scope import Scope


class Field(StrEnum):
    """What a keyword search runs over."""

    PASSAGE = "passage"
    SENTENCE = "sentence"  # each sentence of each passage, with the passage's context
    FAQ = "faq"


@dataclass(frozen=True, slots=True)
class PassageRecord:
    """One paragraph of the corpus, verbatim, and where its vectors are.

    ``units`` is the range ``[start, end)`` of its rows among the stored
    vectors; ``key`` is its embedding cache key.
    """

    doc: str
    path: str
    line: int
    heading: str
    text: str
    key: str
    units: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """The JSON object a store keeps (:meth:`from_json` reads it back)."""
        return {
            "doc": self.doc, "path": self.path, "line": self.line, "heading": self.heading,
            "text": self.text, "key": self.key, "units": list(self.units),
        }  # fmt: skip

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> PassageRecord:
        start, end = row["units"]
        return cls(
            row["doc"], row["path"], row["line"], row["heading"], row["text"], row["key"],
            (int(start), int(end)),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FAQRecord:
    """One FAQ pair of the corpus, and where its vectors are."""

    doc: str
    path: str
    line: int
    question: str
    answer: str
    key: str
    units: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """The JSON object a store keeps (:meth:`from_json` reads it back)."""
        return {
            "doc": self.doc, "path": self.path, "line": self.line, "question": self.question,
            "answer": self.answer, "key": self.key, "units": list(self.units),
        }  # fmt: skip

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> FAQRecord:
        start, end = row["units"]
        return cls(
            row["doc"], row["path"], row["line"], row["question"], row["answer"], row["key"],
            (int(start), int(end)),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UnitHits:
    """Dense search results: unit rows, their cosine and the passage each belongs to."""

    rows: np.ndarray
    scores: np.ndarray
    owners: np.ndarray


class KeywordQuery(Protocol):
    """One question's BM25 scores over one field."""

    def top(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids of the ``k`` best scores above 0 and their scores, in any order.

        For :attr:`Field.SENTENCE` the ids are passages, each scored by its
        best sentence.
        """
        ...

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        """The scores of ``ids`` (passages by their best sentence, for sentences)."""
        ...

    def matched(self, ids: Sequence[int]) -> np.ndarray:
        """Which of the query's terms each of ``ids`` contains.

        A boolean array, one row per id and one column per term, in the
        order the terms were given.  Only :attr:`Field.PASSAGE` and
        :attr:`Field.FAQ` queries need it (the ranker's word-match signals).
        """
        ...


class SentenceQuery(KeywordQuery, Protocol):
    """A keyword query over sentences, which can also score one passage's sentences."""

    def of_passage(self, passage: int) -> np.ndarray:
        """The score of each sentence of ``passage``, in order."""
        ...


class Store(Protocol):
    """A built index, opened for questions.  Reads are safe from many threads."""

    @property
    def manifest(self) -> Manifest:
        """What built the index: format, model, dimension, counts, documents."""
        ...

    @property
    def passages(self) -> Sequence[PassageRecord]:
        """Every passage, by id."""
        ...

    @property
    def faqs(self) -> Sequence[FAQRecord]:
        """Every FAQ pair, by id."""
        ...

    @property
    def build_id(self) -> str:
        """Names the build being served; a new build has a new id."""
        ...

    def dense_top(self, qvec: np.ndarray, k: int, within: Scope | None = None) -> UnitHits:
        """The ``k`` passage units (windows and sentences) nearest ``qvec``, best first.

        With ``within``, only the units of those documents' passages
        (:mod:`qa.store.scope`), found by the search itself.
        """
        ...

    def keyword(
        self, field: Field, terms: Sequence[str], within: Scope | None = None
    ) -> KeywordQuery:
        """BM25 over ``field`` for the question's ``terms`` (each known to the field).

        With ``within``, :meth:`KeywordQuery.top` returns only those documents' ids.
        """
        ...

    def sentences(self, terms: Sequence[str], within: Scope | None = None) -> SentenceQuery:
        """BM25 over every passage's sentences, for the question's ``terms`` (``within``
        as for :meth:`keyword`)."""
        ...

    def vocabulary(self, field: Field) -> frozenset[str]:
        """The BM25 terms ``field`` knows."""
        ...

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored unit vectors of ``rows`` (exact float32), in order."""
        ...

    def kinds(self, rows: np.ndarray) -> np.ndarray:
        """The unit kinds (``qa.units.WINDOW`` ...) of ``rows``."""
        ...


@dataclass(frozen=True, slots=True)
class Cached:
    """A previous build's vectors for one cache key, with their unit kinds."""

    vectors: np.ndarray
    kinds: np.ndarray


class StoreWriter(Protocol):
    """Writes one new build; nothing is visible to readers until :meth:`publish`.

    Used as a context manager: entering takes the location's build lock,
    leaving without publishing discards the unfinished build.
    """

    def __enter__(self) -> StoreWriter: ...

    def __exit__(self, *exc: object) -> None: ...

    def cached(self, key: str) -> Cached | None:
        """The previous build's vectors for ``key``, if it had that text (the embedding cache)."""
        ...

    def allocate(self, total: int, dim: int) -> np.ndarray:
        """A writable ``(total, dim)`` float32 array the build fills with unit vectors."""
        ...

    def write(
        self,
        manifest: Manifest,
        passages: list[PassageRecord],
        faqs: list[FAQRecord],
        units: np.ndarray,
    ) -> None:
        """Store the filled vectors, the records, their keyword indexes and the manifest."""
        ...

    @property
    def staging(self) -> Path | None:
        """Where the unfinished build is, for a store that has a folder."""
        ...

    def publish(self) -> None:
        """Make the written build the one readers get, in one atomic step."""
        ...
