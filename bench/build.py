"""Build throughput against a raw encode of the same texts, and one incremental rebuild."""

from __future__ import annotations

import cProfile
import pstats
import shutil
from pathlib import Path
from typing import Any

import numpy as np

import qa
from bench.common import timed
from qa.corpus import read_corpus
from qa.embed import BATCH_SIZE, Embedder
from qa.units import faq_unit_texts, passage_unit_texts


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
    "read previous build (cache)": ("qa/store/local/writer.py", "of"),
    "split units (tokenizer)": ("qa/units.py", "passage_unit_texts"),
    "encode": ("qa/index.py", "_encode_into"),
    "write jsonl": ("qa/store/local/files.py", "write_jsonl"),
    "FAISS index": ("qa/store/local/ann.py", "build_index"),
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
