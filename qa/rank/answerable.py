"""Whether the top passage answers the question, not only whether it matches.

SQuAD 2.0's unanswerable questions were written against one paragraph to
look answerable: they share its words, so the ranking signals alone cannot
tell them apart (docs/retrieval.md, "Confidence").  These checks look at
what the question asks for and what the passage's best sentence holds:

* ``type_missing``: the question asks for a number, a date, or a name
  ("how many", "when", "who", "where") and the best sentence holds none
  that the question does not already write;
* ``negation_unmatched``: the question has a negation or exception word
  ("not", "never", "except") and the best sentence has none (SQuAD 2.0's
  writers often negate a sentence to make it unanswerable);
* ``sentence_missing_info``: how rare the rarest question word is that
  the best sentence does not write (an antonym or a swapped entity is such
  a word), and ``sentence_name_missing``: a name or figure of the question
  is not in it;

Every check is a few set lookups on the top candidate only; the weights
are fit by ``qa/fit/scoring.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.rank.candidate import Words
from qa.text import has_digit, names, split_sentences, terms

# What a question asks for, from its question words: general English, the
# same for every corpus.
NUMBER, DATE, NAME = "number", "date", "name"
# Each pattern with the words one of which it needs, looked for first: a
# plain substring test is much cheaper than a regex search.
_WANTS = (
    (("how ",), re.compile(r"\bhow (many|much|long|large|big|old|far|often|tall|high)\b"), NUMBER),
    (("what ",), re.compile(r"\bwhat (percentage|percent|proportion|number|amount)\b"), NUMBER),
    (
        ("what ", "which "),
        re.compile(r"\b(what|which|in what|in which) (year|years|decade|century|month|day|date)\b"),
        DATE,
    ),
    (("when",), re.compile(r"\bwhen\b"), DATE),
    (("who",), re.compile(r"\b(who|whom|whose)\b"), NAME),
    (("where",), re.compile(r"\bwhere\b"), NAME),
)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred hundreds thousand thousands million millions billion billions "
    "trillion dozen dozens half quarter twice thrice once percent".split()
)
_DATE_WORDS = frozenset(
    "january february march april may june july august september october november "
    "december monday tuesday wednesday thursday friday saturday sunday century centuries "
    "decade decades year years month months week weeks today yesterday tomorrow spring "
    "summer autumn winter ago bc ad".split()
)
# Negation and exception words, and "least" and "non" (the opposite of a
# word the sentence has): how SQuAD 2.0's writers most often turned an
# answerable question into one the paragraph does not answer.
_NEGATIONS = frozenset(
    "not no never none nothing nobody neither nor without except excluding unlike "
    "cannot can't didn't doesn't don't isn't wasn't weren't won't hasn't haven't "
    "least non".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_POSSESSIVE = re.compile(r"['’]s$")


@lru_cache(maxsize=4096)
def wanted(question: str) -> str:
    """The kind of answer the question asks for ("" when it says none).

    >>> wanted("How many troops will Germany send?"), wanted("When did they meet?")
    ('number', 'date')
    >>> wanted("Who leads the coalition?"), wanted("What is the force for?")
    ('name', '')
    """
    low = question.lower()
    for needles, pattern, kind in _WANTS:
        if any(n in low for n in needles) and pattern.search(low):
            return kind
    return ""


@lru_cache(maxsize=8192)
def _holds(sentence: str) -> frozenset[tuple[str, str]]:
    """The (kind, term) pairs of the answers of each kind ``sentence`` writes."""
    found: set[tuple[str, str]] = set()
    words = _WORD.findall(sentence)
    for w in words:
        low = w.lower()
        digit = has_digit(w)
        if digit or low in _NUMBER_WORDS:
            found.add((NUMBER, low))
        if digit or low in _DATE_WORDS:
            found.add((DATE, low))
    found.update((NAME, n) for n in names(sentence))
    return frozenset(found)


def type_missing(question: str, sentence: str) -> float:
    """1.0 when the question asks for a kind of answer that ``sentence`` lacks.

    A figure or name the question already writes does not count: "How many
    troops did the 30 countries pledge?" is not answered by "30 countries".
    """
    kind = wanted(question)
    if not kind:
        return 0.0
    asked = _asked(question)
    return float(not any(k == kind and term not in asked for k, term in _holds(sentence)))


@lru_cache(maxsize=4096)
def _asked(question: str) -> frozenset[str]:
    """The figures, names, words and terms a question already writes."""
    words = {w.lower() for w in _WORD.findall(question)}
    return frozenset({term for _, term in _holds(question)} | words | set(terms(question)))


def negations(text: str) -> bool:
    """Whether ``text`` has a negation or exception word."""
    return any(w.lower().replace("’", "'") in _NEGATIONS for w in _WORD.findall(text))


@lru_cache(maxsize=4096)
def _passage_terms(text: str) -> frozenset[str]:
    return frozenset(terms(text))


def passage_coverage(words: Words, passage: str) -> tuple[float, float]:
    """How much of the question one passage writes.

    Returns:
        The rarity of the rarest question word the passage lacks (0 when it
        has them all), and the rarity-weighted share of the words it has.
    """
    if not words:
        return 0.0, 0.0
    present = _passage_terms(passage)
    total = sum(info for _, info in words)
    missing = [info for term, info in words if term not in present]
    share = 1.0 - sum(missing) / total if total > 0 else 0.0
    return max(missing, default=0.0), share


def answer_checks(question: str, words: Words, sentence: str, passage: str) -> dict[str, float]:
    """The answer-level signals of the top candidate, by their ``AnswerSignals`` names.

    Args:
        question: The question as asked.
        words: Its content words (:func:`qa.rank.question_words`).
        sentence: The top passage's best sentence ("" when unknown: the
            whole passage is read instead).
        passage: The top passage, with its title and heading.

    The same rarity over the whole passage was measured as a signal too, and
    left out: it lowered the confidence model's figures (docs/retrieval.md),
    and reading every new passage's words costs more than the rest.
    """
    best = sentence or passage
    sentence_info, _ = passage_coverage(words, best)
    best_terms = _passage_terms(best)
    return {
        "type_missing": type_missing(question, best) if question else 0.0,
        "negation_unmatched": float(bool(question) and negations(question) and not negations(best)),
        "sentence_missing_info": sentence_info,
        "sentence_name_missing": float(any(n not in best_terms for n in names(question))),
    }


def missing_words(question: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    """The names and figures of ``question`` that no passage of the corpus writes.

    In the question's own spelling ("Germany", not its term "germani"),
    once each, in order.  Only names and figures: a common word the corpus
    lacks ("attended") is usually said another way in it, and saying the
    articles never mention it would mislead.
    """
    named = names(question)
    found: list[str] = []
    for sentence in split_sentences(question):
        for i, word in enumerate(_WORD.findall(sentence)):
            w = _POSSESSIVE.sub("", word)  # "Japan's" -> "Japan"
            if not ((i > 0 and w[0].isupper()) or has_digit(w)):
                continue
            term = terms(w)
            if term and term[0] in named and term[0] not in vocabulary and w not in found:
                found.append(w)
    return tuple(found)


def missing_note(missing: tuple[str, ...]) -> str:
    """The one line that says what the articles never mention ("" for nothing).

    >>> missing_note(("Germany",))
    "The articles don't mention Germany."
    >>> missing_note(("Italy", "Japan", "2030"))
    "The articles don't mention Italy, Japan or 2030."
    """
    if not missing:
        return ""
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} or {missing[-1]}"
    return f"The articles don't mention {listed}."
