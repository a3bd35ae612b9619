"""The data behind qa.text.NEAR_COPY: how alike sentences of different paragraphs get.

    python scripts/near_copies.py [CORPUS ...]      # default: SQuAD dev and the seed

For every pair of sentences from different paragraphs of one corpus, the
Jaccard overlap of their content words (the measure ``qa.text.near_copy``
uses); prints how many pairs reach each level and the closest pairs, so the
level where restatements stop and different claims start can be read off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.corpus import read_corpus  # noqa: E402
from qa.text import NEAR_COPY, copy_terms  # noqa: E402
from qa.units import passage_sentences  # noqa: E402

LEVELS = (0.5, 0.6, NEAR_COPY, 0.8, 0.9)


def closest_pairs(corpus: Path, show: int) -> None:
    sentences: list[str] = []
    words: list[set[str]] = []
    owner: list[int] = []
    paragraphs = [p for d in read_corpus(corpus).documents for p in d.paragraphs]
    for i, paragraph in enumerate(paragraphs):
        for sentence in passage_sentences(paragraph.text):
            sentences.append(sentence)
            words.append(set(copy_terms(sentence)))
            owner.append(i)
    vocab = {w: j for j, w in enumerate(sorted(set().union(*words)))}
    rows = [i for i, ws in enumerate(words) for _ in ws]
    cols = [vocab[w] for ws in words for w in ws]
    member = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(words), len(vocab)))
    shared = (member @ member.T).tocoo()  # words shared by each pair with any in common
    size = np.array([len(ws) for ws in words])
    who = np.array(owner)
    keep = (shared.row < shared.col) & (who[shared.row] != who[shared.col])
    a, b, both = shared.row[keep], shared.col[keep], shared.data[keep]
    jaccard = both / (size[a] + size[b] - both)
    per_paragraph = np.bincount(who)
    pairs = (len(who) * (len(who) - 1) - int((per_paragraph * (per_paragraph - 1)).sum())) // 2
    print(f"{corpus}: {len(paragraphs)} paragraphs, {len(sentences)} sentences, {pairs:,} pairs")
    for level in LEVELS:
        print(f"  pairs at Jaccard >= {level:.2f}: {int((jaccard >= level).sum())}")
    for k in np.argsort(-jaccard)[:show]:
        print(f"  {jaccard[k]:.2f}  {sentences[a[k]][:150]}")
        print(f"        {sentences[b[k]][:150]}")


def main() -> None:
    shared = ROOT.parent / "shared"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "corpora",
        nargs="*",
        type=Path,
        default=[shared / "eval" / "squad2-dev" / "corpus", ROOT / "corpus"],
    )
    ap.add_argument("--show", type=int, default=10, help="closest pairs to print per corpus")
    args = ap.parse_args()
    for corpus in args.corpora:
        closest_pairs(corpus, args.show)


if __name__ == "__main__":
    main()
