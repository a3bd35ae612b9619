"""``qa eval``: how well the retriever answers a labelled question set.

The question format is the JSON Lines one described in the README: each line
has ``question`` and ``in_scope``; in-scope lines have ``passage_any`` (the
best passage is right when it contains any of these strings) and optionally
``faq_any`` (0-based positions of the right FAQ pairs); out-of-scope lines
have a ``kind``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import Retriever
from qa.answer.question import question_text
from qa.errors import QAError
from qa.rank.scoring import HIGH_CONFIDENCE

RELIABILITY_BINS = 10


@dataclass
class Miss:
    question: str
    problem: str
    got: str


@dataclass
class EvalReport:
    """Figures from one run of :func:`evaluate`."""

    questions: int = 0
    in_scope: int = 0
    hit_at_1: float = 0.0
    hit_at_5: float = 0.0
    mrr: float = 0.0
    answered_in_scope: float = 0.0
    faq_labelled: int = 0
    faq_accuracy: float | None = None
    # Plain cosine of the question and each FAQ pair's question, the best pair
    # taken and always shown: the floor an FAQ matcher must beat.
    faq_qq_floor: float | None = None
    faq_false_matches: int = 0
    faq_unlabelled: int = 0
    declined: dict[str, float] = field(default_factory=dict)
    out_of_scope: dict[str, int] = field(default_factory=dict)
    reliability: list[dict[str, float]] = field(default_factory=list)
    # Confidence over every question, a declined one counting as 0; "right" is an
    # in-scope question answered with its right passage.
    auroc: float | None = None  # right answers against out-of-scope questions
    auroc_all: float | None = None  # right answers against every other question
    high_answers: int = 0  # answers shown with confidence >= HIGH_CONFIDENCE
    high_precision: float | None = None  # the share of those that are right
    high_right: float = 0.0  # share of in-scope questions answered right that sure
    high_out_of_scope: int = 0  # out-of-scope questions answered that sure
    right_answers: int = 0  # in-scope questions answered with their right passage
    high_right_answers: int = 0  # of those, shown with confidence >= HIGH_CONFIDENCE
    misses: list[Miss] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    def table(self, max_misses: int = 20) -> str:
        lines = [
            f"questions             {self.questions} ({self.in_scope} in scope)",
            f"passage hit@1         {_frac(self.hit_at_1, self.in_scope)}",
            f"passage hit@5         {_frac(self.hit_at_5, self.in_scope)}",
            f"passage MRR           {self.mrr:.3f}",
            f"answered (in scope)   {_frac(self.answered_in_scope, self.in_scope)}",
        ]
        if self.faq_accuracy is not None:
            lines.append(f"FAQ accuracy          {_frac(self.faq_accuracy, self.faq_labelled)}")
            if self.faq_qq_floor is not None:
                lines.append(
                    f"  floor: plain question-to-question cosine "
                    f"{_frac(self.faq_qq_floor, self.faq_labelled)}"
                )
            lines.append(
                f"FAQ shown, none right {self.faq_false_matches} of {self.faq_unlabelled} "
                "in-scope questions without an FAQ label"
            )
        for kind, rate in sorted(self.declined.items()):
            lines.append(f"declined {kind:<24} {_frac(rate, self.out_of_scope[kind])}")
        high = f"confidence >= {HIGH_CONFIDENCE:.2f}"
        if self.high_precision is not None:
            lines.append(
                f"right, of answers with {high}  {_frac(self.high_precision, self.high_answers)}"
            )
        lines.append(f"in scope, right with {high}  {_frac(self.high_right, self.in_scope)}")
        if self.right_answers:
            share = self.high_right_answers / self.right_answers
            lines.append(f"right answers with {high}  {_frac(share, self.right_answers)}")
        if self.out_of_scope:
            lines.append(
                f"out of scope, answered with {high}  {self.high_out_of_scope} of "
                f"{sum(self.out_of_scope.values())}"
            )
        if self.auroc is not None:
            lines.append(f"AUROC, right answers vs out of scope     {self.auroc:.3f}")
        if self.auroc_all is not None:
            lines.append(f"AUROC, right answers vs all others       {self.auroc_all:.3f}")
        if self.reliability:
            lines.append("")
            lines.append(
                "reliability (every question, a declined one at confidence 0; "
                "right = in scope with its right passage), in deciles of confidence"
            )
            lines.append("  confidence range    n   mean conf  hit rate  gap")
            for b in self.reliability:
                lines.append(
                    f"  {b['low']:.3f}-{b['high']:.3f}  {int(b['n']):5d}   {b['confidence']:.3f}"
                    f"      {b['hit_rate']:.3f}   {b['hit_rate'] - b['confidence']:+.3f}"
                )
        if self.misses:
            lines.append("")
            lines.append(f"misses ({len(self.misses)}):")
            for m in self.misses[:max_misses]:
                lines.append(f"  [{m.problem}] {m.question}\n      got: {m.got[:90]}")
            if len(self.misses) > max_misses:
                lines.append(f"  ... and {len(self.misses) - max_misses} more (--json lists all)")
        return "\n".join(lines)


def _frac(rate: float, n: int) -> str:
    return f"{rate:.3f}  ({round(rate * n)}/{n})"


def read_lines(path: str | os.PathLike[str], what: str, parse: Callable[[Any], Any]) -> list[Any]:
    """``parse`` of each non-blank JSON line of ``path``, a file of ``what``s.

    Raises:
        QAError: The file is missing or empty, or ``parse`` rejects a line
            (with ValueError, KeyError, TypeError or AttributeError).
    """
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"{path}: cannot read {what} file ({exc})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QAError(f"{path}:{number}: bad {what} line ({exc}); see the README") from None
    if not rows:
        raise QAError(f"{path}: no {what}s in the file")
    return rows


def _question(row: Any) -> dict[str, Any]:
    check_labels(row, "question")
    return row  # type: ignore[no-any-return]


def read_questions(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a question file, checking every line.

    Raises:
        QAError: The file is missing or a line is not a valid question.
    """
    return read_lines(path, "question", _question)


