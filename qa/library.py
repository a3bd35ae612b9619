"""The corpus folder, edited from outside: list, add and remove documents safely.

The files stay the source of truth: an upload is written into the corpus
folder (so ``qa build`` sees exactly what the app sees) and a removal
deletes the file.  Every file is checked before anything is written: its
name must stay inside the folder, and the formats module must read it
(size, type, damage, encoding, an article in it).  A batch with one refused
file writes nothing.  Writes are one at a time and each is atomic: a hidden
temporary file in the folder, fsynced, then renamed over the name.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.corpus import MAX_FILE_BYTES, Document, file_hashes
from qa.document import SUFFIXES, TEXT_SUFFIXES, parse_bytes, parse_converted
from qa.errors import CorpusError, QAError
from qa.store.local.files import fsync_dir
from qa.store.manifest import Manifest

# Longer names are refused: no honest article needs one, and filesystems cap at 255 bytes.
MAX_NAME_CHARS = 120
# What a saved name may hold; anything else becomes "_".
_UNSAFE = re.compile(r"[^\w .()+,-]")


class RefusedFile(QAError):
    """A file that will not go into the corpus; the message names it and says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def safe_name(name: str) -> str:
    """The file name an upload is saved as, in the corpus folder itself.

    Odd characters become ``_``; a name that would leave the folder or hide
    in it is refused, not repaired, so the user sees what happened.

    Raises:
        RefusedFile: The name has a folder part (``/``, ``\\``, ``..``), is
            absolute, hidden, empty, too long or of a format qa does not read.
    """
    raw = str(name)
    shown = raw[:MAX_NAME_CHARS] or "(no name)"
    if any(sep in raw for sep in ("/", "\\")) or raw in (".", ".."):
        raise RefusedFile(shown, "the name has a folder in it; upload the file by its own name")
    clean = unicodedata.normalize("NFC", "".join(ch for ch in raw if ch.isprintable())).strip()
    if not clean or clean.startswith("."):
        raise RefusedFile(shown, "the name is empty or hidden (starts with a dot); rename the file")
    if len(clean) > MAX_NAME_CHARS:
        raise RefusedFile(shown, f"the name is over {MAX_NAME_CHARS} characters; shorten it")
    clean = _UNSAFE.sub("_", clean)
    if Path(clean).suffix.lower() not in SUFFIXES:
        raise RefusedFile(clean, f"qa reads only {', '.join(SUFFIXES)} files")
    return clean


def check_file(name: str, data: bytes) -> Document:
    """Read an upload as the build will, without writing anything.

    Raises:
        RefusedFile: Too large, or the formats module cannot read it (a
            broken PDF, a zip bomb, not UTF-8, no paragraphs); the reason is
            the one ``qa show`` gives.
    """
    if len(data) > MAX_FILE_BYTES:
        raise RefusedFile(
            name,
            f"the file is {len(data) // 2**20} MiB, over the {MAX_FILE_BYTES // 2**20} MiB "
            "limit; split it into several files",
        )
    suffix = Path(name).suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            return parse_bytes(data, name, markdown=suffix == ".md")
        return parse_converted(data, name, suffix)
    except CorpusError as exc:
        raise RefusedFile(name, str(exc).removeprefix(f"{name}: ")) from None


def describe(doc: Document) -> dict[str, Any]:
    """How qa reads one file, as ``qa show --json`` prints it."""
    return {
        "path": doc.path,
        "title": doc.title,
        "passages": [{"heading": p.heading, "text": p.text} for p in doc.passages],
        "faqs": [{"question": f.question, "answer": f.answer} for f in doc.faqs],
    }


@dataclass(frozen=True)
class Saved:
    """One file written into the corpus."""

    name: str
    title: str
    passages: int
    faqs: int
    replaced: bool


