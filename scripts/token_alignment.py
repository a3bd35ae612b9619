"""Measure token-level alignment as a confidence signal (docs/retrieval.md, "Confidence").

    python scripts/token_alignment.py --cache /tmp/fit-cache

BERTScore-style recall: each word piece of the question is matched to its
closest word piece of the top passage's best sentence by MiniLM's token
vectors.  Three forms (mean, IDF-weighted mean, weakest piece) are added to
the confidence model's signals; the script prints the SQuAD-mix figures
out-of-fold (articles left out), fitted on the full corpus's questions,
with and without them.  Measured, not shipped: it needs a second encoding
per question.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

import qa
from qa.evaluate import read_questions
from qa.fit.common import ROOT, MemoEmbedder, hit
from qa.fit.confidence import CORRECT_FEATURES, mix_figures
from qa.rank import answer_signals, as_row

ALIGNMENT = ("align", "align_idf", "align_min")


def token_vectors(model: object, texts: list[str]) -> list[tuple[np.ndarray, list[int]]]:
    """Unit token vectors and word-piece ids of each text, without [CLS] and [SEP]."""
    out = model.encode(texts, output_value="token_embeddings", batch_size=32)  # type: ignore[attr-defined]
    ids = model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]  # type: ignore[attr-defined]
    result = []
    for vectors, pieces in zip(out, ids, strict=True):
        v = vectors.numpy()[1 : len(pieces) - 1]
        result.append((v / np.linalg.norm(v, axis=1, keepdims=True), pieces[1:-1]))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    squad = ROOT.parent / "shared" / "eval" / "squad2-dev"
    ap.add_argument("--cache", type=Path, help="the embedding cache of qa.fit.scoring")
    args = ap.parse_args()
    embedder = MemoEmbedder(args.cache)
    questions = [q for q in read_questions(squad / "questions.jsonl") if q.get("doc")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        qa.build(squad / "corpus", tmp, embedder=embedder)
        retriever = qa.load(tmp, embedder=embedder)
        scorer = retriever.scorer
        for q, v in zip(
            questions, embedder.encode([q["question"] for q in questions]), strict=True
        ):
            ranking = retriever.rank(q["question"], v)
            feats = as_row(answer_signals(ranking))
            top = retriever.passages[ranking.top.id].text
            answered = scorer.in_scope.probability(feats) >= scorer.in_scope.threshold
            named = retriever.ranker.names_every_word(ranking.top, q["question"], ranking.words)
            rows.append(
                {
                    **feats,
                    "doc": q["doc"],
                    "in_scope": int(q["in_scope"]),
                    "correct": int(q["in_scope"] and hit(top, q["passage_any"])),
                    "answered": answered or named,
                    "question": q["question"],
                    "sentence": ranking.sentences.get(0) or top,
                }
            )
    model = embedder.model
    qs = token_vectors(model, [r["question"] for r in rows])
    ss = token_vectors(model, [r["sentence"] for r in rows])
    df: Counter[int] = Counter()
    for _, pieces in ss:
        df.update(set(pieces))
    for r, (qv, qi), (sv, _) in zip(rows, qs, ss, strict=True):
        best = (qv @ sv.T).max(axis=1) if len(qv) and len(sv) else np.zeros(1)
        w = np.array([math.log((len(ss) + 1) / (df[i] + 1)) for i in qi]) if len(qv) else np.ones(1)
        r.update(align=best.mean(), align_idf=(best * w).sum() / w.sum(), align_min=best.min())
    answered = [r for r in rows if r["answered"]]
    for name, features in (("without", CORRECT_FEATURES), ("with", CORRECT_FEATURES + ALIGNMENT)):
        x = np.array([[r[f] for f in features] for r in answered])
        y = np.array([r["correct"] for r in answered])
        docs = np.array([r["doc"] for r in answered])
        probs = np.zeros(len(answered))
        for doc in sorted(set(docs)):
            test = docs == doc
            fitted = LogisticRegression(max_iter=2000).fit(x[~test], y[~test])
            probs[test] = fitted.predict_proba(x[test])[:, 1]
        by_row = {id(r): p for r, p in zip(answered, probs, strict=True)}
        conf = np.array([by_row.get(id(r), 0.0) for r in rows])
        figures = mix_figures(conf, rows)
        print(f"{name} token alignment: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
