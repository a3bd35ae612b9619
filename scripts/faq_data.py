"""The FAQ signals of every labelled question in the FAQ sets, for fitting and checking.

Each set is a question file over a corpus; its index is built once in a cache folder.
A question's label is the set of FAQ pairs that answer it (empty: none does).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import qa
from qa.rank.faq import faq_signals

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"

# (name, questions, corpus): every set with FAQ labels.
SETS = (
    ("faq-dev", SHARED / "faq-dev" / "questions.jsonl", SHARED / "faq-dev" / "corpus"),
    ("seed-dev", SHARED / "article_dev.jsonl", ROOT / "corpus"),
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
    passage_answered: bool  # an FAQ pair is shown only beside an answered passage


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_set(name: str, questions: Path, corpus: Path, cache: Path) -> list[Example]:
    index = cache / name
    qa.build(str(corpus), str(index))
    retriever = qa.load(str(index))
    faqs = retriever.faqs
    docs = sorted({f.doc for f in faqs})
    examples = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "faq_any" not in row and row.get("in_scope", True):
            continue  # an in-scope question with no FAQ label says nothing here
        text, _ = retriever._question_text(row["question"])
        ranking = retriever.rank(text)
        signals = faq_signals(
            retriever.store, retriever.scorer, ranking.qvec, ranking.words, text, ranking[0].id
        )
        doc = row.get("doc") or (docs[0] if len(docs) == 1 else "")
        same_doc = [i for i, f in enumerate(faqs) if f.doc == doc]
        right = frozenset(same_doc[p] for p in (row.get("faq_any") or []))
        examples.append(
            Example(
                name,
                f"{name}:{doc}",
                row["question"],
                signals,
                right,
                bool(row.get("in_scope", True)),
                ranking.words,
                retriever.store.vocabulary(qa.store.base.Field.FAQ),
                retriever.scorer.decide(ranking).in_scope,
                retriever.ask(row["question"]).answered,
            )
        )
    return examples


def load_all(cache: Path) -> tuple[list[Example], list[Path]]:
    examples: list[Example] = []
    read: list[Path] = []
    for name, questions, corpus in SETS:
        if not questions.exists():
            continue
        examples += load_set(name, questions, corpus, cache)
        read.append(questions)
        read += sorted(p for p in corpus.rglob("*") if p.is_file())
    return examples, read
