"""Index locations that name a Qdrant, and how a build's collections are named.

``qdrant://HOST:PORT/NAME``   a Qdrant server or cluster over plain HTTP
``https://HOST[:PORT]/NAME``  the same over TLS (Qdrant Cloud)
``qdrant:PATH``               qdrant-client's local mode in the folder PATH
``qdrant-edge:PATH``          qdrant-edge's in-process engine in PATH (beta;
                              measured and tested, not a dependency)

The API key, when the server needs one, comes from ``QA_QDRANT_API_KEY``, so
it never appears in a command line or a log.  ``NAME`` is an alias; each
build writes its own collections and the alias is moved to them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from qa.errors import QAError

API_KEY_ENV = "QA_QDRANT_API_KEY"
DEFAULT_PORT = 6333
# The alias of a local-mode index (one folder holds one index).
LOCAL_NAME = "qa"
# What each build writes: the alias points at ``<build>-meta``.
PARTS = ("meta", "units", "passages", "sentences", "faqs")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class QdrantLocation:
    """Where a Qdrant index lives.

    Attributes:
        name: The alias readers follow.
        url: The server's address (None in local mode).
        path: The local-mode folder (None for a server).
        text: The location as the user wrote it, for messages.
        edge: ``path`` holds qdrant-edge shards, not qdrant-client's local mode.
    """

    name: str
    url: str | None = None
    path: str | None = None
    text: str = ""
    edge: bool = False

    @property
    def api_key(self) -> str | None:
        return os.environ.get(API_KEY_ENV) or None

    def build_prefix(self) -> str:
        """What every build collection of this index starts with."""
        return f"{self.name}-build-"

    def __str__(self) -> str:
        return self.text


def parse(location: object) -> QdrantLocation | None:
    """The Qdrant location ``location`` names, or None for a folder.

    Only strings can name a Qdrant; a ``Path`` is always a folder.

    Raises:
        QAError: It looks like a Qdrant location but is not a usable one.
    """
    if not isinstance(location, str):
        return None
    if location.startswith("qdrant-edge:"):
        path = location.removeprefix("qdrant-edge:")
        if not path:
            raise QAError("qdrant-edge:PATH needs a folder, for example qdrant-edge:index-edge")
        return QdrantLocation(LOCAL_NAME, path=path, text=location, edge=True)
    if location.startswith("qdrant:") and not location.startswith("qdrant://"):
        path = location.removeprefix("qdrant:")
        if not path:
            raise QAError("qdrant:PATH needs a folder, for example qdrant:index-qdrant")
        return QdrantLocation(LOCAL_NAME, path=path, text=location)
    if not location.startswith(("qdrant://", "https://")):
        return None
    parts = urlsplit(location)
    name = parts.path.strip("/")
    example = "qdrant://localhost:6333/articles"
    if not parts.hostname:
        raise QAError(f"{location}: no server named; write it as {example}")
    if not _NAME.match(name):
        raise QAError(
            f"{location}: the index name after the address is {name!r}; use letters, digits, "
            f"'-', '_' or '.', as in {example}"
        )
    scheme = "https" if parts.scheme == "https" else "http"
    try:
        port = parts.port or (443 if scheme == "https" else DEFAULT_PORT)
    except ValueError:
        raise QAError(f"{location}: the port is not a number; write it as {example}") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return QdrantLocation(name, url=f"{scheme}://{host}:{port}", text=location)


def collection(build: str, part: str) -> str:
    """The collection of ``build`` that holds ``part`` (one of :data:`PARTS`)."""
    return f"{build}-{part}"


def build_of(meta_collection: str) -> str | None:
    """The build a meta collection belongs to, or None when it is not one."""
    return meta_collection.removesuffix("-meta") if meta_collection.endswith("-meta") else None
