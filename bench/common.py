"""What every benchmark shares: timing, medians, peak memory, the machine, the table.

The machine is shared and noisy: every figure is a median, and every target
is a ratio of two things measured in the same run, interleaved where possible.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def ms(seconds: float) -> float:
    """Seconds as milliseconds, to the microsecond."""
    return round(seconds * 1000, 3)


def summary(samples: list[float]) -> dict[str, float]:
    """Median and 95th percentile in milliseconds."""
    return {
        "p50_ms": ms(float(np.percentile(samples, 50))),
        "p95_ms": ms(float(np.percentile(samples, 95))),
        "n": len(samples),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Call ``fn``; the seconds it took and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def proc_status(field: str) -> int:
    """A field of /proc/self/status in bytes (0 where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """Samples this process's anonymous memory (heap, not file cache) in a thread.

    Memory-mapped files count in RSS but are the page cache, which the kernel
    can drop; ``RssAnon`` is what the process really holds.
    """

    def __init__(self, every: float = 0.02) -> None:
        self.every = every
        self.start = self.peak = proc_status("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, proc_status("RssAnon"))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, proc_status("RssAnon"))

    @property
    def grew_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import faiss
    import onnxruntime
    import sentence_transformers
    import torch

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(_meminfo("MemTotal") / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "faiss": faiss.__version__,
        "faiss_threads": faiss.omp_get_max_threads(),
        "sentence_transformers": sentence_transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "commit": commit,
    }


def _meminfo(field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class Table:
    """The printed summary: one row per figure, with its target when it has one."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, value: str, target: str = "", met: bool | None = None) -> None:
        mark = "" if met is None else ("yes" if met else "NO")
        self.rows.append((what, value, target, mark))
        print(f"  {what}: {value}" + (f"  (target {target}: {mark})" if target else ""), flush=True)

    def render(self) -> str:
        head = ("measure", "value", "target", "met")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for r in self.rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        return "\n".join(lines)


def section(title: str) -> None:
    """Print the heading of one benchmark's output."""
    print(f"\n== {title}", flush=True)
