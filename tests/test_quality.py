"""Answer-quality floors on both dev sets, just under today's measured figures.

docs/retrieval.md has the figures; a change that lowers them fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.embed import Embedder
from qa.evaluate import evaluate, read_questions

from .conftest import SHARED_EVAL

pytestmark = pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="shared eval data not present")

# Measured with `qa eval` on 2026-11-24 (docs/retrieval.md): SQuAD hit@1
# 0.859, hit@5 0.970, answered 0.998.  The seed hit@1 target is 19/20;
# today's 18/20 is the floor until it is met.
FLOORS = {
    "seed_hit_at_1": 18 / 20,
    "seed_adjacent_declined": 2,
    "squad_hit_at_1": 0.855,
    "squad_hit_at_5": 0.965,
    "squad_answered": 0.995,
    "squad_auroc": 0.70,  # the target; 0.750 measured (0.611 before)
    "squad_right_with_high": 0.17,  # 0.187 measured; the target of 0.30 is not met
}


def test_seed_dev_set(seed_retriever: qa.Retriever) -> None:
    report = evaluate(seed_retriever, read_questions(SHARED_EVAL / "article_dev.jsonl"))
    assert report.in_scope == 20
    assert report.hit_at_1 >= FLOORS["seed_hit_at_1"]
    assert report.hit_at_5 == 1.0
    assert report.faq_accuracy == 1.0
    assert report.answered_in_scope == 1.0
    assert report.declined["off_topic"] == 1.0


def test_questions_about_absent_names_are_declined(seed_retriever: qa.Retriever) -> None:
    """Questions on the article's topic whose key terms it never mentions."""
    adjacent = [
        "What did the Italian defence minister say?",
        "How many troops will Germany send?",
        "What did Japan's prime minister say?",
        "Which Canadian officials attended?",
    ]
    declined = sum(not seed_retriever.ask(q).answered for q in adjacent)
    assert declined >= FLOORS["seed_adjacent_declined"]


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 6,078 questions; a busy shared machine is slow
def test_squad_dev_set(tmp_path: Path, embedder: Embedder) -> None:
    squad = SHARED_EVAL / "squad2-dev"
    qa.build(squad / "corpus", tmp_path / "index", embedder=embedder)
    retriever = qa.load(tmp_path / "index", embedder=embedder)
    # All 6,078 questions: the answerable ones and the adversarial unanswerable ones,
    # which the confidence must see too (docs/retrieval.md, "Confidence on the real mix").
    report = evaluate(retriever, read_questions(squad / "questions.jsonl"))
    assert report.questions == 6078
    assert report.hit_at_1 >= FLOORS["squad_hit_at_1"]
    assert report.hit_at_5 >= FLOORS["squad_hit_at_5"]
    assert report.answered_in_scope >= FLOORS["squad_answered"]
    # Confidence means something, over every question: in every decile, the share
    # of right answers within 0.1 of it.
    assert len(report.reliability) == 10
    for b in report.reliability:
        assert abs(b["hit_rate"] - b["confidence"]) <= 0.1, b
    # It separates right answers from unanswerable questions, and a "High" is right.
    assert report.auroc is not None and report.auroc >= FLOORS["squad_auroc"]
    assert report.high_precision is not None and report.high_precision >= 0.70
    # The target is 0.30; the floor is what the answer-level checks reach.
    assert report.high_right >= FLOORS["squad_right_with_high"]
