"""BM25 as sparse vectors that Qdrant scores exactly as bm25s does.

bm25s, which the folder store uses, scores with Lucene's BM25 (its default,
k1 = 1.5, b = 0.75): for each query term occurrence,

    idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))

qa writes the second factor, the term-frequency part, as each document's
sparse value, computed here with bm25s's own float types.  Qdrant's
``Modifier.IDF`` multiplies the query's values by its own idf, which is the
same formula (``ln((N - n + 0.5) / (n + 0.5) + 1)``, N the points that have
the vector, n those with the term), so a query whose value is each term's
count in the question scores what bm25s scores.  Each field is a collection
of its own, so N and df are the field's, as in bm25s's three indexes.
The two differ only in float rounding: bm25s keeps idf * tf-part in
float32; local mode multiplies in float64 and the server in float32, both
well within 1e-5 relative (the contract test checks it).

Terms are numbered by the field's sorted vocabulary, stored with the build.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

# bm25s's defaults, which the folder store builds with.
K1 = 1.5
B = 0.75


def vocabulary(docs: Sequence[Sequence[str]]) -> list[str]:
    """Every term of ``docs``, sorted: a term's sparse index is its position."""
    return sorted({t for d in docs for t in d})


def documents(
    docs: Sequence[Sequence[str]], ids: dict[str, int]
) -> Iterator[tuple[list[int], list[float]]]:
    """Each document's sparse vector: term indices (ascending) and tf parts."""
    avg = np.array([len(d) for d in docs]).mean() if len(docs) else 1.0
    for doc in docs:
        counts = Counter(doc)
        index = np.array([ids[t] for t in counts], dtype=np.int64)
        tf = np.array(list(counts.values()), dtype=np.float32)
        # The expression and types of bm25s.scoring._score_tfc_robertson.
        part = tf / (K1 * ((1 - B) + B * len(doc) / avg) + tf)
        order = np.argsort(index)
        yield index[order].tolist(), part[order].astype(np.float32).tolist()


def query(terms: Sequence[str], ids: dict[str, int]) -> tuple[list[int], list[float]]:
    """The question's sparse vector: each known term, valued by how often it occurs.

    bm25s adds a term's scores once per occurrence in the query.
    """
    counts = Counter(ids[t] for t in terms if t in ids)
    index = sorted(counts)
    return index, [float(counts[i]) for i in index]
