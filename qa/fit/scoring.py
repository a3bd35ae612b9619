"""Fit qa/rank/scoring.json from labelled questions: the ranker, the decline model
and the confidence model.  docs/retrieval.md explains each.

    python -m qa.fit.scoring                 # fit on SQuAD dev, write qa/rank/scoring.json
    python -m qa.fit.scoring --check ../shared/eval/article_dev.jsonl
    python -m qa.fit.scoring --questions my.jsonl --corpus my-corpus/ --out my-scoring.json

The questions use the ``qa eval`` format.  Every figure printed is
out-of-fold: cross-validation leaves whole documents out, so no document's
questions are scored by a model fitted on them.  The script uses the
product's own code (``qa.build``, ``Retriever.rank``), so the fitted
features are exactly the ones the retriever computes.  The written file's
``provenance`` says what made it (:func:`qa.fit.common.provenance`).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

import qa
from qa.answer import Retriever
from qa.embed import Embedder
from qa.evaluate import passage_hit, read_questions
from qa.fit.common import (
    ROOT,
    SQUAD_CORPUS,
    SQUAD_QUESTIONS,
    MemoEmbedder,
    corpus_files,
    default_cache,
    fit_logistic,
    in_one_thread,
    main_args,
    matrix,
    out_of_fold,
    provenance,
    to_linear,
    write_fitted,
)
from qa.fit.confidence import ablate, fit_confidence
from qa.rank import Linear, answer_signals, as_row
from qa.rank.features import IN_SCOPE as IN_SCOPE_FEATURES
from qa.rank.features import RANK as RANK_FEATURES
from qa.text import terms
from qa.units import context

log = logging.getLogger(__name__)

# Share of covered questions the decline threshold lets through.  SQuAD's
# questions reuse their paragraph's words, so they match far better than a
# reader's paraphrases do; a threshold that turns away 2% of them turns away
# many more real questions.  docs/retrieval.md shows the trade-off.
ANSWER_RATE = 0.995
# The ranker's examples are weighed by lexical overlap (fit_ranker): bins of
# the overlap, and the powers of the flattening weight tried.
OVERLAP_BINS = 5
OVERLAP_ALPHAS = tuple(round(0.1 * i, 1) for i in range(11))
SAMPLE_PER_DOC = 60  # questions per document in the leave-out settings, to keep the fit quick
SEED = 13


def build_subset(corpus: Path, files: list[Path], embedder: Embedder, tmp: Path) -> Retriever:
    folder = Path(tempfile.mkdtemp(dir=tmp))
    (folder / "corpus").mkdir()
    for f in files:
        (folder / "corpus" / f.name).write_bytes(f.read_bytes())
    qa.build(folder / "corpus", folder / "index", embedder=embedder)
    return qa.load(folder / "index", embedder=embedder)


# ------------------------------------------------------------------ ranker


def overlap(retriever: Retriever, words: list[tuple[str, float]], passage_id: int) -> float:
    """The share of the question's distinct content terms that its right passage uses."""
    wanted = {term for term, _ in words}
    if not wanted:
        return 0.0
    p = retriever.passages[passage_id]
    return len(wanted & set(terms(context(p.doc, p.heading) + p.text))) / len(wanted)


def overlap_weights(overlaps: np.ndarray, alpha: float) -> np.ndarray:
    """Per-question weights that flatten the overlap distribution, to the power ``alpha``.

    SQuAD's questions mostly reuse their paragraph's words (two thirds of
    them share 80% or more); a reader's paraphrase shares far fewer.  Each of
    OVERLAP_BINS equal-width bins of overlap gets the same total weight at
    ``alpha`` = 1, and every question weight 1 at ``alpha`` = 0.
    """
    bins = np.minimum((overlaps * OVERLAP_BINS).astype(int), OVERLAP_BINS - 1)
    counts = np.bincount(bins, minlength=OVERLAP_BINS).astype(np.float64)
    w = (1.0 / np.maximum(counts[bins], 1.0)) ** alpha
    return w / w.mean()


