"""A corpus folder -> its documents, and every file or paragraph left out, with why.

How each file is read is :mod:`qa.document`'s job; this module walks the
folder, skips what cannot be used (naming the file and the reason), drops
duplicate paragraphs and tells two documents with one title apart.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.document import (
    MAX_FILE_BYTES,
    SUFFIXES,
    Document,
    FAQPair,
    Paragraph,
    parse,
    parse_bytes,
    parse_file,
)
from qa.errors import CorpusError

__all__ = [
    "MAX_FILE_BYTES",
    "Corpus",
    "Document",
    "FAQPair",
    "Paragraph",
    "Skipped",
    "file_hashes",
    "parse",
    "parse_bytes",
    "parse_file",
    "read_corpus",
]


@dataclass(frozen=True)
class Skipped:
    """A file or paragraph left out of the index, and why."""

    path: str
    reason: str


@dataclass
class Corpus:
    """Every document that parsed, plus every file or paragraph that did not."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of every file read


def read_corpus(
    corpus_dir: str | os.PathLike[str],
    *,
    strict: bool = False,
    on_file: Callable[[int, int], None] | None = None,
) -> Corpus:
    """Parse every ``.txt`` and ``.md`` file under ``corpus_dir``.

    A bad file is skipped and listed in ``Corpus.skipped`` with the reason, so
    one broken file does not take down the rest.  Exact duplicate paragraphs
    are kept once and the later copies are listed too.

    Args:
        corpus_dir: The folder to read, searched recursively.
        strict: Raise on the first bad file instead of skipping it.
        on_file: Called with (files read, files in all) after each file.

    Returns:
        The parsed corpus.

    Raises:
        CorpusError: The folder is missing, holds no usable document, or
            ``strict`` is set and a file is bad.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found; create it and add .txt or .md files")
    corpus = Corpus()
    seen: dict[str, str] = {}
    titles: dict[str, int] = {}
    paths = list(_corpus_files(root, corpus))
    for n, path in enumerate(paths, start=1):
        if on_file is not None:
            on_file(n - 1, len(paths))
        rel = path.relative_to(root).as_posix()
        try:
            doc = parse_file(path, rel)
        except CorpusError as exc:
            if strict:
                raise
            corpus.files[rel] = _sha256(path)
            corpus.skipped.append(_skipped(rel, str(exc)))
            continue
        corpus.files[rel] = doc.sha256  # the same digest, without reading the file again
        kept = []
        for para in doc.paragraphs:
            first = seen.setdefault(para.text, f"{rel}:{para.line}")
            if first != f"{rel}:{para.line}":
                corpus.skipped.append(
                    Skipped(f"{rel}:{para.line}", f"duplicate of the paragraph at {first}")
                )
            else:
                kept.append(para)
        titles[doc.title] = titles.get(doc.title, 0) + 1
        corpus.documents.append(Document(doc.path, doc.title, doc.sha256, tuple(kept), doc.faqs))
    if on_file is not None:
        on_file(len(paths), len(paths))
    if strict and corpus.skipped:
        raise CorpusError(f"{corpus.skipped[0].path}: {corpus.skipped[0].reason}")
    # Two files with one title would be indistinguishable in answers.
    corpus.documents = [
        Document(d.path, f"{d.title} ({d.path})", d.sha256, d.paragraphs, d.faqs)
        if titles[d.title] > 1
        else d
        for d in corpus.documents
    ]
    if not any(d.paragraphs for d in corpus.documents):
        detail = "; ".join(f"{s.path}: {s.reason}" for s in corpus.skipped[:5])
        raise CorpusError(
            f"{root}: no document with paragraphs to index"
            + (f" ({detail})" if detail else "")
            + "; add .txt or .md files (see the README for the format)"
        )
    return corpus


def _skipped(rel: str, message: str) -> Skipped:
    """``"a.txt:7: why"`` -> ``Skipped("a.txt:7", "why")``: the place, then the reason."""
    place, _, reason = message.removeprefix(f"{rel}:").partition(": ")
    if place.isdigit():
        return Skipped(f"{rel}:{place}", reason)
    return Skipped(rel, message.removeprefix(f"{rel}: "))


def _corpus_files(root: Path, corpus: Corpus) -> Iterator[Path]:
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # editor swap files, .git and the like
        if path.is_symlink() and path.is_dir():
            # rglob does not follow linked folders; say so rather than drop them.
            corpus.skipped.append(
                Skipped(rel, "links to a folder, which is not read; copy the files in instead")
            )
            continue
        if path.suffix.lower() not in SUFFIXES:
            if path.is_file() and path.name.lower() != "readme":
                corpus.skipped.append(
                    Skipped(rel, "not a .txt or .md file (nor .html, .htm, .pdf or .docx)")
                )
            continue
        if path.is_dir():
            continue  # a folder named like a file: its files are listed on their own
        try:
            inside = path.resolve(strict=True).is_relative_to(real_root)
        except (OSError, RuntimeError):  # a dangling link or a link loop
            corpus.skipped.append(Skipped(rel, "broken link; fix or delete it"))
            continue
        if not inside:
            corpus.skipped.append(
                Skipped(rel, "links outside the corpus folder; copy the file in instead")
            )
        elif not path.is_file():
            # A pipe or device would block or never end when read.
            corpus.skipped.append(Skipped(rel, "not a regular file; replace it with a text file"))
        else:
            yield path


def file_hashes(corpus_dir: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of every corpus file by relative path: cheap, no parsing."""
    root = Path(corpus_dir)
    return {
        path.relative_to(root).as_posix(): _sha256(path) for path in _corpus_files(root, Corpus())
    }


def _sha256(path: Path) -> str:
    try:
        with open(path, "rb") as f:  # streamed: an oversized file is hashed, not loaded
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return ""
