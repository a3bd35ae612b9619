"""Questions the corpus does answer: for a declined question, or an empty chat."""

from __future__ import annotations

import numpy as np

from qa.store.base import Store
from qa.store.scope import faq_ids, passage_ids


def suggestions(store: Store, qvec: np.ndarray | None, n: int = 3) -> tuple[str, ...]:
    """The FAQ questions nearest ``qvec``, or headings when there are no FAQs.

    Without ``qvec``, the first ``n`` in corpus order.  A store scoped to some
    documents suggests from those documents only.
    """
    faqs = [store.faqs[i] for i in faq_ids(store)]
    if faqs:
        options = [f.question for f in faqs]
        rows = [f.units[0] for f in faqs]  # FAQ_QUESTION is each pair's first unit
    else:
        seen: dict[str, int] = {}
        for p in (store.passages[i] for i in passage_ids(store)):
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
    """The document titles, in corpus order (a scoped store's documents only)."""
    passages = store.passages
    return tuple(dict.fromkeys(passages[i].doc for i in passage_ids(store) if passages[i].doc))
