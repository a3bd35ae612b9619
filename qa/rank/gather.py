"""Gathering a question's candidates from a store, with their signals and score.

One query encoding (done by the caller); the rest is one dense top-k, two
keyword queries, and one read of the candidates' stored vectors.
Candidates are the best passages by either signal; their signals are
computed exactly from the stored vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qa.rank.candidate import Candidate, Ranking, Words
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


def add_match(
    rows: list[dict[str, float]], words: Words, vocab: frozenset[str], found: np.ndarray
) -> None:
    """Each candidate's word match, and its products with BM25 and dense.

    A relative BM25 of 1 says only "best in the corpus": when that passage
    shares one common word of the question's five, it is weak evidence.
    And when no candidate shares much of the question, the question is a
    paraphrase and dense similarity is the better guide.

    Args:
        rows: The candidates' signals (``bm25_rel``, ``bm25_sentence_rel``
            and the three cosines are read; the match signals added).
        words: The question's content words.
        vocab: The terms the searched field knows.
        found: For each row, which of the question's known terms (those of
            ``words`` in ``vocab``, in order) its text contains.
    """
    total = sum(info for _, info in words)
    known = np.array([info for term, info in words if term in vocab], dtype=np.float64)
    if total > 0 and found.size:
        share = found.astype(np.float64) @ known / total
    else:
        share = np.zeros(len(rows))
    unmatched = 1.0 - float(share.max()) if len(share) else 1.0
    for row, m in zip(rows, share, strict=True):
        row["match"] = float(m)
        row["unmatched"] = unmatched
        row["bm25_match"] = row["bm25_rel"] * row["match"]
        row["bm25_sentence_match"] = row["bm25_sentence_rel"] * row["match"]
        row["dense_unmatched"] = row["dense"] * unmatched
        row["dense_sentence_unmatched"] = row["dense_sentence"] * unmatched
        row["dense_plain_unmatched"] = row["dense_plain"] * unmatched


def add_gaps(rows: list[dict[str, float]]) -> None:
    """Each candidate's dense scores relative to the best candidate's."""
    top_dense = max(r["dense"] for r in rows)
    top_sentence = max(r["dense_sentence"] for r in rows)
    top_plain = max(r["dense_plain"] for r in rows)
    for row in rows:
        row["dense_gap"] = row["dense"] - top_dense
        row["dense_sentence_gap"] = row["dense_sentence"] - top_sentence
        row["dense_plain_gap"] = row["dense_plain"] - top_plain


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
    candidates: dict[int, None] = {}
    for owner in hits.owners:
        candidates[int(owner)] = None
        if len(candidates) >= want:
            break
    passage_bm25 = store.keyword(Field.PASSAGE, known)
    sentence_bm25 = store.sentences(known)
    bm25_top = passage_bm25.top(want) if known else _NONE
    sent_top = sentence_bm25.top(want) if known else _NONE
    for ids, _ in (bm25_top, sent_top):
        candidates.update(dict.fromkeys(int(p) for p in ids))
    # The best score in the corpus is the top-1 score (0 when nothing matches).
    bm25_max = float(bm25_top[1].max()) if len(bm25_top[1]) else 0.0
    sent_max = float(sent_top[1].max()) if len(sent_top[1]) else 0.0
    covered = coverage(words, vocab)
    if not candidates:
        return Ranking([], qvec, words)
    chosen = list(candidates)
    bm25 = passage_bm25.scores(chosen)
    best_sent = sentence_bm25.scores(chosen)
    # Every unit of every candidate in one read and one product: the
    # candidates' units are contiguous runs of rows, one run each.
    spans = [store.passages[p].units for p in chosen]
    lengths = np.array([end - start for start, end in spans])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    unit_rows = np.concatenate([np.arange(start, end) for start, end in spans])
    all_sims = store.vectors(unit_rows) @ qvec
    all_kinds = store.kinds(unit_rows)
    windows = np.maximum.reduceat(np.where(all_kinds == WINDOW, all_sims, -np.inf), offsets)
    sentences = np.maximum.reduceat(np.where(all_kinds == SENTENCE, all_sims, -np.inf), offsets)
    plains = np.maximum.reduceat(np.where(all_kinds == PLAIN, all_sims, -np.inf), offsets)
    rows: list[dict[str, float]] = []
    for i in range(len(chosen)):
        dense = float(windows[i])
        rows.append(
            {
                "dense": dense,
                "dense_sentence": float(sentences[i]) if sentences[i] > -np.inf else dense,
                "dense_plain": float(plains[i]) if plains[i] > -np.inf else dense,
                "bm25_rel": float(bm25[i]) / bm25_max if bm25_max > 0 else 0.0,
                "bm25_sentence_rel": float(best_sent[i]) / sent_max if sent_max > 0 else 0.0,
                **covered,
            }
        )
    add_gaps(rows)
    add_match(rows, words, vocab, passage_bm25.matched(chosen))
    ranked = [
        Candidate(
            id=p,
            score=scorer.rank.value(row),
            sims=all_sims[offsets[i] : offsets[i] + lengths[i]],
            kinds=all_kinds[offsets[i] : offsets[i] + lengths[i]],
            sentence_bm25=sentence_bm25.of_passage(p),
            **row,
        )
        for i, (p, row) in enumerate(zip(chosen, rows, strict=True))
    ]
    ranked.sort(key=lambda c: -c.score)
    ranking = Ranking(ranked, qvec, words)
    top = ranked[0].id
    ranking.agree = float(
        top == max(ranked, key=lambda c: c.dense_sentence).id
        and top == max(ranked, key=lambda c: c.bm25_rel).id
    )
    ranking.runner_up = runner_up(ranker, ranking)
    # What the answer-level checks read: the question and the top passage in context.
    ranking.question = question
    p = store.passages[top]
    ranking.passage = context(p.doc, p.heading) + p.text
    return ranking


_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
