"""Conversions kept on disk by content hash, as JSON, so a rebuild reuses them.

A conversion is keyed by the sha256 of the file's bytes, its suffix and the
converters' :data:`qa.formats.VERSION`: renaming or touching a file reuses its
conversion; editing it, or a new qa that converts differently, does not.
Entries are plain JSON (never pickle: a cache file is data, not code) written
to a temporary file and renamed, so a crash never leaves half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from qa.formats import VERSION, Block, Converted

# How many conversions ran in this process (cache misses): tests and the
# bench read it to see that a rebuild converts nothing again.
conversions = 0


def cache_dir() -> Path:
    """``converted/`` under qa's cache folder (``$QA_CACHE_DIR``, else ``~/.cache/qa``)."""
    from qa.export import cache_root

    return cache_root() / "converted"


def key(data: bytes, suffix: str) -> str:
    """The cache key of one file's content."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest}-{suffix.lstrip('.')}-v{VERSION}"


def cached(
    data: bytes, suffix: str, name: str, convert: Callable[[bytes, str, str], Converted]
) -> Converted:
    """``convert(data, suffix, name)``, or its earlier result for the same bytes.

    A cache entry that cannot be read or written is ignored: the cache only
    saves time, so a full disk or a read-only home never fails a build.
    """
    global conversions
    path = cache_dir() / f"{key(data, suffix)}.json"
    hit = _load(path)
    if hit is not None:
        return hit
    conversions += 1
    result = convert(data, suffix, name)
    _store(path, result)
    return result


def _load(path: Path) -> Converted | None:
    try:
        raw = json.loads(path.read_text("utf-8"))
        return Converted(
            title=str(raw["title"]),
            blocks=tuple(Block(str(k), str(t), int(lv)) for k, t, lv in raw["blocks"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or damaged: convert again


def _store(path: Path, result: Converted) -> None:
    payload = {"title": result.title, "blocks": [[b.kind, b.text, b.level] for b in result.blocks]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
