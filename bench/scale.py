"""Beyond one machine, measured: `python bench/scale.py [--sections ...] [--agreement]`.

- qdrant: build time and ask() p50/p95 on Qdrant's local mode (and on
  qdrant-edge, where installed) against the folder store, at the seed and
  SQuAD dev sizes; requests per question (each one network round trip to a
  server), by kind.
- ray: build throughput with 1 and 2 local Ray workers against the plain
  build, Ray's start-up, and an extrapolation to 16 workers and a million
  passages.
- agreement (only with --agreement; ~45 minutes): every question of
  article_dev and SQuAD dev through both stores: the same passages, the same
  `qa eval` figures.

Prints a table and writes JSON to bench/results/scale-<time>.json.  Standalone:
it shares nothing with bench/run.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import qa  # noqa: E402
from qa.answer import Answer, Passage, Retriever  # noqa: E402
from qa.embed import Embedder  # noqa: E402
from qa.evaluate import EvalReport, evaluate, read_questions  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SQUAD = SHARED / "squad2-dev"
SEED_CORPUS = ROOT / "corpus"
SEED_QUESTIONS = SHARED / "article_dev.jsonl"
RESULTS = ROOT / "bench" / "results"
SECTIONS = ("qdrant", "ray")
SQUAD_SAMPLE = 300  # questions timed at the SQuAD size (local mode is pure Python)
MILLION = 1_000_000


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, what: str, value: str) -> None:
        self.rows.append((what, value))
        print(f"  {what:<58} {value}", flush=True)


# ------------------------------------------------------------------ qdrant


def corpora(quick: bool) -> dict[str, tuple[Path, list[dict[str, Any]]]]:
    seed = read_questions(SEED_QUESTIONS)
    found = {"seed": (SEED_CORPUS, seed)}
    if not quick:
        squad = read_questions(SQUAD / "questions.jsonl")
        found["squad"] = (SQUAD / "corpus", random.Random(0).sample(squad, SQUAD_SAMPLE))
    return found


def ask_times(retriever: Retriever, questions: list[str], rounds: int) -> list[float]:
    retriever.ask(questions[0])  # warm: the first question loads the word tables
    times = []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            retriever.ask(q)
            times.append((time.perf_counter() - started) * 1000)
    return times


def bench_qdrant(work: Path, embedder: Embedder, quick: bool, table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (corpus, rows) in corpora(quick).items():
        questions = [r["question"] for r in rows]
        res: dict[str, Any] = {"questions_timed": len(questions)}
        stores = {"folder": str(work / f"{name}-folder"), "qdrant-local": f"qdrant:{work / name}"}
        if importlib.util.find_spec("qdrant_edge") is not None:
            stores["qdrant-edge"] = f"qdrant-edge:{work / (name + '-edge')}"
        for store, location in stores.items():
            build_s, report = timed(
                lambda c=corpus, loc=location: qa.build(c, loc, embedder=embedder)
            )
            rebuild_s, _ = timed(lambda c=corpus, loc=location: qa.build(c, loc, embedder=embedder))
            open_s, retriever = timed(lambda loc=location: qa.load(loc, embedder=embedder))
            times = ask_times(retriever, questions, rounds=5 if name == "seed" else 1)
            entry = {
                "build_s": round(build_s, 2),
                "rebuild_cached_s": round(rebuild_s, 2),
                "open_s": round(open_s, 2),
                "ask_p50_ms": round(percentile(times, 50), 1),
                "ask_p95_ms": round(percentile(times, 95), 1),
                "vectors": int(retriever.manifest.counts.vectors),
                "passages": report.passages,
            }
            conn = getattr(retriever.store, "conn", None)
            if conn is not None:
                entry["requests_per_question"] = _requests(retriever, questions)
            res[store] = entry
            table.add(
                f"{name} {store}: build / rebuild (cached) / open",
                f"{build_s:.1f} s / {rebuild_s:.1f} s / {open_s:.2f} s",
            )
            table.add(
                f"{name} {store}: ask p50 / p95 ({entry['vectors']} vectors)",
                f"{entry['ask_p50_ms']} / {entry['ask_p95_ms']} ms",
            )
            if "requests_per_question" in entry:
                r = entry["requests_per_question"]
                table.add(f"{name} {store}: requests per question", f"{r['mean']:.2f}")
                table.add(f"{name} {store}: requests by kind", json.dumps(r["by_kind"]))
        out[name] = res
    return out


def _requests(retriever: Retriever, questions: list[str]) -> dict[str, Any]:
    """Requests per ask(): each is one round trip to a server (local mode makes the same calls)."""
    conn = retriever.store.conn  # type: ignore[attr-defined]
    counts, kinds = [], []
    for q in questions:
        before, by = conn.calls, dict(conn.by_method)
        retriever.ask(q)
        counts.append(conn.calls - before)
        kinds.append({k: v - by.get(k, 0) for k, v in conn.by_method.items() if v - by.get(k, 0)})
    total: dict[str, float] = {}
    for k in kinds:
        for method, n in k.items():
            total[method] = total.get(method, 0) + n / len(questions)
    return {
        "mean": statistics.mean(counts),
        "min": min(counts),
        "max": max(counts),
        "by_kind": {m: round(v, 2) for m, v in sorted(total.items())},
    }


# ------------------------------------------------------------------ agreement


class Recording(Retriever):
    """A retriever that remembers what it answered, to compare two stores."""

    def __init__(self, store: Any, embedder: Embedder) -> None:
        super().__init__(store, embedder)
        self.asked: dict[str, Any] = {}
        self.searched: dict[str, list[int]] = {}

    def ask(self, question: str) -> Answer:
        answer = super().ask(question)
        passage = answer.passage.id if answer.passage else None
        faq = answer.faq.question if answer.faq else None
        self.asked[question] = (answer.answered, passage, faq, answer.confidence)
        return answer

    def search(self, question: str, k: int = 5) -> list[Passage]:
        found = super().search(question, k)
        self.searched[question] = [p.id for p in found]
        return found


def bench_agreement(work: Path, embedder: Embedder, table: Table) -> dict[str, Any]:
    from qa.store import open_store

    out: dict[str, Any] = {}
    sets = {
        "article_dev": (SEED_CORPUS, read_questions(SEED_QUESTIONS)),
        "squad_dev": (SQUAD / "corpus", read_questions(SQUAD / "questions.jsonl")),
    }
    for name, (corpus, questions) in sets.items():
        reports: dict[str, EvalReport] = {}
        recorded: dict[str, Recording] = {}
        seconds = {}
        locations = {"folder": str(work / f"agree-{name}"),
                     "qdrant-local": f"qdrant:{work / f'agree-{name}-q'}"}  # fmt: skip
        for store, location in locations.items():
            qa.build(corpus, location, embedder=embedder)
            retriever = Recording(open_store(location), embedder)
            seconds[store], reports[store] = timed(
                lambda r=retriever, qs=questions: evaluate(r, qs)
            )
            recorded[store] = retriever
        a, b = recorded["folder"], recorded["qdrant-local"]
        same_top = sum(
            (a.asked[q][1] == b.asked[q][1]) and a.asked[q][0] == b.asked[q][0] for q in a.asked
        )
        same_five = sum(a.searched[q] == b.searched[q] for q in a.searched)
        same_first = sum(a.searched[q][:1] == b.searched[q][:1] for q in a.searched)
        confidence = max(abs(a.asked[q][3] - b.asked[q][3]) for q in a.asked)
        figures = {}
        for key in ("hit_at_1", "hit_at_5", "mrr", "answered_in_scope", "faq_accuracy"):
            x, y = getattr(reports["folder"], key), getattr(reports["qdrant-local"], key)
            figures[key] = {"folder": x, "qdrant-local": y}
        for kind, rate in reports["folder"].declined.items():
            figures[f"declined_{kind}"] = {
                "folder": rate,
                "qdrant-local": reports["qdrant-local"].declined.get(kind),
            }
        n = len(a.asked)
        res = {
            "questions": n,
            "same_answer_passage": same_top / n,
            "same_search_top1": same_first / len(a.searched),
            "same_search_top5": same_five / len(a.searched),
            "max_confidence_difference": confidence,
            "figures": figures,
            "eval_seconds": {k: round(v, 1) for k, v in seconds.items()},
            "differing": [q for q in a.asked if a.asked[q][:3] != b.asked[q][:3]][:20],
        }
        out[name] = res
        table.add(f"{name}: same answer (passage, answered) in {n}", f"{same_top / n:.4f}")
        table.add(f"{name}: same search top-5 lists", f"{same_five / len(a.searched):.4f}")
        worst = max(abs((v["folder"] or 0) - (v["qdrant-local"] or 0)) for v in figures.values())
        table.add(f"{name}: largest qa eval figure difference", f"{worst:.4f}")
    return out


# ------------------------------------------------------------------ ray


def bench_ray(work: Path, embedder: Embedder, quick: bool, table: Table) -> dict[str, Any]:
    import ray

    from qa.ray_build import RayEncode

    corpus = SEED_CORPUS if quick else SQUAD / "corpus"
    out: dict[str, Any] = {"corpus": str(corpus.relative_to(ROOT.parent))}
    # Ray's own start and stop, with nothing to do.
    init_s, _ = timed(lambda: ray.init(num_cpus=2, include_dashboard=False,
                                       _node_ip_address="127.0.0.1", logging_level="WARNING",
                                       log_to_driver=False))  # fmt: skip
    stop_s, _ = timed(ray.shutdown)
    out["ray_init_s"], out["ray_shutdown_s"] = round(init_s, 2), round(stop_s, 2)
    table.add("Ray start / stop (local, 2 CPUs)", f"{init_s:.1f} s / {stop_s:.1f} s")
    runs = {"plain": None, "ray-1": RayEncode(workers=1), "ray-2": RayEncode(workers=2)}
    vectors: dict[str, np.ndarray] = {}
    for name, encode in runs.items():
        index = work / f"ray-{name}"
        shutil.rmtree(index, ignore_errors=True)
        kwargs = {} if encode is None else {"encode": encode}
        seconds, report = timed(
            lambda i=index, k=kwargs: qa.build(corpus, i, embedder=embedder, **k)
        )
        store = qa.load(index, embedder=embedder).store
        texts = int(store.manifest.counts.vectors)
        vectors[name] = store.vectors(np.arange(texts))
        out[name] = {
            "seconds": round(seconds, 1),
            "texts": texts,
            "texts_per_s": round(texts / seconds, 1),
            "passages": report.passages,
        }
        table.add(f"build {name}: {texts} texts", f"{seconds:.1f} s, {texts / seconds:.1f} texts/s")
    for name in ("ray-1", "ray-2"):
        diff = float(np.abs(vectors[name] - vectors["plain"]).max())
        out[name]["max_vector_difference"] = diff
        table.add(f"build {name}: largest vector difference from plain", f"{diff:.1e}")
    # What the building machine does alone, whatever the cluster: plan the
    # units (the tokenizer counts every sentence) and write the store.
    from qa.corpus import read_corpus
    from qa.units import passage_unit_texts

    docs = read_corpus(corpus).documents
    out["plan_s"], _ = timed(lambda: [passage_unit_texts(embedder, d.title, p.heading, p.text)
                                      for d in docs for p in d.paragraphs])  # fmt: skip
    out["write_s"], _ = timed(lambda: qa.build(corpus, work / "ray-plain", embedder=embedder))
    table.add("building machine alone: plan units / write (all cached)",
              f"{out['plan_s']:.1f} s / {out['write_s']:.1f} s")  # fmt: skip
    out["extrapolation"] = extrapolate(out)
    e = out["extrapolation"]
    table.add("1M passages, 16 workers: estimated build", f"{e['hours']:.1f} h")
    table.add(
        "1M passages, plain build on this machine: estimated", f"{e['plain_hours_here']:.1f} h"
    )
    return out


def extrapolate(measured: dict[str, Any]) -> dict[str, Any]:
    """A million passages on 16 workers, from what one local worker did here.

    Assumes: workers as fast as one core of this machine; the same units per
    passage as the corpus measured; encoding throughput that grows with
    workers as it did from 1 to 2 here; the building machine planning and
    writing at the rate measured here (the folder store), alone; and the
    network and the store keeping up (neither is measured here).
    """
    one, two, plain = measured["ray-1"], measured["ray-2"], measured["plain"]
    serial_per_passage = (measured["plan_s"] + measured["write_s"]) / one["passages"]
    encode_s = one["seconds"] - measured["ray_init_s"] - measured["plan_s"] - measured["write_s"]
    per_worker = one["texts"] / max(encode_s, 1e-9)
    scaling = (two["texts_per_s"] / one["texts_per_s"]) / 2  # 1.0 = linear
    units_per_passage = one["texts"] / one["passages"]
    texts = MILLION * units_per_passage
    encoding = texts / (per_worker * 16 * min(1.0, scaling))
    serial = serial_per_passage * MILLION
    seconds = measured["ray_init_s"] + serial + encoding
    return {
        "passages": MILLION,
        "units_per_passage": round(units_per_passage, 2),
        "texts": int(texts),
        "per_worker_texts_per_s": round(per_worker, 1),
        "scaling_1_to_2": round(scaling, 2),
        "workers": 16,
        "encoding_hours": encoding / 3600,
        "serial_hours": serial / 3600,
        "hours": seconds / 3600,
        "plain_hours_here": MILLION / plain["passages"] * plain["seconds"] / 3600,
        "assumes": " ".join(extrapolate.__doc__.split("Assumes:")[1].split()),
    }


# ------------------------------------------------------------------ main


def machine() -> dict[str, Any]:
    import qdrant_client

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "qdrant_client": qdrant_client.__version__ if hasattr(qdrant_client, "__version__") else "",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS), help="qdrant,ray")
    parser.add_argument("--agreement", action="store_true", help="also every eval question (slow)")
    parser.add_argument("--quick", action="store_true", help="the seed corpus only")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    embedder = Embedder()
    embedder.encode(["warm up"])
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    table = Table()
    work = Path(tempfile.mkdtemp(prefix="qa-bench-scale-"))
    try:
        if "qdrant" in sections:
            print("Qdrant local mode against the folder store", flush=True)
            results["qdrant"] = bench_qdrant(work, embedder, args.quick, table)
        if "ray" in sections:
            print("Ray builds", flush=True)
            results["ray"] = bench_ray(work, embedder, args.quick, table)
        if args.agreement:
            print("Every question through both stores", flush=True)
            results["agreement"] = bench_agreement(work, embedder, table)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["table"] = table.rows
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"scale-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=1, default=float) + "\n", "utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
