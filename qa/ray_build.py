"""Embedding a build's new units on Ray Data: ``qa build --ray [ADDRESS]``.

The build plans its units and reads the embedding cache as always
(``qa/index.py``); only the texts that are not cached go to Ray, as one
dataset mapped by a pool of encoder actors (``map_batches`` with a callable
class: each worker loads the model once and encodes batch after batch).
The vectors come back to the build, which writes them through the normal
:class:`~qa.store.base.StoreWriter`, so the index is the one a plain build
makes.  Ray restarts a worker that dies and runs its batch again; a build
whose Ray job fails raises, and publishes nothing.

Without an address, a Ray is started on this machine for the build, bound to
127.0.0.1, with no dashboard, and stopped after it.  With one (``auto``,
``HOST:PORT`` or ``ray://HOST:10001``), the build joins that cluster; every
node needs qa and the model installed (``pip install 'qa[ray]'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.embed import Embedder
from qa.errors import QAError

INSTALL = "pip install 'qa[ray]'"
# Texts per Ray batch: large enough that shipping a batch costs little next
# to encoding it (about 2.5 s of one core), small enough to spread a corpus
# over many workers and to show progress.
BATCH = 256
# What the workers inherit from this process, when set: where the model's
# ONNX export is cached, and staying offline.
ENV = ("QA_CACHE_DIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")


def import_ray() -> Any:
    """Ray, or a :class:`QAError` that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the ``data`` extra)
    except ImportError:
        raise QAError(f"`qa build --ray` needs Ray Data; install it with {INSTALL}") from None
    return ray


@dataclass(frozen=True)
class RayEncode:
    """Embeds texts on Ray; pass one as ``qa.build(..., encode=RayEncode())``.

    Args:
        address: The cluster to join; None starts a local Ray for the build.
        workers: Encoder actors (one CPU each).  Locally, also the CPUs Ray
            may use (default: every core); on a cluster, default: its CPUs.
        batch_size: Texts per Ray batch.
        encoder: The actor class (tests pass one that fails on purpose).
    """

    address: str | None = None
    workers: int | None = None
    batch_size: int = BATCH
    encoder: type = field(default_factory=lambda: Encoder)

    def __call__(
        self, embedder: Embedder, texts: list[str]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        ray = import_ray()
        started = self._start(ray)
        try:
            yield from self._encode(ray, embedder, texts)
        finally:
            if started:
                ray.shutdown()

    def _start(self, ray: Any) -> bool:
        """Join or start Ray; True when this build started it (and stops it)."""
        if ray.is_initialized():
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report sent home
        env = {name: os.environ[name] for name in ENV if name in os.environ}
        options: dict[str, Any] = {
            "runtime_env": {"env_vars": env},
            "logging_level": "WARNING",
            "log_to_driver": False,
        }
        try:
            if self.address is None:
                ray.init(
                    num_cpus=self.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    **options,
                )
            else:
                ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "this machine"
            raise QAError(
                f"cannot start or join Ray at {where} ({type(exc).__name__}: {exc}); check the "
                "address (`ray status` on the cluster shows it), or run without --ray"
            ) from None
        return True

    def _encode(
        self, ray: Any, embedder: Embedder, texts: list[str]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the build shows its own
        context.execution_options.verbose_progress = False
        workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Longest first, as a plain build orders them: each batch pads little.
        order = sorted(range(len(texts)), key=lambda t: -len(texts[t]))
        items = [{"position": t, "text": texts[t]} for t in order]
        dataset = ray.data.from_items(
            items, override_num_blocks=max(1, len(items) // self.batch_size)
        )
        # One actor per worker, never more than there are batches.
        pool = min(workers, max(1, -(-len(items) // self.batch_size)))
        encoded = dataset.map_batches(
            self.encoder,
            fn_constructor_kwargs={"model": embedder.name, "fingerprint": embedder.fingerprint()},
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=pool),
            num_cpus=1,
        )
        try:
            for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
                yield np.asarray(batch["position"]), np.asarray(batch["vector"], dtype=np.float32)
        except QAError:
            raise
        except Exception as exc:  # Ray wraps a worker's error in its own
            raise QAError(
                f"the Ray job failed ({type(exc).__name__}: {_first_line(exc)}); "
                "the index was not changed"
            ) from exc


class Encoder:
    """One Ray worker's model, loaded once, encoding batch after batch."""

    def __init__(self, model: str, fingerprint: str) -> None:
        self.embedder = Embedder(model, threads=1)  # one CPU per worker
        if self.embedder.fingerprint() != fingerprint:
            raise QAError(
                f"the model {model!r} on this Ray node is not the one the build uses; "
                "install the same model on every node"
            )
        self.embedder.encode(["warm up"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(t) for t in batch["text"]])
        return {"position": batch["position"], "vector": vectors}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__
