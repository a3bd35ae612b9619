"""Each scoring component's contribution on the dev sets, and its cost.

    python scripts/ablation.py [--cache DIR] [--no-squad] [--no-latency]

Ranks every in-scope question by one signal at a time, then by the fitted
fusion, and prints hit@1 / hit@5 / MRR for the seed dev set, the seed
rewordings, the paraphrase set and SQuAD dev; then, side by side, what
``ask()``, plain dense and BM25 get on each set (hit@1 and the share of
in-scope questions answered); then times ask() against one query encoding
plus one FAISS search.

The paraphrase set (``tests/data/paraphrases.jsonl``) covers the seed and
four SQuAD dev articles; it is evaluated on one index of the seed corpus
and those articles together (:func:`paraphrase_corpus`), so a seed question
can land in a SQuAD article and the other way round.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import qa
from qa.corpus import parse_file
from qa.evaluate import passage_hit, read_questions
from qa.fit.common import ROOT, MemoEmbedder

SIGNALS = {
    "dense, whole passage": "dense",
    "dense, best sentence": "dense_sentence",
    "dense, whole passage without title and heading": "dense_plain",
    "BM25, whole passage": "bm25_rel",
    "BM25, best sentence": "bm25_sentence_rel",
    "fitted fusion": "score",
}
SHARED = ROOT.parent / "shared" / "eval"
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.jsonl"


def paraphrase_corpus(folder: Path, squad_corpus: Path = SHARED / "squad2-dev" / "corpus") -> Path:
    """Copy the seed corpus and the SQuAD articles the paraphrase set names into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "corpus").iterdir():
        shutil.copy(f, folder / f.name)
    wanted = {q["doc"] for q in read_questions(PARAPHRASES) if q.get("doc")}
    for f in sorted(squad_corpus.glob("*.txt")):
        if parse_file(f).title in wanted:
            shutil.copy(f, folder / f.name)
    return folder


def ranks(retriever: qa.Retriever, questions: list[dict], key: str) -> list[int | None]:
    out = []
    for q in questions:
        ranking = retriever.rank(q["question"], q.get("qvec"))
        rows = sorted(ranking.candidates, key=lambda c: -getattr(c, key))
        texts = [retriever.passages[c.id].text for c in rows]
        out.append(next((i for i, t in enumerate(texts) if passage_hit(t, q["passage_any"])), None))
    return out


def figures(r: list[int | None]) -> str:
    n = len(r)
    h1 = sum(x == 0 for x in r) / n
    h5 = sum(x is not None and x < 5 for x in r) / n
    mrr = sum(1 / (x + 1) for x in r if x is not None) / n
    return f"{h1:.3f} / {h5:.3f} / {mrr:.3f}"


def side_by_side(retriever: qa.Retriever, questions: list[dict]) -> dict[str, str]:
    """hit@1 and answered rate of ask(), plain dense and BM25 on in-scope questions.

    Plain dense (over "title. heading. paragraph", and over the paragraph
    alone) always answers; BM25 answers when any question word matches.
    """
    n = len(questions)
    ask_hit = ask_answered = dense_hit = plain_hit = bm25_hit = bm25_answered = 0
    for q in questions:
        answer = retriever.ask(q["question"])
        ask_answered += answer.answered
        ranking = retriever.rank(q["question"], q.get("qvec"))
        ask_hit += passage_hit(retriever.passages[ranking.top.id].text, q["passage_any"])
        dense = max(ranking.candidates, key=lambda c: c.dense)
        dense_hit += passage_hit(retriever.passages[dense.id].text, q["passage_any"])
        plain = max(ranking.candidates, key=lambda c: c.dense_plain)
        plain_hit += passage_hit(retriever.passages[plain.id].text, q["passage_any"])
        bm25 = max(ranking.candidates, key=lambda c: c.bm25_rel)
        if bm25.bm25_rel > 0:
            bm25_answered += 1
            bm25_hit += passage_hit(retriever.passages[bm25.id].text, q["passage_any"])
    return {
        "ask()": f"{ask_hit / n:.3f} ({ask_hit}/{n}) / {ask_answered / n:.3f}",
        "plain dense": f"{dense_hit / n:.3f} ({dense_hit}/{n}) / 1.000",
        "plain dense, no title": f"{plain_hit / n:.3f} ({plain_hit}/{n}) / 1.000",
        "BM25": f"{bm25_hit / n:.3f} ({bm25_hit}/{n}) / {bm25_answered / n:.3f}",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--no-squad", action="store_true", help="skip SQuAD dev (minutes)")
    ap.add_argument("--no-latency", action="store_true")
    args = ap.parse_args()
    embedder = MemoEmbedder(args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        sets = {
            "seed dev": (ROOT / "corpus", SHARED / "article_dev.jsonl"),
            "rewordings": (ROOT / "corpus", ROOT / "tests" / "data" / "seed_rewordings.jsonl"),
            "paraphrases": (paraphrase_corpus(Path(tmp) / "paraphrase-corpus"), PARAPHRASES),
        }
        if not args.no_squad:
            sets["SQuAD dev"] = (
                SHARED / "squad2-dev" / "corpus",
                SHARED / "squad2-dev" / "questions.jsonl",
            )
        table: dict[str, dict[str, str]] = {name: {} for name in SIGNALS}
        answered: dict[str, dict[str, str]] = {}
        timings = {}
        for set_name, (corpus, qfile) in sets.items():
            index = Path(tmp) / set_name.replace(" ", "-")
            qa.build(corpus, index, embedder=embedder)
            retriever = qa.load(index, embedder=embedder)
            questions = [q for q in read_questions(qfile) if q["in_scope"]]
            vecs = embedder.encode([q["question"] for q in questions])
            embedder.save()
            for q, v in zip(questions, vecs, strict=True):
                q["qvec"] = v
            for name, key in SIGNALS.items():
                table[name][set_name] = figures(ranks(retriever, questions, key))
            answered[set_name] = side_by_side(retriever, questions)
            if not args.no_latency and set_name in ("seed dev", "SQuAD dev"):
                timings[set_name] = latency(retriever, [q["question"] for q in questions[:200]])
    names = list(sets)
    print("| signal | " + " | ".join(f"{s} hit@1 / hit@5 / MRR" for s in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for name in SIGNALS:
        print(f"| {name} | " + " | ".join(table[name][s] for s in names) + " |")
    print()
    print("| ranker | " + " | ".join(f"{s} hit@1 / answered" for s in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for ranker in ("ask()", "plain dense", "plain dense, no title", "BM25"):
        print(f"| {ranker} | " + " | ".join(answered[s][ranker] for s in names) + " |")
    if timings:
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
        plain.store.dense_top(v[0], 10)
        floors.append(time.perf_counter() - t)
    return statistics.median(asks) * 1000, statistics.median(floors) * 1000


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
