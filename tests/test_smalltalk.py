"""Small talk (qa/smalltalk.py): a friendly reply, and never a real question taken for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qa
from qa.answer.smalltalk import SmallTalk, classify
from tests.conftest import ROOT, SHARED_EVAL


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", SmallTalk.GREETING),
        ("Hello there!", SmallTalk.GREETING),
        ("good morning", SmallTalk.GREETING),
        ("thanks!", SmallTalk.THANKS),
        ("Thank you very much.", SmallTalk.THANKS),
        ("ok thanks", SmallTalk.THANKS),
        ("What can you do?", SmallTalk.ABOUT),
        ("who are you?", SmallTalk.ABOUT),
        ("Hi, what can you do?", SmallTalk.ABOUT),
        ("What's your name?", SmallTalk.ABOUT),
        ("bye", SmallTalk.BYE),
    ],
)
def test_small_talk_is_recognised(text: str, kind: SmallTalk) -> None:
    assert classify(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "Who is he?",
        "What did the minister say, thanks?",
        "hi what did the British defence secretary say",
        "Who are you voting for?",
        "What can you do about the war?",
        "thanks to whom was the ceasefire agreed?",
        "",
        "?",
        "Help with logistics",
    ],
)
def test_questions_are_not_small_talk(text: str) -> None:
    assert classify(text) is None


def _turns(path: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        out += row["turns"] if "turns" in row else [row]
    return out


def test_no_real_question_is_small_talk() -> None:
    data = ROOT / "tests" / "data"
    files = [data / "seed_rewordings.jsonl", data / "paraphrases.jsonl"]
    files += [data / "adjacent_unanswerable.jsonl"]
    files += sorted(data.glob("*conversations.jsonl"))
    if SHARED_EVAL.is_dir():
        files += [
            SHARED_EVAL / "article_dev.jsonl",
            SHARED_EVAL / "article_conversations_dev.jsonl",
            SHARED_EVAL / "squad2-dev" / "questions.jsonl",
        ]
    turns = [t for f in files for t in _turns(f)]
    assert len(turns) > 100
    caught = [t for t in turns if classify(str(t["question"])) is not None]
    # No question the articles answer, and no adversarial one, is taken for small talk.
    assert [t for t in caught if t["in_scope"] or t.get("kind") != "off_topic"] == []
    # The off-topic lines it does take are greetings and thanks ("hello",
    # "thanks!"): bare words, which a reply to small talk declines just the same.
    assert all(len(str(t["question"]).split()) == 1 for t in caught)


def test_small_talk_gets_a_friendly_reply(seed_index: Path, embedder: qa.embed.Embedder) -> None:
    retriever = qa.Retriever(seed_index, embedder)
    for text in ("hi", "thanks!", "what can you do?", "who are you?"):
        answer = retriever.ask(text)
        assert answer.kind == "smalltalk"
        assert not answer.answered and answer.passage is None
        assert retriever.titles[0] in answer.reply  # says what it covers
        assert answer.suggestions and answer.suggestions[0] in answer.reply  # with examples
        d = answer.to_dict()
        assert d["kind"] == "smalltalk" and d["reply"] == answer.reply
    assert retriever.ask("thanks!").reply.startswith("You're welcome")
    # In a conversation too, and a follow-up after it is not read with its words.
    first = retriever.ask("Who is Pal Jonson?")
    assert retriever.ask("thanks", [first]).kind == "smalltalk"


def test_small_talk_does_not_break_a_conversation(
    seed_index: Path, embedder: qa.embed.Embedder
) -> None:
    retriever = qa.Retriever(seed_index, embedder)
    first = retriever.ask("What has Ukraine said about a ceasefire?")
    thanks = retriever.ask("thanks!", [first])
    direct = retriever.ask("And Russia?", [first])
    assert direct.read_as != direct.question
    assert retriever.ask("And Russia?", [first, thanks]).to_dict() == direct.to_dict()
    assert retriever.ask("And Russia?", [first, "thanks!"]).to_dict() == direct.to_dict()