class Library:
    """The corpus folder's documents: listed with how the live build read them, added, removed.

    Args:
        corpus: The corpus folder.
    """

    def __init__(self, corpus: str | os.PathLike[str]) -> None:
        self.corpus = Path(corpus)
        self._lock = threading.Lock()  # one write at a time, across threads

    def names(self) -> list[str]:
        """The corpus files as ``GET /api/documents`` names them (relative paths)."""
        try:
            return sorted(file_hashes(self.corpus))
        except OSError:
            return []

    def path_of(self, name: str) -> Path:
        """The file of a listed name.

        Raises:
            RefusedFile: No listed document has that name (``..``, absolute
                paths and links out of the folder are never listed).
        """
        if name not in self.names():
            raise RefusedFile(name, "no such document; list them with GET /api/documents")
        return self.corpus / name

    def add(self, files: list[tuple[str, bytes]]) -> list[Saved]:
        """Check every file, then write them all; a refused file writes none.

        Raises:
            RefusedFile: The first file refused, naming it and why.
        """
        if not files:
            raise RefusedFile("(no file)", "choose one or more files to upload")
        checked = []
        for raw, data in files:
            name = safe_name(raw)
            checked.append((name, data, check_file(name, data)))
        if len({name for name, _, _ in checked}) < len(checked):
            raise RefusedFile(checked[0][0], "two of the files have the same name; rename one")
        self.corpus.mkdir(parents=True, exist_ok=True)
        saved = []
        with self._lock:
            for name, _, _ in checked:
                target = self.corpus / name
                if target.is_symlink() or (target.exists() and not target.is_file()):
                    raise RefusedFile(name, "a link or folder has that name; remove it first")
            for name, data, doc in checked:
                target = self.corpus / name
                replaced = target.exists()
                _write_atomic(target, data)
                saved.append(Saved(name, doc.title, len(doc.passages), len(doc.faqs), replaced))
        return saved

    def remove(self, name: str) -> None:
        """Delete one listed document's file (a link is removed, not what it points at).

        Raises:
            RefusedFile: No listed document has that name.
        """
        with self._lock:
            path = self.path_of(name)
            path.unlink()
            fsync_dir(path.parent)

    def show(self, name: str) -> dict[str, Any]:
        """``qa show --json`` of one listed document.

        Raises:
            RefusedFile: No such document, or it cannot be read (with the reason).
        """
        path = self.path_of(name)
        return describe(check_file(name, path.read_bytes()))

    def listing(
        self, manifest: Manifest | None, counts: dict[str, tuple[int, int]]
    ) -> list[dict[str, Any]]:
        """Every corpus file with how the live build read it.

        Args:
            manifest: The live build's manifest (None before the first build).
            counts: Passages and FAQ pairs per file in the live build.

        Returns:
            One dict per file: ``name, title, format, passages, faqs, size,
            added, status`` (``"read"``, ``"skipped"`` or ``"pending"``: not
            in the live build yet) and ``reason`` (why it was skipped).
        """
        built = {d["path"]: d for d in manifest.documents} if manifest else {}
        skipped: dict[str, str] = {}
        for s in manifest.skipped if manifest else ():
            skipped.setdefault(str(s["path"]), str(s["reason"]))
        files = manifest.files if manifest else {}
        rows = []
        for name, sha in sorted(file_hashes(self.corpus).items()):
            path = self.corpus / name
            try:
                stat = path.stat()
            except OSError:
                continue
            status, reason = "pending", ""
            if files.get(name) == sha:
                status = "read" if name in built else "skipped"
                reason = skipped.get(name, "") if status == "skipped" else ""
            passages, faqs = counts.get(name, (0, 0)) if status == "read" else (0, 0)
            rows.append(
                {
                    "name": name,
                    "title": built.get(name, {}).get("title", "") if status == "read" else "",
                    "format": path.suffix.lower().lstrip("."),
                    "passages": passages,
                    "faqs": faqs,
                    "size": stat.st_size,
                    "added": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(
                        timespec="seconds"
                    ),
                    "status": status,
                    "reason": reason,
                }
            )
        return rows


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so a reader sees the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    try:
        os.chmod(tmp, 0o644)  # as any file saved by hand, not mkstemp's owner-only mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
