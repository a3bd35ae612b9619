"""One store and its fitted models: everything that ranks a question against them."""

from __future__ import annotations

import numpy as np

from qa.rank.candidate import Candidate, Ranking, Words
from qa.rank.faq import FAQMatch, lift, match_faq
from qa.rank.gather import gather
from qa.rank.rules import names_every_word
from qa.rank.scoring import Decision, Scorer
from qa.rank.sentence import best_sentence
from qa.store.base import Store


class Ranker:
    """Ranks questions against one store with one set of fitted models.

    Args:
        store: The opened index.
        scorer: The fitted ranking, decline and confidence models.
    """

    def __init__(self, store: Store, scorer: Scorer) -> None:
        self.store = store
        self.scorer = scorer

    def gather(self, qvec: np.ndarray, words: Words, *, question: str = "") -> Ranking:
        """The question's candidates, scored, best first (:func:`qa.rank.gather.gather`)."""
        return gather(self, qvec, words, question=question)

    def best_sentence(self, ranking: Ranking, position: int) -> str:
        """The sentence of candidate ``position`` that best answers the question."""
        return best_sentence(self, ranking, position)

    def match_faq(
        self,
        qvec: np.ndarray,
        words: Words,
        text: str = "",
        top_passage: int | None = None,
        in_scope: float = 0.0,
    ) -> FAQMatch | None:
        """The FAQ pair that answers the question, if one does (:func:`qa.rank.faq.match_faq`)."""
        return match_faq(self.store, self.scorer, qvec, words, text, top_passage, in_scope)

    def lift(self, ranking: Ranking, match: FAQMatch) -> Ranking:
        """``ranking`` with the passage a shown pair lifts first (:func:`qa.rank.faq.lift`)."""
        return lift(self.store, ranking, match)

    def names_every_word(self, candidate: Candidate, text: str, words: Words) -> bool:
        """The passage has every content word of the question, a name among them."""
        return names_every_word(self.store, candidate, text, words)

    def covers(self, ranking: Ranking) -> float:
        """The probability that the texts behind ``ranking`` cover the question."""
        return self.scorer.covers(ranking)

    def decide(self, ranking: Ranking, text: str, own_words: Words) -> Decision:
        """Answer or decline with the top candidate, the names rule included.

        The names rule reads the question's own words (``own_words``):
        words borrowed from a conversation name nothing the user asked.
        """
        decision = self.scorer.decide(ranking)
        if not decision.answered and self.names_every_word(ranking.top, text, own_words):
            decision = self.scorer.decide(ranking, named=True)
        return decision
