"""Where an index lives.  The only package that imports FAISS or bm25s.

``open_store`` and ``open_writer`` take an index *location*; a plain path is
the folder store (``qa/store/local/``).  Everything else in qa talks to the
:class:`~qa.store.base.Store` and :class:`~qa.store.base.StoreWriter`
protocols.
"""

from __future__ import annotations

import os
from typing import Any

from qa.errors import QAError
from qa.store.base import FAQRecord, Field, PassageRecord, Store, StoreWriter

Location = str | os.PathLike[str]

__all__ = [
    "FAQRecord",
    "Field",
    "Location",
    "PassageRecord",
    "Store",
    "StoreWriter",
    "live_build",
    "live_manifest",
    "open_store",
    "open_writer",
]


def open_store(location: Location) -> Store:
    """Open the build published at ``location`` for questions.

    Raises:
        IndexNotReadyError: Nothing is published there, or it is damaged or
            from another format; the message says to run ``qa build``.
    """
    from qa.store.local import LocalStore

    return LocalStore(location)


def open_writer(location: Location, model: str) -> StoreWriter:
    """A writer for a new build at ``location`` (use it as a context manager)."""
    from qa.store.local import LocalWriter

    return LocalWriter(location, model)


def live_manifest(location: Location) -> dict[str, Any] | None:
    """The manifest of the build published at ``location``, or None if none can be read."""
    from qa.store.local.files import read_manifest

    try:
        return read_manifest(location)
    except (QAError, OSError, ValueError):
        return None


def live_build(location: Location) -> str | None:
    """The id of the build published at ``location`` now, or None if there is none.

    Cheap (a readlink and a stat for a folder), so a running app can call it
    before every question to notice a new build.
    """
    from qa.store.local.files import build_dir

    try:
        return build_dir(location).name
    except QAError:
        return None
