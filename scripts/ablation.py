"""Each scoring component's contribution on both dev sets, and its cost.

    python scripts/ablation.py [--cache DIR]

Ranks every in-scope question by one signal at a time, then by the fitted
fusion, and prints hit@1 / hit@5 / MRR for the seed dev set and SQuAD dev;
then times ask() against one query encoding plus one FAISS search.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fit_scoring import MemoEmbedder, hit  # noqa: E402

import qa  # noqa: E402
from qa.evaluate import read_questions  # noqa: E402

SIGNALS = {
    "dense, whole passage": "dense",
    "dense, best sentence": "dense_sentence",
    "BM25, whole passage": "bm25_rel",
    "BM25, best sentence": "bm25_sentence_rel",
    "fitted fusion of all four": "score",
}


def ranks(retriever: qa.Retriever, questions: list[dict], key: str) -> list[int | None]:
    out = []
    for q in questions:
        ranking = retriever.rank(q["question"], q.get("qvec"))
        rows = sorted(ranking.candidates, key=lambda c: -getattr(c, key))
        texts = [retriever.passages[c.id].text for c in rows]
        out.append(next((i for i, t in enumerate(texts) if hit(t, q["passage_any"])), None))
    return out


def figures(r: list[int | None]) -> str:
    n = len(r)
    h1 = sum(x == 0 for x in r) / n
    h5 = sum(x is not None and x < 5 for x in r) / n
    mrr = sum(1 / (x + 1) for x in r if x is not None) / n
    return f"{h1:.3f} / {h5:.3f} / {mrr:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path)
    args = ap.parse_args()
    shared = ROOT.parent / "shared" / "eval"
    embedder = MemoEmbedder(args.cache)
    sets = {
        "seed dev": (ROOT / "corpus", shared / "article_dev.jsonl"),
        "SQuAD dev": (shared / "squad2-dev" / "corpus", shared / "squad2-dev" / "questions.jsonl"),
    }
    table: dict[str, dict[str, str]] = {name: {} for name in SIGNALS}
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for set_name, (corpus, qfile) in sets.items():
            index = Path(tmp) / set_name.replace(" ", "-")
            qa.build(corpus, index, embedder=embedder)
            retriever = qa.load(index, embedder=embedder)
            questions = [q for q in read_questions(qfile) if q["in_scope"]]
            vecs = embedder.encode([q["question"] for q in questions])
            for q, v in zip(questions, vecs, strict=True):
                q["qvec"] = v
            for name, key in SIGNALS.items():
                table[name][set_name] = figures(ranks(retriever, questions, key))
            timings[set_name] = latency(retriever, [q["question"] for q in questions[:200]])
    print("| signal | seed dev hit@1 / hit@5 / MRR | SQuAD dev hit@1 / hit@5 / MRR |")
    print("|---|---|---|")
    for name in SIGNALS:
        print(f"| {name} | {table[name]['seed dev']} | {table[name]['SQuAD dev']} |")
    print()
    print("| index | ask() p50 | encode + FAISS search p50 | ratio |")
    print("|---|---|---|---|")
    for set_name, (ask_ms, floor_ms) in timings.items():
        print(f"| {set_name} | {ask_ms:.1f} ms | {floor_ms:.1f} ms | {ask_ms / floor_ms:.2f} |")
    return 0


def latency(retriever: qa.Retriever, questions: list[str]) -> tuple[float, float]:
    """Median ms of ask() and of its floor, interleaved question by question."""
    from qa.embed import Embedder

    model = Embedder(retriever.embedder.name)  # a plain model: no memo
    model.encode(["warm up"])
    plain = qa.load(retriever.folder, embedder=model)
    asks, floors = [], []
    for q in questions:
        t = time.perf_counter()
        plain.ask(q)
        asks.append(time.perf_counter() - t)
        t = time.perf_counter()
        v = model.encode([q])
        plain.index.search(v, 10)
        floors.append(time.perf_counter() - t)
    return statistics.median(asks) * 1000, statistics.median(floors) * 1000


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
