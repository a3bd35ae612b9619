"""One qdrant-client per index, with qa's error messages and a count of round trips.

Every request goes through :meth:`Connection.call`, which turns the client's
exceptions into :class:`~qa.errors.QAError` s that say what to do, and counts
the requests (a server answers each in one network round trip; the
benchmark reads :attr:`Connection.calls`).

Local mode keeps the whole index in the memory of one process and locks its
folder against every other process, so one process shares one client per
folder between its readers and its writer.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.errors import IndexNotReadyError, QAError, StoreUnavailableError
from qa.store.qdrant.location import API_KEY_ENV, QdrantLocation

# Seconds a server request may take before the index counts as unreachable.
TIMEOUT = 30
_local: weakref.WeakValueDictionary[str, Connection] = weakref.WeakValueDictionary()
_local_lock = threading.Lock()


def install_hint() -> str:
    return "pip install 'qa[qdrant]' (qdrant-client)"


class Connection:
    """A qdrant-client for one location.  Thread-safe: local mode takes turns."""

    def __init__(self, where: QdrantLocation, client: Any) -> None:
        self.where = where
        self.client = client
        self.local = where.path is not None
        self.calls = 0  # requests made: network round trips, for a server
        self.by_method: Counter[str] = Counter()
        self._count = threading.Lock()
        # Local mode is plain Python over shared lists: one call at a time.
        self._turns: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.local else contextlib.nullcontext()
        )

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(*args, **kwargs)``, with errors that say what to do."""
        with self._count:
            self.calls += 1
            self.by_method[method] += 1
        with self._turns:
            try:
                return getattr(self.client, method)(*args, **kwargs)
            except QAError:
                raise
            except Exception as exc:
                problem = translate(self.where, exc)
                if problem is None:
                    raise
                raise problem from exc

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold local mode's turn across several calls (a build's writes)."""
        with self._turns:
            yield

    # ------------------------------------------------------- local mode's files

    def fast_writes(self, name: str) -> None:
        """Let local mode write ``name`` without an fsync per point.

        Local mode commits every point on its own, and each commit waits for
        the disk: 5,000 points took 95 s here.  SQLite's write-ahead log with
        ``synchronous=NORMAL`` takes 1.3 s; :meth:`make_durable` syncs the
        collection once before the build is published.
        """
        storage = self._sqlite(name)
        if storage is not None:
            with contextlib.suppress(sqlite3.Error):
                storage.execute("PRAGMA journal_mode=WAL")
                storage.execute("PRAGMA synchronous=NORMAL")

    def make_durable(self, name: str) -> None:
        flush = getattr(self.client, "flush_collection", None)  # qdrant-edge
        if flush is not None:
            flush(name)
        storage = self._sqlite(name)
        if storage is not None:
            storage.execute("PRAGMA wal_checkpoint(FULL)")

    def _sqlite(self, name: str) -> sqlite3.Connection | None:
        if not self.local:
            return None
        try:  # qdrant-client's own objects (pinned version): local mode has no setting for it
            storage = self.client._client.collections[name].storage.storage
        except (AttributeError, KeyError):
            return None
        return storage if isinstance(storage, sqlite3.Connection) else None


def connect(where: QdrantLocation, *, create: bool = False) -> Connection:
    """The connection to ``where``; in local mode, the process's one client for the folder.

    Args:
        where: The location.
        create: Make the local-mode folder if it does not exist (builds do).

    Raises:
        IndexNotReadyError: A local-mode folder that does not exist, when not ``create``.
        QAError: qdrant-client is not installed, or another process has the
            local-mode folder open.
    """
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise QAError(
            f"{where}: a Qdrant index needs qdrant-client; run {install_hint()}"
        ) from None
    if where.url is not None:
        client = QdrantClient(
            url=where.url,
            api_key=where.api_key,
            timeout=TIMEOUT,
            check_compatibility=False,  # one request less; a real problem shows on the first call
        )
        return Connection(where, client)
    assert where.path is not None
    folder = Path(where.path).resolve()
    marker = folder / ("collections" if where.edge else "meta.json")
    if not create and not marker.exists():
        raise IndexNotReadyError(
            f"{where}: no index found; run `qa build --index {where}` to create it"
        )
    key = str(folder)
    with _local_lock:
        found = _local.get(key)
        if found is not None:
            return found
        try:
            client = _edge(key) if where.edge else QdrantClient(path=key)
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise
            raise QAError(
                f"{where}: another process has this index open, and qdrant-client's local mode "
                "lets one process use a folder at a time; stop that process (an app or a build), "
                "or serve the index from a Qdrant server so many processes can share it"
            ) from None
        except (ValueError, OSError, KeyError, TypeError) as exc:
            raise IndexNotReadyError(
                f"{where}: the local Qdrant folder is damaged ({type(exc).__name__}: {exc}); "
                f"delete it and run `qa build --index {where}`"
            ) from None
        conn = Connection(where, client)
        weakref.finalize(conn, client.close)
        _local[key] = conn
        return conn


def _edge(path: str) -> Any:
    try:
        from qa.store.qdrant.edge import EdgeClient

        return EdgeClient(path)
    except ImportError:
        raise QAError(
            "qdrant-edge:PATH needs qdrant-edge; run pip install qdrant-edge-py"
        ) from None


def translate(where: QdrantLocation, exc: Exception) -> QAError | None:
    """The :class:`QAError` for one of qdrant-client's exceptions, or None for a bug."""
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    build = f"run `qa build --index {where}`"
    if isinstance(exc, UnexpectedResponse):
        code = exc.status_code or 0
        detail = _detail(exc)
        if code in (401, 403):
            return QAError(
                f"{where}: the Qdrant server refused qa (HTTP {code}: {detail}); "
                f"set {API_KEY_ENV} to an API key with access to this index"
            )
        if code == 404:
            return IndexNotReadyError(f"{where}: not found on the server ({detail}); {build}")
        if code in (502, 503, 504) or code == 0:
            return StoreUnavailableError(
                f"{where}: the Qdrant server is not answering (HTTP {code}); "
                "try again when it is back"
            )
        return QAError(f"{where}: the Qdrant server answered HTTP {code} ({detail})")
    unreachable = (ResponseHandlingException, httpx.HTTPError, ConnectionError, TimeoutError)
    if isinstance(exc, unreachable):
        source = getattr(exc, "source", exc)
        return StoreUnavailableError(
            f"{where}: cannot reach the Qdrant server at {where.url} "
            f"({type(source).__name__}: {source}); check the address and that the server is running"
        )
    if isinstance(exc, ValueError) and "not found" in str(exc):  # local mode's missing collection
        return IndexNotReadyError(f"{where}: {exc}; {build}")
    if isinstance(exc, RuntimeError) and "closed" in str(exc):
        return StoreUnavailableError(f"{where}: the index was closed; open it again")
    return None


def _detail(exc: Any) -> str:
    try:
        status = exc.structured().get("status", {})
        return str(status.get("error", status)) if isinstance(status, dict) else str(status)
    except (ValueError, AttributeError, TypeError):
        return str(exc.reason_phrase or "no detail")
