"""Searching within documents, for every Store: the store's own filtered search
against brute force over the scope's records, and ask/search with ``docs``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qa
from qa.embed import Embedder
from qa.errors import QAError
from qa.store import Field, Location, Store
from qa.store.scope import Catalog, ScopedStore
from qa.text import terms
from qa.units import SENTENCE
from tests.conftest import SEED

from .test_contract import QUESTIONS


def _scope(store: Store, *names: str):  # type: ignore[no-untyped-def]
    return Catalog(store.passages, store.faqs).resolve(names)


@pytest.mark.parametrize("doc", ["solar.txt", SEED.name])
def test_dense_top_within_a_document_is_its_brute_force_top(
    built: tuple[Location, Store], embedder: Embedder, doc: str
) -> None:
    _, store = built
    scope = _scope(store, doc)
    ids = [i for i, p in enumerate(store.passages) if p.path == doc]
    rows = np.concatenate([np.arange(*store.passages[i].units) for i in ids])
    rows = rows[store.kinds(rows) <= SENTENCE]
    vectors = store.vectors(rows)
    for question in QUESTIONS:
        qvec = embedder.encode([question])[0]
        hits = store.dense_top(qvec, 8, within=scope)
        order = np.argsort(-(vectors @ qvec))[:8]
        assert list(hits.rows) == list(rows[order])
        np.testing.assert_allclose(hits.scores, (vectors @ qvec)[order], atol=1e-5)
        assert {store.passages[int(o)].path for o in hits.owners} == {doc}


@pytest.mark.parametrize("question", QUESTIONS)
def test_keyword_and_sentence_top_within_keep_only_the_scope(
    built: tuple[Location, Store], question: str
) -> None:
    _, store = built
    scope = _scope(store, "solar.txt")
    inside = np.array([p.path == "solar.txt" for p in store.passages])
    known = [t for t in terms(question) if t in store.vocabulary(Field.PASSAGE)]
    for full, scoped in (
        (store.keyword(Field.PASSAGE, known), store.keyword(Field.PASSAGE, known, within=scope)),
        (store.sentences(known), store.sentences(known, within=scope)),
    ):
        every = full.scores(range(len(store.passages)))
        want = np.where(inside, every, 0)
        ids, scores = scoped.top(3)
        assert all(inside[i] for i in ids)
        assert len(ids) == min(3, int((want > 0).sum()))
        np.testing.assert_allclose(
            sorted(scores, reverse=True), sorted(want[want > 0], reverse=True)[:3], rtol=1e-5
        )
    # What the ranker reads of each passage in scope is what it reads unscoped.
    passages = np.flatnonzero(inside)
    full = store.keyword(Field.PASSAGE, known)
    scoped = store.keyword(Field.PASSAGE, known, within=scope)
    np.testing.assert_allclose(scoped.scores(passages), full.scores(passages), rtol=1e-5)
    assert np.array_equal(scoped.matched(passages), full.matched(passages))
    full_s, scoped_s = store.sentences(known), store.sentences(known, within=scope)
    for p in passages:
        np.testing.assert_allclose(scoped_s.of_passage(p), full_s.of_passage(p), rtol=1e-5)
    faqs = store.keyword(Field.FAQ, terms("prices zero capacity"), within=_scope(store, SEED.name))
    seed_faqs = {i for i, f in enumerate(store.faqs) if f.path == SEED.name}
    assert set(faqs.top(10)[0].tolist()) <= seed_faqs


def test_ask_within_answers_from_those_documents_only(
    built: tuple[Location, Store], embedder: Embedder
) -> None:
    location, _ = built
    r = qa.load(location, embedder=embedder)
    question = "Why did electricity prices fall below zero?"
    alone = r.ask(question)
    assert alone.answered and alone.passage is not None and alone.passage.path == "solar.txt"
    within_seed = r.ask(question, docs=[SEED.name])
    assert not within_seed.answered or within_seed.passage.path == SEED.name  # type: ignore[union-attr]
    assert within_seed.faq is None or within_seed.faq.doc != "Solar Power in Spain"
    # By title too, and any case; the answer is the unfiltered one.
    by_title = r.ask(question, docs=["solar power in spain"])
    assert by_title.passage == alone.passage and by_title.faq == alone.faq
    found = r.search(question, k=3, docs=[SEED.name])
    assert found and {p.path for p in found} == {SEED.name}
    assert r.search(question, k=3, docs=[]) == r.search(question, k=3)


def test_unknown_document_names_are_a_clear_error(
    built: tuple[Location, Store], embedder: Embedder
) -> None:
    location, store = built
    r = qa.load(location, embedder=embedder)
    with pytest.raises(QAError, match=r"no document named 'nope\.txt'.*'solar\.txt'"):
        r.ask("Who leads the coalition?", docs=["nope.txt"])
    with pytest.raises(QAError, match="no document named"):
        r.search("Who leads the coalition?", docs=["solar.txt", "../etc/passwd"])
    assert isinstance(r.within(["solar.txt"]).store, ScopedStore)


def test_an_ivf_index_searches_a_large_scope_with_an_id_selector(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the exact-search size the folder store asks FAISS itself for scope hits only."""
    from qa.store import open_store
    from qa.store.local import ann

    from .conftest import write_corpus

    monkeypatch.setattr(ann, "FLAT_MAX_VECTORS", 10)  # this corpus builds an IVF index
    qa.build(write_corpus(tmp_path / "corpus"), tmp_path / "index", embedder=embedder)
    store = open_store(tmp_path / "index")
    assert store.manifest.ann["kind"] == "ivf"
    scope = _scope(store, SEED.name)
    searched = sum(
        int((store.kinds(np.arange(*store.passages[i].units)) <= SENTENCE).sum())
        for i in range(len(store.passages))
        if store.passages[i].path == SEED.name
    )
    assert searched > ann.FLAT_MAX_VECTORS  # so the selector path runs
    qvec = embedder.encode(["Who leads the coalition of the willing?"])[0]
    hits = store.dense_top(qvec, 12, within=scope)
    assert len(hits.rows) == 12
    assert {store.passages[int(o)].path for o in hits.owners} == {SEED.name}
    everything = store.dense_top(qvec, 64)
    best_inside = next(
        int(r) for r, o in zip(everything.rows, everything.owners, strict=True)
        if store.passages[int(o)].path == SEED.name
    )  # fmt: skip
    assert int(hits.rows[0]) == best_inside


def test_a_question_declined_within_documents_suggests_from_them_only(
    built: tuple[Location, Store], embedder: Embedder
) -> None:
    location, store = built
    r = qa.load(location, embedder=embedder)
    for doc in ("solar.txt", SEED.name):
        answer = r.ask("What is the capital of Peru?", docs=[doc])
        assert not answer.answered and answer.suggestions
        faqs = {f.question for f in store.faqs if f.path == doc}
        headings = {p.heading for p in store.passages if p.path == doc}
        assert set(answer.suggestions) <= (faqs or headings), (doc, answer.suggestions)
    everywhere = r.ask("What is the capital of Peru?")
    assert set(everywhere.suggestions) <= {f.question for f in store.faqs}
    assert r.within(["solar.txt"]).titles == ("Solar Power in Spain",)
    assert len(r.titles) == len({p.path for p in store.passages})
