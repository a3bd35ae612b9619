"""Real text at scale: SQuAD repeated with variation, the whole qa.build and ask()."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import qa
from bench.ann_scale import recall_at
from bench.common import ROOT, PeakMemory, ms, timed
from bench.latency import query_latency
from bench.synthetic import VariantCorpus, VariantEmbedder
from qa.embed import Embedder
from qa.store import Field
from qa.store.local import ann
from qa.store.local.files import build_dir
from qa.store.scores import best_per_passage
from qa.units import SENTENCE


def retriever_memory(index_dir: Path) -> dict[str, float]:
    """Load time and memory of a retriever in a fresh process (no allocator leftovers)."""
    code = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import faiss, bm25s, numpy, qa\n"
        "from bench.common import proc_status\n"
        "base = proc_status('RssAnon')\n"
        "t = time.perf_counter()\n"
        "r = qa.load(sys.argv[2])\n"
        "print(time.perf_counter() - t, proc_status('RssAnon') - base, proc_status('VmRSS'))\n"
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
    rows = np.flatnonzero(r.store.units[:, 1] <= SENTENCE)
    flat = ann.build_index(vectors, ann.AnnParams(), rows)
    _, truth = flat.search(queries, 10)
    del flat
    _, found = r.store.index.search(queries, 10)
    assert isinstance(r.store.index, faiss.Index)
    return round(recall_at(found, truth), 4)


def rank_parts(index_dir: Path, questions: list[str], embedder: Embedder) -> dict[str, float]:
    """Median cost of the steps of one ``ask()`` that grow with the corpus."""
    from qa.text import terms

    r = qa.load(index_dir, embedder=embedder)
    store = r.store
    vocab = store.vocabulary(Field.PASSAGE)
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
        parts["faiss search"].append(timed(lambda v=qvec: store.index.search(v, 64))[0])
        qterms = [t for t in terms(q) if t in vocab]
        if not qterms:  # the retriever skips BM25 for such questions too
            continue
        seconds, scores = timed(lambda t=qterms: store.keyword(Field.PASSAGE, t))
        parts["bm25 scores"].append(seconds)
        # The retriever takes its 20 best BM25 passages among those scoring above 0.
        parts["top 20 bm25 passages"].append(timed(lambda s=scores: s.top(20))[0])
        seconds, sentences = timed(lambda t=qterms: store.sentences(t))
        parts["bm25 sentence scores"].append(seconds)

        parts["best sentence per passage"].append(
            timed(
                lambda s=sentences.sentence: best_per_passage(
                    s, store.sentence_passage, len(store.passages)
                )
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
