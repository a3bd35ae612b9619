"""Confidence that is honest about questions the articles do not answer.

Targets of docs/retrieval.md ("Confidence"): no out-of-scope question is
answered with high confidence, off-topic questions are declined, in-scope
ones answered.  The SQuAD 2.0 figures (answerable and adversarial
unanswerable questions together) are in tests/test_quality.py.
The adjacent set (``tests/data/adjacent_unanswerable.jsonl``) is on the
seed's subject but not answered by it; nothing is fitted on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.evaluate import evaluate, read_questions
from qa.rank.scoring import HIGH_CONFIDENCE

from .conftest import SHARED_EVAL

DATA = Path(__file__).parent / "data"
SEED_SETS = [SHARED_EVAL / "article_dev.jsonl", DATA / "seed_rewordings.jsonl"]


@pytest.mark.parametrize("path", SEED_SETS, ids=lambda p: p.name)
def test_seed_sets_never_sure_of_an_unanswered_question(
    seed_retriever: qa.Retriever, path: Path
) -> None:
    if not path.is_file():
        pytest.skip("shared eval data not present")
    report = evaluate(seed_retriever, read_questions(path))
    assert report.high_out_of_scope == 0
    assert report.declined["off_topic"] == 1.0
    assert report.answered_in_scope >= 0.95
    # Every answer shown as high confidence is right.
    assert report.high_precision in (None, 1.0)


def test_rewordings_decline_questions_on_the_subject_it_does_not_answer(
    seed_retriever: qa.Retriever,
) -> None:
    report = evaluate(seed_retriever, read_questions(DATA / "seed_rewordings.jsonl"))
    # 3 of 6 before the answer-type check; the target of 5 is not met (docs/retrieval.md).
    assert report.declined["adjacent_unanswerable"] >= 4 / 6


def test_adjacent_questions_are_never_answered_with_high_confidence(
    seed_retriever: qa.Retriever,
) -> None:
    questions = read_questions(DATA / "adjacent_unanswerable.jsonl")
    assert len(questions) >= 10
    for q in questions:
        answer = seed_retriever.ask(q["question"])
        assert not answer.answered or answer.confidence < HIGH_CONFIDENCE, q["question"]


def test_the_answer_says_what_the_articles_never_mention(seed_retriever: qa.Retriever) -> None:
    answer = seed_retriever.ask("How many troops will Germany send?")
    assert answer.missing == ("Germany",)
    assert answer.to_dict()["missing_note"] == "The articles don't mention Germany."
    declined = seed_retriever.ask("What did Japan's prime minister say?")
    assert not declined.answered and declined.missing == ("Japan",)
    named = seed_retriever.ask("What did the Swedish defence minister say?")
    assert named.answered and named.missing == ()
