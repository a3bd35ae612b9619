"""Questions the corpus does answer: for a declined question, or an empty chat."""

from __future__ import annotations

import numpy as np

from qa.store.base import Store


def suggestions(store: Store, qvec: np.ndarray | None, n: int = 3) -> tuple[str, ...]:
    """The FAQ questions nearest ``qvec``, or headings when there are no FAQs.

    Without ``qvec``, the first ``n`` in corpus order.
    """
    faqs = store.faqs
    if faqs:
        options = [f.question for f in faqs]
        rows = [f.units[0] for f in faqs]  # FAQ_QUESTION is each pair's first unit
    else:
        seen: dict[str, int] = {}
        for p in store.passages:
            if p.heading and p.heading not in seen:
                seen[p.heading] = p.units[0]
        options, rows = list(seen), list(seen.values())
    if not options:
        return ()
    if qvec is None:
        return tuple(options[:n])
    sims = store.vectors(np.asarray(rows, dtype=np.int64)) @ qvec
    return tuple(options[i] for i in np.argsort(-sims)[:n])


def titles(store: Store) -> tuple[str, ...]:
    """The corpus's document titles, in corpus order."""
    return tuple(dict.fromkeys(p.doc for p in store.passages if p.doc))
