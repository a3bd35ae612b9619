"""The Retriever: search, ask, declines, thread safety, the model check."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.embed import Embedder
from qa.errors import IndexNotReadyError
from qa.units import context

QUESTIONS = [
    "Where did the defence ministers meet?",
    "Who is leading the coalition of the willing?",
    "What did the Swedish minister say?",
    "How do I bake sourdough bread?",
]


def test_search_matches_brute_force_cosine(
    seed_retriever: qa.Retriever, embedder: Embedder
) -> None:
    q = "Which minister talked about scenarios such as an escalation by Russia?"
    qvec = embedder.encode([q])[0]
    texts = [context(p.doc, p.heading) + p.text for p in seed_retriever.passages]
    best_dense = int(np.argmax(embedder.encode(texts) @ qvec))
    results = seed_retriever.search(q, k=3)
    assert len(results) == 3
    assert results[0].text == seed_retriever.passages[best_dense].text
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_ask_returns_passage_faq_and_declines(seed_retriever: qa.Retriever) -> None:
    a = seed_retriever.ask("Who is leading the coalition of the willing?")
    assert a.answered and a.passage is not None and 0.0 <= a.confidence <= 1.0
    assert "led by Britain and France" in a.passage.text
    assert a.faq is not None and a.faq.answer == "The coalition is led by Britain and France."
    off = seed_retriever.ask("How do I bake sourdough bread?")
    assert not off.answered and off.passage is None and off.faq is None
    assert off.suggestions  # the nearest FAQ questions, for the reader to try


def test_a_question_naming_someone_a_passage_names_is_answered(
    seed_retriever: qa.Retriever,
) -> None:
    # The model's cosine for a bare name is low ("Who is Pal Jonson?" gets
    # 0.09 with the sentence naming him); the passage naming every word of
    # the question answers it, typed in any case.
    for question, where in (
        ("Who is Pal Jonson?", "minister Pal Jonson said"),
        ("who is ruben brekelmans", "minister Ruben Brekelmans said"),
        ("Who is Healey?", "secretary John Healey said"),
    ):
        a = seed_retriever.ask(question)
        assert a.answered and a.passage is not None and where in a.passage.text, question
    # A word the passage lacks still counts: the name alone does not answer.
    for question in ("Where was Pal Jonson born?", "Who is Joe Biden?"):
        assert not seed_retriever.ask(question).answered, question


def test_model_mismatch_raises_qaerror(seed_index: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="built with model 'all-MiniLM-L6-v2'"):
        qa.load(seed_index, embedder=Embedder("some/other-model"))


def test_ask_is_thread_safe(seed_retriever: qa.Retriever) -> None:
    expected = {q: seed_retriever.ask(q) for q in QUESTIONS}
    results: list[tuple[str, qa.Answer]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for q in QUESTIONS * 5:
                results.append((q, seed_retriever.ask(q)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8 * 5 * len(QUESTIONS)
    for q, a in results:
        assert a.passage == expected[q].passage and a.answered == expected[q].answered
