"""docs/performance.png: search latency and index memory against corpus size."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], path: Path) -> None:
    """Search latency and memory against corpus size, on log axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = results.get("synthetic_scale")
    if not scale:
        return
    ns = [int(n) for n in scale["sizes"]]
    rows = [scale["sizes"][str(n)] for n in ns]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    left.plot(ns, [r["flat"]["p50_ms"] for r in rows], "o-", label="exact (flat) search")
    left.plot(ns, [r["ivf_int8"]["p50_ms"] for r in rows], "s-", label="IVF, 8-bit codes")
    asks = [(v["vectors"], v["ask"]["p50_ms"], k) for k, v in results.get("latency", {}).items()]
    if results.get("text_scale"):
        t = results["text_scale"]
        asks.append((t["vectors"], t["ask"]["p50_ms"], "varied SQuAD"))
    if asks:
        left.plot([a[0] for a in asks], [a[1] for a in asks], "^", label="whole ask()")
    left.axhline(5, color="grey", lw=0.8, ls="--")
    left.set(
        xscale="log",
        yscale="log",
        xlabel="vectors",
        ylabel="ms per question (p50)",
        title="Search latency",
    )
    left.legend(fontsize=7)
    right.plot(ns, [r["flat"]["bytes"] / 2**20 for r in rows], "o-", label="float32 vectors")
    right.plot(ns, [r["ivf_int8"]["bytes"] / 2**20 for r in rows], "s-", label="IVF, 8-bit codes")
    right.set(xscale="log", yscale="log", xlabel="vectors", ylabel="MiB", title="Index memory")
    right.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
