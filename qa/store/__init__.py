"""Where an index lives.  The only package that imports FAISS or bm25s.

``open_store`` and ``open_writer`` take an index *location*: a plain path is
the folder store (``qa/store/local/``); ``qdrant://HOST:PORT/NAME``,
``https://HOST/NAME`` and ``qdrant:PATH`` are the Qdrant store
(``qa/store/qdrant/``).  Everything else in qa talks to the
:class:`~qa.store.base.Store` and :class:`~qa.store.base.StoreWriter`
protocols.
"""

from __future__ import annotations

import os
from typing import Any

from qa.errors import QAError
from qa.store.base import FAQRecord, Field, PassageRecord, Store, StoreWriter
from qa.store.manifest import Manifest

Location = str | os.PathLike[str]

__all__ = [
    "FAQRecord",
    "Field",
    "Location",
    "PassageRecord",
    "Store",
    "StoreWriter",
    "live_build",
    "Manifest",
    "live_manifest",
    "open_store",
    "open_writer",
]


def open_store(location: Location) -> Store:
    """Open the build published at ``location`` for questions.

    Raises:
        IndexNotReadyError: Nothing is published there, or it is damaged or
            from another format; the message says to run ``qa build``.
        StoreUnavailableError: A Qdrant server cannot be reached.
        QAError: A Qdrant location that is malformed, or refused the API key.
    """
    from qa.store.qdrant.location import parse

    where = parse(location)
    if where is not None:
        from qa.store.qdrant import QdrantStore

        return QdrantStore(where)
    from qa.store.local import LocalStore

    return LocalStore(location)


def open_writer(location: Location, model: str) -> StoreWriter:
    """A writer for a new build at ``location`` (use it as a context manager)."""
    from qa.store.qdrant.location import parse

    where = parse(location)
    if where is not None:
        from qa.store.qdrant import QdrantWriter

        return QdrantWriter(where, model)
    from qa.store.local import LocalWriter

    return LocalWriter(location, model)


def live_manifest(location: Location) -> Manifest | None:
    """The manifest of the build published at ``location``, or None if none can be read."""
    from qa.store.qdrant.location import parse

    try:
        where = parse(location)
        if where is not None:
            from qa.store.qdrant.connection import connect
            from qa.store.qdrant.layout import live_target, read_meta

            conn = connect(where)
            target = live_target(conn)
            if target is None:
                return None
            return Manifest.from_dict(read_meta(conn, target)["manifest"])
        from qa.store.local.files import read_manifest

        return read_manifest(location)
    except (QAError, OSError, ValueError):
        return None


def live_build(location: Location) -> str | None:
    """The id of the build published at ``location`` now, or None if there is none.

    Cheap, so a running app can call it before every question to notice a
    new build: a readlink and a stat for a folder, one alias lookup for a
    Qdrant server, one small file for local mode.  None too when a Qdrant
    server cannot be reached: the app keeps the build it has, whose reads
    then raise :class:`~qa.errors.StoreUnavailableError` until it is back.
    """
    from qa.store.qdrant.location import parse

    where = parse(location)
    if where is not None:
        from qa.store.qdrant.layout import live_build as qdrant_build
        from qa.store.qdrant.layout import local_live_build

        if where.path is not None and not where.edge:
            return local_live_build(where)
        try:
            return qdrant_build(_watch(where))
        except QAError:
            return None
    from qa.store.local.files import build_dir

    try:
        return build_dir(location).name
    except QAError:
        return None


def _watch(where: Any) -> Any:
    """One connection per server location for ``live_build``, kept for the next call."""
    from qa.store.qdrant.connection import connect

    key = (where.url, where.path, where.name)
    conn = _watchers.get(key)
    if conn is None:
        conn = connect(where)
        if where.url is not None:  # a local client is shared already, and closes when unused
            _watchers[key] = conn
    return conn


_watchers: dict[tuple[str | None, str | None, str], Any] = {}
