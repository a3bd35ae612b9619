"""The one registry of the signals each fitted model reads.

The scorer (:mod:`qa.rank.scoring`), the follow-up models
(:mod:`qa.answer.followup`) and the fits (:mod:`qa.fit`) all import these
tuples.  A signal is computed as a float field of
:class:`~qa.rank.candidate.Candidate` (per passage), of
:class:`~qa.rank.candidate.AnswerSignals` (per question), or as a key of
:func:`qa.answer.followup.select_features` (per follow-up reading).  Adding
one is an entry here plus the code that computes it, then ``make fit``.
The order is the order of the fitted weights.
"""

from __future__ import annotations

# ``rank`` (qa/rank/scoring.json): fuses a passage's dense and BM25 signals into one
# score; reads Candidate fields.
RANK = (
    "dense",
    "dense_sentence",
    "dense_gap",
    "dense_sentence_gap",
    "bm25_rel",
    "bm25_sentence_rel",
    "bm25_match",
    "bm25_sentence_match",
    "dense_unmatched",
    "dense_sentence_unmatched",
    "dense_plain",
    "dense_plain_gap",
    "dense_plain_unmatched",
)

# ``in_scope`` (qa/rank/scoring.json): P(the corpus covers the question); reads
# AnswerSignals.  type_missing: the question asks for a number, date or name the top
# passage's best sentence lacks (qa.rank.answerable; docs/retrieval.md).  coverage
# (the share of the question's words the corpus has at all) beside its
# rarity-weighted form: out of fold on SQuAD it answers as many covered questions and
# slightly fewer uncovered ones (docs/retrieval.md).
IN_SCOPE = (
    "dense_sentence",
    "dense_plain",
    "info_coverage",
    "coverage",
    "missing_info",
    "score",
    "type_missing",
)

# ``correct`` (qa/rank/scoring.json): P(the top passage is the right one), the
# answer's confidence; reads AnswerSignals.
CORRECT = (
    "score",
    "margin",
    "dense",
    "dense_sentence",
    "bm25_second",
    "agree",
    "negation_unmatched",
    "sentence_missing_info",
    "sentence_name_missing",
    "type_missing",
)

# ``select`` (qa/answer/followup.json): P(the reading with context is the right one);
# reads select_features.
SELECT = (
    "pointer",
    "opener",
    "own_words",
    "own_info",
    "added",
    "in_scope_alone",
    "in_scope_context",
    "score_alone",
    "score_context",
    "same_top",
)

# ``answer`` (qa/answer/followup.json): whether a reading with context is answered;
# reads select_features.
ANSWER = (
    "pointer",
    "opener",
    "own_info",
    "own_info_coverage",
    "own_missing_info",
    "in_scope_alone",
    "in_scope_context",
    "in_scope_borrowed",
    "score_context",
    "dense_sentence_context",
)
