"""Typed candidates and the fitted models that read them by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qa
from qa.errors import QAError
from qa.rank import Candidate, Scorer, answer_signals, as_row, gather, question_words
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
    ranking = gather(store, scorer, qvec, question_words(question))
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