def fit_ranker(
    retriever: Retriever, questions: list[dict[str, Any]]
) -> tuple[Linear, dict[str, Any]]:
    """Pointwise logistic regression: is this candidate the right passage?

    Examples are weighed by their question's lexical overlap with its right
    passage (:func:`overlap_weights`); the power ``alpha`` is the one whose
    model ranks best out of fold (whole documents left out), on the
    unweighted questions: by hit@1, ties by MRR.
    """
    rows = []
    overlaps = np.zeros(len(questions))
    for i, q in enumerate(questions):
        ranking = retriever.rank(q["question"], q["qvec"])
        found = False
        for cand in ranking.candidates:
            text = retriever.passages[cand.id].text
            right = passage_hit(text, q["passage_any"])
            if right and not found:  # the best-ranked right passage
                overlaps[i] = overlap(retriever, ranking.words, cand.id)
                found = True
            rows.append(
                {
                    **{f: getattr(cand, f) for f in RANK_FEATURES},
                    "y": right,
                    "q": i,
                    "doc": q["doc"],
                }
            )
    x, y = matrix(rows, RANK_FEATURES), np.array([r["y"] for r in rows])
    q_of = np.array([r["q"] for r in rows])
    docs = np.array([r["doc"] for r in rows])
    n = len(questions)

    def cross_validate(weights: np.ndarray) -> dict[str, float]:
        """Out-of-fold ranking quality, leaving each document's questions out."""
        scores = np.zeros(len(rows))
        for doc in sorted(set(docs)):
            test = docs == doc
            model = LogisticRegression(C=1.0, max_iter=2000)
            model.fit(x[~test], y[~test], sample_weight=weights[~test])
            scores[test] = model.decision_function(x[test])
        ranks = []
        for i in range(n):
            mine = q_of == i
            order = y[mine][np.argsort(-scores[mine], kind="stable")]
            ranks.append(int(np.argmax(order)) if order.any() else None)
        return {
            "hit@1": sum(r == 0 for r in ranks) / n,
            "hit@5": sum(r is not None and r < 5 for r in ranks) / n,
            "mrr": sum(1 / (r + 1) for r in ranks if r is not None) / n,
        }

    by_alpha = {}
    for alpha in OVERLAP_ALPHAS:
        weights = overlap_weights(overlaps, alpha)[q_of]
        by_alpha[alpha] = cross_validate(weights)
        log.info("ranker, overlap weight power %s: %s", alpha, json.dumps(by_alpha[alpha]))
    best = max(OVERLAP_ALPHAS, key=lambda a: (round(by_alpha[a]["hit@1"], 9), by_alpha[a]["mrr"]))
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x, y, sample_weight=overlap_weights(overlaps, best)[q_of])
    linear = to_linear(model, RANK_FEATURES)
    return Linear(linear.features, linear.weights, 0.0), {"overlap_power": best, **by_alpha[best]}


# ------------------------------------------------------------------ decline + confidence


def question_rows(
    retriever: Retriever, questions: list[dict[str, Any]], in_scope: bool, setting: str
) -> list[dict[str, Any]]:
    rows = []
    for q in questions:
        ranked = retriever.rank(q["question"], q["qvec"])
        feats = as_row(answer_signals(ranked))
        top = retriever.passages[ranked.top.id].text
        rows.append(
            {
                **feats,
                "named": retriever.ranker.names_every_word(ranked.top, q["question"], ranked.words),
                "in_scope": int(in_scope),
                "doc": q["doc"],
                "setting": setting,
                "correct": int(in_scope and passage_hit(top, q["passage_any"])),
                "top_id": ranked.top.id,
                "qvec": q["qvec"],
                "question": q["question"],
            }
        )
    return rows