def check_labels(row: dict[str, Any], what: str) -> None:
    """A question (or conversation turn) has its text and its labels.

    Raises:
        ValueError: Saying which field is missing; the caller names the line.
    """
    if not isinstance(row.get("question"), str) or not isinstance(row.get("in_scope"), bool):
        raise ValueError(f"a {what} needs a string 'question' and a boolean 'in_scope'")
    if row["in_scope"] and not row.get("passage_any"):
        raise ValueError(f"an in-scope {what} needs 'passage_any'")


def passage_hit(text: str, needles: list[str]) -> bool:
    """Whether ``text`` holds one of a question's answer strings (``passage_any``)."""
    return any(n in text for n in needles)


def evaluate(retriever: Retriever, questions: list[dict[str, Any]]) -> EvalReport:
    """Ask every question and compare with its labels."""
    report = EvalReport(questions=len(questions))
    hits1 = hits5 = answered = faq_right = faq_floor = 0
    faq_questions = _faq_question_vectors(retriever)
    rr = 0.0
    declined: Counter[str] = Counter()
    # (confidence shown, right answer, in scope) for every question.
    confidences: list[tuple[float, bool, bool]] = []
    for row in questions:
        q = row["question"]
        answer = retriever.ask(q)
        shown = answer.confidence if answer.answered else 0.0
        if not row["in_scope"]:
            kind = row.get("kind") or "out_of_scope"
            report.out_of_scope[kind] = report.out_of_scope.get(kind, 0) + 1
            confidences.append((shown, False, False))
            if not answer.answered:
                declined[kind] += 1
            else:
                assert answer.passage is not None
                report.misses.append(Miss(q, f"answered {kind}", answer.passage.text))
            continue
        report.in_scope += 1
        needles = row["passage_any"]
        ranked = retriever.search(q, k=5)
        rank = next((i for i, p in enumerate(ranked) if passage_hit(p.text, needles)), None)
        hits5 += rank is not None
        rr += 0.0 if rank is None else 1.0 / (rank + 1)
        # The first passage is the one shown: a matched FAQ pair can lift another
        # of the top few (qa.rank.faq.lift).
        first = answer.passage if answer.answered and answer.passage else None
        top_right = passage_hit(first.text, needles) if first else rank == 0
        hits1 += top_right
        confidences.append((shown, answer.answered and top_right, True))
        if answer.answered:
            answered += 1
        else:
            report.misses.append(Miss(q, "declined", ranked[0].text if ranked else ""))
        if not top_right:
            shown_text = first.text if first else ranked[0].text if ranked else ""
            report.misses.append(Miss(q, "wrong passage", shown_text))
        if "faq_any" in row:
            labels = row.get("faq_any")
            got = _faq_position(retriever, answer.faq, row.get("doc"))
            if labels:
                report.faq_labelled += 1
                faq_right += got in labels
                nearest = retriever.faqs[int(np.argmax(faq_questions @ _vector(retriever, q)))]
                faq_floor += _faq_position(retriever, nearest, row.get("doc")) in labels
                if got not in labels:
                    report.misses.append(
                        Miss(
                            q,
                            "wrong FAQ",
                            "none" if got is None else retriever.faqs[got].question,
                        )
                    )
            else:
                report.faq_unlabelled += 1
                if got is not None:
                    report.faq_false_matches += 1
                    report.misses.append(
                        Miss(q, "FAQ shown but none applies", retriever.faqs[got].question)
                    )
    n = max(1, report.in_scope)
    report.hit_at_1 = hits1 / n
    report.hit_at_5 = hits5 / n
    report.mrr = rr / n
    report.answered_in_scope = answered / n
    if report.faq_labelled:
        report.faq_accuracy = faq_right / report.faq_labelled
        report.faq_qq_floor = faq_floor / report.faq_labelled
    report.declined = {k: declined[k] / c for k, c in report.out_of_scope.items()}
    report.reliability = reliability_table([(c, right) for c, right, _ in confidences])
    _confidence_figures(report, confidences)
    return report


