"""Rebuilds a running app starts itself, after the Library changed the corpus.

One worker thread runs them, one at a time: a change that arrives while a
build runs marks the corpus dirty, and one more build follows that reads
every change so far.  Each build is the ordinary incremental ``qa build``
(it takes the index's build lock and publishes atomically), so the chat
keeps answering from the old build until the new one is live, and a build
killed half-way leaves the old one in place; the next start sees that the
corpus changed and finishes it (``LiveIndex.prepare``).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import asdict, dataclass

from qa.errors import QAError
from qa.index import build, encode_here
from qa.live import LiveIndex

log = logging.getLogger(__name__)

# Texts embedded between two progress steps; small enough that a question
# asked during a rebuild waits for at most one slice of the shared model.
PROGRESS_SLICE = 256


@dataclass(frozen=True)
class RebuildState:
    """Where the background rebuild is: what the page and ``/api/health`` show."""

    running: bool = False
    queued: bool = False  # another build will follow this one
    stage: str = ""  # "read" (files) or "embed" (texts), while running
    done: int = 0
    total: int = 0
    builds: int = 0  # rebuilds finished since the app started
    last: str = ""  # the last build's summary, or why it failed
    failed: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def line(self) -> str:
        """One line for the page."""
        if self.running:
            what = {"read": "files read", "embed": "texts embedded"}.get(self.stage, "starting")
            count = f" {self.done} of {self.total}" if self.total else ""
            more = " (another change is queued)" if self.queued else ""
            return f"Rebuilding the index:{count} {what}{more} …"
        if self.failed:
            return f"The last rebuild failed: {self.last}"
        return f"Last rebuild: {self.last}" if self.last else ""


class Rebuilder:
    """Runs the Library's rebuilds in the background, queued (see the module docstring).

    Args:
        live: The app's index; builds use its corpus, location and model.
    """

    def __init__(self, live: LiveIndex) -> None:
        self.live = live
        self._state = RebuildState()
        self._dirty = False
        self._wake = threading.Condition(threading.RLock())  # also guards the state
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> RebuildState:
        return self._state

    def request(self) -> None:
        """Rebuild soon: now if idle, else once the running build ends."""
        with self._wake:
            self._dirty = True
            self._idle.clear()
            self._set(queued=True)  # until the worker starts the build
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="qa-rebuild", daemon=True)
                self._thread.start()
            self._wake.notify()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no rebuild runs or is queued; False if ``timeout`` passed first."""
        return self._idle.wait(timeout)

    def _set(self, **changes: object) -> None:
        with self._wake:  # a request's "queued" is never lost to a progress step
            self._state = RebuildState(**{**self._state.to_dict(), **changes})  # type: ignore[arg-type]

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._dirty:
                    self._idle.set()
                    self._thread = None
                    return
                self._dirty = False
                self._set(running=True, queued=False, stage="", done=0, total=0)
            self._build_once()

    def _build_once(self) -> None:
        live = self.live
        started = time.monotonic()

        def progress(stage: str, done: int, total: int) -> None:
            self._set(stage=stage, done=done, total=total)

        try:
            live.wait()  # never race the start-up build
        except QAError:
            pass  # start-up failed (say, no usable file yet): this build may fix it
        try:
            report = build(
                live.corpus,
                live.location,
                embedder=live.embedder,
                encode=functools.partial(encode_here, chunk_size=PROGRESS_SLICE),
                on_progress=progress,
            )
        except QAError as exc:
            log.warning("rebuild failed: %s", exc)
            self._set(running=False, failed=True, last=str(exc), stage="")
            return
        except Exception as exc:  # noqa: BLE001 - the worker must outlive a bug in one build
            log.exception("rebuild crashed")
            self._set(running=False, failed=True, last=f"{type(exc).__name__}: {exc}", stage="")
            return
        live.reload()
        log.info("rebuilt in %.1f s: %s", time.monotonic() - started, report.summary())
        self._set(
            running=False, failed=False, stage="", builds=self._state.builds + 1,
            last=report.summary(),
        )  # fmt: skip
