"""Asking within documents: a filtered ``ask(docs=...)`` against the same ask over all of them.

`python bench/filtered.py [--index DIR] [--qdrant] [-n 200]` builds the SQuAD 2.0
dev corpus (into ``--index``, reused when it is already built there), then
asks a fixed sample of its answerable questions twice each, back to back:
over every document, and within one document (the article the question is
about) or within three (that one and two others).  The target is that a
filtered ask costs at most 1.2 times an unfiltered one, as a median of the
per-question ratios.  ``--qdrant`` measures the Qdrant store too in
qdrant-client's local mode, and ``--edge`` on qdrant-edge (Qdrant's own
engine in-process), each built beside the folder index.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import qa  # noqa: E402
from bench.common import summary, timed  # noqa: E402
from qa.embed import Embedder  # noqa: E402
from qa.index import is_current  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "squad2-dev"
TARGET = 1.2


def sample(path: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` answerable questions with the title of the article each is about."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    answerable = [(r["question"], r["doc"]) for r in rows if r.get("in_scope")]
    rng = np.random.default_rng(seed)
    return [answerable[i] for i in rng.choice(len(answerable), min(n, len(answerable)), False)]


def filtered_cost(
    location: str | Path, questions: list[tuple[str, str]], embedder: Embedder
) -> dict[str, Any]:
    """Unfiltered and filtered asks, interleaved question by question."""
    retriever = qa.load(location, embedder=embedder)
    by_title = {
        t.split(" (")[0].replace(" ", "_"): path for path, t in retriever.catalog.titles.items()
    }
    paths = list(retriever.catalog.titles)
    rng = np.random.default_rng(1)

    def scope(doc: str, n: int) -> list[str]:
        own = by_title.get(doc.replace(" ", "_")) or paths[0]
        others = [p for p in paths if p != own]
        return [own, *(others[i] for i in rng.choice(len(others), n - 1, False))]

    scopes = [(q, scope(doc, 1), scope(doc, 3)) for q, doc in questions]
    for q, one, three in scopes[:5]:  # warm caches and lazy loads
        retriever.ask(q), retriever.ask(q, docs=one), retriever.ask(q, docs=three)
    alls, ones, threes = [], [], []
    answered = {"all": 0, "one": 0}
    for q, one, three in scopes:
        t, a = timed(lambda q=q: retriever.ask(q))
        alls.append(t)
        answered["all"] += a.answered
        t, a = timed(lambda q=q, one=one: retriever.ask(q, docs=one))
        ones.append(t)
        answered["one"] += a.answered
        threes.append(timed(lambda q=q, three=three: retriever.ask(q, docs=three))[0])
    ratio_one = [f / u for f, u in zip(ones, alls, strict=True)]
    ratio_three = [f / u for f, u in zip(threes, alls, strict=True)]
    return {
        "all": summary(alls),
        "within_one": summary(ones),
        "within_three": summary(threes),
        "ratio_one_median_of_pairs": round(float(np.median(ratio_one)), 3),
        "ratio_three_median_of_pairs": round(float(np.median(ratio_three)), 3),
        "ratio_one_p50": round(float(np.median(ones) / np.median(alls)), 3),
        "answered_of": len(scopes),
        "answered_all": answered["all"],
        "answered_within_own_doc": answered["one"],
        "documents": len(paths),
        "passages": len(retriever.passages),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", default="/tmp/qa-bench-filtered", help="where to build or reuse")
    p.add_argument("-n", type=int, default=200, help="questions (default 200)")
    p.add_argument("--qdrant", action="store_true", help="measure the Qdrant store (local mode)")
    p.add_argument(
        "--edge",
        action="store_true",
        help="measure the Qdrant store on qdrant-edge (Qdrant's engine)",
    )
    args = p.parse_args()
    if not (SQUAD / "corpus").is_dir():
        print(f"{SQUAD} not found; this benchmark needs the SQuAD dev corpus", file=sys.stderr)
        return 1
    embedder = Embedder()
    root = Path(args.index)
    stores: list[tuple[str, str | Path]] = [("folder", root / "index")]
    if args.qdrant:
        stores.append(("qdrant-local", f"qdrant:{root / 'qdrant'}"))
    if args.edge:
        stores.append(("qdrant-edge", f"qdrant-edge:{root / 'edge'}"))
    questions = sample(SQUAD / "questions.jsonl", args.n)
    results: dict[str, Any] = {"questions": len(questions), "target": TARGET}
    for name, location in stores:
        if not is_current(SQUAD / "corpus", location):
            started = time.perf_counter()
            qa.build(SQUAD / "corpus", location, embedder=embedder)
            print(f"built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        r = filtered_cost(location, questions, embedder)
        results[name] = r
        met = ", ".join(
            f"{n}: {'met' if r[key] <= TARGET else 'NOT met'}"
            for n, key in (
                ("one", "ratio_one_median_of_pairs"),
                ("three", "ratio_three_median_of_pairs"),
            )
        )
        print(
            f"{name}: ask {r['all']['p50_ms']} ms, within one document "
            f"{r['within_one']['p50_ms']} ms, within three {r['within_three']['p50_ms']} ms; "
            f"filtered/unfiltered median of pairs {r['ratio_one_median_of_pairs']} (one), "
            f"{r['ratio_three_median_of_pairs']} (three); target <= {TARGET}: {met}"
        )
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
