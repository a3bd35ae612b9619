"""The speed benchmark: `make bench` (or `python bench/run.py [--quick]`).

Measures, side by side in one run, what a reader and a maintainer wait for:
query latency against its floor, build throughput against raw encoding,
incremental rebuilds, cold start of the app, encoder options, and how search
cost and memory grow up to a million vectors.  Prints a table, writes JSON
with the machine's details to bench/results/, and draws docs/performance.png.

Each benchmark is its own module (bench/latency.py, build.py, cold_start.py,
ann_scale.py, text_scale.py, encoders.py); this runner prepares the corpora,
runs the sections asked for, and adds their figures to one table.

The machine is shared and noisy: every figure is a median, and every target is
a ratio of two things measured in the same run, interleaved where possible.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Import the benchmarks as bench.*, from the checkout: with bench/ itself on the
# path, bench/build.py or bench/plot.py would shadow any package of that name.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import qa  # noqa: E402
from bench.ann_scale import flat_threshold, synthetic_scale  # noqa: E402
from bench.build import build_throughput, incremental_rebuild, unit_texts  # noqa: E402
from bench.cold_start import cold_start, import_seconds  # noqa: E402
from bench.common import Table, machine, section  # noqa: E402
from bench.encoders import batch_sizes, encoder_options  # noqa: E402
from bench.latency import query_latency  # noqa: E402
from bench.plot import plot  # noqa: E402
from bench.synthetic import squad_questions  # noqa: E402
from bench.text_scale import text_scale  # noqa: E402
from qa.embed import Embedder  # noqa: E402
from qa.export import BATCH_TOKENS  # noqa: E402
from qa.store.local import ann  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SQUAD = SHARED / "squad2-dev"
SEED_QUESTIONS = SHARED / "article_dev.jsonl"
RESULTS = ROOT / "bench" / "results"
PLOT = ROOT / "docs" / "performance.png"
SEED_QUESTION = "Where did the ministers meet?"
# Targets: ask() within 10% of one query encoding plus one flat search, and
# the page answering within 3 s of `python app.py` on a built index.
ASK_OVER_FLOOR = 1.1
COLD_START_S = 3.0
SECTIONS = ("build", "latency", "cold", "synthetic", "text", "encoders", "formats")


def _copy_docs(source: Path, dest: Path, limit: int | None) -> Path:
    dest.mkdir(parents=True)
    for f in sorted(source.glob("*.txt"))[:limit]:
        shutil.copy(f, dest / f.name)
    return dest


@contextlib.contextmanager
def _stage(results: dict[str, Any], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results.setdefault("stage_seconds", {})[name] = round(time.perf_counter() - started, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "sections": sorted(only)}
    table = Table()
    results["table"] = table.rows
    embedder = Embedder()
    embedder.encode(["warm up"])
    have_squad = (SQUAD / "corpus").is_dir()
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        seed_index = tmp / "seed-index"
        qa.build(ROOT / "corpus", seed_index, embedder=embedder)

        squad_corpus = squad_index = None
        if not have_squad:
            print(f"\nnotice: {SQUAD} not found; the SQuAD parts are skipped", flush=True)
        elif only & {"build", "latency", "text", "encoders"}:
            source = SQUAD / "corpus"
            if quick:
                source = _copy_docs(source, tmp / "squad-source", 2)
            squad_corpus, squad_index = tmp / "squad", tmp / "squad-index"
            if "build" not in only:
                shutil.copytree(source, squad_corpus)
                qa.build(squad_corpus, squad_index, embedder=embedder)
        if squad_index is not None and "build" in only:
            section("build throughput (SQuAD 2.0 dev corpus)")
            with _stage(results, "build"):
                b = build_throughput(source, squad_corpus, squad_index, embedder, 2 if quick else 4)
                results["build"] = b
                table.add(
                    "build, passages/s",
                    f"{b['build_passages_per_s']:.2f} "
                    f"({b['passages']} passages, {b['texts_embedded']} texts)",
                )
                table.add("raw encode, passages/s", f"{b['raw_passages_per_s']:.2f}")
                table.add(
                    "build / raw encode throughput (median of rounds)",
                    f"{b['ratio']:.2f}",
                    ">= 0.9",
                    b["ratio"] >= 0.9,
                )
                inc = incremental_rebuild(squad_corpus, squad_index, embedder)
                results["incremental"] = inc
                # The rounds together embed every text once, as a full build does
                # (plus re-indexing the growing corpus, well under a second each).
                full = sum(r["build_seconds"] for r in b["rounds"])
                share = inc["seconds"] / full
                table.add(
                    "rebuild after one edit / full build",
                    f"{share:.1%} ({inc['seconds']:.2f} s)",
                    "<= 5%",
                    share <= 0.05,
                )

        if "latency" in only:
            section("query latency: ask() against encode + one flat search")
            with _stage(results, "latency"):
                results["latency"] = {}
                seed_qs = (
                    [
                        json.loads(line)["question"]
                        for line in SEED_QUESTIONS.read_text("utf-8").splitlines()
                        if line.strip()
                    ]
                    if SEED_QUESTIONS.is_file()
                    else [SEED_QUESTION] * 20
                )
                targets = [("seed corpus", seed_index, seed_qs * (1 if quick else 3))]
                if squad_index is not None:
                    qs = squad_questions(SQUAD / "questions.jsonl", 40 if quick else 200)
                    targets.append(("SQuAD dev", squad_index, qs))
                for name, index_dir, qs in targets:
                    lat = query_latency(index_dir, qs, embedder)
                    results["latency"][name] = lat
                    table.add(
                        f"ask() p50 / p95, {name}",
                        f"{lat['ask']['p50_ms']:.1f} / {lat['ask']['p95_ms']:.1f} ms",
                    )
                    table.add(
                        f"floor p50 / p95, {name}",
                        f"{lat['floor']['p50_ms']:.1f} / {lat['floor']['p95_ms']:.1f} ms",
                    )
                    table.add(
                        f"ask() / floor, {name} (median of pairs; of p50s)",
                        f"{lat['ratio_median_of_pairs']:.2f}; {lat['ratio_p50']:.2f}",
                        f"<= {ASK_OVER_FLOOR}",
                        lat["ratio_median_of_pairs"] <= ASK_OVER_FLOOR,
                    )

        if "cold" in only:
            section("cold start: python app.py -> first answered /ask")
            with _stage(results, "cold_start"):
                runs = [
                    cold_start(ROOT / "corpus", seed_index, SEED_QUESTION)
                    for _ in range(1 if quick else 3)
                ]
                times = [r["seconds"] for r in runs if r["seconds"] is not None]
                results["cold_start"] = {
                    "runs": runs,
                    "import_gradio_s": import_seconds("gradio"),
                    "import_sentence_transformers_s": import_seconds("sentence_transformers"),
                }
                if times:
                    median = float(np.median(times))
                    results["cold_start"]["median_s"] = median
                    table.add(
                        "cold start to first /ask",
                        f"{median:.1f} s",
                        f"<= {COLD_START_S:g} s",
                        median <= COLD_START_S,
                    )
                else:
                    table.add(
                        "cold start to first /ask",
                        f"n/a ({runs[0]['note']})",
                        f"<= {COLD_START_S:g} s",
                    )
                c = results["cold_start"]
                table.add(
                    "import gradio / sentence-transformers",
                    f"{c['import_gradio_s']:.1f} / {c['import_sentence_transformers_s']:.1f} s",
                )

        if "synthetic" in only:
            section("scale: clustered synthetic 384-dim unit vectors")
            with _stage(results, "synthetic_scale"):
                sizes = [10_000, 50_000] if quick else [10_000, 50_000, 200_000, 1_000_000]
                scale = synthetic_scale(sizes, tmp, 100 if quick else 200)
                results["synthetic_scale"] = scale
                top = scale["sizes"][str(max(sizes))]
                label = f"{max(sizes):,}"
                ivf = top["ivf_int8"]
                table.add(f"exact search p50, {label} vectors", f"{top['flat']['p50_ms']:.1f} ms")
                table.add(
                    f"IVF search p50, {label} vectors",
                    f"{ivf['p50_ms']:.2f} ms",
                    "<= 5 ms",
                    ivf["p50_ms"] <= 5,
                )
                table.add(
                    f"IVF recall@10, {label} vectors",
                    f"{ivf['recall_at_10']:.3f}",
                    ">= 0.95",
                    ivf["recall_at_10"] >= 0.95,
                )
                for storage in ann.Storage:
                    e = top[f"ivf_{storage.value}"]
                    table.add(
                        f"IVF {storage.value} codes: recall@10 / index MiB",
                        f"{e['recall_at_10']:.3f} / {e['bytes'] / 2**20:.0f}",
                    )
                vec_mb = scale["vector_bytes_largest"] / 2**20
                table.add(
                    f"IVF build: memory grew / vectors, {label}",
                    f"{ivf['build_memory_grew_mb']:.0f} / {vec_mb:.0f} MiB",
                    "< 2 copies",
                    ivf["build_memory_grew_mb"] < 2 * vec_mb,
                )
                threshold = flat_threshold(scale)
                results["flat_threshold"] = threshold
                table.add(
                    "exact search cost per vector",
                    f"{threshold['per_vector_us']:.3f} us: "
                    f"2 ms at {threshold['vectors_at_budget']:,} vectors "
                    f"(FLAT_MAX_VECTORS = {ann.FLAT_MAX_VECTORS:,})",
                )
                floors = [v["floor"]["p50_ms"] for v in results.get("latency", {}).values()]
                if floors:
                    # The threshold as a share of what every question costs anyway.
                    at_max = threshold["per_vector_us"] * ann.FLAT_MAX_VECTORS / 1000
                    share = at_max / min(floors)
                    results["flat_threshold"]["share_of_query_floor"] = round(share, 3)
                    table.add(
                        f"exact search of {ann.FLAT_MAX_VECTORS:,} vectors / query floor",
                        f"{at_max:.1f} ms / {min(floors):.1f} ms = {share:.0%}",
                    )

        if squad_index is not None and "text" in only:
            section("scale: SQuAD repeated with variation, whole qa.build and ask()")
            with _stage(results, "text_scale"):
                qs = squad_questions(SQUAD / "questions.jsonl", 40 if quick else 100, seed=1)
                target = args.passages or (12_000 if quick else 150_000)
                per_copy = len(qa.load(squad_index, embedder=embedder).passages)
                copies = -(-target // per_copy)
                t = text_scale(squad_index, copies, tmp, embedder, qs)
                results["text_scale"] = t
                label = f"{t['passages']:,} passages, {t['vectors']:,} vectors"
                table.add(
                    f"build, {label}",
                    f"{t['build_seconds']:.0f} s, memory grew "
                    f"{t['build_memory_grew_mb']:.0f} MiB for {t['vector_file_mb']:.0f} MiB "
                    "of vectors",
                )
                table.add(
                    f"ask() p50 / p95, {label}",
                    f"{t['ask']['p50_ms']:.1f} / {t['ask']['p95_ms']:.1f} ms",
                )
                table.add(f"ask() / (encode + {t['floor_kind']} search)", f"{t['ratio_p50']:.2f}")
                table.add(
                    "ask() parts at scale, median ms",
                    ", ".join(f"{k} {v:.1f}" for k, v in t["parts_ms"].items()),
                )
                table.add(
                    "retriever load time / memory",
                    f"{t['load_seconds']:.1f} s / {t['retriever_memory_mb']:.0f} MiB",
                )

        if "encoders" in only and not args.skip_encoders:
            section("encoder options")
            with _stage(results, "encoders"):
                texts = unit_texts(squad_corpus or ROOT / "corpus", embedder)[0]
                n_texts, n_qs = (96, 30) if quick else (256, 60)
                texts = [
                    texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:n_texts]
                ]
                qs = squad_questions(SQUAD / "questions.jsonl", n_qs) if have_squad else seed_qs
                results["batch_sizes"] = batch_sizes(embedder, texts)
                table.add(
                    "encode texts/s by batch size",
                    ", ".join(f"{b}: {v}" for b, v in results["batch_sizes"].items())
                    + f" (qa uses {BATCH_TOKENS} tokens)",
                )
                results["encoders"] = encoder_options(embedder, texts, qs)
                base = results["encoders"]["torch float32"]
                for name, e in results["encoders"].items():
                    if "error" in e:
                        table.add(f"encoder {name}", f"not available ({e['error'][:60]})")
                        continue
                    speed = e["texts_per_s"] / base["texts_per_s"]
                    table.add(
                        f"encoder {name}: query p50, batch speed",
                        f"{e['query']['p50_ms']:.1f} ms, x{speed:.2f} "
                        f"(cosine {e['cosine_to_float32']:.3f})",
                    )
        if "formats" in only:
            section("file formats")
            with _stage(results, "formats"):
                from bench import formats

                converters: dict[str, Any] = {}
                if formats.PAGES.is_dir():
                    converters.update(formats.web_pages())
                converters.update(formats.pdfs())
                converters.update(formats.docxs())
                results["formats"] = converters
                for name, row in converters.items():
                    table.add(f"convert {name}: pages/s", f"{row['pages_per_s']:.1f}")
                if formats.PAGES.is_dir() and not quick:
                    share = formats.build_share()
                    results["formats_build"] = share
                    table.add(
                        "share of a build spent converting (17 files, cold cache)",
                        f"{share['share_converting']:.1%} ({share['convert_s']:.2f} s "
                        f"of {share['build_s']:.1f} s)",
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print("\n" + table.render())
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes")
    parser.add_argument("--passages", type=int, help="size of the varied SQuAD corpus (150,000)")
    parser.add_argument("--only", help=f"comma-separated sections to run: {','.join(SECTIONS)}")
    parser.add_argument("--skip-encoders", action="store_true", help="skip the encoder options")
    parser.add_argument("--no-plot", action="store_true", help="do not redraw docs/performance.png")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(args)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    print(f"\nwrote {out.relative_to(ROOT)} ({results['total_seconds']:.0f} s in all)")
    if not args.no_plot and not args.quick:
        plot(results, PLOT)
        print(f"drew {PLOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
