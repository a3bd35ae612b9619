"""Fit the FAQ matcher (qa/rank/faq.json) on the FAQ sets, out of fold by article.

    python -m qa.fit.faq [--cache DIR] [--check]

The ranker is a linear model over each pair's signals (qa.rank.faq.SIGNALS), fitted on
pairwise preferences: the right pair's signals minus each other pair's. The show model is
a logistic regression over the best pair's signals, fitted on every question, those no
pair answers included. Each set weighs the same in both fits, so the large, easy faq-dev
set does not decide them. The scores written are out of fold: each article's questions
are scored by models fitted without that article. --check prints them and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

import qa
from qa.answer.question import question_text
from qa.fit.common import (
    ROOT,
    SHARED_EVAL,
    MemoEmbedder,
    corpus_files,
    default_cache,
    in_one_thread,
    main_args,
    provenance,
    relative,
    rounded,
    write_fitted,
)
from qa.rank.faq import MODEL_FILE, SHOW_SIGNALS, SIGNALS, faq_signals, show_row
from qa.store.base import Field

log = logging.getLogger(__name__)
SHARED = SHARED_EVAL

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


def load_set(
    name: str, questions: Path, corpus: Path, embedder: MemoEmbedder, tmp: Path
) -> list[Example]:
    index = tmp / name
    qa.build(str(corpus), str(index), embedder=embedder)
    retriever = qa.load(str(index), embedder=embedder)
    faqs = retriever.faqs
    docs = sorted({f.doc for f in faqs})
    examples = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
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
        examples.append(
            Example(
                name,
                f"{name}:{doc}",
                row["question"],
                signals,
                right,
                bool(row.get("in_scope", True)),
                ranking.words,
                retriever.store.vocabulary(Field.FAQ),
                retriever.scorer.decide(ranking).in_scope,
            )
        )
    return examples


def load_all(embedder: MemoEmbedder) -> tuple[list[Example], list[Path]]:
    """Every set's examples, and the files read: each set's questions and corpus."""
    examples: list[Example] = []
    read: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="qa-fit-faq-") as tmp:
        for name, questions, corpus in SETS:
            if not questions.exists():
                continue
            examples += load_set(name, questions, corpus, embedder, Path(tmp))
            read += [questions, *corpus_files(corpus)]
    embedder.save()
    return examples, read


C = 1.0  # the logistic regressions' inverse regularisation, on standardised signals
HARD = 5  # wrong pairs per question in the ranker's fit: the nearest ones by QP
QP = SIGNALS.index("qp")


def style(e: Example) -> str:
    """The sets that ask about one corpus in one way weigh as one."""
    return e.set.split("-")[0]


def set_weights(examples: list[Example]) -> np.ndarray:
    """Each example's weight: every style of set sums to the same total."""
    counts: dict[str, int] = {}
    for e in examples:
        counts[style(e)] = counts.get(style(e), 0) + 1
    return np.array([1.0 / counts[style(e)] for e in examples])


def fit_rank(examples: list[Example], weights: np.ndarray) -> np.ndarray:
    diffs, ws = [], []
    for e, w in zip(examples, weights, strict=True):
        if not e.right:
            continue
        right = min(e.right)
        # The pairs nearest the question are the ones the ranker must tell apart.
        wrong = [j for j in np.argsort(-e.signals[:, QP]) if j not in e.right][:HARD]
        if not wrong:
            continue
        d = e.signals[right] - e.signals[wrong]
        diffs += [d, -d]
        ws += [np.full(len(wrong), w / len(wrong))] * 2
    x = np.vstack(diffs)
    y = np.concatenate(
        [np.ones(len(d)) if i % 2 == 0 else np.zeros(len(d)) for i, d in enumerate(diffs)]
    )
    scale = x.std(axis=0) + 1e-9
    model = LogisticRegression(C=C, fit_intercept=False, max_iter=2000)
    model.fit(x / scale, y, sample_weight=np.concatenate(ws) * len(examples))
    return model.coef_[0] / scale


