"""The chat without Gradio (qa/app/chat.py): replies, vote context, examples, logins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.app.chat import Chat, parse_auth
from qa.errors import QAError
from qa.feedback import FeedbackLog
from qa.live import LiveIndex
from tests.support.samples import IN_SCOPE, OFF_TOPIC


def test_chat_converse_appends_exchange_and_vote_context(live: LiveIndex, tmp_path: Path) -> None:
    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    history, votes = chat.converse(IN_SCOPE, [], {}, [])[:2]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "options" not in history[1]
    context = votes["1"]
    assert context["question"] == IN_SCOPE and context["answered"] is True
    assert context["passage_id"] == live.get().ask(IN_SCOPE).passage.id  # type: ignore[union-attr]
    assert context["build"] == live.get().folder.name

    history, votes = chat.converse(OFF_TOPIC, history, votes, [])[:2]
    assert len(history) == 4
    options = [o["value"] for o in history[3]["options"]]
    assert options == list(live.get().ask(OFF_TOPIC).suggestions)
    assert votes["3"]["passage_id"] is None and votes["3"]["answered"] is False

    assert chat.converse("   ", history, votes, [])[:2] == (history, votes)


def test_vote_is_logged_with_question_passage_vote_and_time(
    live: LiveIndex, tmp_path: Path
) -> None:
    log = FeedbackLog(tmp_path / "logs" / "votes.jsonl")
    chat = Chat(live, log)
    history, votes = chat.converse(IN_SCOPE, [], {}, [])[:2]
    assert chat.record_vote(votes, 0, False) is None  # the user's own message
    assert chat.record_vote(votes, 1, None) is None  # a withdrawn vote
    vote = chat.record_vote(votes, 1, False)
    assert vote is not None
    rows = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["vote"] == "down" and row["question"] == IN_SCOPE
    assert row["passage_id"] == votes["1"]["passage_id"] and row["time"].endswith("+00:00")


def test_examples_are_the_faq_questions(live: LiveIndex, tmp_path: Path) -> None:
    chat = Chat(live, FeedbackLog(tmp_path / "v.jsonl"))
    assert sorted(chat.examples()) == sorted(f.question for f in live.get().faqs)


def test_auth_is_user_colon_password() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss")
    for bad in ("ann", "ann:", ":pass"):
        with pytest.raises(QAError, match="user:password"):
            parse_auth(bad)


def test_converse_reads_a_follow_up_with_the_conversation(live: LiveIndex, tmp_path: Path) -> None:

    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    first = "What has Ukraine said about a ceasefire?"
    history, votes, turns = chat.converse(first, [], {}, [])
    assert turns == [first]
    history, votes, turns = chat.converse("And Russia?", history, votes, turns)
    assert turns[-1].startswith("And Russia? (with: ")
    assert "Read as: " in history[-1]["content"] and "qa-read-as" in history[-1]["content"]
    # An off-topic follow-up is declined, and shows no "Read as".
    history, votes, turns = chat.converse("How do I bake sourdough bread?", history, votes, turns)
    assert "qa-declined" in history[-1]["content"] and "Read as" not in history[-1]["content"]
    # Small talk gets a friendly reply with example questions to click.
    history, votes, turns = chat.converse("thanks!", history, votes, turns)
    assert "welcome" in history[-1]["content"]
    assert history[-1]["options"]
    # A new conversation ([] turns) reads the same follow-up alone.
    fresh, _, fresh_turns = chat.converse("And Russia?", [], {}, [])
    assert fresh_turns == ["And Russia?"] and "Read as" not in fresh[-1]["content"]


def test_a_store_that_cannot_be_reached_gets_a_plain_reply_until_it_is_back(
    live: LiveIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.app.chat import UNREACHABLE
    from qa.errors import StoreUnavailableError

    chat = Chat(live, FeedbackLog(tmp_path / "feedback.jsonl"))
    store = live.get().store
    real = store.dense_top

    def gone(*args: object, **kwargs: object) -> object:
        # What the Qdrant store raises when its server stops answering.
        raise StoreUnavailableError("cannot reach the Qdrant server at http://127.0.0.1:1")

    monkeypatch.setattr(store, "dense_top", gone)
    history, votes = chat.converse(IN_SCOPE, [], {}, [])[:2]
    assert "reached right now" in history[-1]["content"]
    assert UNREACHABLE in live.status() and not votes
    monkeypatch.setattr(store, "dense_top", real)
    history, votes = chat.converse(IN_SCOPE, history, votes, [])[:2]
    assert "qa-passage" in history[-1]["content"] and UNREACHABLE not in live.status()
