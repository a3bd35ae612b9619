"""Follow-up questions read with their conversation (qa/followup.py), on the real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa
from qa.answer.followup import Context, FollowupModel, context_words, previous_text, read_as
from qa.evaluate_conversations import evaluate_conversations, read_conversations
from qa.rank import question_words
from qa.store.base import Field
from tests.conftest import ROOT, SHARED_EVAL

DATA = ROOT / "tests" / "data"
DEV_CONVERSATIONS = SHARED_EVAL / "article_conversations_dev.jsonl"
SQUAD_CORPUS = SHARED_EVAL / "squad2-dev" / "corpus"
SQUAD_ARTICLES = ("Normans.txt", "Warsaw.txt", "Steam_engine.txt")
FIRST = "What has Ukraine said about a ceasefire?"


@pytest.fixture(scope="module")
def retriever(seed_index: Path, embedder: qa.embed.Embedder) -> qa.Retriever:
    return qa.Retriever(seed_index, embedder)


def test_no_history_is_asking_alone(retriever: qa.Retriever) -> None:
    for q in ("And Russia?", FIRST, "What is the capital of Australia?"):
        alone = retriever.ask(q)
        assert retriever.ask(q, ()) == alone
        assert retriever.ask(q, []).to_dict() == alone.to_dict()
        assert alone.read_as == alone.question
        assert alone.to_dict()["read_as"] == alone.question
        assert alone.to_dict()["kind"] == "answer"


def test_follow_up_borrows_the_previous_turns_words(retriever: qa.Retriever) -> None:
    first = retriever.ask(FIRST)
    follow = retriever.ask("And Russia?", [first])
    assert follow.answered and follow.passage is not None
    assert "Russia has said it needs answers" in follow.passage.text
    assert follow.read_as.startswith("And Russia? (with: ") and "ceasefire" in follow.read_as
    assert follow.to_dict()["read_as"] == follow.read_as


def test_a_string_turn_is_read_as_written(retriever: qa.Retriever) -> None:
    first = retriever.ask(FIRST)  # a first turn is read as asked
    as_answer = retriever.ask("And Russia?", [first])
    as_string = retriever.ask("And Russia?", [FIRST])
    assert as_answer.to_dict() == as_string.to_dict()
    # Only the latest turn is read: older ones reach a follow-up through its read_as.
    assert retriever.ask("And Russia?", ["Who is Pal Jonson?", FIRST]).to_dict() == (
        as_string.to_dict()
    )


@pytest.mark.parametrize(
    ("before", "question"),
    [
        ("Who is Ruben Brekelmans?", "What is the capital of Australia?"),
        ("What did the British defence secretary say?", "How do I bake sourdough bread?"),
        ("Who is Ruben Brekelmans?", "And the German one?"),  # no German minister in the article
        ("What did the Swedish defence minister say?", "And the Italian one?"),
    ],
)
def test_context_never_makes_an_answer_out_of_nothing(
    retriever: qa.Retriever, before: str, question: str
) -> None:
    first = retriever.ask(before)
    assert first.answered
    follow = retriever.ask(question, [first])
    assert not follow.answered
    assert follow.suggestions


def test_a_new_topic_is_answered_as_if_asked_alone(retriever: qa.Retriever) -> None:
    first = retriever.ask("What did the British defence secretary say?")
    for q in ("Who is Ruben Brekelmans?", "Where did the defence ministers meet?"):
        alone, within = retriever.ask(q), retriever.ask(q, [first])
        assert within.answered and alone.passage is not None and within.passage is not None
        assert within.passage.id == alone.passage.id


@pytest.mark.parametrize(
    "history",
    [[""], ["   "], [None], [42], ["?!"], [object()], ["x" * 5000]],
)
def test_odd_history_never_crashes(retriever: qa.Retriever, history: list[object]) -> None:
    answer = retriever.ask("And Russia?", history)  # type: ignore[arg-type]
    answer.to_dict()
    assert answer.question == "And Russia?"


def test_context_words_are_rare_known_and_new(retriever: qa.Retriever) -> None:
    model = FollowupModel.default()
    vocabulary = retriever.store.vocabulary(Field.PASSAGE)
    own = question_words("And Russia?")
    borrowed = context_words(
        "What has Ukraine said about a zyxwv ceasefire?", own, model, vocabulary
    )
    infos = [info for _, info in borrowed.words]
    assert infos == sorted(infos, reverse=True)  # rarest first
    assert all(info >= model.min_info for info in infos)
    assert all(term in vocabulary for term, _ in borrowed.words)  # "zyxwv" is unknown
    assert "zyxwv" not in borrowed.surface
    assert "Ukraine" in borrowed.surface  # as the turn wrote it
    # A word the question already has is not borrowed again.
    again = context_words("Has Russia said anything?", own, model, vocabulary)
    assert "Russia" not in again.surface
    assert read_as("And Russia?", Context([], ())) == "And Russia?"
    assert previous_text([]) == ""


def test_dev_conversations_meet_their_target(retriever: qa.Retriever) -> None:
    if not DEV_CONVERSATIONS.is_file():
        pytest.skip("shared eval data not present")
    report = evaluate_conversations(retriever, read_conversations(DEV_CONVERSATIONS))
    assert report.follow_ups == 7
    assert report.follow_up_right >= 6  # the target
    assert report.out_of_scope == 1 and report.declined == 1


def test_own_seed_conversations_gain_over_asking_alone(retriever: qa.Retriever) -> None:
    report = evaluate_conversations(
        retriever, read_conversations(DATA / "seed_conversations.jsonl")
    )
    assert report.first_right == report.first_turns
    assert report.follow_up_right > report.follow_up_right_alone
    assert report.declined == report.out_of_scope  # every off-topic follow-up declined


@pytest.mark.slow
def test_own_squad_conversations_gain_over_asking_alone(
    tmp_path: Path, embedder: qa.embed.Embedder
) -> None:
    if not SQUAD_CORPUS.is_dir():
        pytest.skip("shared eval data not present")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SQUAD_ARTICLES:
        shutil.copy(SQUAD_CORPUS / name, corpus / name)
    qa.build(corpus, tmp_path / "index", embedder=embedder)
    report = evaluate_conversations(
        qa.Retriever(tmp_path / "index", embedder),
        read_conversations(DATA / "squad_conversations.jsonl"),
    )
    assert report.follow_up_right >= report.follow_up_right_alone + 2


@pytest.mark.parametrize(
    "line",
    ['{"turns": []}', '{"turns": [{"question": 1, "in_scope": true}]}', '{"turns": "x"}', "{"],
)
def test_a_bad_conversation_line_is_a_one_line_error(tmp_path: Path, line: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(line + "\n", "utf-8")
    with pytest.raises(qa.QAError, match=r"c\.jsonl:1: bad conversation line"):
        read_conversations(path)
