"""Asking within some documents: which ids they own, and a store that searches only those.

A build stores each document's passages as one run of consecutive ids (and
so their unit vectors as one run of rows), so a set of documents is a few
id ranges.  :class:`Scope` holds them; each store's ``dense_top``,
``keyword`` and ``sentences`` take it as ``within`` and filter inside the
search (a FAISS id selector or a slice of the vectors, a mask on the BM25
scores, a Qdrant filter), never by dropping hits afterwards.
:class:`ScopedStore` is the :class:`~qa.store.base.Store` that passes it on,
so ranking code runs on it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.errors import QAError
from qa.store.base import (
    FAQRecord,
    Field,
    KeywordQuery,
    PassageRecord,
    SentenceQuery,
    Store,
    UnitHits,
)
from qa.store.manifest import Manifest


@dataclass(frozen=True, slots=True)
class Scope:
    """Some documents of a build, as the ids they own.

    Attributes:
        paths: The documents' file names (as the corpus folder has them).
        passages: Passage id ranges ``[start, end)``, ascending.
        units: The passages' unit row ranges ``[start, end)``, one per passage range.
        faqs: The documents' FAQ pair ids, ascending.
    """

    paths: tuple[str, ...]
    passages: tuple[tuple[int, int], ...]
    units: tuple[tuple[int, int], ...]
    faqs: tuple[int, ...]

    def passage_mask(self, n: int) -> np.ndarray:
        """A boolean array over ``n`` passages, True for this scope's."""
        mask = np.zeros(n, dtype=bool)
        for start, end in self.passages:
            mask[start:end] = True
        return mask

    def faq_mask(self, n: int) -> np.ndarray:
        """A boolean array over ``n`` FAQ pairs, True for this scope's."""
        mask = np.zeros(n, dtype=bool)
        mask[list(self.faqs)] = True
        return mask


class Catalog:
    """A build's documents by file name and title, for turning names into a :class:`Scope`.

    Read once per opened store (one pass over its records).
    """

    def __init__(self, passages: Sequence[PassageRecord], faqs: Sequence[FAQRecord]) -> None:
        self.titles: dict[str, str] = {}  # path -> title, in corpus order
        self._passages: dict[str, list[int]] = {}
        self._units: dict[str, list[int]] = {}
        self._faqs: dict[str, list[int]] = {}
        for i, p in enumerate(passages):
            self.titles.setdefault(p.path, p.doc)
            span = self._passages.setdefault(p.path, [i, i + 1])
            span[1] = i + 1
            units = self._units.setdefault(p.path, [p.units[0], p.units[1]])
            units[1] = p.units[1]
        for i, f in enumerate(faqs):
            self.titles.setdefault(f.path, f.doc)
            self._faqs.setdefault(f.path, []).append(i)
        self._by_title = {title: path for path, title in self.titles.items()}
        self._folded = {name.casefold(): path for name, path in self._names()}

    def counts(self) -> dict[str, tuple[int, int]]:
        """Passages and FAQ pairs of each document, by path."""
        out = {}
        for path in self.titles:
            start, end = self._passages.get(path, [0, 0])
            out[path] = (end - start, len(self._faqs.get(path, [])))
        return out

    def _names(self) -> Iterable[tuple[str, str]]:
        yield from ((title, path) for path, title in self.titles.items())
        yield from ((path, path) for path in self.titles)

    def resolve(self, names: Iterable[str]) -> Scope:
        """The scope of documents named by file name or title (case does not matter).

        Raises:
            QAError: A name matches no document; the message lists them.
        """
        paths: list[str] = []
        unknown: list[str] = []
        for name in names:
            key = str(name).strip()
            path = (
                key
                if key in self.titles
                else self._by_title.get(key) or self._folded.get(key.casefold())
            )
            if path is None:
                unknown.append(key)
            elif path not in paths:
                paths.append(path)
        if unknown:
            known = ", ".join(repr(p) for p in list(self.titles)[:20])
            more = "" if len(self.titles) <= 20 else f" and {len(self.titles) - 20} more"
            raise QAError(
                f"no document named {', '.join(repr(u) for u in unknown)}; "
                f"give file names or titles from: {known}{more}"
            )
        if not paths:
            raise QAError("no documents given; leave the choice empty to ask all of them")
        order = sorted(paths, key=lambda p: self._passages.get(p, [1 << 62])[0])
        spans = [(p, self._passages[p], self._units[p]) for p in order if p in self._passages]
        return Scope(
            paths=tuple(order),
            passages=tuple((int(a), int(b)) for _, (a, b), _ in spans),
            units=tuple((int(a), int(b)) for _, _, (a, b) in spans),
            faqs=tuple(sorted(i for p in order for i in self._faqs.get(p, []))),
        )


class ScopedStore:
    """A store whose searches return only the passages and FAQ pairs of a :class:`Scope`.

    Ids are the full store's, so records, vectors and scores of given ids
    read through unchanged; only the top-k searches are filtered, by the
    store itself.
    """

    def __init__(self, store: Store, scope: Scope) -> None:
        self.base = store
        self.scope = scope

    @property
    def manifest(self) -> Manifest:
        return self.base.manifest

    @property
    def passages(self) -> Sequence[PassageRecord]:
        return self.base.passages

    @property
    def faqs(self) -> Sequence[FAQRecord]:
        return self.base.faqs

    @property
    def build_id(self) -> str:
        return self.base.build_id

    def dense_top(self, qvec: np.ndarray, k: int, within: Scope | None = None) -> UnitHits:
        return self.base.dense_top(qvec, k, within=within or self.scope)

    def keyword(
        self, field: Field, terms: Sequence[str], within: Scope | None = None
    ) -> KeywordQuery:
        return self.base.keyword(field, terms, within=within or self.scope)

    def sentences(self, terms: Sequence[str], within: Scope | None = None) -> SentenceQuery:
        return self.base.sentences(terms, within=within or self.scope)

    def vocabulary(self, field: Field) -> frozenset[str]:
        return self.base.vocabulary(field)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.base.vectors(rows)

    def kinds(self, rows: np.ndarray) -> np.ndarray:
        return self.base.kinds(rows)


def passage_ids(store: Store) -> Sequence[int]:
    """The passages a question may be answered from: a scoped store's, else every one."""
    if isinstance(store, ScopedStore):
        return unit_rows(store.scope.passages).tolist()
    return range(len(store.passages))


def faq_ids(store: Store) -> Sequence[int]:
    """The FAQ pairs a question may match: a scoped store's, else every pair."""
    if isinstance(store, ScopedStore):
        return store.scope.faqs
    return range(len(store.faqs))


def unit_rows(ranges: Iterable[tuple[int, int]]) -> np.ndarray:
    """The rows of some ``[start, end)`` ranges, in order."""
    spans = [np.arange(a, b, dtype=np.int64) for a, b in ranges]
    return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
