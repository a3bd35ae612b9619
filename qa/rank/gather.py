"""Gathering a question's candidates from a store, with their signals and score.

One query encoding (done by the caller); the rest is one dense top-k, two
keyword queries, and one read of the candidates' stored vectors.
Candidates are the best passages by either signal; their signals are
computed exactly from the stored vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qa.rank.candidate import Candidate, Candidates, Ranking, Words
from qa.rank.sentence import runner_up
from qa.store.base import Field
from qa.text import content_words, information, stems
from qa.units import PLAIN, SENTENCE, WINDOW, context

if TYPE_CHECKING:
    from qa.rank.ranker import Ranker


def question_words(text: str) -> Words:
    """The question's content words, as BM25 terms with their rarity in English."""
    words = content_words(text)
    return list(zip(stems(words), (information(w) for w in words), strict=True))


def coverage(words: Words, vocab: frozenset[str]) -> dict[str, float]:
    """How much of the question the corpus mentions at all.

    ``coverage`` is the share of the question's content words found in
    ``vocab``; ``info_coverage`` weighs each word by how rare it is in
    English, so a missing name or topic word counts more than a missing
    "happen"; ``missing_info`` is the rarest word the corpus lacks.
    """
    if not words:
        return {"coverage": 0.0, "info_coverage": 0.0, "missing_info": 0.0}
    found = [term in vocab for term, _ in words]
    total = sum(info for _, info in words)
    return {
        "coverage": sum(found) / len(words),
        "info_coverage": sum(info for (_, info), ok in zip(words, found, strict=True) if ok) / total
        if total > 0
        else 0.0,
        "missing_info": max(
            (info for (_, info), ok in zip(words, found, strict=True) if not ok), default=0.0
        ),
    }


# Each signal over a question's candidates, one float64 array (or one float,
# the same for every candidate) per name.
Columns = dict[str, np.ndarray]


def add_match(cols: Columns, words: Words, vocab: frozenset[str], found: np.ndarray) -> None:
    """Each candidate's word match, and its products with BM25 and dense.

    A relative BM25 of 1 says only "best in the corpus": when that passage
    shares one common word of the question's five, it is weak evidence.
    And when no candidate shares much of the question, the question is a
    paraphrase and dense similarity is the better guide.

    Args:
        cols: The candidates' signals (``bm25_rel``, ``bm25_sentence_rel``
            and the three cosines are read; the match signals added).
        words: The question's content words.
        vocab: The terms the searched field knows.
        found: For each candidate, which of the question's known terms (those
            of ``words`` in ``vocab``, in order) its text contains.
    """
    total = sum(info for _, info in words)
    known = np.array([info for term, info in words if term in vocab], dtype=np.float64)
    if total > 0 and found.size:
        share = found.astype(np.float64) @ known / total
    else:
        share = np.zeros(len(found))
    unmatched = 1.0 - float(share.max()) if len(share) else 1.0
    cols["match"] = share
    cols["unmatched"] = np.full(len(share), unmatched)
    cols["bm25_match"] = cols["bm25_rel"] * share
    cols["bm25_sentence_match"] = cols["bm25_sentence_rel"] * share
    cols["dense_unmatched"] = cols["dense"] * unmatched
    cols["dense_sentence_unmatched"] = cols["dense_sentence"] * unmatched
    cols["dense_plain_unmatched"] = cols["dense_plain"] * unmatched


def add_coverage(cols: Columns, covered: dict[str, float]) -> None:
    """The question's coverage signals (:func:`coverage`), the same for every candidate."""
    n = len(cols["dense"])
    for name, value in covered.items():
        cols[name] = np.full(n, value)


def add_gaps(cols: Columns) -> None:
    """Each candidate's dense scores relative to the best candidate's."""
    for name in ("dense", "dense_sentence", "dense_plain"):
        cols[f"{name}_gap"] = cols[name] - cols[name].max()


