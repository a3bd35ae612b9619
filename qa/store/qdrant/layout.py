"""What a build writes into Qdrant, and reading it back.

One build is five collections, named ``<build>-<part>``; the index's alias
points at ``<build>-meta``, so moving that one alias publishes a build (the
same call moves ``<name>-previous`` to the build it replaces, which is kept
until the next publish, for readers that still have it open)::

    <build>-meta       point 0: the manifest and the layout; points 1...: the
                       fields' vocabularies, CHUNK terms a point
    <build>-units      one point per unit vector, id = its row; the dense
                       vector "passage" (windows and sentences, searched) or
                       "faq" (FAQ units and plain windows, read back only);
                       payload owner, kind
    <build>-passages   one point per passage, id = its number; the sparse
                       vector "bm25"; payload: the record, its unit kinds and
                       its sentences' range in <build>-sentences
    <build>-sentences  one point per sentence, in passage order; "bm25"; payload passage
    <build>-faqs       one point per FAQ pair; "bm25"; payload: the record, its unit kinds

The sparse vectors use Qdrant's IDF modifier (``qa/store/qdrant/bm25.py``).
Dense vectors are stored as given (dot product): they are unit length
already, and Qdrant's cosine would normalise them again, changing the last
bits that the stored-vector reads must keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qa.errors import IndexNotReadyError
from qa.store.qdrant.connection import Connection
from qa.store.qdrant.location import QdrantLocation, build_of, collection

# Bump when what a build writes into Qdrant changes.
LAYOUT = 1
CHUNK = 20_000  # vocabulary terms per meta point
DENSE_PASSAGE = "passage"
DENSE_FAQ = "faq"
SPARSE = "bm25"
PAGE = 1024  # points per scroll request


def live_target(conn: Connection, alias: str | None = None) -> str | None:
    """The collection the index's alias (or ``alias``) points at now (one request), or None."""
    alias = alias or conn.where.name
    for found in conn.call("get_aliases").aliases:
        if found.alias_name == alias:
            return str(found.collection_name)
    return None


def local_live_build(where: QdrantLocation) -> str | None:
    """The live build of a local-mode folder, from the file local mode keeps its aliases in.

    Local mode writes that file before it changes an alias in memory, and only
    one process can have the folder, so the file is always current; reading it
    spares loading the whole index into memory just to look at one alias.
    """
    import json
    from pathlib import Path

    assert where.path is not None and not where.edge
    try:
        meta = json.loads((Path(where.path) / "meta.json").read_text("utf-8"))
        target = meta["aliases"].get(where.name)
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None
    return build_of(target) if isinstance(target, str) else None


def previous_alias(name: str) -> str:
    """The alias kept on the build that the live one replaced.

    Readers that opened it before the swap go on reading it until they
    notice the new build; the next publish removes it.
    """
    return f"{name}-previous"


def live_build(conn: Connection) -> str | None:
    target = live_target(conn)
    return None if target is None else build_of(target)


def read_meta(conn: Connection, target: str) -> dict[str, Any]:
    """Point 0 of a build's meta collection: ``{"manifest": ..., "layout": ..., ...}``.

    Raises:
        IndexNotReadyError: ``target`` is not a qa build this version reads.
    """
    where = conn.where
    if build_of(target) is None:
        raise _not_qa(where, target)
    points = conn.call("retrieve", target, [0], with_payload=True, with_vectors=False)
    payload = points[0].payload if points else None
    if not isinstance(payload, dict) or not isinstance(payload.get("manifest"), dict):
        raise _not_qa(where, target)
    layout = payload.get("layout")
    if layout != LAYOUT:
        newer = isinstance(layout, int) and layout > LAYOUT
        raise IndexNotReadyError(
            f"{where}: the index was written in layout {layout!r}, and this qa reads layout "
            f"{LAYOUT}; {'upgrade qa, or ' if newer else ''}run `qa build --index {where}`"
        )
    return payload


def _not_qa(where: QdrantLocation, target: str) -> IndexNotReadyError:
    return IndexNotReadyError(
        f"{where}: {where.name!r} points at collection {target!r}, which is not an index qa "
        f"wrote; run `qa build --index {where}` (or use another name, if that collection "
        "belongs to something else)"
    )


def scroll_all(
    conn: Connection,
    name: str,
    *,
    payload: bool | list[str] = True,
    vectors: bool | list[str] = False,
) -> Iterator[Any]:
    """Every point of collection ``name``, in id order (without vectors unless asked)."""
    offset = None
    while True:
        points, offset = conn.call(
            "scroll", name, limit=PAGE, offset=offset, with_payload=payload, with_vectors=vectors
        )
        yield from points
        if offset is None:
            return


def builds(conn: Connection) -> dict[str, list[str]]:
    """Every build of the index on the server, and its collections."""
    prefix = conn.where.build_prefix()
    found: dict[str, list[str]] = {}
    for c in conn.call("get_collections").collections:
        name = str(c.name)
        if not name.startswith(prefix):
            continue
        build, _, part = name.rpartition("-")
        if part in ("meta", "units", "passages", "sentences", "faqs") and build:
            found.setdefault(build, []).append(name)
    return found


def parts(build: str) -> dict[str, str]:
    return {
        part: collection(build, part) for part in ("meta", "units", "passages", "sentences", "faqs")
    }
