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
    cols = {
        "bm25_rel": np.array([1.0, 0.4]),
        "bm25_sentence_rel": np.array([0.5, 1.0]),
        "dense": np.array([0.2, 0.6]),
        "dense_sentence": np.array([0.3, 0.5]),
        "dense_plain": np.array([0.25, 0.7]),
    }
    found = np.array([[False, True], [True, True]])  # columns: healey, said
    add_match(cols, words, vocab, found)
    assert cols["match"][0] == pytest.approx(1 / 10)
    assert cols["match"][1] == pytest.approx(4 / 10)
    # The question-level share: one minus the best passage's match.
    assert cols["unmatched"][0] == cols["unmatched"][1] == pytest.approx(0.6)
    assert cols["bm25_match"][0] == pytest.approx(0.1)
    assert cols["bm25_sentence_match"][1] == pytest.approx(0.4)
    assert cols["dense_unmatched"][1] == pytest.approx(0.36)
    assert cols["dense_sentence_unmatched"][0] == pytest.approx(0.18)
    assert cols["dense_plain_unmatched"][1] == pytest.approx(0.42)


def test_a_question_with_no_known_word_is_wholly_unmatched() -> None:
    from qa.rank.gather import add_match

    cols = {
        "bm25_rel": np.array([0.0]),
        "bm25_sentence_rel": np.array([0.0]),
        "dense": np.array([0.5]),
        "dense_sentence": np.array([0.4]),
        "dense_plain": np.array([0.45]),
    }
    add_match(cols, [("zanzibar", 6.0)], frozenset(), np.zeros((1, 0), dtype=bool))
    assert cols["match"][0] == 0.0
    assert cols["unmatched"][0] == 1.0
    assert cols["dense_unmatched"][0] == pytest.approx(0.5)
