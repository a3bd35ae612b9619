"""The FAQ sets, asked of their corpora: each question's signals for the FAQ fit.

Every set with FAQ labels (:data:`SETS`) is asked of an index of its own
corpus, built with the product's code, so the signals are the ones
``qa.rank.faq`` computes when answering.  :func:`load_all` also asks each
corpus the other corpora's questions, which no pair answers.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import qa
from qa.answer.question import question_text
from qa.evaluate import passage_hit
from qa.fit.common import ROOT, SHARED_EVAL, MemoEmbedder, corpus_files
from qa.rank.faq import faq_signals, pairs_of
from qa.store.base import Field

LIFT_MAX = 5  # the most passages a shown pair may lift (read for each question)

# (name, questions, corpus): every set with FAQ labels.
SETS = (
    (
        "faq-dev",
        SHARED_EVAL / "faq-dev" / "questions.jsonl",
        SHARED_EVAL / "faq-dev" / "corpus",
    ),
    ("seed-dev", SHARED_EVAL / "article_dev.jsonl", ROOT / "corpus"),
    ("seed-rewordings", ROOT / "tests" / "data" / "seed_rewordings.jsonl", ROOT / "corpus"),
    (
        "own-faq",
        ROOT / "tests" / "data" / "faq" / "questions.jsonl",
        ROOT / "tests" / "data" / "faq",
    ),
)


@dataclass
class Example:
    set: str
    group: str  # the article a right pair is in (or the question's own doc): folds go by it
    question: str
    signals: np.ndarray  # one row per FAQ pair
    right: frozenset[int]  # the pairs that answer it; empty when none does
    in_scope: bool
    words: list[tuple[str, float]]
    vocab: frozenset[str]
    passage_in_scope: float  # the passage models' probability that the articles cover it
    passage_scores: np.ndarray  # the top passages' ranker scores, best first
    passage_right: np.ndarray  # whether each holds the answer (all False when unlabelled)
    passage_agree: np.ndarray  # (passages, pairs): each pair's answer against each passage


def read_rows(questions: Path) -> list[dict[str, Any]]:
    lines = questions.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_set(
    name: str, rows: list[dict[str, Any]], retriever: qa.Retriever, group: str = ""
) -> list[Example]:
    faqs = retriever.faqs
    passages = retriever.store.passages
    pairs = pairs_of(retriever.store)
    docs = sorted({f.doc for f in faqs})
    examples = []
    for row in rows:
        if "faq_any" not in row and row.get("in_scope", True):
            continue  # an in-scope question with no FAQ label says nothing here
        text, _ = question_text(row["question"], retriever.embedder)
        ranking = retriever.rank(text)
        signals = faq_signals(
            retriever.store, retriever.scorer, ranking.qvec, ranking.words, text, ranking[0].id
        )
        doc = row.get("doc") or (docs[0] if len(docs) == 1 else "")
        same_doc = [i for i, f in enumerate(faqs) if f.doc == doc]
        right = frozenset(same_doc[p] for p in (row.get("faq_any") or []))
        top = [ranking[i].id for i in range(min(LIFT_MAX, len(ranking)))]
        needles = row.get("passage_any") or []
        examples.append(
            Example(
                name,
                group or f"{name}:{doc}",
                row["question"],
                signals,
                right,
                bool(row.get("in_scope", True)),
                ranking.words,
                retriever.store.vocabulary(Field.FAQ),
                retriever.scorer.decide(ranking).in_scope,
                np.array([ranking[i].score for i in range(len(top))]),
                np.array([passage_hit(passages[i].text, needles) for i in top]),
                np.stack([pairs.agree(retriever.store, i) for i in top]),
            )
        )
    return examples


def load_all(embedder: MemoEmbedder) -> tuple[list[Example], list[Path]]:
    """Every set's examples, and the files read: each set's questions and corpus.

    Beside each set, the other corpora's questions are asked of its corpus as
    questions about other articles (one set, "elsewhere"): no pair answers them, however
    near their words, as when a reader asks within one document about another.
    """
    examples: list[Example] = []
    read: list[Path] = []
    sets = [(n, q, c) for n, q, c in SETS if q.exists()]
    corpora = {c: n for n, _, c in reversed(sets)}  # each corpus, named by its first set
    asked: dict[Path, set[str]] = {c: set() for c in corpora}
    for _, questions, corpus in sets:
        asked[corpus] |= {r["question"] for r in read_rows(questions)}
    with tempfile.TemporaryDirectory(prefix="qa-fit-faq-") as tmp:
        retrievers: dict[Path, qa.Retriever] = {}
        for n, corpus in enumerate(corpora):
            qa.build(str(corpus), str(Path(tmp) / str(n)), embedder=embedder)
            retrievers[corpus] = qa.load(str(Path(tmp) / str(n)), embedder=embedder)
        for name, questions, corpus in sets:
            examples += load_set(name, read_rows(questions), retrievers[corpus])
            read += [questions, *corpus_files(corpus)]
        for corpus, name in corpora.items():
            others = set().union(*(q for c, q in asked.items() if c != corpus)) - asked[corpus]
            rows = [{"question": q, "in_scope": False} for q in sorted(others)]
            examples += load_set("elsewhere", rows, retrievers[corpus], f"elsewhere:{name}")
    embedder.save()
    return examples, read