def _confidence_figures(report: EvalReport, confidences: list[tuple[float, bool, bool]]) -> None:
    """AUROC and the figures of the answers shown with high confidence."""
    right = [c for c, ok, _ in confidences if ok]
    report.auroc = auroc(right, [c for c, _, in_scope in confidences if not in_scope])
    report.auroc_all = auroc(right, [c for c, ok, _ in confidences if not ok])
    high = [(ok, in_scope) for c, ok, in_scope in confidences if c >= HIGH_CONFIDENCE]
    report.high_answers = len(high)
    report.high_precision = sum(ok for ok, _ in high) / len(high) if high else None
    report.high_right = sum(ok for ok, _ in high) / max(1, report.in_scope)
    report.high_out_of_scope = sum(not in_scope for _, in_scope in high)
    report.right_answers = len(right)
    report.high_right_answers = sum(c >= HIGH_CONFIDENCE for c in right)


def auroc(positives: list[float], negatives: list[float]) -> float | None:
    """The probability that a random positive scores above a random negative
    (ties count half); None when either side is empty.

    >>> auroc([0.9, 0.8], [0.1, 0.8])
    0.875
    """
    if not positives or not negatives:
        return None
    ordered = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    # Mann-Whitney U with average ranks for ties.
    rank_sum, i = 0.0, 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        average = (i + j + 1) / 2  # ranks i+1 .. j
        rank_sum += average * sum(label for _, label in ordered[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _faq_position(retriever: Retriever, pair: Any, doc: str | None = None) -> int | None:
    """Index of an FAQ pair (shown, or a stored record) among its document's FAQs.

    A question labelled with its ``doc`` counts only that document's pairs.
    """
    if pair is None or (doc and pair.doc != doc):
        return None
    same_doc = [f for f in retriever.faqs if f.doc == pair.doc]
    for i, f in enumerate(same_doc):
        if f.question == pair.question:
            return i
    return None


def _faq_question_vectors(retriever: Retriever) -> np.ndarray:
    """The stored vector of each FAQ pair's question (its first unit)."""
    rows = np.array([f.units[0] for f in retriever.faqs], dtype=np.int64)
    return retriever.store.vectors(rows) if len(rows) else np.zeros((0, 1), np.float32)


def _vector(retriever: Retriever, question: str) -> np.ndarray:
    text, _ = question_text(question, retriever.embedder)
    return retriever.embedder.encode([text or question])[0]


def reliability_table(
    pairs: list[tuple[float, bool]], bins: int = RELIABILITY_BINS
) -> list[dict[str, float]]:
    """Hit rate against mean confidence, in bins of equal count.

    Equal-count bins (deciles of confidence) keep every bin's hit rate
    meaningful; equal-width bins leave some bins with a handful of answers.
    """
    ordered = sorted(pairs, key=lambda p: p[0])
    n = len(ordered)
    table = []
    for b in range(min(bins, n)):
        items = ordered[b * n // bins : (b + 1) * n // bins]
        if not items:
            continue
        table.append(
            {
                "low": items[0][0],
                "high": items[-1][0],
                "n": float(len(items)),
                "confidence": sum(c for c, _ in items) / len(items),
                "hit_rate": sum(h for _, h in items) / len(items),
            }
        )
    return table
