"""How well a converted web page keeps its article: recall and precision.

Measured against a reader view's text of the page (Mozilla Readability's
test pages ship one as ``expected.html``):

* recall: the share of the expected article's paragraphs that qa's text
  holds whole (as one run of words in one passage, heading or FAQ pair);
* precision: the share of the words in qa's passages that belong to the
  article (counted as a multiset, so repeated boilerplate counts every time).

Words are compared lower-cased, without punctuation or spacing, so the same
text typeset differently still matches.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class PageScore:
    """Recall and precision of one page, and the expected paragraphs missed."""

    recall: float
    precision: float
    missed: tuple[str, ...]


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def expected_paragraphs(html: str) -> list[str]:
    """The text of each innermost block of a reader-view page, in order."""
    from qa.formats.html import _blocks, _parse

    return [b.text for b in _blocks(_parse(html, "expected.html")) if words(b.text)]


def score(expected: list[str], units: list[str], passages: list[str]) -> PageScore:
    """Score qa's reading of a page.

    Args:
        expected: The article's paragraphs (see :func:`expected_paragraphs`).
        units: Every piece of text qa keeps: passages, headings, title and
            FAQ questions and answers.  A paragraph is held when one unit
            holds all of it.
        passages: The passages' texts, whose words precision counts.
    """
    haystacks = [" " + " ".join(words(u)) + " " for u in units]
    missed = tuple(
        p for p in expected if not any(" " + " ".join(words(p)) + " " in h for h in haystacks)
    )
    recall = 1 - len(missed) / len(expected) if expected else 1.0
    article = Counter(w for p in expected for w in words(p))
    got = Counter(w for p in passages for w in words(p))
    total = sum(got.values())
    precision = sum((article & got).values()) / total if total else 0.0
    return PageScore(recall, precision, missed)
