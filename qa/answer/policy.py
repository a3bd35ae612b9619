"""What to do with a question: answer it, decline it, read it as a follow-up, or chat.

:func:`decide` is the one place the decision is made; :class:`Verdict` says
what was decided, and :class:`~qa.answer.retriever.Retriever` turns it into
an :class:`~qa.answer.types.Answer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from qa.answer.followup import FollowupModel, read_with_history
from qa.answer.smalltalk import SmallTalk, classify
from qa.answer.types import Turn
from qa.rank import Decision, FAQMatch, Ranker, Ranking, answer_signals, as_row


class Kind(StrEnum):
    """The five things a question can get."""

    EMPTY = "empty"  # no letter or digit: nothing to search for
    SMALLTALK = "smalltalk"  # a greeting, thanks, "what can you do?"
    ANSWER = "answer"  # the top passage of ``ranking`` answers it (an FAQ pair may too)
    FAQ = "faq"  # only the FAQ pair answers it: the passages alone decline
    DECLINE = "decline"  # the articles do not cover it


@dataclass(frozen=True)
class Verdict:
    """The decision about one question.

    Attributes:
        kind: What the question gets.
        read_as: The text searched: the question, with the words borrowed
            from the conversation after it ("… (with: ceasefire, Ukraine)")
            when read as a follow-up.
        confidence: P(the top passage is right); for a decline, that times
            P(the corpus covers the question); for FAQ, P(the pair is right).
        ranking: The reading's candidates (None for EMPTY and SMALLTALK).
        smalltalk: The kind of small talk (SMALLTALK only).
        in_scope: P(the corpus covers the question), as the passage models read it.
        faq: The FAQ pair that answers the question, if one does.
    """

    kind: Kind
    read_as: str = ""
    confidence: float = 0.0
    ranking: Ranking | None = None
    smalltalk: SmallTalk | None = None
    in_scope: float = 0.0
    faq: FAQMatch | None = None


def decide(
    text: str,
    history: Sequence[Turn],
    rank: Callable[[str], Ranking],
    ranker: Ranker,
    followups: FollowupModel,
) -> Verdict:
    """Decide what ``text`` gets.

    Args:
        text: The cleaned question (:func:`qa.answer.question.question_text`).
        history: The conversation's earlier turns, oldest first.
        rank: Ranks a cleaned question (encodes it once).
        ranker: The store and its fitted models.
        followups: How follow-ups are read.
    """
    if not text:
        return Verdict(Kind.EMPTY)
    chat = classify(text)
    if chat is not None:
        return Verdict(Kind.SMALLTALK, text, smalltalk=chat)
    ranking = rank(text)
    own_words = ranking.words
    readings = None
    read_as = text
    if history:
        readings = read_with_history(ranker, followups, text, ranking, history)
        ranking, read_as = readings.chosen, readings.read_as
    decision = ranker.decide(ranking, text, own_words)
    if readings is not None and readings.with_context and followups.answer.features:
        # A reading with context has its own fitted decline model: the
        # in-scope model never saw borrowed words.
        answered = readings.answered(followups.answer.threshold)
        correct = ranker.scorer.correct.probability(as_row(answer_signals(ranking)))
        decision = Decision(
            answered, correct if answered else correct * decision.in_scope, decision.in_scope
        )
    if not decision.answered and readings is not None and readings.with_context:
        # Context only ever helps find an answer: a reading with it that is
        # declined gives way to the question alone, as asked.
        ranking, read_as = readings.alone, text
        decision = ranker.decide(ranking, text, own_words)
    faq = ranker.match_faq(
        ranking.qvec, ranking.words, text, top_passage=ranking[0].id, in_scope=decision.in_scope
    )
    if faq is not None and read_as == text:
        # The pair's answer points to the passage that says it (qa.rank.faq.lift).  Not
        # for a reading with borrowed words: the lift was fitted on questions alone, and
        # which passage a follow-up gets is the follow-up models' to say.
        ranking = ranker.lift(ranking, faq)
    if decision.answered:
        return Verdict(
            Kind.ANSWER, read_as, decision.confidence, ranking, in_scope=decision.in_scope, faq=faq
        )
    if faq is not None:
        # The passages decline, but an FAQ pair asks the same thing: a passage
        # answer never hides a good pair.  Its own probability is the confidence.
        return Verdict(
            Kind.FAQ, read_as, faq.probability, ranking, in_scope=decision.in_scope, faq=faq
        )
    return Verdict(Kind.DECLINE, read_as, decision.confidence, ranking, in_scope=decision.in_scope)
