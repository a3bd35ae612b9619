"""``qa eval`` on conversations: every turn asked with the earlier answers as its history.

A conversation file has one ``{"turns": [...]}`` a line, each turn in the
question format of :mod:`qa.evaluate`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.answer import Answer, Retriever
from qa.evaluate import Miss, check_labels, passage_hit, read_lines


@dataclass
class ConversationReport:
    """Figures from one run of :func:`evaluate_conversations`.

    A turn is right when it is answered with a passage that contains one of
    its ``passage_any`` strings; an out-of-scope turn is right when declined.
    Follow-ups (every turn after the first) are also asked alone, for contrast.
    """

    conversations: int = 0
    first_turns: int = 0
    first_right: int = 0
    follow_ups: int = 0
    follow_up_right: int = 0
    follow_up_right_alone: int = 0
    out_of_scope: int = 0
    declined: int = 0
    declined_alone: int = 0
    read_with_context: int = 0
    misses: list[Miss] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    def table(self, max_misses: int = 20) -> str:
        def rate(k: int, n: int) -> str:
            return f"{k / n if n else 0.0:.3f}  ({k}/{n})"

        lines = [
            f"conversations              {self.conversations}",
            f"first turns hit@1          {rate(self.first_right, self.first_turns)}",
            f"follow-ups hit@1           {rate(self.follow_up_right, self.follow_ups)}",
            f"follow-ups hit@1, alone    {rate(self.follow_up_right_alone, self.follow_ups)}",
            f"out of scope declined      {rate(self.declined, self.out_of_scope)}",
            f"out of scope declined, alone {rate(self.declined_alone, self.out_of_scope)}",
            f"follow-ups read with context {self.read_with_context}",
        ]
        if self.misses:
            lines.append("")
            lines.append(f"misses ({len(self.misses)}):")
            for m in self.misses[:max_misses]:
                lines.append(f"  [{m.problem}] {m.question}\n      got: {m.got[:90]}")
        return "\n".join(lines)


def is_conversation_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file's first line is a conversation (``{"turns": [...]}``)."""
    try:
        with Path(path).open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    return isinstance(row, dict) and "turns" in row
    except (OSError, UnicodeDecodeError, ValueError):
        return False  # read_questions says what is wrong with it
    return False


def _conversation(row: Any) -> list[dict[str, Any]]:
    turns = row["turns"]
    if not isinstance(turns, list) or not turns:
        raise ValueError("'turns' must be a non-empty list")
    for turn in turns:
        check_labels(turn, "turn")
    return turns


def read_conversations(path: str | os.PathLike[str]) -> list[list[dict[str, Any]]]:
    """Read a conversation file: one ``{"turns": [question, ...]}`` a line, each
    turn in the question format.

    Raises:
        QAError: The file is missing or a line is not a valid conversation.
    """
    return read_lines(path, "conversation", _conversation)


def evaluate_conversations(
    retriever: Retriever, conversations: list[list[dict[str, Any]]]
) -> ConversationReport:
    """Ask every turn with the earlier turns' answers as its history."""
    report = ConversationReport(conversations=len(conversations))
    for turns in conversations:
        history: list[Answer] = []
        for position, turn in enumerate(turns):
            answer = retriever.ask(turn["question"], history)
            right = _turn_right(answer, turn)
            if not turn["in_scope"]:
                report.out_of_scope += 1
                report.declined += right
                if position:
                    report.declined_alone += _turn_right(retriever.ask(turn["question"]), turn)
                else:
                    report.declined_alone += right
            elif position == 0:
                report.first_turns += 1
                report.first_right += right
            else:
                report.follow_ups += 1
                report.follow_up_right += right
                report.follow_up_right_alone += _turn_right(retriever.ask(turn["question"]), turn)
            if position and answer.read_as != answer.question:
                report.read_with_context += 1
            if not right:
                got = answer.passage.text if answer.passage else "(declined)"
                problem = "answered out of scope" if not turn["in_scope"] else "wrong or declined"
                report.misses.append(Miss(f"{answer.read_as}", problem, got))
            history.append(answer)
    return report


def _turn_right(answer: Any, turn: dict[str, Any]) -> bool:
    if not turn["in_scope"]:
        return not answer.answered
    return bool(
        answer.answered and answer.passage and passage_hit(answer.passage.text, turn["passage_any"])
    )
