"""Fit qa/answer/followup.json: which earlier words a follow-up borrows, and when
the reading with context is used.  qa/answer/followup.py explains the method.

    python -m qa.fit.followups                     # fit on SQuAD dev, write qa/answer/followup.json
    python -m qa.fit.followups --index /tmp/squad  # reuse a built SQuAD index
    python -m qa.fit.followups --out other.json

The fit data are synthetic conversations built from SQuAD dev (no
conversation file is read), of three kinds, each a pair of turns:

* follow-up: two questions about one paragraph; in the second, the words
  it shares with the first are replaced by a pronoun ("When was it
  built?"), or it is cut to "And <its own name>?";
* same article: the second question about another paragraph of the same
  article, as written;
* new topic: the second question from another article, as written.

The decline model for readings with context (``answer``) is fit on two
indexes, each of half the articles: a follow-up about an indexed article
is covered, one about an article left out (as written, or cut to
"And <its name>?") is not; each half's figures come from the model fit on
the other half.

Every figure printed is out-of-fold: cross-validation leaves whole articles
out.  The script uses the product's own code (``Retriever.rank``,
``qa.answer.followup.read_with_history``), so the features are the ones
``ask`` computes.  The written file's ``provenance`` says what made it
(:func:`qa.fit.common.provenance`).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

import qa
from qa.answer.followup import (
    ANSWER_FEATURES,
    PARAMS_FILE,
    SELECT_FEATURES,
    FollowupModel,
    read_with_history,
)
from qa.evaluate import read_questions
from qa.fit.common import (
    SQUAD_CORPUS,
    SQUAD_QUESTIONS,
    MemoEmbedder,
    corpus_files,
    default_cache,
    in_one_thread,
    main_args,
    provenance,
    write_fitted,
)
from qa.rank import Linear, question_words
from qa.text import information, stems

log = logging.getLogger(__name__)

SEED = 15
PAIRS_PER_KIND = 1200  # follow-ups at most (one a paragraph)
MIN_INFO_GRID = (3.0, 3.5, 4.0, 4.5, 5.0)
MAX_ADDED_GRID = (2, 4, 6)
FOLDS = 4
# A shared word is "the thing referred to" when it is at least this rare;
# commoner shared words ("year", "first") stay in the follow-up.
REFER_INFO = 4.0
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those"}


@dataclass
class Pair:
    kind: str
    doc: str
    first: str
    second: str
    needles: list[str]


def _pronoun_version(first: str, second: str) -> str | None:
    """``second`` with the rare words it shares with ``first`` (and the
    names around them) replaced by one pronoun, or None if it shares none."""
    shared = {s for s in stems(re.findall(r"\w+", first.lower()))}
    tokens = second.split()
    plain = [re.sub(r"\W", "", t).lower() for t in tokens]
    refer = [bool(p) and stems([p])[0] in shared and information(p) >= REFER_INFO for p in plain]
    if not any(refer):
        return None
    # A capitalised neighbour of a referred word is part of the same name.
    for i in range(len(tokens)):
        if refer[i]:
            for j in (i - 1, i + 1):
                if 0 < j < len(tokens) and tokens[j][:1].isupper():
                    refer[j] = True
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if not refer[i]:
            out.append(tokens[i])
            i += 1
            continue
        if out and out[-1].lower() in _DETERMINERS:
            out.pop()
        while i < len(tokens) and refer[i]:
            tail = re.sub(r"[\w'-]+", "", tokens[i])  # keep a closing "?" or ","
            i += 1
        out.append("it" + tail)
    text = " ".join(out)
    return text[0].upper() + text[1:] if text else None


def _ellipsis_version(first: str, second: str) -> str | None:
    """ "And <second's name that first lacks>?", or None if it has none."""
    have = set(stems(re.findall(r"\w+", first.lower())))
    spans = re.findall(r"(?<!^)\b([A-Z][\w'-]+(?: [A-Z][\w'-]+)*)", second)
    spans = [s for s in spans if not set(stems(s.lower().split())) <= have]
    return f"And {spans[0]}?" if spans else None


def make_pairs(questions: list[dict[str, Any]], rng: random.Random) -> list[Pair]:
    by_para: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        if q["in_scope"]:
            by_para[q["passage_any"][0]].append(q)
            by_doc[q["doc"]].append(q)
    paras = [qs for qs in by_para.values() if len(qs) >= 2]
    docs = sorted(by_doc)
    pairs: list[Pair] = []
    follow: list[Pair] = []
    for qs in rng.sample(paras, len(paras)):
        a, b = rng.sample(qs, 2)
        made = _pronoun_version(a["question"], b["question"])
        if made is None or len(follow) % 4 == 3:
            made = _ellipsis_version(a["question"], b["question"]) or made
        if made:
            follow.append(Pair("follow-up", a["doc"], a["question"], made, b["passage_any"]))
        if len(follow) >= PAIRS_PER_KIND:
            break
    pairs += follow
    # As many pairs of each other kind, so each kind weighs the same in the fit.
    for kind in ("same article", "new topic"):
        for _ in range(len(follow)):
            doc = rng.choice(docs)
            a = rng.choice(by_doc[doc])
            if kind == "same article":
                b = rng.choice([q for q in by_doc[doc] if q["passage_any"] != a["passage_any"]])
            else:
                b = rng.choice(by_doc[rng.choice([d for d in docs if d != doc])])
            pairs.append(Pair(kind, doc, a["question"], b["question"], b["passage_any"]))
    return pairs


def _right(retriever: qa.Retriever, ranking: Any, needles: list[str]) -> bool:
    if not ranking.candidates:
        return False
    text = retriever.passages[ranking.top.id].text
    return any(n in text for n in needles)


@in_one_thread
def main(argv: Sequence[str] | None = None) -> int:
    """Fit, and write ``--out`` with its provenance."""
    ap = argparse.ArgumentParser(
        prog="python -m qa.fit.followups", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--questions", default=str(SQUAD_QUESTIONS))
    ap.add_argument("--corpus", default=str(SQUAD_CORPUS))
    ap.add_argument(
        "--index", help="a built index of --corpus (built in a temporary folder if not)"
    )
    ap.add_argument("--out", default=str(PARAMS_FILE))
    ap.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="keep embeddings here between runs (default: %(default)s)",
    )
    ap.add_argument("--no-cache", action="store_true", help="embed everything again")
    ap.add_argument(
        "--answer-only",
        action="store_true",
        help="keep --out's word and select parameters; refit only the decline model",
    )
    argv = main_args(argv)
    args = ap.parse_args(argv)
    data = [Path(args.questions), *corpus_files(Path(args.corpus))]
    rng = random.Random(SEED)
    embedder = MemoEmbedder(None if args.no_cache else args.cache)
    if args.answer_only:
        old = json.loads(Path(args.out).read_text("utf-8"))
        kept = FollowupModel.from_dict(old)
        answer, answer_scores = fit_answer(args, kept, rng, embedder)
        embedder.save()
        model = FollowupModel(kept.min_info, kept.max_added, kept.select, answer)
        select_scores = old.get("provenance", {}).get("scores", {}).get("select", {})
        scores = {"select": select_scores, "answer": answer_scores}
        prov = provenance(data, "qa.fit.followups", argv, scores)
        write_fitted(Path(args.out), {**model.to_dict(), "provenance": prov})
        log.info("wrote %s", args.out)
        return 0
    pairs = make_pairs(read_questions(args.questions), rng)
    with tempfile.TemporaryDirectory(prefix="qa-fit-followups-") as tmp:
        index = args.index
        if not index:
            qa.build(args.corpus, tmp, progress=False, embedder=embedder)
            index = tmp
        retriever = qa.load(index, embedder=embedder)
        vectors = retriever.embedder.encode([p.second for p in pairs])
        alone = [
            retriever.rank(p.second, v, question_words(p.second))
            for p, v in zip(pairs, vectors, strict=True)
        ]
        alone_right = np.array(
            [_right(retriever, r, p.needles) for r, p in zip(alone, pairs, strict=True)]
        )
        results: dict[tuple[float, int], dict[str, Any]] = {}
        for min_info in MIN_INFO_GRID:
            for max_added in MAX_ADDED_GRID:
                model = FollowupModel(min_info, max_added, Linear((), ()))
                rows: list[list[float] | None] = []
                ctx_right: list[bool] = []
                for p, r in zip(pairs, alone, strict=True):
                    read = read_with_history(retriever.ranker, model, p.second, r, [p.first])
                    if read.context is None:
                        rows.append(None)
                        ctx_right.append(_right(retriever, r, p.needles))
                    else:
                        rows.append([read.features[f] for f in SELECT_FEATURES])
                        ctx_right.append(_right(retriever, read.context, p.needles))
                results[(min_info, max_added)] = _cross_validate(
                    pairs, rows, alone_right, np.array(ctx_right)
                )
                hits = results[(min_info, max_added)]["hit"]
                log.info(
                    "min_info %.1f max_added %d: %s",
                    min_info,
                    max_added,
                    "  ".join(f"{k} {v:.3f}" for k, v in hits.items()),
                )
    best = max(results, key=lambda k: results[k]["hit"]["fitted"])
    chosen = results[best]
    log.info("\nchosen: min_info %s, max_added %s", best[0], best[1])
    log.info("out-of-fold hit@1 of the chosen reading, by kind of pair:")
    for kind, figures in chosen["by_kind"].items():
        log.info("  %-13s %s", kind, "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    model = FollowupModel(best[0], best[1], chosen["select"])
    # A fresh generator, as --answer-only uses, so both runs fit the same model.
    answer, answer_scores = fit_answer(args, model, random.Random(SEED), embedder)
    embedder.save()
    model = FollowupModel(best[0], best[1], chosen["select"], answer)
    scores = {
        "select": {"hit@1": chosen["hit"], "hit@1_by_kind": chosen["by_kind"]},
        "answer": answer_scores,
    }
    prov = provenance(data, "qa.fit.followups", argv, scores)
    write_fitted(Path(args.out), {**model.to_dict(), "provenance": prov})
    log.info("wrote %s", args.out)
    return 0


def _cross_validate(
    pairs: list[Pair],
    rows: list[list[float] | None],
    alone_right: np.ndarray,
    ctx_right: np.ndarray,
) -> dict[str, Any]:
    """Out-of-fold hit@1 of each way of choosing the reading, and the model fit on all."""
    docs = sorted({p.doc for p in pairs})
    fold_of = {d: i % FOLDS for i, d in enumerate(docs)}
    has = np.array([r is not None for r in rows])
    x = np.array([r if r is not None else [0.0] * len(SELECT_FEATURES) for r in rows])
    # The label is which reading finds the right passage; ties teach nothing.
    useful = has & (alone_right != ctx_right)
    chosen = np.zeros(len(pairs), dtype=bool)
    for fold in range(FOLDS):
        test = np.array([fold_of[p.doc] == fold for p in pairs])
        fit = _fit(x[useful & ~test], ctx_right[useful & ~test])
        chosen[test] = has[test] & (fit.predict_proba(x[test])[:, 1] >= 0.5)
    pointer = x[:, SELECT_FEATURES.index("pointer")] + x[:, SELECT_FEATURES.index("opener")] > 0
    ways = {
        "alone": alone_right,
        "context": np.where(has, ctx_right, alone_right),
        "cue": np.where(has & pointer, ctx_right, alone_right),
        "fitted": np.where(chosen, ctx_right, alone_right),
    }
    kinds = sorted({p.kind for p in pairs})
    by_kind = {
        k: {w: float(v[[p.kind == k for p in pairs]].mean()) for w, v in ways.items()}
        for k in kinds
    }
    model = _fit(x[useful], ctx_right[useful])
    select = Linear(
        SELECT_FEATURES,
        tuple(float(w) for w in model.coef_[0]),
        float(model.intercept_[0]),
        0.5,
    )
    return {
        "hit": {w: float(v.mean()) for w, v in ways.items()},
        "by_kind": by_kind,
        "select": select,
    }


def fit_answer(
    args: argparse.Namespace, model: FollowupModel, rng: random.Random, embedder: MemoEmbedder
) -> tuple[Linear, dict[str, Any]]:
    """The decline model for readings with context, fit across two half-corpus indexes,
    and each half's out-of-fold figures."""
    questions = [q for q in read_questions(args.questions) if q["in_scope"]]
    docs = sorted({q["doc"] for q in questions})
    shuffled = rng.sample(docs, len(docs))
    halves = [set(shuffled[::2]), set(shuffled[1::2])]
    data: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # x, y, right per half
    for indexed in halves:
        inside = [q for q in questions if q["doc"] in indexed]
        outside = [q for q in questions if q["doc"] not in indexed]
        pairs = [p for p in make_pairs(inside, rng) if p.kind == "follow-up"]
        # Questions the index does not cover: as written, or cut to "And <its name>?".
        negatives = []
        for _ in range(len(pairs)):
            a, b = rng.choice(inside), rng.choice(outside)
            second = b["question"]
            if rng.random() < 0.5:
                second = _ellipsis_version(a["question"], second) or second
            negatives.append(Pair("not covered", a["doc"], a["question"], second, []))
        with tempfile.TemporaryDirectory(prefix="qa-fit-half-") as tmp:
            folder = Path(tmp) / "corpus"
            folder.mkdir()
            for doc in Path(args.corpus).glob("*.txt"):
                if doc.read_text("utf-8").splitlines()[0].strip() in indexed:
                    (folder / doc.name).write_text(doc.read_text("utf-8"), "utf-8")
            qa.build(folder, Path(tmp) / "index", progress=False, embedder=embedder)
            retriever = qa.load(Path(tmp) / "index", embedder=embedder)
            rows: list[list[float]] = []
            ys: list[bool] = []
            found: list[bool] = []
            for p in pairs + negatives:
                alone = retriever.rank(p.second)
                read = read_with_history(retriever.ranker, model, p.second, alone, [p.first])
                if not read.with_context or read.context is None:
                    continue
                rows.append([read.features[f] for f in ANSWER_FEATURES])
                ys.append(p.kind != "not covered")
                found.append(_right(retriever, read.context, p.needles))
        data.append((np.array(rows), np.array(ys), np.array(found)))
    log.info("\nreadings with context, answered (out-of-fold, each half by the other's model):")
    figures: dict[str, Any] = {}
    for i, (x, y, right) in enumerate(data):
        fit = _fit(*data[1 - i][:2], balanced=True)
        answered = fit.predict_proba(x)[:, 1] >= 0.5
        half = {
            "covered_answered": float(answered[y].mean()),
            "covered_right": float((answered & right)[y].mean()),
            "not_covered_declined": float((~answered[~y]).mean()),
            "covered": int(y.sum()),
            "not_covered": int((~y).sum()),
        }
        figures[f"half {i + 1}"] = half
        log.info(
            "  half %d: covered answered %.3f (right %.3f), not covered declined %.3f  (n %d/%d)",
            i + 1,
            half["covered_answered"],
            half["covered_right"],
            half["not_covered_declined"],
            half["covered"],
            half["not_covered"],
        )
    fit = _fit(
        np.concatenate([d[0] for d in data]), np.concatenate([d[1] for d in data]), balanced=True
    )
    linear = Linear(
        ANSWER_FEATURES, tuple(float(w) for w in fit.coef_[0]), float(fit.intercept_[0]), 0.5
    )
    return linear, figures


def _fit(x: np.ndarray, y: np.ndarray, balanced: bool = False) -> LogisticRegression:
    if balanced:
        return LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(x, y)
    return LogisticRegression(C=1.0, max_iter=2000).fit(x, y)


if __name__ == "__main__":
    sys.exit(main())
