"""Building the index: files, manifest, incremental rebuilds, failed builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.embed import Embedder
from qa.errors import IndexNotReadyError
from qa.index import is_current
from qa.store.local.files import build_dir
from qa.units import context

QUESTIONS = [
    "Where did the defence ministers meet?",
    "Who is leading the coalition of the willing?",
    "What did the Swedish minister say?",
    "How do I bake sourdough bread?",
]


def _answers(retriever: qa.Retriever) -> list[tuple[bool, str | None, float]]:
    out = []
    for q in QUESTIONS:
        a = retriever.ask(q)
        out.append((a.answered, a.passage.text if a.passage else None, round(a.confidence, 6)))
    return out


def test_round_trip_manifest_and_files(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    report = qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    assert (report.documents, report.passages, report.faqs) == (1, 7, 4)
    assert report.embeddings_computed == 11 and report.embeddings_reused == 0
    folder = build_dir(tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["counts"]["passages"] == 7 and manifest["counts"]["faqs"] == 4
    sha = manifest["documents"][0]["sha256"]
    import hashlib

    assert sha == hashlib.sha256(next(seed_corpus.iterdir()).read_bytes()).hexdigest()
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))

    retriever = qa.load(tmp_path / "index", embedder=embedder)
    assert [p.text for p in retriever.passages] == [
        p.text for p in qa.corpus.parse_file(next(seed_corpus.iterdir())).paragraphs
    ]
    # Stored vectors are the model's own unit vectors for those texts, in context.
    first = retriever.passages[0]
    in_context = context(first.doc, first.heading) + first.text
    np.testing.assert_allclose(
        retriever.store.vectors(np.array([first.units[0]]))[0],
        embedder.encode([in_context])[0],
        atol=1e-5,
    )
    assert is_current(seed_corpus, tmp_path / "index")


def test_missing_and_corrupt_index_raise_qaerror(
    seed_index: Path, tmp_path: Path, embedder: Embedder
) -> None:
    with pytest.raises(qa.QAError, match="run `qa build`"):
        qa.load(tmp_path / "nothing-here")
    broken = tmp_path / "broken"
    shutil.copytree(build_dir(seed_index), broken)
    (broken / "units.faiss").write_bytes(b"not a faiss file")
    with pytest.raises(IndexNotReadyError, match="run `qa build`"):
        qa.load(broken, embedder=embedder)
    shutil.copy(build_dir(seed_index) / "units.faiss", broken / "units.faiss")
    (broken / "passages.jsonl").unlink()
    with pytest.raises(IndexNotReadyError, match="run `qa build`"):
        qa.load(broken, embedder=embedder)


def test_failed_build_leaves_old_index_answering_the_same(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    before = _answers(qa.load(index, embedder=embedder))
    doc = next(seed_corpus.iterdir())
    doc.write_text(doc.read_text().replace("Brussels", "Vilnius"))

    def explode(folder: Path) -> None:
        assert (folder / "manifest.json").is_file()  # the new build was complete
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        qa.build(seed_corpus, index, embedder=embedder, before_swap=explode)
    after = qa.load(index, embedder=embedder)
    assert _answers(after) == before
    assert "Brussels" in after.passages[0].text
    assert [p.name for p in index.iterdir() if p.name.startswith(".tmp")] == []
    assert not is_current(seed_corpus, index)


def test_editing_one_paragraph_computes_one_embedding(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    again = qa.build(seed_corpus, index, embedder=embedder)
    assert (again.embeddings_reused, again.embeddings_computed) == (11, 0)
    doc = next(seed_corpus.iterdir())
    doc.write_text(
        doc.read_text().replace("gathered in Brussels on Thursday", "gathered in Vilnius on Friday")
    )
    edited = qa.build(seed_corpus, index, embedder=embedder)
    assert (edited.embeddings_reused, edited.embeddings_computed) == (10, 1)
    answer = qa.load(index, embedder=embedder).ask("Where did the ministers gather on Friday?")
    assert answer.passage is not None and "Vilnius on Friday" in answer.passage.text


def test_on_progress_reports_files_read_and_texts_embedded(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    from functools import partial

    from qa.index import encode_here

    (seed_corpus / "extra.txt").write_text("Extra\nHeading\nA second file's only paragraph.\n")
    seen: list[tuple[str, int, int]] = []
    qa.build(
        seed_corpus,
        tmp_path / "index",
        embedder=embedder,
        encode=partial(encode_here, chunk_size=8),
        on_progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    read = [(d, t) for s, d, t in seen if s == "read"]
    assert read == [(0, 2), (1, 2), (2, 2)]
    embed = [(d, t) for s, d, t in seen if s == "embed"]
    total = embed[0][1]
    assert embed[0] == (0, total) and embed[-1] == (total, total) and total > 8
    done = [d for d, _ in embed]
    assert done == sorted(done) and len(embed) == 1 + -(-total // 8)  # one step a slice
    assert seen.index(("read", 2, 2)) < seen.index(("embed", 0, total))
    # A rebuild with nothing new reads the files and embeds nothing.
    seen.clear()
    qa.build(
        seed_corpus, tmp_path / "index", embedder=embedder, on_progress=lambda *a: seen.append(a)
    )
    assert ("embed", 0, 0) in seen and ("read", 2, 2) in seen