def gather(ranker: Ranker, qvec: np.ndarray, words: Words, *, question: str = "") -> Ranking:
    """The question's candidate passages with their signals and fused score, best first.

    Args:
        ranker: The store, and the fitted models (the ranker and how many
            candidates to take).
        qvec: The question's vector.
        words: The question's content words (:func:`question_words`).
        question: The question's text, for the answer-level checks
            (``qa.rank.answerable``); they see nothing when it is empty.
    """
    store, scorer = ranker.store, ranker.scorer
    vocab = store.vocabulary(Field.PASSAGE)
    known = [t for t, _ in words if t in vocab]  # the question's BM25 terms
    want = scorer.candidates
    hits = store.dense_top(qvec, max(64, 8 * want))
    # The first `want` passages by dense, then the BM25 tops, once each, in that order.
    chosen = list(dict.fromkeys(hits.owners.tolist()))[:want]
    passage_bm25 = store.keyword(Field.PASSAGE, known)
    sentence_bm25 = store.sentences(known)
    bm25_top = passage_bm25.top(want) if known else _NONE
    sent_top = sentence_bm25.top(want) if known else _NONE
    chosen = list(dict.fromkeys([*chosen, *bm25_top[0].tolist(), *sent_top[0].tolist()]))
    if not chosen:
        return Ranking([], qvec, words)
    # The best score in the corpus is the top-1 score (0 when nothing matches).
    bm25_max = float(bm25_top[1].max()) if len(bm25_top[1]) else 0.0
    sent_max = float(sent_top[1].max()) if len(sent_top[1]) else 0.0

    # Every unit of every candidate in one read and one product: the
    # candidates' units are contiguous runs of rows, one run each.
    spans = np.array([store.passages[p].units for p in chosen], dtype=np.int64)
    lengths = spans[:, 1] - spans[:, 0]
    ends = np.cumsum(lengths)
    offsets = ends - lengths
    unit_rows = np.arange(ends[-1]) + np.repeat(spans[:, 0] - offsets, lengths)
    all_sims = store.vectors(unit_rows) @ qvec
    all_kinds = store.kinds(unit_rows)
    # Each candidate's best unit of each kind (-inf where it has none).
    by_kind = np.where(all_kinds == _KINDS, all_sims, -np.inf)
    windows, sentences, plains = np.maximum.reduceat(by_kind, offsets, axis=1)
    dense = windows.astype(np.float64)
    # Relative BM25: in float64, dividing the float32 scores, as the fit did.
    bm25 = passage_bm25.scores(chosen).astype(np.float64)
    best_sent = sentence_bm25.scores(chosen).astype(np.float64)
    cols: Columns = {
        "dense": dense,
        "dense_sentence": np.where(sentences > -np.inf, sentences, windows).astype(np.float64),
        "dense_plain": np.where(plains > -np.inf, plains, windows).astype(np.float64),
        "bm25_rel": bm25 / bm25_max if bm25_max > 0 else np.zeros(len(chosen)),
        "bm25_sentence_rel": best_sent / sent_max if sent_max > 0 else np.zeros(len(chosen)),
    }
    add_coverage(cols, coverage(words, vocab))
    add_gaps(cols)
    add_match(cols, words, vocab, passage_bm25.matched(chosen))
    score = scorer.rank.values(cols)
    # Best first; equal scores keep the order gathered.
    order = np.argsort(-score, kind="stable").tolist()
    scores = score.tolist()
    starts, stops = offsets.tolist(), ends.tolist()

    def make(position: int) -> Candidate:
        i = order[position]
        return Candidate(
            id=chosen[i],
            score=scores[i],
            sims=all_sims[starts[i] : stops[i]],
            kinds=all_kinds[starts[i] : stops[i]],
            sentence_bm25=sentence_bm25.of_passage(chosen[i]),
            **{name: float(values[i]) for name, values in cols.items()},
        )

    ranking = Ranking(Candidates(len(order), make), qvec, words)
    top = chosen[order[0]]
    # The first best by each signal, in ranked order, as max() picks it.
    ranking.agree = float(
        top == chosen[order[int(np.argmax(cols["dense_sentence"][order]))]]
        and top == chosen[order[int(np.argmax(cols["bm25_rel"][order]))]]
    )
    ranking.runner_up = runner_up(ranker, ranking)
    # What the answer-level checks read: the question and the top passage in context.
    ranking.question = question
    p = store.passages[top]
    ranking.passage = context(p.doc, p.heading) + p.text
    return ranking


_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
_KINDS = np.array([[WINDOW], [SENTENCE], [PLAIN]])  # one row per kind of unit