def show_data(
    examples: list[Example], rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, labels, best = [], [], []
    for e in examples:
        b, row = show_row(e.signals, e.signals @ rank, e.words, e.vocab, e.passage_in_scope)
        rows.append(row)
        labels.append(float(b in e.right))
        best.append(b)
    return np.vstack(rows), np.array(labels), np.array(best)


def fit_show(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=C, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=weights * len(y))
    return {
        "weights": model.coef_[0].tolist(),
        "bias": float(model.intercept_[0]),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
    }


def probability(show: dict[str, Any], x: np.ndarray) -> np.ndarray:
    mean, scale = np.asarray(show["mean"]), np.asarray(show["scale"])
    z = ((x - mean) / scale) @ np.asarray(show["weights"]) + float(show["bias"])
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Fitted:
    rank: np.ndarray  # the ranker's weights, one per signal
    show: dict[str, Any]  # the show model: weights, bias, mean, scale


def fit(examples: list[Example]) -> Fitted:
    weights = set_weights(examples)
    rank = fit_rank(examples, weights)
    # Every question, the passages' declines too: a pair the passages miss is still shown.
    x, y, _ = show_data(examples, rank)
    return Fitted(rank, fit_show(x, y, weights))


def out_of_fold(examples: list[Example], threshold: float) -> dict[str, dict[str, float]]:
    """Each set's FAQ figures, every article scored by models fitted without it."""
    shown: dict[int, int | None] = {}
    ranked: dict[int, int | None] = {}
    for group in sorted({e.group for e in examples}):
        train = [e for e in examples if e.group != group]
        test = [(i, e) for i, e in enumerate(examples) if e.group == group]
        models = fit(train)
        x, _, best = show_data([e for _, e in test], models.rank)
        p = probability(models.show, x)
        for (i, _), b, pi in zip(test, best, p, strict=True):
            shown[i] = int(b) if pi >= threshold else None
            ranked[i] = int(b)
    figures = report(examples, shown)
    for name, fig in report(examples, ranked).items():
        figures[name]["ranked_first"] = fig["accuracy"]
    return figures


THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
FALSE_SHOW_COST = 2.0
ROUNDED = ("weights", "mean", "scale")


def choose_threshold(examples: list[Example]) -> tuple[float, dict[str, dict[str, float]]]:
    """The show threshold with the best out-of-fold accuracy less false shows, summed over sets.

    Each figure is a share of its kind of question in its set. A pair shown where none
    applies costs FALSE_SHOW_COST right pairs not shown: it tells the reader something the
    articles do not say to the question, where a missing pair only leaves the passage.
    """
    best: tuple[float, float, dict[str, dict[str, float]]] | None = None
    for t in THRESHOLDS:
        figures = out_of_fold(examples, t)
        value = sum(
            f["accuracy"]
            - FALSE_SHOW_COST * f["shown_where_none_applies"] / max(f["none_applies"], 1)
            for f in figures.values()
        )
        if best is None or value > best[0] + 1e-9:
            best = (value, t, figures)
    assert best is not None
    return best[1], best[2]


def report(examples: list[Example], shown: dict[int, int | None]) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    q = SIGNALS.index("qq")
    for name in sorted({e.set for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.set == name]
        labelled = [i for i in idx if examples[i].right]
        none = [i for i in idx if not examples[i].right]
        right = sum(shown[i] in examples[i].right for i in labelled)
        floor = sum(
            int(np.argmax(examples[i].signals[:, q])) in examples[i].right for i in labelled
        )
        figures[name] = {
            "labelled": len(labelled),
            "accuracy": round(right / len(labelled), 4) if labelled else 0.0,
            "qq_cosine_floor": round(floor / len(labelled), 4) if labelled else 0.0,
            "none_applies": len(none),
            "shown_where_none_applies": sum(shown[i] is not None for i in none),
        }
    return figures


@in_one_thread
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qa.fit.faq", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="keep embeddings here between runs (default: %(default)s)",
    )
    parser.add_argument("--no-cache", action="store_true", help="embed everything again")
    parser.add_argument("--check", action="store_true", help="print the scores, write nothing")
    args_list = main_args(argv)
    args = parser.parse_args(args_list)
    examples, read = load_all(MemoEmbedder(None if args.no_cache else args.cache))
    threshold, scores = choose_threshold(examples)
    for name, fig in scores.items():
        log.info("%s %s", name, fig)
    if args.check:
        return 0
    models = fit(examples)
    show = dict(models.show, signals=list(SHOW_SIGNALS), threshold=threshold)
    out = {
        "signals": list(SIGNALS),
        "rank": {"weights": rounded(list(models.rank))},
        "show": {k: rounded(val) if k in ROUNDED else val for k, val in show.items()},
        "provenance": provenance(read, "qa.fit.faq", args_list, scores),
    }
    write_fitted(MODEL_FILE, out)
    log.info("wrote %s", relative(MODEL_FILE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
