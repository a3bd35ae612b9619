"""One set of cases for every Store: what ranking relies on, checked against brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qa
from qa.corpus import parse_file
from qa.embed import Embedder
from qa.errors import IndexNotReadyError
from qa.store import Field, Location, Store, live_build, open_store
from qa.text import terms
from qa.units import PLAIN, SENTENCE, context, passage_sentences
from tests.store.conftest import StoreKind, write_corpus

QUESTIONS = [
    "Who leads the coalition of the willing?",
    "Why did electricity prices fall below zero?",
    "What did the Swedish minister say about troops?",
    "batteries evening peak",
]


def _all_units(store: Store) -> np.ndarray:
    end = max(p.units[1] for p in store.passages)
    if store.faqs:
        end = max(end, max(f.units[1] for f in store.faqs))
    return np.arange(end)


def test_records_are_the_corpus(built: tuple[Location, Store], tmp_path: Path) -> None:
    _, store = built
    corpus = write_corpus(tmp_path / "corpus")
    docs = [parse_file(p) for p in sorted(corpus.iterdir())]
    want = sorted(p.text for d in docs for p in d.paragraphs)
    assert sorted(p.text for p in store.passages) == want
    assert sorted(f.question for f in store.faqs) == sorted(
        f.question for d in docs for f in d.faqs
    )
    assert store.manifest.counts.passages == len(store.passages)
    assert store.build_id


def test_dense_top_k_matches_brute_force(built: tuple[Location, Store], embedder: Embedder) -> None:
    _, store = built
    rows = _all_units(store)
    kinds = store.kinds(rows)
    passage_rows = rows[kinds <= SENTENCE]
    vectors = store.vectors(passage_rows)
    for question in QUESTIONS:
        qvec = embedder.encode([question])[0]
        hits = store.dense_top(qvec, 10)
        brute = passage_rows[np.argsort(-(vectors @ qvec))[:10]]
        assert list(hits.rows) == list(brute)
        np.testing.assert_allclose(hits.scores, vectors[np.argsort(-(vectors @ qvec))[:10]] @ qvec,
                                   atol=1e-5)  # fmt: skip
        owners = [next(i for i, p in enumerate(store.passages) if p.units[0] <= r < p.units[1])
                  for r in hits.rows]  # fmt: skip
        assert list(hits.owners) == owners
    # Asking for more than there is returns all of it, never padding.
    assert len(store.dense_top(qvec, 10_000).rows) == len(passage_rows)


def test_stored_vectors_are_the_models(built: tuple[Location, Store], embedder: Embedder) -> None:
    _, store = built
    p = store.passages[0]
    first = store.vectors(np.array([p.units[0]]))[0]
    np.testing.assert_allclose(
        first, embedder.encode([context(p.doc, p.heading) + p.text])[0], atol=1e-5
    )
    # Its last unit is the same window without the title and heading; it is
    # read for the ranker's dense_plain, never returned by dense search.
    last = np.array([p.units[1] - 1])
    assert list(store.kinds(last)) == [PLAIN]
    np.testing.assert_allclose(store.vectors(last)[0], embedder.encode([p.text])[0], atol=1e-5)


def _brute_bm25(docs: list[list[str]], query: list[str]) -> np.ndarray:
    import bm25s

    index = bm25s.BM25()
    index.index(docs, show_progress=False)
    return index.get_scores(query)


@pytest.mark.parametrize("question", QUESTIONS)
def test_keyword_top_and_scores_agree_with_brute_force(
    built: tuple[Location, Store], question: str
) -> None:
    _, store = built
    vocab = store.vocabulary(Field.PASSAGE)
    known = [t for t in terms(question) if t in vocab]
    assert known
    docs = [terms(context(p.doc, p.heading)) + [t for s in passage_sentences(p.text)
            for t in terms(s)] for p in store.passages]  # fmt: skip
    brute = _brute_bm25(docs, known)
    query = store.keyword(Field.PASSAGE, known)
    ids, scores = query.top(3)
    assert len(ids) == min(3, int((brute > 0).sum()))
    positive = sorted(brute[brute > 0], reverse=True)[:3]
    np.testing.assert_allclose(sorted(scores, reverse=True), positive, rtol=1e-5)
    np.testing.assert_allclose(
        query.scores(range(len(store.passages))), brute, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(query.scores(list(ids)), scores, rtol=1e-6)


@pytest.mark.parametrize("question", QUESTIONS)
def test_matched_terms_are_the_passages_words(built: tuple[Location, Store], question: str) -> None:
    _, store = built
    for field, texts in (
        (Field.PASSAGE, [context(p.doc, p.heading) + p.text for p in store.passages]),
        (Field.FAQ, [f"{f.question} {f.answer}" for f in store.faqs]),
    ):
        known = [t for t in terms(question) if t in store.vocabulary(field)]
        ids = list(range(len(texts)))[::-1]  # any order: rows follow the ids given
        found = store.keyword(field, known).matched(ids)
        assert found.shape == (len(ids), len(known))
        for row, i in zip(found, ids, strict=True):
            words = set(terms(texts[i]))
            assert list(row) == [t in words for t in known], (field, i)


@pytest.mark.parametrize("question", QUESTIONS)
def test_sentence_scores_group_by_passage(built: tuple[Location, Store], question: str) -> None:
    _, store = built
    known = [t for t in terms(question) if t in store.vocabulary(Field.SENTENCE)]
    query = store.sentences(known)
    per_passage = [query.of_passage(i) for i in range(len(store.passages))]
    for i, p in enumerate(store.passages):
        assert len(per_passage[i]) == len(passage_sentences(p.text))
    best = np.array([max(0.0, float(s.max())) for s in per_passage])
    np.testing.assert_allclose(query.scores(range(len(best))), best, rtol=1e-6)
    ids, scores = query.top(2)
    positive = sorted(best[best > 0], reverse=True)[:2]
    np.testing.assert_allclose(sorted(scores, reverse=True), positive, rtol=1e-6)
    assert all(best[i] > 0 for i in ids)


def test_no_terms_scores_nothing(built: tuple[Location, Store]) -> None:
    _, store = built
    ids, _ = store.keyword(Field.PASSAGE, []).top(5)
    assert len(ids) == 0
    assert not store.sentences([]).scores([0, 1]).any()


def test_known_terms(built: tuple[Location, Store]) -> None:
    _, store = built
    for field in (Field.PASSAGE, Field.SENTENCE):
        vocab = store.vocabulary(field)
        assert set(terms("Andalusia batteries Healey coalition")) <= vocab
        assert not set(terms("Zanzibar photosynthesis")) & vocab
    assert set(terms("capacity Andalusia")) <= store.vocabulary(Field.FAQ)
    faq_ids, _ = store.keyword(Field.FAQ, terms("prices zero")).top(1)
    assert "prices" in store.faqs[int(faq_ids[0])].question


def test_missing_store_says_to_build(kind: StoreKind, tmp_path: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="qa build"):
        open_store(kind.location(tmp_path / "nothing"))
    assert live_build(kind.location(tmp_path / "nothing")) is None


def test_damaged_store_says_to_rebuild(kind: StoreKind, tmp_path: Path, embedder: Embedder) -> None:
    location = kind.location(tmp_path)
    qa.build(write_corpus(tmp_path / "corpus"), location, embedder=embedder)
    kind.damage(location)
    with pytest.raises(IndexNotReadyError, match="qa build"):
        open_store(location)


def test_a_failed_build_publishes_nothing(
    kind: StoreKind, tmp_path: Path, embedder: Embedder
) -> None:
    location = kind.location(tmp_path)
    corpus = write_corpus(tmp_path / "corpus")
    qa.build(corpus, location, embedder=embedder)
    before = live_build(location)
    (corpus / "solar.txt").write_text("Solar\nGrowth\nA new paragraph.\n", "utf-8")

    def fail(_: Path) -> None:
        raise RuntimeError("killed before the swap")

    with pytest.raises(RuntimeError):
        qa.build(corpus, location, embedder=embedder, before_swap=fail)
    assert live_build(location) == before
    qa.build(corpus, location, embedder=embedder)
    after = live_build(location)
    assert after is not None and after != before
    assert any(p.text == "A new paragraph." for p in open_store(location).passages)
