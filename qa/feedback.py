"""Thumbs up/down from the chat: appended to a JSONL log, summarised by ``qa feedback``.

One vote a line::

    {"time": "2026-11-24T15:53:02+00:00", "vote": "down", "question": "Who pays?",
     "passage_id": 4, "answered": true, "confidence": 0.41, "doc": "...", "heading": "...",
     "build": "build-20261124T101500-1234"}

``passage_id`` is a row of that build's ``passages.jsonl`` (None when the bot
declined), so ``build`` is recorded with it; ``doc`` and ``heading`` keep the
log readable after the index has been rebuilt.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import QAError

DEFAULT_LOG = "feedback.jsonl"
VOTES = ("up", "down")


@dataclass(frozen=True)
class Vote:
    """One thumbs up or down on one answer."""

    vote: str  # "up" or "down"
    question: str
    passage_id: int | None
    answered: bool
    confidence: float
    doc: str = ""
    heading: str = ""
    build: str = ""
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        if self.vote not in VOTES:
            raise QAError(f"a vote is 'up' or 'down', not {self.vote!r}")


class FeedbackLog:
    """An append-only JSONL file of votes, safe to write from many threads.

    Args:
        path: The log file; its folder is created on the first vote.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_LOG) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, vote: Vote) -> None:
        """Write one vote as one line.

        Raises:
            QAError: The log cannot be written.
        """
        line = json.dumps(asdict(vote), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            raise QAError(
                f"cannot write the feedback log {self.path} ({exc.strerror}); "
                "pass --feedback a writable file"
            ) from None

    def read(self) -> tuple[list[Vote], int]:
        """Every readable vote, and how many lines could not be read.

        Raises:
            QAError: There is no log at ``path``.
        """
        try:
            lines = self.path.read_text("utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            raise QAError(
                f"no feedback log at {self.path}; the chat writes one when someone votes on an "
                "answer (see `qa serve --feedback`), or pass --log the file it wrote"
            ) from None
        except OSError as exc:
            raise QAError(f"cannot read the feedback log {self.path} ({exc.strerror})") from None
        votes: list[Vote] = []
        bad = 0
        for line in lines:
            if not line.strip():
                continue
            try:
                votes.append(_vote_from(json.loads(line)))
            except (ValueError, TypeError, KeyError, QAError):
                bad += 1
        return votes, bad


def _vote_from(row: Any) -> Vote:
    if not isinstance(row, dict):
        raise TypeError("not an object")
    passage_id = row.get("passage_id")
    return Vote(
        vote=str(row["vote"]),
        question=str(row["question"]),
        passage_id=None if passage_id is None else int(passage_id),
        answered=bool(row.get("answered", passage_id is not None)),
        confidence=float(row.get("confidence", 0.0)),
        doc=str(row.get("doc", "")),
        heading=str(row.get("heading", "")),
        build=str(row.get("build", "")),
        time=str(row.get("time", "")),
    )


@dataclass
class QuestionVotes:
    """The votes on one question (questions are grouped ignoring case and spacing)."""

    question: str
    up: int = 0
    down: int = 0
    shown: str = ""  # what the bot last answered it with: "doc · heading" or "declined"
    last: str = ""  # time of the latest vote


@dataclass
class Summary:
    """What ``qa feedback`` prints."""

    up: int
    down: int
    unreadable: int
    questions: list[QuestionVotes]  # most down-votes first

    def table(self, top: int = 20) -> str:
        """A short report: totals, then the questions voted down most."""
        total = self.up + self.down
        lines = [f"{total} votes: {self.up} up, {self.down} down"]
        if self.unreadable:
            lines[0] += f" ({self.unreadable} unreadable lines skipped)"
        wrong = [q for q in self.questions if q.down]
        if not wrong:
            lines.append("No answer has been voted down.")
            return "\n".join(lines)
        lines.append("")
        lines.append("Voted down (most first):")
        lines.append(f"{'down':>4} {'up':>3}  question  ->  what it showed")
        for q in wrong[:top]:
            lines.append(f"{q.down:>4} {q.up:>3}  {q.question}  ->  {q.shown}")
        if len(wrong) > top:
            lines.append(f"... and {len(wrong) - top} more (--top {len(wrong)} shows all)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "up": self.up,
            "down": self.down,
            "unreadable": self.unreadable,
            "questions": [asdict(q) for q in self.questions],
        }


def summarize(votes: Iterable[Vote], unreadable: int = 0) -> Summary:
    """Tally votes per question, the most down-voted (then least up-voted) first."""
    by_question: dict[str, QuestionVotes] = {}
    up = down = 0
    for v in votes:
        key = " ".join(v.question.casefold().split())
        q = by_question.setdefault(key, QuestionVotes(v.question))
        if v.vote == "up":
            q.up += 1
            up += 1
        else:
            q.down += 1
            down += 1
        if v.time >= q.last:
            q.last = v.time
            where = f"{v.doc} · {v.heading}" if v.heading else v.doc
            q.shown = where if v.answered else "declined"
    ranked = sorted(by_question.values(), key=lambda q: (-q.down, q.up, q.question))
    return Summary(up, down, unreadable, ranked)
