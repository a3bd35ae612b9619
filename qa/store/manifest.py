"""The manifest: what built an index.  Read and written here only.

Both stores keep it as one JSON object (the folder's ``manifest.json``,
a Qdrant build's meta point); :class:`Manifest` is its typed form.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.errors import IndexNotReadyError
from qa.text import TERM_SCHEME
from qa.units import UNIT_SCHEME

FILE = "manifest.json"


@dataclass(frozen=True)
class Counts:
    """How many of each thing the index holds."""

    documents: int
    passages: int
    faqs: int
    vectors: int


@dataclass(frozen=True)
class Manifest:
    """What built an index: the model, the schemes, the counts and the documents.

    Attributes:
        model: The sentence-transformers model name or folder.
        model_fingerprint: Names the model's exact weights ('' when unknown).
        dimension: The vectors' dimension.
        counts: How many documents, passages, FAQ pairs and vectors.
        built_at: When (``%Y-%m-%dT%H:%M:%S%z``).
        unit_scheme, term_scheme: Which texts were embedded and how keyword
            terms were read (:func:`check_schemes`); 1 for builds that predate them.
        metric: How vectors are compared.
        documents: Each document's ``path``, ``title`` and ``sha256``.
        skipped: The files the build skipped, with why.
        files: Every corpus file's fingerprint, to tell whether the corpus changed.
        format_version: The store's layout version (set by the store writing it).
        store: ``"qdrant"`` for a Qdrant build, None for a folder.
        ann: The folder store's FAISS settings (``qa.store.local.ann.AnnParams``).
    """

    model: str
    model_fingerprint: str
    dimension: int
    counts: Counts
    built_at: str = ""
    unit_scheme: int = UNIT_SCHEME
    term_scheme: int = TERM_SCHEME
    metric: str = "inner_product"
    documents: tuple[dict[str, str], ...] = ()
    skipped: tuple[dict[str, Any], ...] = ()
    files: dict[str, Any] = field(default_factory=dict)
    format_version: int | None = None
    store: str | None = None
    ann: dict[str, Any] | None = None

    def with_store(self, **changes: Any) -> Manifest:
        """This manifest with the store's own fields set (``format_version``, ...)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order every build has written them."""
        out: dict[str, Any] = {}
        if self.format_version is not None:
            out["format_version"] = self.format_version
        if self.store is not None:
            out["store"] = self.store
        out |= {
            "unit_scheme": self.unit_scheme,
            "term_scheme": self.term_scheme,
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "dimension": self.dimension,
            "metric": self.metric,
        }
        if self.ann is not None:
            out["ann"] = self.ann
        out |= {
            "built_at": self.built_at,
            "counts": {
                "documents": self.counts.documents,
                "passages": self.counts.passages,
                "faqs": self.counts.faqs,
                "vectors": self.counts.vectors,
            },
            "documents": [dict(d) for d in self.documents],
            "skipped": [dict(s) for s in self.skipped],
            "files": self.files,
        }
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """The manifest in ``data``, as a store read it.

        Raises:
            ValueError: ``data`` lacks a field or has one of the wrong type
                (each store says so in its own words).
        """
        try:
            counts = data["counts"]
            version = data.get("format_version")
            return cls(
                model=str(data["model"]),
                model_fingerprint=str(data.get("model_fingerprint") or ""),
                dimension=int(data["dimension"]),
                counts=Counts(
                    int(counts.get("documents", 0)),
                    int(counts["passages"]),
                    int(counts["faqs"]),
                    int(counts["vectors"]),
                ),
                built_at=str(data.get("built_at", "")),
                unit_scheme=data.get("unit_scheme", 1),
                term_scheme=data.get("term_scheme", 1),
                metric=str(data.get("metric", "inner_product")),
                documents=tuple(dict(d) for d in data.get("documents", ())),
                skipped=tuple(dict(s) for s in data.get("skipped", ())),
                files=dict(data.get("files", {})),
                format_version=version if isinstance(version, int) else None,
                store=data.get("store"),
                ann=data.get("ann"),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the manifest is incomplete ({type(exc).__name__}: {exc})") from None


def check_schemes(manifest: Manifest, where: str, rebuild: str) -> None:
    """Refuse an index whose keyword terms or embedded texts are an older qa's.

    Its question words would be matched against another vocabulary, or the
    ranker would lack signals it was fitted on; ``rebuild`` is the command
    the message tells the user to run.

    Raises:
        IndexNotReadyError: One line naming ``where`` and ``rebuild``.
    """
    for found, current, what in (
        (manifest.term_scheme, TERM_SCHEME, "whose keyword search reads words differently"),
        (manifest.unit_scheme, UNIT_SCHEME, "which embedded other texts for each passage"),
    ):
        if found != current:
            raise IndexNotReadyError(
                f"{where}: index was built by an older qa, {what}; run `{rebuild}` to rebuild it"
            )


def read_file(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw JSON object of a build folder's manifest.

    Raises:
        OSError, ValueError: It cannot be read, or is not a JSON object.
    """
    data = json.loads((Path(folder) / FILE).read_text("utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{FILE} is not an object")
    return data


def write_file(folder: str | os.PathLike[str], manifest: Manifest) -> None:
    """Write a build folder's manifest (durably: see ``qa.store.local.files.write_json``)."""
    from qa.store.local.files import write_json

    write_json(Path(folder) / FILE, manifest.to_dict())
