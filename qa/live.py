"""The index's life in a running app: rebuild at start, reload on a new build.

:class:`LiveIndex` is what the chat page (and anything else that serves
questions for a long time) answers from.  At start it rebuilds the index if
the corpus changed, or if the index cannot be read; afterwards each question
checks for a newer build and loads it, keeping one loaded model throughout.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path

from qa.answer import Retriever, load
from qa.embed import DEFAULT_MODEL, Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.index import BuildReport, build, is_current
from qa.store import Manifest, live_build, live_manifest

log = logging.getLogger(__name__)


class LiveIndex:
    """The retriever the app serves, swapped for a new one when ``qa build`` runs.

    Every question calls :meth:`get`, which compares the build ``index/current``
    points at with the one loaded (a readlink and a stat) and loads the new
    build when it changed, with the same :class:`Embedder`, so the model is
    loaded once for the life of the app.

    Args:
        corpus: The corpus folder (rebuilt from at start if it changed).
        index: Where the index lives (a folder, or any location qa.store takes).
        model: The model to answer with, when no ``embedder`` is given.  By
            default, the model the index was built with (or the default
            model); an index built with another model is rebuilt at start.
        embedder: A loaded model to use.

    Example:
        >>> live = LiveIndex("corpus", "index")  # doctest: +SKIP
        >>> live.start()  # doctest: +SKIP
        >>> live.get().ask("Who leads the coalition?")  # doctest: +SKIP
    """

    def __init__(
        self,
        corpus: str | os.PathLike[str],
        index: str | os.PathLike[str],
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.corpus = Path(corpus)
        self.location = index  # a folder, or any location qa.store takes
        self.index = Path(index)
        self.embedder = embedder or Embedder(model or self._built_with() or DEFAULT_MODEL)
        self.notice = ""  # what start-up or the last reload did, for the status line
        self._retriever: Retriever | None = None
        self._error: QAError | None = None
        self._failed_build: str | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # -------------------------------------------------------------- the index's location
    # Everything LiveIndex asks of where and how the index is stored goes
    # through these methods; the rest of the class never sees a path in it.

    def _is_current(self) -> bool:
        """Whether the published build was made from the corpus as it is now."""
        return is_current(self.corpus, self.location)

    def _build(self) -> BuildReport:
        """Build the corpus and publish it, with the serving model."""
        return build(self.corpus, self.location, embedder=self.embedder)

    def _load(self) -> Retriever:
        """A retriever over the published build, with the serving model."""
        return load(self.location, embedder=self.embedder)

    def _published(self) -> str | None:
        """The id of the build published now, or None when there is no complete build."""
        return live_build(self.location)

    @staticmethod
    def _build_of(retriever: Retriever) -> str:
        """The build ``retriever`` was loaded from, comparable with :meth:`_published`."""
        return retriever.build_id

    def _built_with(self) -> str | None:
        """The model the published build was made with, or None if it cannot be read."""
        manifest = live_manifest(self.location)
        return manifest.model or None if manifest else None

    # -------------------------------------------------------------- start

    def start(self) -> None:
        """Prepare in a background thread; :meth:`get` waits for it."""
        threading.Thread(target=self.prepare, name="qa-prepare", daemon=True).start()

    def prepare(self) -> None:
        """Rebuild if needed, open the index and load the model.  Errors surface in get()."""
        try:
            self._retriever = self._open()
            self.embedder.encode(["warm up"])  # loads the model now, not on the first question
        except QAError as exc:
            self._error = exc
        except Exception as exc:  # noqa: BLE001 - a crash here must not leave get() waiting
            self._error = QAError(f"start-up failed: {type(exc).__name__}: {exc}")
        finally:
            self._ready.set()

    def _open(self) -> Retriever:
        build_error: QAError | None = None
        if not self._is_current():
            reason = "the corpus changed since the last build"
            if self._published() is None:
                reason = "there was no index"
            log.info("rebuilding the index of %s/: %s", self.corpus, reason)
            try:
                report = self._build()
                self.notice = f"Rebuilt the index at start: {reason}."
                log.info("%s", report.summary())
                for s in report.skipped:
                    log.warning("skipped %s: %s", s.path, s.reason)
            except QAError as exc:
                build_error = exc
        try:
            retriever = self._load()
        except IndexNotReadyError as exc:
            if build_error is not None:
                raise QAError(f"cannot rebuild the index: {build_error}") from None
            # The corpus is unchanged but the index cannot be read: rebuild it once.
            log.warning("%s; rebuilding it", exc)
            try:
                self._build()
            except QAError as err:
                raise QAError(f"the index is unusable and cannot be rebuilt: {err}") from None
            self.notice = "The index could not be used, so it was rebuilt at start."
            retriever = self._load()
        if build_error is not None:
            self.notice = (
                f"Could not rebuild the index ({build_error}); serving the build of "
                f"{_built_at(retriever.manifest)}."
            )
            log.warning("%s", self.notice)
        return retriever

    # -------------------------------------------------------------- serve

    def wait(self, timeout: float | None = None) -> Retriever:
        """The retriever, once start-up is done.

        Args:
            timeout: Seconds to wait for start-up; None waits as long as it takes.

        Returns:
            The retriever start-up opened.

        Raises:
            QAError: Start-up failed, or did not finish within ``timeout`` seconds.
        """
        if not self._ready.wait(timeout):
            raise QAError("the index is still loading; try again in a moment")
        if self._error is not None:
            raise self._error
        assert self._retriever is not None
        return self._retriever

    def get(self) -> Retriever:
        """The retriever of the newest complete build (see the class docstring).

        Raises:
            QAError: Start-up failed (see :meth:`wait`).
        """
        retriever = self.wait()
        live = self._published()
        if live is None:
            return retriever  # the folder was emptied: keep answering from memory
        if live == self._build_of(retriever) or live == self._failed_build:
            return retriever
        with self._lock:
            assert self._retriever is not None
            if live == self._build_of(self._retriever):
                return self._retriever
            try:
                fresh = self._load()
            except QAError as exc:
                self._failed_build = live
                self.notice = f"A new build could not be loaded ({exc}); still serving the old one."
                log.warning("%s", self.notice)
                return self._retriever
            self._retriever = fresh
            self.notice = f"Index reloaded at {time.strftime('%H:%M:%S')}."
            log.info("loaded the new index %s", self._build_of(fresh))
            return fresh

    def reload(self) -> None:
        """Serve the published build now (after a rebuild the app ran itself).

        Also recovers an app whose start-up failed, say on a corpus with no
        usable file, once a build succeeds.
        """
        if self._error is None and self._ready.is_set():
            self.get()
            return
        with self._lock:
            try:
                self._retriever = self._load()
            except QAError as exc:
                log.warning("%s", exc)
                return
            self._error = None
            self.notice = f"Index reloaded at {time.strftime('%H:%M:%S')}."
            self._ready.set()

    def status(self) -> str:
        """One line: documents, passages, FAQ pairs, build time, model, and any notice."""
        try:
            retriever = self.get()
        except QAError as exc:
            return f"Not ready: {exc}"
        m = retriever.manifest
        counts = m.counts
        line = (
            f"{_plural(counts.documents, 'document', 'documents')} · "
            f"{_plural(counts.passages, 'passage', 'passages')} · "
            f"{_plural(counts.faqs, 'FAQ pair', 'FAQ pairs')} · "
            f"index built {_built_at(m)} · model {m.model or '?'}"
        )
        return f"{line} · {self.notice}" if self.notice else line


def _built_at(manifest: Manifest) -> str:
    raw = manifest.built_at or "?"
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return raw


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
