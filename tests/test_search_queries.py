"""Floors on questions typed as into a search box, without the paragraph's words.

``tests/data/seed_search_queries.jsonl``: 19 in-scope queries about the seed
article ("netherlands position on the mission", "which Scandinavian country
might take part"), 6 on its topic that it does not answer and 6 off-topic.
``tests/data/seed_search_conversations.jsonl``: 9 short conversations in the
same style, with follow-ups ("who's leading it"), one of them off-topic.
Nothing is fitted on either.  Floors are today's measured figures.
"""

from __future__ import annotations

from pathlib import Path

import qa
from qa.evaluate import evaluate, read_questions
from qa.evaluate_conversations import evaluate_conversations, read_conversations

DATA = Path(__file__).parent / "data"


def test_search_box_queries(seed_retriever: qa.Retriever) -> None:
    report = evaluate(seed_retriever, read_questions(DATA / "seed_search_queries.jsonl"))
    assert report.in_scope == 19
    assert report.hit_at_1 >= 15 / 19
    assert report.hit_at_5 >= 18 / 19
    assert report.declined["off_topic"] == 1.0
    assert report.declined["adjacent_unanswerable"] >= 2 / 6
    assert report.high_out_of_scope == 0  # honesty: nothing unanswerable shown "High"


def test_search_box_conversations(seed_retriever: qa.Retriever) -> None:
    conversations = read_conversations(DATA / "seed_search_conversations.jsonl")
    report = evaluate_conversations(seed_retriever, conversations)
    assert report.follow_ups == 8
    assert report.first_right >= 8
    assert report.follow_up_right >= 5
    assert report.follow_up_right > report.follow_up_right_alone
    assert report.declined == report.out_of_scope == 1
