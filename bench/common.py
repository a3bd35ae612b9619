"""The speed benchmark: `make bench` (or `python bench/run.py [--quick]`).

Measures, side by side in one run, what a reader and a maintainer wait for:
query latency against its floor, build throughput against raw encoding,
incremental rebuilds, cold start of the app, encoder options, and how search
cost and memory grow up to a million vectors.  Prints a table, writes JSON
with the machine's details to bench/results/, and draws docs/performance.png.

The machine is shared and noisy: every figure is a median, and every target is
a ratio of two things measured in the same run, interleaved where possible.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import qa  # noqa: E402
from bench.synthetic import (  # noqa: E402
    VariantCorpus,
    VariantEmbedder,
    clustered,
    neighbour_profile,
    squad_questions,
)
from qa import ann  # noqa: E402
from qa.corpus import read_corpus  # noqa: E402
from qa.embed import BATCH_SIZE, Embedder  # noqa: E402
from qa.index import SENTENCE, build_dir, faq_unit_texts, passage_unit_texts  # noqa: E402
from qa.retrieve import _best_per_passage, _top_positive  # noqa: E402
from tests.support.app_process import app_command, app_env, free_port, stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SQUAD = SHARED / "squad2-dev"
SEED_QUESTIONS = SHARED / "article_dev.jsonl"
RESULTS = ROOT / "bench" / "results"
PLOT = ROOT / "docs" / "performance.png"
SEED_QUESTION = "Where did the ministers meet?"
SECTIONS = ("build", "latency", "cold", "synthetic", "text", "encoders")


# ---------------------------------------------------------------- measuring


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summary(samples: list[float]) -> dict[str, float]:
    """Median and 95th percentile in milliseconds."""
    return {
        "p50_ms": ms(float(np.percentile(samples, 50))),
        "p95_ms": ms(float(np.percentile(samples, 95))),
        "n": len(samples),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _status(field: str) -> int:
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
        self.start = self.peak = _status("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _status("RssAnon"))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status("RssAnon"))

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
    print(f"\n== {title}", flush=True)


# ---------------------------------------------------------------- 1. query latency


def passage_vectors(index_dir: Path) -> np.ndarray:
    folder = build_dir(index_dir)
    vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
    units = np.load(folder / "units.npy", allow_pickle=False)
    return np.ascontiguousarray(vectors[np.flatnonzero(units[:, 1] <= SENTENCE)])


def query_latency(
    index_dir: Path, questions: list[str], embedder: Embedder, *, flat_floor: bool = True
) -> dict[str, Any]:
    """``ask()`` against its floor, interleaved question by question.

    The floor is what any dense retriever must do: encode the question once
    and search the passage vectors once.  It uses exact (flat) search, or the
    index's own search where the corpus is too large for flat search to be a
    fair floor (``flat_floor=False``).
    """
    import faiss

    retriever = qa.load(index_dir, embedder=embedder)
    if flat_floor:
        floor_index = faiss.IndexFlatIP(retriever.model_dim)
        floor_index.add(passage_vectors(index_dir))
    else:
        floor_index = retriever.index
    k = min(64, floor_index.ntotal)

    def floor(q: str) -> None:
        floor_index.search(embedder.encode([q]), k)

    for q in questions[:5]:  # warm caches and lazy loads
        retriever.ask(q)
        floor(q)
    asks, floors = [], []
    for q in questions:
        asks.append(timed(lambda q=q: retriever.ask(q))[0])
        floors.append(timed(lambda q=q: floor(q))[0])
    a, f = summary(asks), summary(floors)
    pairs = [x / y for x, y in zip(asks, floors, strict=True)]
    return {
        "ask": a,
        "floor": f,
        # Each question's ask() and floor run back to back, under the same load.
        "ratio_median_of_pairs": round(float(np.median(pairs)), 3),
        "floor_kind": "flat" if flat_floor else retriever.manifest.get("ann", {}).get("kind"),
        "ratio_p50": round(a["p50_ms"] / f["p50_ms"], 3),
        "vectors": int(retriever.index.ntotal),
        "passages": len(retriever.passages),
        "ann": retriever.manifest.get("ann"),
    }


# ---------------------------------------------------------------- 2. build throughput


def unit_texts(corpus_dir: Path, embedder: Embedder) -> tuple[list[str], int]:
    """Every text a build embeds for ``corpus_dir``, and the passage count."""
    corpus = read_corpus(corpus_dir)
    texts: list[str] = []
    passages = 0
    for doc in corpus.documents:
        for para in doc.paragraphs:
            units = passage_unit_texts(embedder, doc.title, para.heading, para.text)
            texts += [t for _, t in units]
            passages += 1
        for pair in doc.faqs:
            texts += [t for _, t in faq_unit_texts(pair.question, pair.answer)]
    return texts, passages


def build_throughput(
    source: Path, corpus_dir: Path, index_dir: Path, embedder: Embedder, groups: int
) -> dict[str, Any]:
    """Builds against a raw encode of the same texts, in side-by-side pairs.

    The documents are split into ``groups``; each round adds one group to the
    corpus and rebuilds, so the build embeds exactly that group's texts (the
    rest come from the cache) while parsing, indexing and writing the whole
    corpus so far, and the encoder the build uses (the ONNX export, or
    sentence-transformers' ``model.encode``) runs on the same texts, with its
    defaults, right before or after it, alternately.  The first round is a
    plain full build.  Pairs close in time see the same machine load, so the
    median of the per-round ratios is robust on a busy machine.
    """
    files = sorted(source.glob("*.txt"))
    encoder = embedder.encoder
    corpus_dir.mkdir(parents=True)
    rounds = []
    for g, part in enumerate(np.array_split(np.arange(len(files)), groups)):
        part_dir = corpus_dir.parent / f"{corpus_dir.name}-part{g}"
        part_dir.mkdir()
        for i in part:
            shutil.copy(files[i], part_dir / files[i].name)
        texts, passages = unit_texts(part_dir, embedder)
        shutil.rmtree(part_dir)
        for i in part:
            shutil.copy(files[i], corpus_dir / files[i].name)

        def raw(texts: list[str] = texts) -> None:
            encoder.encode(texts, batch_size=BATCH_SIZE)

        def build() -> Any:
            return qa.build(corpus_dir, index_dir, embedder=embedder)

        if g % 2 == 0:
            raw_seconds, _ = timed(raw)
            build_seconds, report = timed(build)
        else:
            build_seconds, report = timed(build)
            raw_seconds, _ = timed(raw)
        rounds.append(
            {
                "passages": passages,
                "texts": len(texts),
                "embedded": report.embeddings_computed,
                "build_seconds": round(build_seconds, 2),
                "raw_encode_seconds": round(raw_seconds, 2),
                "ratio": round(raw_seconds / build_seconds, 3),
            }
        )
        print(
            f"  round {g + 1}: {passages} passages, build {build_seconds:.1f} s, "
            f"raw encode {raw_seconds:.1f} s",
            flush=True,
        )
    passages = sum(r["passages"] for r in rounds)
    build_total = sum(r["build_seconds"] for r in rounds)
    raw_total = sum(r["raw_encode_seconds"] for r in rounds)
    first = rounds[0]
    return {
        "rounds": rounds,
        "passages": passages,
        "texts_embedded": sum(r["texts"] for r in rounds),
        "build_passages_per_s": round(passages / build_total, 2),
        "raw_passages_per_s": round(passages / raw_total, 2),
        "ratio": round(float(np.median([r["ratio"] for r in rounds])), 3),
        "ratio_of_totals": round(raw_total / build_total, 3),
        "full_build_seconds": first["build_seconds"],
        "full_build_passages": first["passages"],
    }


# Where an incremental rebuild spends its time: (file, function) in the profile.
PHASES = {
    "read corpus": ("qa/corpus.py", "read_corpus"),
    "read previous build (cache)": ("qa/index.py", "__init__"),
    "split units (tokenizer)": ("qa/index.py", "passage_unit_texts"),
    "encode": ("qa/index.py", "_encode_into"),
    "write jsonl": ("qa/index.py", "_write_jsonl"),
    "FAISS index": ("qa/ann.py", "build_index"),
    "BM25 terms (stemmer)": ("qa/text.py", "terms"),
    "BM25 index": ("bm25s/__init__.py", "index"),
    "BM25 save": ("bm25s/__init__.py", "save"),
    "fsync": ("~", "<built-in method posix.fsync>"),
}


def incremental_rebuild(corpus_dir: Path, index_dir: Path, embedder: Embedder) -> dict[str, Any]:
    """Edit one paragraph, rebuild, and see where the time goes."""
    path = sorted(corpus_dir.glob("*.txt"))[0]
    text = path.read_text("utf-8")
    paragraphs = text.split("\n\n")
    paragraphs[1] = paragraphs[1] + " This sentence was added for the benchmark."
    path.write_text("\n\n".join(paragraphs), "utf-8")
    profile = cProfile.Profile()
    profile.enable()
    seconds, report = timed(lambda: qa.build(corpus_dir, index_dir, embedder=embedder))
    profile.disable()
    path.write_text(text, "utf-8")
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    phases = {name: 0.0 for name in PHASES}
    for (file, _, fn), (_, _, _, cumtime, _) in stats.items():
        for name, (where, func) in PHASES.items():
            if fn == func and file.endswith(where) or (where == "~" and fn == func):
                phases[name] += cumtime
    return {
        "seconds": round(seconds, 3),
        "embeddings_computed": report.embeddings_computed,
        "phases_seconds": {k: round(v, 3) for k, v in phases.items()},
    }


# ---------------------------------------------------------------- 3. cold start


def cold_start(corpus_dir: Path, index_dir: Path, question: str) -> dict[str, Any]:
    """Seconds from launching ``python app.py`` to the first answered ``/ask``."""
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        app_command(port, corpus_dir, index_dir),
        env=app_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = None
        while client is None:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")[-300:]
                return {"seconds": None, "note": f"app exited: {err}"}
            if time.perf_counter() - started > 180:
                return {"seconds": None, "note": "no answer within 180 s"}
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
            except Exception:  # not listening yet
                time.sleep(0.05)
        try:
            client.predict(question, api_name="/ask")
        except ValueError as exc:
            if "api_name" in str(exc):
                return {"seconds": None, "note": "the app has no /ask endpoint"}
            raise
        return {"seconds": round(time.perf_counter() - started, 2), "note": ""}
    finally:
        stop(proc, timeout=20)
        log.close()


def import_seconds(module: str) -> float:
    """Wall time of ``python -c 'import module'``, to put cold start in context."""
    seconds, _ = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", f"import {module}"], check=True, capture_output=True
        )
    )
    return round(seconds, 2)


# ---------------------------------------------------------------- 4. scale


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def single_query_ms(index: Any, queries: np.ndarray, k: int = 10) -> dict[str, float]:
    index.search(queries[:1], k)
    return summary(
        [timed(lambda i=i: index.search(queries[i : i + 1], k))[0] for i in range(len(queries))]
    )


def index_bytes(index: Any, folder: Path) -> int:
    import faiss

    path = folder / "probe.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size
    path.unlink()
    return size


def synthetic_scale(sizes: list[int], tmp: Path, n_queries: int) -> dict[str, Any]:
    """Exact and IVF search over clustered vectors, from small to the largest size."""
    import faiss

    largest = max(sizes)
    out: dict[str, Any] = {"sizes": {}}
    path = tmp / "vectors.npy"
    for n in sizes:
        # Each size is its own corpus: groups of ~8 related vectors at every
        # size, as a passage's window and sentences are (a prefix of a bigger
        # draw would scatter the groups and make small sizes artificially hard).
        seconds, data = timed(lambda n=n: clustered(n + n_queries, seed=7))
        queries = data[n:]
        if n == largest:
            out["generate_seconds"] = round(seconds, 1)
            out["neighbour_profile"] = neighbour_profile(data[:4262])
        # Kept on disk so that building from them is measured the way qa.build
        # does it: read from a memory map, not from a second array.
        np.save(path, data[:n])
        del data
        mapped = np.load(path, mmap_mode="r")
        row: dict[str, Any] = {}
        flat = faiss.IndexFlatIP(mapped.shape[1])
        for start in range(0, n, ann.ADD_CHUNK):
            flat.add(np.ascontiguousarray(mapped[start : min(n, start + ann.ADD_CHUNK)]))
        _, truth = flat.search(queries, 10)
        row["flat"] = single_query_ms(flat, queries[: 40 if n > 200_000 else n_queries])
        row["flat"]["bytes"] = n * mapped.shape[1] * 4
        del flat
        params = ann.choose(n, flat_max=0)
        storages = list(ann.Storage) if n == largest else [params.storage]
        for storage in storages:
            p = ann.AnnParams(params.kind, params.nlist, params.nprobe, storage, params.train_size)
            with PeakMemory() as memory:
                build_seconds, index = timed(lambda p=p, v=mapped[:n]: ann.build_index(v, p))
            _, found = index.search(queries, 10)
            entry = single_query_ms(index, queries)
            entry.update(
                {
                    "recall_at_10": round(recall_at(found, truth), 4),
                    "bytes": index_bytes(index, tmp),
                    "build_seconds": round(build_seconds, 1),
                    "build_memory_grew_mb": memory.grew_mb,
                    "params": p.to_manifest(),
                }
            )
            row[f"ivf_{storage.value}"] = entry
            del index
        out["sizes"][str(n)] = row
        print(
            f"  {n:>9,} vectors: flat p50 {row['flat']['p50_ms']:.2f} ms; "
            + "; ".join(
                f"{k} p50 {v['p50_ms']:.2f} ms recall {v['recall_at_10']:.3f}"
                for k, v in row.items()
                if k.startswith("ivf")
            ),
            flush=True,
        )
        del mapped
    out["vector_bytes_largest"] = largest * 384 * 4
    path.unlink()
    return out


def flat_threshold(scale: dict[str, Any], budget_ms: float = 2.0) -> dict[str, float]:
    """Where exact search reaches ``budget_ms``, from its cost per vector.

    The cost per vector is the slope between the two largest sizes, so the
    fixed cost of a call (and the machine's scheduling noise at small sizes)
    does not count as per-vector work.
    """
    ns = sorted(int(n) for n in scale["sizes"])
    (n1, n2) = ns[-2:]
    p1, p2 = (scale["sizes"][str(n)]["flat"]["p50_ms"] for n in (n1, n2))
    per_vector_us = max(1e-6, (p2 - p1) / (n2 - n1) * 1000)
    return {
        "per_vector_us": round(per_vector_us, 4),
        "vectors_at_budget": int(budget_ms * 1000 / per_vector_us),
        "budget_ms": budget_ms,
    }


def retriever_memory(index_dir: Path) -> dict[str, float]:
    """Load time and memory of a retriever in a fresh process (no allocator leftovers)."""
    code = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import faiss, bm25s, numpy, qa\n"
        "from bench.run import _status\n"
        "base = _status('RssAnon')\n"
        "t = time.perf_counter()\n"
        "r = qa.load(sys.argv[2])\n"
        "print(time.perf_counter() - t, _status('RssAnon') - base, _status('VmRSS'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(index_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        "load_seconds": round(float(out[0]), 2),
        "retriever_memory_mb": round(int(out[1]) / 2**20, 1),
        "process_rss_mb": round(int(out[2]) / 2**20, 1),
    }


def real_recall(index_dir: Path, questions: list[str], embedder: Embedder) -> float:
    """Recall@10 of the built index against exact search, for real encoded questions."""
    import faiss

    r = qa.load(index_dir, embedder=embedder)
    queries = embedder.encode(questions)
    vectors = np.load(r.folder / "vectors.npy", mmap_mode="r")
    rows = np.flatnonzero(r.units[:, 1] <= SENTENCE)
    flat = ann.build_index(vectors, ann.AnnParams(), rows)
    _, truth = flat.search(queries, 10)
    del flat
    _, found = r.index.search(queries, 10)
    assert isinstance(r.index, faiss.Index)
    return round(recall_at(found, truth), 4)


def rank_parts(index_dir: Path, questions: list[str], embedder: Embedder) -> dict[str, float]:
    """Median cost of the steps of one ``ask()`` that grow with the corpus."""
    from qa.text import terms

    r = qa.load(index_dir, embedder=embedder)
    names = (
        "encode",
        "faiss search",
        "bm25 scores",
        "top 20 bm25 passages",
        "bm25 sentence scores",
        "best sentence per passage",
    )
    parts: dict[str, list[float]] = {name: [] for name in names}
    for q in questions:
        seconds, qvec = timed(lambda q=q: embedder.encode([q]))
        parts["encode"].append(seconds)
        parts["faiss search"].append(timed(lambda v=qvec: r.index.search(v, 64))[0])
        qterms = [t for t in terms(q) if t in r.bm25.vocab_dict]
        if not qterms:  # the retriever skips BM25 for such questions too
            continue
        seconds, scores = timed(lambda t=qterms: r.bm25.get_scores(t))
        parts["bm25 scores"].append(seconds)
        # The retriever takes its 20 best BM25 passages among those scoring above 0.
        parts["top 20 bm25 passages"].append(timed(lambda s=scores: _top_positive(s, 20))[0])
        seconds, sentence_scores = timed(lambda t=qterms: r.bm25_sentences.get_scores(t))
        parts["bm25 sentence scores"].append(seconds)

        parts["best sentence per passage"].append(
            timed(
                lambda s=sentence_scores: _best_per_passage(s, r.sentence_passage, len(r.passages))
            )[0]
        )
    return {k: ms(float(np.median(v))) for k, v in parts.items()}


def text_scale(
    squad_index: Path, copies: int, tmp: Path, embedder: Embedder, questions: list[str]
) -> dict[str, Any]:
    """qa.build and ask() on SQuAD repeated with variation, the whole path."""
    variants = VariantCorpus(squad_index)
    corpus_dir, index_dir = tmp / "text-scale-corpus", tmp / "text-scale-index"
    seconds, passages = timed(lambda: variants.write(corpus_dir, copies))
    fake = VariantEmbedder(embedder, variants)
    with PeakMemory() as memory:
        build_seconds, report = timed(lambda: qa.build(corpus_dir, index_dir, embedder=fake))
    folder = build_dir(index_dir)
    vector_bytes = (folder / "vectors.npy").stat().st_size
    loaded = retriever_memory(index_dir)
    recall = real_recall(index_dir, questions, embedder)
    latency = query_latency(index_dir, questions, embedder, flat_floor=False)
    latency["parts_ms"] = rank_parts(index_dir, questions, embedder)
    shutil.rmtree(corpus_dir)
    return {
        "passages": passages,
        "write_corpus_seconds": round(seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "build_memory_grew_mb": memory.grew_mb,
        "vector_file_mb": round(vector_bytes / 2**20, 1),
        "texts_sent_to_real_model": fake.unknown,
        "embeddings_computed": report.embeddings_computed,
        **loaded,
        "recall_at_10_real_questions": recall,
        "index_dir_mb": round(
            sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1
        ),
        **latency,
    }


# ---------------------------------------------------------------- 5. encoders


def encoder_options(embedder: Embedder, texts: list[str], questions: list[str]) -> dict[str, Any]:
    """The default PyTorch encoder against one thread, int8, and ONNX Runtime.

    Every option encodes each question in turn, and the batch of texts in
    turn, so they share the machine's load alike.
    """
    import warnings

    import torch

    warnings.filterwarnings("ignore", module="torch.ao")  # deprecation notices
    model = embedder.model
    threads = torch.get_num_threads()

    def one_thread(xs: list[str]) -> np.ndarray:
        # On a busy machine a second thread can cost more in waiting than it gains.
        torch.set_num_threads(1)
        try:
            return model.encode(xs, batch_size=BATCH_SIZE, normalize_embeddings=True)
        finally:
            torch.set_num_threads(threads)

    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch float32": lambda xs: model.encode(
            xs, batch_size=BATCH_SIZE, normalize_embeddings=True
        ),
        "torch float32, 1 thread": one_thread,
        "torch int8 (dynamic)": lambda xs: quantized.encode(
            xs, batch_size=BATCH_SIZE, normalize_embeddings=True
        ),
    }
    options: dict[str, Any] = {}
    for backend in ("onnx", "openvino"):
        try:
            from sentence_transformers import SentenceTransformer

            from qa.embed import resolve_model

            other = SentenceTransformer(
                resolve_model(embedder.name), backend=backend, device="cpu", local_files_only=True
            )
            encoders[f"sentence-transformers {backend}"] = lambda xs, m=other: m.encode(
                xs, normalize_embeddings=True
            )
        except Exception as exc:  # each backend fails in its own way when not installed
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            options[f"sentence-transformers {backend} backend"] = {"error": error}
    try:
        encoders.update(onnx_encoders(embedder))
    except Exception as exc:  # onnxruntime missing, or the export failed
        options["onnx runtime (exported)"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}

    ref_q = model.encode(questions, normalize_embeddings=True)
    ref_t = model.encode(texts, normalize_embeddings=True)
    singles: dict[str, list[float]] = {name: [] for name in encoders}
    batches: dict[str, list[float]] = {name: [] for name in encoders}
    for encode in encoders.values():
        encode(questions[:3])
    names = list(encoders)
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            singles[name].append(timed(lambda q=q, e=encoders[name]: e([q]))[0])
    for r in range(2):
        for name in names if r == 0 else names[::-1]:
            batches[name].append(timed(lambda e=encoders[name]: e(texts))[0])
    for name, encode in encoders.items():
        options[name] = {
            "query": summary(singles[name]),
            "texts_per_s": round(len(texts) / float(np.median(batches[name])), 1),
            "cosine_to_float32": round(float(np.mean(np.sum(encode(texts) * ref_t, axis=1))), 4),
            "query_cosine_to_float32": round(
                float(np.mean(np.sum(encode(questions) * ref_q, axis=1))), 4
            ),
        }
        print(
            f"  {name}: query p50 {options[name]['query']['p50_ms']:.1f} ms, "
            f"{options[name]['texts_per_s']} texts/s, cosine to float32 "
            f"{options[name]['cosine_to_float32']}",
            flush=True,
        )
    return options


def batch_sizes(embedder: Embedder, texts: list[str]) -> dict[str, float]:
    """Texts per second of the default encoder at each batch size, interleaved."""
    sizes = (4, 8, 16, 32, 64)
    seconds: dict[int, list[float]] = {b: [] for b in sizes}
    embedder.encode(texts[:8])
    for r in range(2):
        for b in sizes if r == 0 else sizes[::-1]:
            seconds[b].append(timed(lambda b=b: embedder.encode(texts, batch_size=b))[0])
    return {str(b): round(len(texts) / float(np.median(seconds[b])), 1) for b in sizes}


def onnx_encoders(embedder: Embedder) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """The model's ONNX export (qa.export, float32) and an int8 copy of it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.export import OnnxEncoder, export, export_dir

    folder = export_dir(embedder.name, embedder._weights_key())
    if not (folder / "meta.json").is_file():
        export(embedder.model, folder)
    fp32 = OnnxEncoder(folder)
    tmp = Path(tempfile.mkdtemp(prefix="qa-int8-"))
    try:
        for name in ("meta.json", "tokenizer.json"):
            shutil.copy(folder / name, tmp / name)
        quantize_dynamic(
            str(folder / "model.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8
        )
        int8 = OnnxEncoder(tmp)  # the session has read the file
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "onnx runtime float32": lambda xs: fp32.encode(xs, batch_size=BATCH_SIZE),
        "onnx runtime int8 (dynamic)": lambda xs: int8.encode(xs, batch_size=BATCH_SIZE),
    }


# ---------------------------------------------------------------- plot


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


# ---------------------------------------------------------------- main


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
                        "<= 1.3",
                        lat["ratio_median_of_pairs"] <= 1.3,
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
                    table.add("cold start to first /ask", f"{median:.1f} s", "<= 8 s", median <= 8)
                else:
                    table.add("cold start to first /ask", f"n/a ({runs[0]['note']})", "<= 8 s")
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
                    + f" (qa uses {BATCH_SIZE})",
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
