"""Matching a question to the corpus's FAQ pairs: a task of its own.

Matching a user's question to an FAQ pair is mostly telling whether two
short questions mean the same thing, and sometimes whether the pair's answer
answers a question its own question does not ask ("How many countries took
part?" against "What is the purpose of the meeting?", whose answer says 30
countries).  The passage ranker, fitted on question-to-paragraph pairs, is
one signal here among the question-to-question ones.

Two fitted models, both in ``faq.json`` (``qa/fit/faq.py`` writes it from
FAQ data, out of fold by article):

- a linear ranker over each pair's signals (:data:`SIGNALS`), fitted on
  pairwise preferences (the right pair over each other pair);
- a "show this pair or none" model over the best pair's signals and its lead
  over the runner-up, fitted on questions some pair answers and questions
  none does (on-topic ones the passages answer, off-topic ones, and other
  corpora's questions).

A pair that is shown also informs the passage shown beside it
(:func:`lift`): of the top few passages, the one the pair's answer agrees
with can come first, by a weight fitted on the same data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np

from qa.rank.answerable import passage_coverage, type_missing, wanted
from qa.rank.candidate import Ranking, Words
from qa.rank.gather import Columns, add_coverage, add_gaps, add_match, coverage, question_words
from qa.rank.scoring import Scorer
from qa.store.base import Field, Store
from qa.store.scope import faq_ids
from qa.text import terms
from qa.units import FAQ_ANSWER, FAQ_PAIR, FAQ_QUESTION, WINDOW, context

MODEL_FILE = Path(__file__).with_name("faq.json")

# Each pair's signals, in the order the ranker's weights are stored.
SIGNALS = (
    "qq",  # cosine of the question and the pair's question
    "qa",  # ... and the pair's answer
    "qp",  # ... and the question and answer together
    "qq_gap",  # each cosine minus the best pair's
    "qa_gap",
    "qp_gap",
    "bm25_rel",  # BM25 over the pair's question and answer, over the best pair's
    "q_match",  # rarity-weighted share of the question's words in the pair's question
    "a_match",  # ... in the pair's answer
    "kind_clash",  # both ask for a kind of answer (a name, a date), and not the same
    "kind_unasked",  # the pair's question asks for a kind of answer, the question for none
    "type_missing",  # the question asks for a number, date or name the answer does not hold
    "missing_info",  # how rare the rarest question word is that the pair does not write
    "pair_extra",  # rarity-weighted share of the pair's question's words the question lacks
    "passage_agree",  # cosine of the pair's answer and the best passage
    "ranker",  # the passage ranker's score of the pair as a tiny corpus
)

# What the show model reads of the best pair, beside its signals.
SHOW_SIGNALS = (*SIGNALS, "score", "lead", "coverage", "info_coverage", "passage_in_scope")


@dataclass(frozen=True, slots=True)
class FAQMatch:
    """The FAQ pair that answers a question, and how likely it is the right one."""

    id: int
    probability: float


@dataclass(frozen=True)
class FAQModel:
    """The fitted FAQ ranker and show model (``faq.json``)."""

    rank_weights: np.ndarray
    show_weights: np.ndarray
    show_bias: float
    show_mean: np.ndarray
    show_scale: np.ndarray
    threshold: float
    lift_passages: int  # how many of the top passages a shown pair may lift
    lift_weight: float  # ... by its answer's agreement with each, times this

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> FAQModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["signals"]) != SIGNALS or tuple(data["show"]["signals"]) != SHOW_SIGNALS:
            raise ValueError(f"{path}: fitted on other signals; rerun `make fit`")
        show = data["show"]
        return cls(
            rank_weights=np.asarray(data["rank"]["weights"], dtype=np.float64),
            show_weights=np.asarray(show["weights"], dtype=np.float64),
            show_bias=float(show["bias"]),
            show_mean=np.asarray(show["mean"], dtype=np.float64),
            show_scale=np.asarray(show["scale"], dtype=np.float64),
            threshold=float(show["threshold"]),
            lift_passages=int(data["lift"]["passages"]),
            lift_weight=float(data["lift"]["weight"]),
        )

    @staticmethod
    @cache
    def default() -> FAQModel:
        return FAQModel.load()

    def scores(self, signals: np.ndarray) -> np.ndarray:
        return signals @ self.rank_weights

    def probability(self, row: np.ndarray) -> float:
        z = ((row - self.show_mean) / self.show_scale) @ self.show_weights + self.show_bias
        return float(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True)
class Pairs:
    """What a question is matched against, read once per build and scope: the
    pairs' unit vectors, and each pair's terms and the kind of answer its
    question asks for."""

    ids: list[int]
    vectors: np.ndarray  # (pairs, 3, dim): question, answer, question and answer
    q_terms: list[set[str]]
    a_terms: list[set[str]]
    words: list[Words]  # each pair question's content words
    own_terms: list[set[str]]  # the terms of those words
    kinds: list[str]
    answers: list[str]
    texts: list[str]  # question and answer, as passage_coverage reads them

    _agree: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def agree(self, store: Store, passage: int) -> np.ndarray:
        """Each pair's answer against the passage: the cosine of its best window
        (no question in it, so it is kept per passage)."""
        return self.agree_all(store, [passage])[0]

    def agree_all(self, store: Store, passages: Sequence[int]) -> np.ndarray:
        """:meth:`agree` for each of ``passages`` (passages, pairs), the windows of
        those not yet kept read in one request to the store."""
        new = [p for p in dict.fromkeys(passages) if p not in self._agree]
        if new:
            spans = [np.arange(*store.passages[p].units) for p in new]
            rows = np.concatenate(spans)
            windows = rows[store.kinds(rows) == WINDOW]
            sims = self.vectors[:, 1] @ store.vectors(windows).T if len(windows) else None
            if len(self._agree) + len(new) > 4096:
                self._agree.clear()
            for p, span in zip(new, spans, strict=True):
                mine = np.isin(windows, span)
                found = np.zeros(len(self.ids))
                if sims is not None and mine.any():
                    found = sims[:, mine].max(axis=1)
                self._agree[p] = found
        return np.stack([self._agree[p] for p in passages])

    @classmethod
    def read(cls, store: Store) -> Pairs:
        ids = list(faq_ids(store))
        faqs = [store.faqs[i] for i in ids]
        starts = np.array([f.units[0] for f in faqs], dtype=np.int64)
        rows = np.concatenate([np.arange(s, s + 3) for s in starts])
        kinds = store.kinds(rows).reshape(-1, 3)
        if not ((kinds[:, 0] == FAQ_QUESTION).all() and (kinds[:, 1] == FAQ_ANSWER).all()):
            raise ValueError("FAQ units are not stored as question, answer, pair")
        assert (kinds[:, 2] == FAQ_PAIR).all()
        words = [question_words(f.question) for f in faqs]
        return cls(
            ids,
            store.vectors(rows).reshape(len(faqs), 3, -1),
            [set(terms(f.question)) for f in faqs],
            [set(terms(f.answer)) for f in faqs],
            words,
            [{t for t, _ in w} for w in words],
            [wanted(f.question) for f in faqs],
            [f.answer for f in faqs],
            [f"{f.question} {f.answer}" for f in faqs],
        )


_PAIRS: dict[tuple[str, Sequence[int]], Pairs] = {}  # a build's pairs never change


def pairs_of(store: Store) -> Pairs:
    """The pairs a question to ``store`` may match (read once per build and scope)."""
    key = (store.build_id, faq_ids(store))
    found = _PAIRS.get(key)
    if found is None:
        found = Pairs.read(store)
        if len(_PAIRS) >= 8:
            _PAIRS.clear()
        _PAIRS[key] = found
    return found


def _match(words: Words, have: set[str]) -> float:
    total = sum(info for _, info in words)
    return sum(info for term, info in words if term in have) / total if total else 0.0


def _shares(words: Words, sets: list[set[str]]) -> list[float]:
    """``_match`` of ``words`` against each set."""
    total = sum(info for _, info in words)
    if not total:
        return [0.0] * len(sets)
    return [sum(info for term, info in words if term in have) / total for have in sets]


def faq_signals(
    store: Store,
    scorer: Scorer,
    qvec: np.ndarray,
    words: Words,
    text: str,
    top_passage: int | None = None,
) -> np.ndarray:
    """The FAQ pairs' signals for one question (:data:`SIGNALS`).

    One row per pair a question may match (:func:`qa.store.scope.faq_ids`:
    every pair, or those of the documents asked within), in that order.
    """
    pairs = pairs_of(store)
    ids, vectors = pairs.ids, pairs.vectors
    sims = vectors @ qvec
    qq, qa, qp = sims[:, 0], sims[:, 1], sims[:, 2]

    vocab = store.vocabulary(Field.FAQ)
    known = [t for t, _ in words if t in vocab]
    query = store.keyword(Field.FAQ, known)
    bm25 = query.scores(ids)
    top_bm25 = float(bm25.max())
    bm25_rel = bm25 / top_bm25 if top_bm25 > 0 else np.zeros(len(ids))

    mine = {t for t, _ in words}
    asks = wanted(text)
    agree = np.zeros(len(ids)) if top_passage is None else pairs.agree(store, top_passage)

    # The passage ranker's view of the FAQ section as a small corpus.
    qp_all = qp.astype(np.float64)
    old: Columns = {
        "dense": qp_all,
        "dense_plain": qp_all,
        "dense_sentence": np.maximum(qq, qa).astype(np.float64),
        "bm25_rel": bm25_rel.astype(np.float64),
        "bm25_sentence_rel": bm25_rel.astype(np.float64),
    }
    add_coverage(old, coverage(words, vocab))
    add_gaps(old)
    add_match(old, words, vocab, query.matched(ids))

    signals = np.empty((len(ids), len(SIGNALS)))
    signals[:, 0] = qq
    signals[:, 1] = qa
    signals[:, 2] = qp
    signals[:, 3] = qq - qq.max()  # in float32, as the fit read them
    signals[:, 4] = qa - qa.max()
    signals[:, 5] = qp - qp.max()
    signals[:, 6] = bm25_rel
    signals[:, 7] = _shares(words, pairs.q_terms)
    signals[:, 8] = _shares(words, pairs.a_terms)
    signals[:, 9] = [float(bool(k and asks) and k != asks) for k in pairs.kinds]
    signals[:, 10] = [float(bool(k) and not asks) for k in pairs.kinds]
    # Only a question that asks for a kind of answer can miss one.
    signals[:, 11] = [type_missing(text, a) if asks else 0.0 for a in pairs.answers]
    signals[:, 12] = [passage_coverage(words, t)[0] for t in pairs.texts]
    signals[:, 13] = [
        _match(w, own - mine) for w, own in zip(pairs.words, pairs.own_terms, strict=True)
    ]
    signals[:, 14] = agree
    signals[:, 15] = scorer.rank.values(old)
    return signals


def show_row(
    signals: np.ndarray,
    scores: np.ndarray,
    words: Words,
    vocab: frozenset[str],
    in_scope: float,
) -> tuple[int, np.ndarray]:
    """The show model's input for the best pair: its signals, score and lead.

    ``in_scope`` is the passage models' probability that the articles cover
    the question.
    """
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    lead = float(scores[best] - scores[order[1]]) if len(order) > 1 else 1.0
    covered = coverage(words, vocab)
    row = np.concatenate(
        [
            signals[best],
            [scores[best], lead, covered["coverage"], covered["info_coverage"], in_scope],
        ]
    )
    return best, row


def match_faq(
    store: Store,
    scorer: Scorer,
    qvec: np.ndarray,
    words: Words,
    text: str = "",
    top_passage: int | None = None,
    in_scope: float = 0.0,
    model: FAQModel | None = None,
) -> FAQMatch | None:
    """The FAQ pair that answers the question, if one does.

    Args:
        store: Where the FAQ pairs and their vectors are.
        scorer: The passage models (one of the pair's signals).
        qvec: The question's vector.
        words: The question's content words.
        text: The question, for the kind of answer it asks for.
        top_passage: The best passage's id, when the passages answered:
            a pair whose answer says what that passage says is likelier.
        in_scope: The passage models' probability that the articles cover
            the question.
        model: The fitted FAQ models (``faq.json`` when not given).
    """
    if not faq_ids(store):
        return None
    model = model or FAQModel.default()
    signals = faq_signals(store, scorer, qvec, words, text, top_passage)
    scores = model.scores(signals)
    best, row = show_row(signals, scores, words, store.vocabulary(Field.FAQ), in_scope)
    probability = model.probability(row)
    if probability < model.threshold:
        return None
    return FAQMatch(pairs_of(store).ids[best], probability)


def lift_scores(scores: np.ndarray, agree: np.ndarray, weight: float) -> int:
    """Which of the top passages (their ranker ``scores``) comes first beside a
    shown pair whose answer agrees with each by ``agree``."""
    return int(np.argmax(scores + weight * agree))


def lift(store: Store, ranking: Ranking, match: FAQMatch, model: FAQModel | None = None) -> Ranking:
    """``ranking`` with the passage that a shown pair's answer lifts first.

    Of the top ``lift_passages`` passages, the one with the best ranker score
    plus ``lift_weight`` times the cosine of the pair's answer with its best
    window comes first; the others keep their order.  A pair whose answer
    says what a passage says points to it: "what size radiators are needed"
    is matched to "Do I need to replace my radiators?", and the radiators
    paragraph comes first, where the ranker had another heat-pump paragraph.
    The lifted ranking is for showing: the decision and its confidence were
    read from ``ranking`` (``agree`` and ``runner_up`` are its positions).
    """
    model = model or FAQModel.default()
    k = min(model.lift_passages, len(ranking))
    if k < 2:
        return ranking
    pairs = pairs_of(store)
    agree = pairs.agree_all(store, [ranking[i].id for i in range(k)])[:, pairs.ids.index(match.id)]
    scores = np.array([ranking[i].score for i in range(k)])
    best = lift_scores(scores, agree, model.lift_weight)
    if best == 0:
        return ranking
    order = [best, *(i for i in range(len(ranking)) if i != best)]
    p = store.passages[ranking[best].id]
    return replace(
        ranking,
        candidates=[ranking[i] for i in order],
        sentences={n: ranking.sentences[i] for n, i in enumerate(order) if i in ranking.sentences},
        passage=context(p.doc, p.heading) + p.text,
    )
