"""The confidence over a stated mix of question styles, scored per style.

The shipped confidence model (``correct`` in qa/rank/scoring.json) was fit
by ``python -m qa.fit.scoring`` on SQuAD 2.0, where half the questions are trick
questions written against the paragraph.  This script asks every style of
question we have, on its own corpus, with the shipped ranker and decline
model (neither is refit here), and refits the confidence on a mix whose
shares are stated (MIX) and whose styles weigh the same:

* ``squad``: SQuAD 2.0 dev, answerable, and its adversarial unanswerable ones;
* ``wikiqa``: real Bing queries over Wikipedia summaries, answerable and
  on-topic-unanswered (../shared/eval/wikiqa-dev);
* ``seed``: our questions about the seed article (the dev set, rewordings,
  paraphrases over the seed and four SQuAD articles, search-box queries,
  on-topic-unanswered ones);
* ``off_topic``: each style's questions asked of another style's corpus.

Figures are out of fold: each article's questions are scored by a model
fit without that article (the seed is one article).  Per style it prints
hit@1 (with plain MiniLM's), the answered share, AUROC (right answers
against unanswerable), the share of right answers shown "High", the share
of "High" answers that are right, and the share of unanswerable questions
shown "High", for the shipped model and the refit one.

    PYTHONPATH=. python scripts/fit_question_mix.py --indexes /tmp/i24 [--rows rows.json] [--out F]

``--indexes`` holds built indexes named squad, wikiqa, seed and para
(``qa build --corpus ... --index DIR/NAME``); ``--out`` writes the shipped
scoring models with the refit confidence to another file, to try with
``qa eval``.  The shipped qa/rank/scoring.json is only written by
``make fit``, which reproduces it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.answer import Retriever
from qa.embed import Embedder
from qa.evaluate import auroc, read_questions
from qa.rank import Linear, Scorer, answer_signals, as_row
from qa.rank.features import CORRECT
from qa.rank.scoring import HIGH_CONFIDENCE, PARAMS_FILE

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
DATA = ROOT / "tests" / "data"
# The stated mix: the share of the fit's weight each kind of question gets.
# Most questions people ask a bot about its articles are answerable; some
# are on its topic but not answered; a few are off-topic; trick questions
# written against a paragraph are rare.
MIX = {"answerable": 0.6, "adjacent_unanswerable": 0.2, "off_topic": 0.1, "adversarial": 0.1}
# The question sets: style, index name, file.
SETS = (
    ("squad", "squad", SHARED / "squad2-dev" / "questions.jsonl"),
    ("wikiqa", "wikiqa", SHARED / "wikiqa-dev" / "questions.jsonl"),
    ("seed", "seed", SHARED / "article_dev.jsonl"),
    ("seed", "seed", DATA / "seed_rewordings.jsonl"),
    ("seed", "seed", DATA / "seed_search_queries.jsonl"),
    ("seed", "seed", DATA / "adjacent_unanswerable.jsonl"),
    ("seed", "para", DATA / "paraphrases.jsonl"),
)
# Off-topic: a sample of one style's questions asked of another's corpus.
OFF_TOPIC = (("wikiqa", "seed"), ("squad", "seed"), ("seed", "wikiqa"), ("squad", "wikiqa"))
OFF_TOPIC_SAMPLE = 150
FOLDS = 10
FEATURES = CORRECT  # the confidence model's signals (qa/rank/features.py)


def row(retriever: Retriever, q: dict[str, Any], style: str, kind: str) -> dict[str, Any]:
    """One question's signals, and what the shipped models make of it."""
    text = q["question"]
    ranking = retriever.rank(text)
    scorer = retriever.scorer
    decision = scorer.decide(ranking)
    if not decision.answered and retriever.ranker.names_every_word(
        ranking.top, text, ranking.words
    ):
        decision = scorer.decide(ranking, named=True)
    needles = q.get("passage_any") or []
    top = retriever.passages[ranking.top.id].text if ranking.candidates else ""
    plain = max(ranking.candidates, key=lambda c: c.dense_plain) if ranking.candidates else None
    plain_text = retriever.passages[plain.id].text if plain else ""
    return {
        **as_row(answer_signals(ranking)),
        "style": style,
        "kind": kind,
        "doc": str(q.get("doc") or "the seed article"),
        "answered": bool(decision.answered),
        "shipped": float(decision.confidence),
        "right": bool(kind == "answerable" and any(n in top for n in needles)),
        "plain_right": bool(kind == "answerable" and any(n in plain_text for n in needles)),
    }


