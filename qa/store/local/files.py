"""The folder store's files: durable writes, the ``current`` link, the build lock.

On disk, an index folder holds a ``current`` link to one complete build::

    index/current -> build-20261124T101500-1234/
        manifest.json     format, model, dimension, documents and their sha256, counts
        passages.jsonl    one passage a line: doc, heading, text, unit range
        faqs.jsonl        one FAQ pair a line
        vectors.npy       every unit vector (the embedding cache for the next build)
        units.npy         for each vector: passage (or FAQ) number and kind
        units.faiss       FAISS inner-product index over the passage vectors:
                          exact, or IVF for large corpora (ann.py; settings
                          in the manifest under "ann")
        centroids.npy     IVF only: cluster centres, reused by the next build
        bm25/             bm25s index over passage terms
        bm25_sentences/   bm25s index over sentence terms
        bm25_faqs/        bm25s index over FAQ pairs (when there are any)
        sentence_passage.npy  the passage of each sentence

A build writes a new folder, fsyncs it, then repoints ``current`` with one
atomic rename.  A failed or killed build leaves the old build in place.
Nothing is pickled: JSON, ``.npy`` with ``allow_pickle=False``, FAISS's own
format.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexNotReadyError, QAError
from qa.store import manifest as manifest_file
from qa.store.manifest import Manifest

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "current"
LOCK_NAME = ".build.lock"
BUILD_PREFIX = "build-"
LOCK_WAIT_SECONDS = 600


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode())


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    write_bytes(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())


def write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_dir(index_dir: str | os.PathLike[str]) -> Path:
    """The folder of the build that ``index_dir`` currently serves.

    Raises:
        IndexNotReadyError: There is no complete build.
    """
    root = Path(index_dir)
    if (root / "manifest.json").is_file():
        return root  # a build folder given directly
    link = root / CURRENT
    target = link.resolve() if link.is_symlink() else None
    if target is None or not (target / "manifest.json").is_file():
        raise IndexNotReadyError(f"{root}: no index found; run `qa build` to create it")
    return target


def read_manifest(index_dir: str | os.PathLike[str]) -> Manifest:
    """The manifest of the build ``index_dir`` serves.

    Raises:
        IndexNotReadyError: There is no complete build.
        OSError, ValueError: The manifest cannot be read, or is incomplete.
    """
    folder = build_dir(index_dir)
    return Manifest.from_dict(manifest_file.read_file(folder))


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index's build lock; a second build waits for the first."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another build of %s is running; waiting for it", index_dir)
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise QAError(
                f"{index_dir}: another build has held the lock for {wait:.0f} s; "
                "wait for it to finish, or stop it and run `qa build` again"
            ) from None
    try:
        yield
    finally:
        lock.release()


def swap_in(index_root: Path, folder: Path) -> None:
    """Rename the finished ``folder`` into place and repoint ``current`` at it."""
    final = index_root / folder.name.removeprefix(".tmp-")
    os.rename(folder, final)
    link_tmp = index_root / f".{CURRENT}-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link_tmp.unlink()
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, index_root / CURRENT)  # the atomic step
    fsync_dir(index_root)


def remove_stale(index_root: Path) -> None:
    """Delete unfinished builds and builds that are no longer current.

    Only called under the build lock.  A running app that still reads an old
    build keeps its open files and memory maps: unlinking does not close them.
    """
    try:
        live = (index_root / CURRENT).resolve().name
    except OSError:
        live = None
    for path in index_root.iterdir():
        name = path.name
        if (
            path.is_dir()
            and not path.is_symlink()
            and name != live
            and (name.startswith(BUILD_PREFIX) or name.startswith(f".tmp-{BUILD_PREFIX}"))
        ):
            shutil.rmtree(path, ignore_errors=True)
        elif name.startswith(f".{CURRENT}-") and path.is_symlink():
            path.unlink(missing_ok=True)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (bm25s and FAISS write their own)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            fsync_dir(path)
