"""Fitting the models the product reads, from labelled data.

    python -m qa.fit             # every fit, in order (``make fit``)
    python -m qa.fit.aliases     # qa/rank/aliases.json: another name of a word
    python -m qa.fit.scoring     # qa/rank/scoring.json: ranker, decline, confidence
    python -m qa.fit.followups   # qa/answer/followup.json: reading follow-ups
    python -m qa.fit.faq         # qa/rank/faq.json: the FAQ matcher

Each fitted file carries a top-level ``"provenance"``: the data files it
was fit on with their sha256, the commit, the date, the command, and the
fit's out-of-fold scores.  Rerunning a fit on the same data reproduces its
file byte for byte apart from ``commit`` and ``date``
(:func:`qa.fit.common.one_thread`, :class:`qa.fit.common.MemoEmbedder`).
Needs scikit-learn (a dependency of sentence-transformers) and the shared
evaluation data beside the checkout (``../shared/eval``).
"""