def collect(indexes: Path) -> list[dict[str, Any]]:
    embedder = Embedder()
    # The calibration of an index is not the shipped model: ask with the shipped one.
    retrievers = {
        name: Retriever(indexes / name, embedder, Scorer.default())
        for name in ("squad", "wikiqa", "seed", "para")
    }
    rows: list[dict[str, Any]] = []
    by_style: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for style, index, path in SETS:
        for q in read_questions(path):
            kind = "answerable" if q["in_scope"] else str(q.get("kind") or "off_topic")
            if kind == "unanswerable_adversarial":
                kind = "adversarial"
            rows.append(row(retrievers[index], q, style, kind))
            by_style[style].append(q)
        print(f"{path.name}: {len(rows)} rows so far", file=sys.stderr)
    rng = np.random.default_rng(0)
    for style, index in OFF_TOPIC:
        qs = by_style[style]
        for i in rng.choice(len(qs), min(OFF_TOPIC_SAMPLE, len(qs)), replace=False):
            rows.append(row(retrievers[index], qs[int(i)], f"off-topic on {index}", "off_topic"))
    return rows


def weights(rows: list[dict[str, Any]]) -> np.ndarray:
    """Each kind gets its MIX share, split evenly between the styles that have it."""
    w = np.zeros(len(rows))
    for kind, share in MIX.items():
        styles = sorted({r["style"] for r in rows if r["kind"] == kind})
        for style in styles:
            sel = np.array([r["kind"] == kind and r["style"] == style for r in rows])
            w[sel] = share / len(styles) / sel.sum()
    return w / w[w > 0].mean()


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000).fit(x, y, sample_weight=w)


def fold(doc: str) -> str:
    """The fold of an article: the seed article alone, the others in FOLDS groups."""
    if doc == "the seed article":
        return doc
    return str(int(hashlib.sha256(doc.encode()).hexdigest(), 16) % FOLDS)


def out_of_fold(rows: list[dict[str, Any]], c: float) -> np.ndarray:
    """Each answered row's confidence from a model fit without its article."""
    answered = [i for i, r in enumerate(rows) if r["answered"]]
    x = np.array([[rows[i][f] for f in FEATURES] for i in answered])
    y = np.array([rows[i]["right"] for i in answered])
    w = weights([rows[i] for i in answered])
    docs = np.array([fold(rows[i]["doc"]) for i in answered])
    conf = np.zeros(len(rows))
    for doc in sorted(set(docs)):
        test = docs == doc
        model = fit(x[~test], y[~test], w[~test], c)
        conf[np.array(answered)[test]] = model.predict_proba(x[test])[:, 1]
    return conf


def figures(rows: list[dict[str, Any]], conf: np.ndarray) -> dict[str, dict[str, Any]]:
    out = {}
    for style in sorted({r["style"] for r in rows}):
        sel = [i for i, r in enumerate(rows) if r["style"] == style]
        ans = [i for i in sel if rows[i]["kind"] == "answerable"]
        una = [i for i in sel if rows[i]["kind"] != "answerable"]
        shown = {i: conf[i] if rows[i]["answered"] else 0.0 for i in sel}
        right = [i for i in ans if rows[i]["right"] and rows[i]["answered"]]
        high = [i for i in sel if shown[i] >= HIGH_CONFIDENCE]
        out[style] = {
            "answerable": len(ans),
            "hit@1": round(float(np.mean([rows[i]["right"] for i in ans])), 3) if ans else None,
            "plain MiniLM hit@1": round(float(np.mean([rows[i]["plain_right"] for i in ans])), 3)
            if ans
            else None,
            "answered": round(float(np.mean([rows[i]["answered"] for i in ans])), 3)
            if ans
            else None,
            "AUROC": round(auroc([shown[i] for i in right], [shown[i] for i in una]) or 0, 3),
            "right at High": f"{sum(shown[i] >= HIGH_CONFIDENCE for i in right)}/{len(right)}",
            "High right": f"{sum(rows[i]['right'] for i in high)}/{len(high)}",
            "unanswerable at High": f"{sum(shown[i] >= HIGH_CONFIDENCE for i in una)}/{len(una)}",
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--indexes", type=Path, required=True)
    ap.add_argument("--rows", type=Path, help="cache of the asked rows (made if missing)")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--out", type=Path, help="write the models with the refit confidence here")
    args = ap.parse_args()
    if args.rows and args.rows.is_file():
        rows = json.loads(args.rows.read_text())
    else:
        rows = collect(args.indexes)
        if args.rows:
            args.rows.write_text(json.dumps(rows))
    shipped = np.array([r["shipped"] for r in rows])
    refit = out_of_fold(rows, args.c)
    print(f"stated mix: {MIX}")
    for name, conf in (("shipped", shipped), ("refit on the mix, out of fold", refit)):
        print(f"\n{name}:")
        for style, f in figures(rows, conf).items():
            print(f"  {style:10s} " + "  ".join(f"{k} {v}" for k, v in f.items()))
    if args.out:
        answered = [r for r in rows if r["answered"]]
        x = np.array([[r[f] for f in FEATURES] for r in answered])
        model = fit(x, np.array([r["right"] for r in answered]), weights(answered), args.c)
        params = json.loads(PARAMS_FILE.read_text())
        params.pop("provenance", None)  # not what made this file
        params["correct"] = Linear(
            FEATURES, tuple(float(v) for v in model.coef_[0]), float(model.intercept_[0])
        ).to_dict()
        args.out.write_text(json.dumps(params, indent=1) + "\n")
        print(f"wrote the models with the refit confidence to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