def decline_ablation(scope_rows: list[dict[str, Any]], adversarial: list, every: list) -> None:
    """The answered rates of each setting, with and without each decline signal."""
    log.info("decline ablation (out-of-fold answered rates):")
    named = np.array([r["named"] for r in every])
    for name, features in [("all", IN_SCOPE_FEATURES)] + [
        (f"without {f}", tuple(g for g in IN_SCOPE_FEATURES if g != f)) for f in IN_SCOPE_FEATURES
    ]:
        probs = out_of_fold(scope_rows, features, "in_scope", extra=adversarial)
        covered = np.array([r["in_scope"] == 1 for r in scope_rows] + [False] * len(adversarial))
        answers = (probs >= np.quantile(probs[covered], 1 - ANSWER_RATE)) | named
        rates = []
        for setting, label in (
            ("full", 1),
            ("full", 0),
            ("leave-one-out", 0),
            ("one-document", 1),
            ("one-document", 0),
        ):
            sel = np.array([r["setting"] == setting and r["in_scope"] == label for r in every])
            rates.append(f"{setting}/{'covered' if label else 'not'} {answers[sel].mean():.3f}")
        log.info("  %-28s %s", name, "  ".join(rates))


# ------------------------------------------------------------------ main


@in_one_thread
def main(argv: Sequence[str] | None = None) -> int:
    """Fit, write ``--out`` with its provenance, and print it."""
    ap = argparse.ArgumentParser(
        prog="python -m qa.fit.scoring",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--corpus", type=Path, default=SQUAD_CORPUS)
    ap.add_argument("--questions", type=Path, default=SQUAD_QUESTIONS)
    ap.add_argument("--out", type=Path, default=ROOT / "qa" / "rank" / "scoring.json")
    ap.add_argument(
        "--check",
        type=Path,
        action="append",
        default=[],
        help="a question file to report on with the fitted parameters (not fitted on)",
    )
    ap.add_argument("--check-corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="keep embeddings here between runs (default: %(default)s)",
    )
    ap.add_argument("--no-cache", action="store_true", help="embed everything again")
    ap.add_argument("--dump", type=Path, help="write the fitting rows here as JSON")
    ap.add_argument(
        "--ablate", action="store_true", help="also print the decline and confidence ablations"
    )
    argv = main_args(argv)
    args = ap.parse_args(argv)

    rng = random.Random(SEED)
    embedder = MemoEmbedder(None if args.no_cache else args.cache)
    rows = read_questions(args.questions)
    answerable = [r for r in rows if r["in_scope"]]
    # The questions the corpus does not answer though they look as if it did
    # (SQuAD 2.0's adversarial ones): the confidence must see them too.
    unanswerable = [r for r in rows if not r["in_scope"] and r.get("doc")]
    for r in rows:
        r.setdefault("doc", "")
        r.setdefault("passage_any", [])
    vecs = embedder.encode([r["question"] for r in answerable + unanswerable])
    for r, v in zip(answerable + unanswerable, vecs, strict=True):
        r["qvec"] = v
    files = corpus_files(args.corpus)
    titles = {qa.corpus.parse_file(f).title: f for f in files}
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in answerable:
        by_doc[r["doc"]].append(r)
    sample = {d: rng.sample(qs, min(SAMPLE_PER_DOC, len(qs))) for d, qs in by_doc.items()}

    with tempfile.TemporaryDirectory(prefix="qa-fit-") as tmp_name:
        tmp = Path(tmp_name)
        full = build_subset(args.corpus, files, embedder, tmp)
        embedder.save()  # every passage and question is embedded now
        log.info(
            "corpus: %d documents, %d passages; %d answerable questions",
            len(files),
            len(full.passages),
            len(answerable),
        )

        rank, rank_cv = fit_ranker(full, answerable)
        log.info("ranker (leave-document-out): %s", json.dumps(rank_cv))
        params = json.loads(args.out.read_text()) if args.out.exists() else {"candidates": 20}
        params.pop("provenance", None)  # written anew below
        params["rank"] = rank.to_dict()

        def set_params(retriever: Retriever) -> None:
            retriever.scorer.rank = rank

        set_params(full)
        positives = question_rows(full, answerable, True, "full")
        adversarial = question_rows(full, unanswerable, False, "full")
        negatives: list[dict[str, Any]] = []
        small: list[dict[str, Any]] = []
        for doc, path in titles.items():
            others = [f for f in files if f != path]
            # The corpus without this document: its questions are not covered.
            loo = build_subset(args.corpus, others, embedder, tmp)
            set_params(loo)
            negatives += question_rows(loo, sample[doc], False, "leave-one-out")
            # This document alone: its questions are covered, others' are not.
            alone = build_subset(args.corpus, [path], embedder, tmp)
            set_params(alone)
            small += question_rows(alone, sample[doc], True, "one-document")
            foreign = [q for d, qs in sample.items() if d != doc for q in qs]
            small += question_rows(
                alone, rng.sample(foreign, SAMPLE_PER_DOC), False, "one-document"
            )
            for r in small[-SAMPLE_PER_DOC:]:
                r["doc"] = doc  # grouped by the corpus's document for cross-validation
        scope_rows = positives + negatives + small
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            for name, dumped in (("scope", scope_rows), ("adversarial", adversarial)):
                (args.dump / f"{name}.json").write_text(
                    json.dumps([{k: v for k, v in r.items() if k != "qvec"} for r in dumped])
                )
        # The adversarial questions are not fitted on here: on the decline
        # model's signals they look covered (docs/retrieval.md).
        every = scope_rows + adversarial
        probs = out_of_fold(scope_rows, IN_SCOPE_FEATURES, "in_scope", extra=adversarial)
        covered = np.array([r["in_scope"] == 1 for r in scope_rows] + [False] * len(adversarial))
        threshold = float(np.quantile(probs[covered], 1 - ANSWER_RATE))
        # Answered as the retriever would: by the model, or because the top
        # passage names every word of the question (Ranker.names_every_word).
        answers = (probs >= threshold) | np.array([r["named"] for r in every])
        in_scope = to_linear(
            fit_logistic(
                matrix(scope_rows, IN_SCOPE_FEATURES), np.array([r["in_scope"] for r in scope_rows])
            ),
            IN_SCOPE_FEATURES,
            threshold,
        )
        params["in_scope"] = in_scope.to_dict()
        answered_rates: dict[str, float] = {}
        for setting in ("full", "leave-one-out", "one-document"):
            for label in (1, 0):
                sel = np.array([r["setting"] == setting and r["in_scope"] == label for r in every])
                if sel.any():
                    rate = float(answers[sel].mean())
                    which = "covered" if label else "not covered"
                    answered_rates[f"{setting}, {which}"] = rate
                    log.info(
                        "in-scope model, %s, %s: answered %.3f of %d",
                        setting,
                        which,
                        rate,
                        int(sel.sum()),
                    )

        if args.ablate:
            decline_ablation(scope_rows, adversarial, every)
        answered = [r for r, a in zip(every, answers, strict=True) if a]
        if args.ablate:
            ablate(answered, positives + adversarial, out_of_fold)
        mix = positives + adversarial
        correct, confidence = fit_confidence(
            answered, mix, out_of_fold, lambda x, y, f: to_linear(fit_logistic(x, y), f)
        )
        params["correct"] = correct.to_dict()

    embedder.save()
    params["provenance"] = provenance(
        [args.questions, *files],
        "qa.fit.scoring",
        argv,
        {"rank": rank_cv, "in_scope_answered": answered_rates, "correct": confidence},
    )
    write_fitted(args.out, params)
    print(json.dumps(params, indent=1))
    for check in args.check:
        from qa.evaluate import evaluate

        with tempfile.TemporaryDirectory() as check_index:
            qa.build(args.check_corpus, check_index, embedder=embedder)
            log.info("\ncheck on %s:", check)
            report = evaluate(qa.load(check_index, embedder=embedder), read_questions(check))
            log.info(report.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
