"""Typed candidates and the fitted models that read them by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qa
from qa.errors import QAError
from qa.rank import Candidate, Scorer, answer_signals, as_row, question_words
from qa.rank.scoring import PARAMS_FILE


def test_the_shipped_models_read_only_signals_the_code_computes() -> None:
    params = json.loads(PARAMS_FILE.read_text("utf-8"))
    Scorer(params)  # checks every feature name
    params["rank"]["features"][0] = "dense_typo"
    with pytest.raises(QAError, match="dense_typo.*refit"):
        Scorer(params)


def test_candidates_are_typed_sorted_and_carry_their_gaps(seed_retriever: qa.Retriever) -> None:
    store, scorer = seed_retriever.store, seed_retriever.scorer
    question = "Who leads the coalition of the willing?"
    qvec = seed_retriever.embedder.encode([question])[0]
    ranking = seed_retriever.ranker.gather(qvec, question_words(question))
    assert all(isinstance(c, Candidate) for c in ranking.candidates)
    # Slotted: a misspelt signal cannot be set by accident.
    with pytest.raises(AttributeError):
        ranking.top.dense_typo = 0.0  # type: ignore[attr-defined]
    scores = [c.score for c in ranking.candidates]
    assert scores == sorted(scores, reverse=True)
    # The score is the fitted ranker over the candidate's own signals.
    for c in ranking.candidates:
        assert c.score == pytest.approx(scorer.rank.value(as_row(c)))
    top_dense = max(c.dense for c in ranking.candidates)
    assert max(c.dense_gap for c in ranking.candidates) == 0.0
    assert all(c.dense_gap == pytest.approx(c.dense - top_dense) for c in ranking.candidates)
    # Dense candidates alone would be 20 passages; the seed has fewer, so all are here.
    assert len({c.id for c in ranking.candidates}) == len(ranking) == len(store.passages)
    signals = answer_signals(ranking)
    assert signals.score == ranking.top.score and 0 < ranking.runner_up <= len(ranking)
    assert np.isfinite(list(as_row(signals).values())).all()


def test_a_question_with_no_known_word_still_ranks_by_meaning(
    seed_retriever: qa.Retriever,
) -> None:
    ranking = seed_retriever.rank("zzyzx qwertyuiop")
    assert ranking.candidates and all(c.bm25_rel == 0.0 for c in ranking.candidates)
    assert ranking.top.coverage == 0.0


def test_word_match_weighs_the_words_each_passage_shares() -> None:
    from qa.rank.gather import add_match

    # Three content words, the rarest first; the corpus lacks "zanzibar".
    words = [("zanzibar", 6.0), ("healey", 3.0), ("said", 1.0)]
    vocab = frozenset({"healey", "said"})
    rows = [
        {"bm25_rel": 1.0, "bm25_sentence_rel": 0.5, "dense": 0.2, "dense_sentence": 0.3},
        {"bm25_rel": 0.4, "bm25_sentence_rel": 1.0, "dense": 0.6, "dense_sentence": 0.5},
    ]
    for row, plain in zip(rows, (0.25, 0.7), strict=True):
        row["dense_plain"] = plain
    found = np.array([[False, True], [True, True]])  # columns: healey, said
    add_match(rows, words, vocab, found)
    assert rows[0]["match"] == pytest.approx(1 / 10)
    assert rows[1]["match"] == pytest.approx(4 / 10)
    # The question-level share: one minus the best passage's match.
    assert rows[0]["unmatched"] == rows[1]["unmatched"] == pytest.approx(0.6)
    assert rows[0]["bm25_match"] == pytest.approx(0.1)
    assert rows[1]["bm25_sentence_match"] == pytest.approx(0.4)
    assert rows[1]["dense_unmatched"] == pytest.approx(0.36)
    assert rows[0]["dense_sentence_unmatched"] == pytest.approx(0.18)
    assert rows[1]["dense_plain_unmatched"] == pytest.approx(0.42)


def test_a_question_with_no_known_word_is_wholly_unmatched() -> None:
    from qa.rank.gather import add_match

    rows = [
        {
            "bm25_rel": 0.0,
            "bm25_sentence_rel": 0.0,
            "dense": 0.5,
            "dense_sentence": 0.4,
            "dense_plain": 0.45,
        }
    ]
    add_match(rows, [("zanzibar", 6.0)], frozenset(), np.zeros((1, 0), dtype=bool))
    assert rows[0]["match"] == 0.0
    assert rows[0]["unmatched"] == 1.0
    assert rows[0]["dense_unmatched"] == pytest.approx(0.5)
