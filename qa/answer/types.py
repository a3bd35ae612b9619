"""What a question gets back: :class:`Answer`, with its :class:`Passage` and :class:`FAQ`.

These dataclasses are the one declaration of an answer's shape.  Each
field that the JSON API shows carries its description in its metadata,
and the class's ``JSON`` lists those fields in the order they are sent.
``Answer.to_dict``, the API's response model (:mod:`qa.app.api`), and so
``/openapi.json``, and the field table in docs/app.md
(:func:`field_table`) are all derived from them.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from qa.rank.answerable import missing_note

# Scores and confidences are sent with four decimals.
DECIMALS = 4


def _doc(description: str, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that the JSON shows, with its description."""
    return field(default=default, metadata={"doc": description})


@dataclass(frozen=True)
class Passage:
    """A paragraph of the corpus, verbatim, and how well it matches."""

    JSON: ClassVar[tuple[str, ...]] = ("text", "doc", "heading", "score", "sentence")

    text: str = _doc("The paragraph, word for word.")
    heading: str = _doc("The heading it sits under ('' for none).")
    doc: str = _doc("The title of its document.")
    score: float = _doc("The ranker's fused score (not a probability).")
    id: int = -1  # its row in the index
    path: str = ""  # its file in the corpus
    sentence: str = _doc("The sentence that best answers the question.", "")


@dataclass(frozen=True)
class FAQ:
    """An FAQ pair of the corpus and how well it matches."""

    JSON: ClassVar[tuple[str, ...]] = ("question", "answer", "score")

    question: str = _doc("The pair's question, as the corpus writes it.")
    answer: str = _doc("The pair's answer, as the corpus writes it.")
    score: float = _doc("The probability that this pair answers the question.")
    doc: str = ""  # the title of its document


@dataclass(frozen=True)
class Answer:
    """The reply to one question.

    ``answered`` is False when nothing in the corpus matches well enough;
    then ``passage`` is None and ``suggestions`` holds the nearest topics.
    ``read_as`` is the text that was searched: the question, with the words
    borrowed from the conversation in brackets when it was read as a
    follow-up.  ``kind`` is ``"answer"`` for a question (answered or
    declined), ``"faq"`` when only the FAQ pair answers it (its score is the
    confidence; the passage beside it is the one its answer points to), and
    ``"smalltalk"`` for a greeting, thanks or "what can you do?"; then
    ``reply`` holds the bot's reply and ``suggestions`` example questions.
    """

    JSON: ClassVar[tuple[str, ...]] = (
        "answered",
        "confidence",
        "passage",
        "faq",
        "suggestions",
        "note",
        "read_as",
        "kind",
        "reply",
        "missing",
        "missing_note",
    )

    question: str  # as cleaned and cut
    answered: bool = _doc("Whether a passage or an FAQ pair answers the question.")
    passage: Passage | None = _doc("The passage that answers it (null when declined).")
    faq: FAQ | None = _doc("The FAQ pair that answers it, if one does.")
    confidence: float = _doc(
        "The probability that the passage is the right one; the FAQ pair's score "
        "when only the pair answers."
    )
    suggestions: tuple[str, ...] = _doc(
        "Questions the articles do answer (when declined, or for small talk).", ()
    )
    note: str = _doc("A note on how the question was read, e.g. that it was cut.", "")
    # The best passages, best first (shown as "Sources").
    sources: tuple[Passage, ...] = ()
    missing: tuple[str, ...] = _doc(
        "Names and figures of the question that no passage writes, as the question spells them.",
        (),
    )
    read_as: str = _doc(
        "The text searched: the question, plus the words borrowed from the conversation.", ""
    )
    kind: str = _doc(
        '"answer"; "faq" when only the FAQ pair answers (the passages alone would decline), '
        'its score the confidence; or "smalltalk" for greetings and thanks.',
        "answer",
    )
    reply: str = _doc("The bot's reply to small talk ('' otherwise).", "")

    def __post_init__(self) -> None:
        if not self.read_as:
            object.__setattr__(self, "read_as", self.question)

    @property
    def missing_note(self) -> str:
        """The missing names and figures as one line ("The articles don't mention Germany.")."""
        return missing_note(self.missing)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the ``/ask`` and ``/api/ask`` replies."""
        return _to_json(self)


# One turn of a conversation, as ``Retriever.ask``'s ``history`` takes it:
# the Answer it got (its ``read_as`` carries context over several
# follow-ups), or its question as a string (read as written; the page and
# the JSON API send each earlier reply's ``read_as``).
Turn = Answer | str


def _to_json(value: Any) -> Any:
    if isinstance(value, Answer | Passage | FAQ):
        return {name: _to_json(getattr(value, name)) for name in type(value).JSON}
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Shown:
    """One field of the JSON: its name, its type, and what it means.

    ``type`` is the field's annotation (``float``, ``Passage | None``, ...);
    ``nested`` the fields of a nested object.
    """

    name: str
    type: Any
    description: str
    nested: tuple[Shown, ...] = ()


def shown_fields(cls: type) -> tuple[Shown, ...]:
    """The JSON fields of ``cls`` (:class:`Answer`, :class:`Passage`, :class:`FAQ`), in order."""
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for name in cls.JSON:  # type: ignore[attr-defined]
        if name in by_name:
            kind, description = hints[name], by_name[name].metadata["doc"]
        else:  # a property derived from the fields
            prop = getattr(cls, name)
            kind = typing.get_type_hints(prop.fget)["return"]
            description = (prop.__doc__ or "").strip()
        inner = [a for a in typing.get_args(kind) if a in (Passage, FAQ)]
        nested = shown_fields(inner[0]) if inner else ()
        out.append(Shown(name, kind, description, nested))
    return tuple(out)


def _type_name(kind: Any) -> str:
    args = typing.get_args(kind)
    if kind is float:
        return "number"
    if kind is bool:
        return "boolean"
    if kind is str:
        return "string"
    if typing.get_origin(kind) is tuple:
        return f"list of {_type_name(args[0])}s"
    if type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    return "object"


def _rows(fields: tuple[Shown, ...], prefix: str = "") -> Iterator[str]:
    for f in fields:
        description = f.description.replace("|", "\\|")
        yield f"| `{prefix}{f.name}` | {_type_name(f.type)} | {description} |"
        yield from _rows(f.nested, f"{prefix}{f.name}.")


def field_table() -> str:
    """The Markdown table of the reply's fields, as docs/app.md shows it."""
    lines = ["| Field | Type | Meaning |", "| --- | --- | --- |", *_rows(shown_fields(Answer))]
    return "\n".join(lines) + "\n"
