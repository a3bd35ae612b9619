"""Follow-up questions without an LLM: reading a question with its conversation.

"And Russia?" or "What country is he from?" only make sense with the turn
before.  The question is read two ways, each with the product's own ranker:

* **alone**, exactly as a first question is;
* **with context**: the question's own vector, and its content words plus
  the rare content words of the previous turn's reading (historical query
  expansion).  Its coverage signals stay the question's own, so the
  decline model still sees a word the corpus lacks ("And the German one?").

A question none of whose own content words occurs in the articles is never
answered with borrowed words.

A fitted logistic model (``select`` in ``qa/answer/followup.json``, fit by
``python -m qa.fit.followups`` on synthetic follow-ups built from SQuAD)
picks the reading that is more likely to find the right passage, from
signals of both rankings and of the question's wording.  The chosen
reading is then answered or declined by the usual models
(:func:`qa.answer.policy.decide`), so context never turns a question the
corpus does not cover into an answer.

The context reuses the question's one encoding: a follow-up costs one
more keyword query and candidate gather, not another pass of the model.
A history turn (:data:`qa.answer.types.Turn`) is an
:class:`~qa.answer.types.Answer` (its ``read_as`` is used, so context
carries over several follow-ups) or a plain question string (read as
written).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.answer.smalltalk import classify
from qa.answer.types import Answer, Turn
from qa.rank import Linear, Ranker, Ranking, Scorer, Words
from qa.rank.features import ANSWER, SELECT
from qa.store.base import Field
from qa.text import content_words, information, stems

PARAMS_FILE = Path(__file__).with_name("followup.json")

# Words that point back at something said before.  General English
# (pronouns, demonstratives, "one" as in "the Dutch one"), not any article's.
_POINTERS = frozenset(
    "he she it they them him her his hers its their theirs this that these those "
    "one ones there then such same former latter other".split()
)
_OPENERS = re.compile(r"^(?:and|but|also|so|what about|how about|and what about)\b", re.I)
_TOKEN = re.compile(r"[a-z']+")

# What the ``select`` and ``answer`` models read (the registry: qa/rank/features.py).
SELECT_FEATURES = SELECT
ANSWER_FEATURES = ANSWER


@dataclass(frozen=True)
class FollowupModel:
    """The fitted parameters of follow-up reading.

    Attributes:
        min_info: A previous turn's word is carried over only when it is at
            least this rare in English (``qa.text.information``).
        max_added: At most this many words are carried over, rarest first.
        select: P(the reading with context is the right one) from
            :data:`SELECT_FEATURES`; context is used at or above its threshold.
        answer: P(a reading with context is about something the corpus
            covers) from :data:`ANSWER_FEATURES`; below its threshold it
            is declined (and the question is then answered alone, if at all).
    """

    min_info: float
    max_added: int
    select: Linear
    answer: Linear = Linear((), ())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FollowupModel:
        return cls(
            float(d["min_info"]),
            int(d["max_added"]),
            Linear.from_dict(d["select"]),
            Linear.from_dict(d["answer"]) if "answer" in d else Linear((), ()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_info": self.min_info,
            "max_added": self.max_added,
            "select": self.select.to_dict(),
            "answer": self.answer.to_dict(),
        }

    @classmethod
    def default(cls) -> FollowupModel:
        return cls.from_dict(json.loads(PARAMS_FILE.read_text("utf-8")))


@dataclass(frozen=True)
class Context:
    """The words a follow-up borrows from the conversation."""

    words: Words  # BM25 terms and rarity, rarest first
    surface: tuple[str, ...]  # the same words as the earlier turn wrote them


def previous_text(history: Sequence[Turn]) -> str:
    """The text the latest question was read as ('' when there is none).

    Small talk ("thanks!") is passed over: the conversation's topic is the
    question before it.
    """
    for turn in reversed(history):
        if isinstance(turn, str):
            text = turn
        elif not isinstance(turn, Answer):
            return ""  # not a turn (bad input): nothing to borrow from
        elif turn.kind == "smalltalk":
            continue
        else:
            text = turn.read_as or turn.question
        if classify(text) is None:
            return text
    return ""


def context_words(
    previous: str, own: Words, model: FollowupModel, vocabulary: frozenset[str]
) -> Context:
    """The previous turn's rare content words that the question lacks.

    Only words the corpus knows are carried: an unknown word cannot help
    the keyword search and would only dilute it.
    """
    have = {term for term, _ in own}
    seen: dict[str, tuple[float, str]] = {}
    surface_of = {w.lower(): w for w in re.findall(r"\w+", previous)}
    words = content_words(previous)
    for word, term in zip(words, stems(words), strict=True):
        info = information(word)
        if term in have or term in seen or term not in vocabulary or info < model.min_info:
            continue
        seen[term] = (info, surface_of.get(word, word))
    ranked = sorted(seen.items(), key=lambda kv: -kv[1][0])[: model.max_added]
    return Context([(term, info) for term, (info, _) in ranked], tuple(s for _, (_, s) in ranked))


def read_as(question: str, context: Context) -> str:
    """How a follow-up is shown to have been read, as a person would say it:
    the question, then the words it borrowed from the conversation.

    >>> read_as("And Russia?", Context([], ("ceasefire", "Ukraine")))
    'And Russia? (with: ceasefire, Ukraine)'
    """
    return f"{question} (with: {', '.join(context.surface)})" if context.surface else question


def with_own_coverage(ranking: Ranking, own: Ranking) -> Ranking:
    """``ranking`` with the coverage signals of the question's own words.

    Whether the corpus mentions what the user asked about is a property of
    the question, not of the words borrowed for it.
    """
    if not ranking.candidates or not own.candidates:
        return ranking
    top = own.top
    ranking.candidates = [
        replace(
            c,
            coverage=top.coverage,
            info_coverage=top.info_coverage,
            missing_info=top.missing_info,
        )
        for c in ranking.candidates
    ]
    return ranking


def select_features(
    question: str,
    own: Ranking,
    context: Ranking,
    added: int,
    scorer: Scorer,
    in_scope_borrowed: float = 0.0,
) -> dict[str, float]:
    """The signals the ``select`` and ``answer`` models read: the question's
    wording, and how well each reading is supported.

    ``in_scope_borrowed`` is the in-scope probability of the reading with
    context when the borrowed words count as asked.
    """
    tokens = _TOKEN.findall(question.lower())
    have_own = bool(own.candidates)
    have_context = bool(context.candidates)
    return {
        "pointer": float(any(t in _POINTERS for t in tokens)),
        "opener": float(bool(_OPENERS.match(question.strip()))),
        "own_words": float(len(own.words)),
        "own_info": sum(info for _, info in own.words),
        "added": float(added),
        "in_scope_alone": scorer.covers(own),
        "in_scope_context": scorer.covers(context),
        "score_alone": own.top.score if have_own else 0.0,
        "score_context": context.top.score if have_context else 0.0,
        "same_top": float(have_own and have_context and own.top.id == context.top.id),
        "own_info_coverage": own.top.info_coverage if have_own else 0.0,
        "own_missing_info": own.top.missing_info if have_own else 0.0,
        "in_scope_borrowed": in_scope_borrowed,
        "dense_sentence_context": context.top.dense_sentence if have_context else 0.0,
    }


@dataclass
class Readings:
    """A question read alone and with its conversation, and the choice made.

    ``context`` is None when the conversation offered no word to borrow;
    ``use_context`` is the probability that the reading with context is the
    right one (0 without one), ``answerable`` the probability that the
    reading with context is about something the corpus covers.
    """

    alone: Ranking
    context: Ranking | None
    borrowed: Context
    features: dict[str, float]
    use_context: float
    chosen: Ranking
    read_as: str
    answerable: float = 0.0

    @property
    def with_context(self) -> bool:
        """Whether the reading with context was chosen."""
        return self.chosen is not self.alone

    def answered(self, threshold: float) -> bool:
        return self.answerable >= threshold


def read_with_history(
    ranker: Ranker,
    model: FollowupModel,
    text: str,
    alone: Ranking,
    history: Sequence[Turn],
) -> Readings:
    """Read ``text`` with its conversation and choose the better-supported reading.

    Whether the chosen reading is answered is :func:`qa.answer.policy.decide`'s call.

    Args:
        ranker: The index and its fitted ranking and decline models.
        model: The follow-up parameters.
        text: The cleaned question.
        alone: The question's own ranking (``Retriever.rank(text)``).
        history: The earlier turns, oldest first.
    """
    store, scorer = ranker.store, ranker.scorer
    borrowed = Context([], ())
    previous = previous_text(history)
    if previous and alone.candidates:
        borrowed = context_words(previous, alone.words, model, store.vocabulary(Field.PASSAGE))
    if not borrowed.words:
        return Readings(alone, None, borrowed, {}, 0.0, alone, text)
    context = ranker.gather(alone.qvec, alone.words + borrowed.words, question=alone.question)
    in_scope_borrowed = scorer.covers(context)
    context = with_own_coverage(context, alone)
    features = select_features(text, alone, context, len(borrowed.words), scorer, in_scope_borrowed)
    p = model.select.probability(features) if model.select.features else 0.0
    answerable = model.answer.probability(features) if model.answer.features else 0.0
    vocabulary = store.vocabulary(Field.PASSAGE)
    if alone.words and not any(term in vocabulary for term, _ in alone.words):
        # Not one word the user typed is in the articles ("And the German
        # one?", "What is the capital of Australia?"): borrowed words would
        # make an answer out of nothing.
        answerable = 0.0
    if model.select.features and p >= model.select.threshold:
        chosen, shown = context, read_as(text, borrowed)
    else:
        chosen, shown = alone, text
    return Readings(alone, context, borrowed, features, p, chosen, shown, answerable)
