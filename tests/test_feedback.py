"""The chat's feedback (qa/feedback.py): the votes log, its summary, `qa feedback`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from qa.cli import main as qa_main
from qa.errors import QAError
from qa.feedback import FeedbackLog, Vote, summarize


def test_feedback_log_survives_concurrent_writers(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")

    def write(n: int) -> None:
        for i in range(50):
            log.append(
                Vote("up" if i % 2 else "down", f"question {n}-{i} " + "x" * 500, i, True, 0.9)
            )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    votes, bad = log.read()
    assert len(votes) == 400 and bad == 0


def test_summary_lists_the_questions_voted_down_most(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")
    log.append(Vote("down", "Who pays?", None, False, 0.1, time="2026-01-01T00:00:01+00:00"))
    log.append(Vote("down", "who  PAYS?", None, False, 0.1, time="2026-01-01T00:00:02+00:00"))
    log.append(Vote("up", "Who leads?", 3, True, 0.9, "Doc", "Intro"))
    log.append(Vote("down", "Who leads?", 3, True, 0.9, "Doc", "Intro"))
    with open(log.path, "a") as f:
        f.write("not json\n[1]\n{}\n")
    votes, bad = log.read()
    summary = summarize(votes, bad)
    assert (summary.up, summary.down, summary.unreadable) == (1, 3, 3)
    first, second = summary.questions
    assert (first.question, first.down, first.up, first.shown) == ("Who pays?", 2, 0, "declined")
    assert (second.down, second.up, second.shown) == (1, 1, "Doc · Intro")
    table = summary.table()
    assert table.splitlines()[0] == "4 votes: 1 up, 3 down (3 unreadable lines skipped)"
    assert table.index("Who pays?") < table.index("Who leads?")


def test_a_vote_is_up_or_down() -> None:
    with pytest.raises(QAError, match="'up' or 'down'"):
        Vote("maybe", "q", None, False, 0.0)


def test_qa_feedback_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "votes.jsonl"
    assert qa_main(["feedback", "--log", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: no feedback log at") and err.count("\n") == 1

    FeedbackLog(path).append(Vote("down", "Who pays?", None, False, 0.1))
    assert qa_main(["feedback", "--log", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 votes: 0 up, 1 down" in out and "Who pays?  ->  declined" in out
    assert qa_main(["feedback", "--log", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["down"] == 1 and data["questions"][0]["question"] == "Who pays?"
