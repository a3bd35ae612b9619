"""Fit qa/rank/aliases.json: which corpus word names a question word.

    python -m qa.fit.aliases                  # fit, write qa/rank/aliases.json
    python -m qa.fit.aliases --out other.json

Pairs come from general English relations in scripts/data/word_pairs.json:

* aliases (label 1): a thing and another name for it, both ways round
  (France / French, United States / US, Burma / Myanmar); a group word and
  each member, group first (Baltic -> Estonia: a question about a Baltic
  country is about Estonia); synonyms, both ways round;
* not aliases (label 0): two things of one kind (France / Spain, French /
  Spanish, Monday / Friday), a member and its group, member first
  (Estonia -> Baltic: the articles saying "Baltic" don't mention Estonia),
  opposites, a thing and another thing's name, a group and a non-member.

The model is scored out of fold, each relation list in one fold, and then
on the ``held_out`` pairs, never fit on (no pair with their group words is
fit on either).  The threshold is the one with the largest out-of-fold
share of aliases found less the share of non-aliases taken for one.  The
written file's ``provenance`` says what made it
(:func:`qa.fit.common.provenance`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from qa import words as wordvectors
from qa.embed import Embedder
from qa.fit.common import (
    ROOT,
    MemoEmbedder,
    default_cache,
    in_one_thread,
    main_args,
    provenance,
    write_fitted,
)
from qa.rank.aliases import PARAMS_FILE, pair_features

log = logging.getLogger(__name__)

DATA = ROOT / "scripts" / "data" / "word_pairs.json"
C = 100.0
# The share of (one thing, another thing's other name) pairs fit on as not aliases.
CROSS_SHARE = 0.05
FOLDS = 5
Pair = tuple[str, str, int, str]  # question word, corpus word, label, relation list


def pairs(data: dict[str, Any]) -> tuple[list[Pair], list[Pair]]:
    """The training pairs and the held-out pairs."""
    rng = random.Random(0)
    out: list[Pair] = []
    for a, b in data["names"]:
        out += [(a, b, 1, "names"), (b, a, 1, "names")]
    for a, b in data["synonyms"]:
        out += [(a, b, 1, "synonyms"), (b, a, 1, "synonyms")]
    groups = data["groups"]
    for g, members in groups:
        out += [(g, m, 1, f"group:{g}") for m in members]
        out += [(m, g, 0, f"group:{g}") for m in members]
        others = sorted({m for g2, ms in groups if g2 != g for m in ms} - set(members))
        out += [(g, m, 0, f"group:{g}") for m in rng.sample(others, min(3, len(others)))]
    for i, kind in enumerate(data["siblings"]):
        out += [(a, b, 0, f"siblings:{i}") for a, b in itertools.permutations(kind, 2)]
    for a, b in data["opposites"]:
        out += [(a, b, 0, "opposites"), (b, a, 0, "opposites")]
    names = data["names"]
    for (a1, _), (_, b2) in itertools.combinations(names, 2):
        if rng.random() < CROSS_SHARE:
            out.append((a1, b2, 0, "names"))
    held = [(a, b, int(label), "held_out") for a, b, label in data["held_out"]]
    held_pairs = {frozenset((a, b)) for a, b, *_ in held}
    group_words = {"Scandinavian", "Scandinavia", "Nordic"}
    train = [
        p
        for p in dict.fromkeys(out)
        if frozenset(p[:2]) not in held_pairs and not group_words & set(p[:2]) and p[0] != p[1]
    ]
    return train, held


def features(rows: list[Pair], embedder: Embedder) -> np.ndarray:
    vocab = sorted({w for a, b, *_ in rows for w in (a, b)})
    wl = dict(zip(vocab, wordvectors.vectors(vocab), strict=True))
    ml = dict(zip(vocab, embedder.encode(vocab), strict=True))
    return np.vstack(
        [
            pair_features(a, [b], wl[a], wl[b][None, :], np.array([float(ml[a] @ ml[b])]))
            for a, b, *_ in rows
        ]
    )


def fit(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    return LogisticRegression(C=C, max_iter=20000).fit(x, y, sample_weight=weight)


def fit_aliases(data: dict[str, Any], embedder: Embedder) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fitted model's parameters, and its out-of-fold and held-out scores."""
    train, held = pairs(data)
    x, y = features(train, embedder), np.array([p[2] for p in train])
    # Both orders of a pair, and a group word with all its members, share a fold.
    keys = [p[3] if p[3].startswith("group:") else "|".join(sorted(p[:2])) for p in train]
    folds = sorted(set(keys))
    fold_of = np.array([folds.index(k) for k in keys])
    oof = np.zeros(len(y))
    buckets = np.random.default_rng(0).permutation(len(folds)) % FOLDS
    for k in range(FOLDS):
        test = buckets[fold_of] == k
        oof[test] = fit(x[~test], y[~test]).predict_proba(x[test])[:, 1]
    grid = np.unique(np.round(oof, 3))
    gain = [(oof[y == 1] >= t).mean() - (oof[y == 0] >= t).mean() for t in grid]
    threshold = float(grid[int(np.argmax(gain))])
    model = fit(x, y)
    xh, yh = features(held, embedder), np.array([p[2] for p in held])
    ph = model.predict_proba(xh)[:, 1]
    scores = {
        "pairs": len(y),
        "aliases": int(y.sum()),
        "out_of_fold_auroc": round(float(roc_auc_score(y, oof)), 4),
        "out_of_fold_recall": round(float((oof[y == 1] >= threshold).mean()), 4),
        "out_of_fold_false_alias": round(float((oof[y == 0] >= threshold).mean()), 4),
        "held_out_pairs": len(yh),
        "held_out_auroc": round(float(roc_auc_score(yh, ph)), 4),
        "held_out_recall": round(float((ph[yh == 1] >= threshold).mean()), 4),
        "held_out_false_alias": round(float((ph[yh == 0] >= threshold).mean()), 4),
        "held_out": [f"{a} -> {b}: {p:.2f}" for (a, b, _, _), p in zip(held, ph, strict=True)],
        "held_out_wrong": [
            f"{a} -> {b}: {p:.2f}"
            for (a, b, label, _), p in zip(held, ph, strict=True)
            if (p >= threshold) != bool(label)
        ],
    }
    params = {
        "model": embedder.name,
        "threshold": round(threshold, 6),
        "bias": round(float(model.intercept_[0]), 6),
        "weights": [round(float(w), 6) for w in model.coef_[0]],
    }
    return params, scores


@in_one_thread
def main(argv: Sequence[str] | None = None) -> int:
    """Fit, and write ``--out`` with its provenance."""
    ap = argparse.ArgumentParser(
        prog="python -m qa.fit.aliases",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--out", type=Path, default=PARAMS_FILE)
    ap.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="keep embeddings here between runs (default: %(default)s)",
    )
    ap.add_argument("--no-cache", action="store_true", help="embed everything again")
    argv = main_args(argv)
    args = ap.parse_args(argv)
    embedder = MemoEmbedder(None if args.no_cache else args.cache)
    params, scores = fit_aliases(json.loads(DATA.read_text("utf-8")), embedder)
    embedder.save()
    for name, value in scores.items():
        log.info("%s: %s", name, value)
    params["provenance"] = provenance([DATA], "qa.fit.aliases", argv, scores)
    write_fitted(args.out, params)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
