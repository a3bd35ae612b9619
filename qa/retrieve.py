"""Questions -> scored passages, the matching FAQ pair, or an honest decline."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa import ann
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.index import (
    FAQ_ANSWER,
    FAQ_PAIR,
    FAQ_QUESTION,
    FORMAT_VERSION,
    SENTENCE,
    WINDOW,
    build_dir,
    context,
    passage_sentences,
    read_jsonl,
)
from qa.scoring import Scorer
from qa.text import TERM_SCHEME, content_words, information, names, near_copy, stems, terms

# Longer questions are cut: the model reads at most 256 word pieces anyway.
MAX_QUESTION_CHARS = 1000
SOURCES = 3
# An FAQ pair is shown when its section more likely covers the question than not.
FAQ_SHOW = 0.5


@dataclass(frozen=True)
class Passage:
    """A paragraph of the corpus, verbatim, and how well it matches."""

    text: str
    heading: str
    doc: str
    score: float
    id: int = -1
    path: str = ""
    sentence: str = ""  # the sentence that best answers the question


@dataclass(frozen=True)
class FAQ:
    """An FAQ pair of the corpus and how well it matches."""

    question: str
    answer: str
    score: float
    doc: str = ""


@dataclass(frozen=True)
class Answer:
    """The reply to one question.

    ``answered`` is False when nothing in the corpus matches well enough;
    then ``passage`` is None and ``suggestions`` holds the nearest topics.
    """

    question: str
    answered: bool
    passage: Passage | None
    faq: FAQ | None
    confidence: float
    suggestions: tuple[str, ...] = ()
    note: str = ""  # e.g. that a long question was cut
    sources: tuple[Passage, ...] = ()  # the best passages, best first (shown as "Sources")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the ``/ask`` API."""
        return {
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "passage": None
            if self.passage is None
            else {
                "text": self.passage.text,
                "doc": self.passage.doc,
                "heading": self.passage.heading,
                "score": round(self.passage.score, 4),
                "sentence": self.passage.sentence,
            },
            "faq": None
            if self.faq is None
            else {
                "question": self.faq.question,
                "answer": self.faq.answer,
                "score": round(self.faq.score, 4),
            },
            "suggestions": list(self.suggestions),
            "note": self.note,
        }


class Retriever:
    """Answers questions from one built index.  Thread-safe for ``ask``/``search``.

    Load one with :func:`qa.load`.

    Example:
        >>> r = qa.load("index")  # doctest: +SKIP
        >>> r.ask("Where did the ministers meet?").passage.heading  # doctest: +SKIP
        'Meeting at Nato Headquarters'
    """

    def __init__(self, index_dir: str | os.PathLike[str], embedder: Embedder | None = None) -> None:
        # A rebuild may repoint ``current`` and delete the folder being read
        # (see qa/index.py); then read the new build instead.
        for attempt in range(3):
            folder = None
            try:
                folder = build_dir(index_dir)
                self._read(folder)
                break
            except IndexNotReadyError:
                if attempt == 2 or (folder is not None and not self._moved(index_dir, folder)):
                    raise
        assert folder is not None
        self.folder = folder
        self._check(embedder)
        self._passage_units = np.flatnonzero(self.units[:, 1] <= SENTENCE)
        # Passage p's sentences are rows first_sentence[p]:first_sentence[p + 1]
        # of the sentence BM25 index (they are stored in passage order).
        self._first_sentence = np.searchsorted(
            self.sentence_passage, np.arange(len(self.passages) + 1)
        )
        self.scorer = Scorer.default()
        self._vocab = set(self.bm25.vocab_dict)
        self._faq_vocab = set(self.bm25_faqs.vocab_dict) if self.bm25_faqs else set()
        # Load the word-form and word-frequency tables now, not at the first question.
        information(stems(["said"])[0])

    @staticmethod
    def _moved(index_dir: str | os.PathLike[str], folder: Path) -> bool:
        """True when ``current`` no longer points at ``folder``: it is being removed."""
        try:
            return build_dir(index_dir) != folder
        except IndexNotReadyError:
            return False

    def _read(self, folder: Path) -> None:
        import bm25s
        import faiss

        try:
            self.manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
            version = self.manifest.get("format_version")
            if isinstance(version, int) and version > FORMAT_VERSION:
                raise IndexNotReadyError(
                    f"{folder}: index format {version} is newer than this qa "
                    f"understands ({FORMAT_VERSION}); upgrade qa or run `qa build` again"
                )
            if not isinstance(version, int):
                raise ValueError(f"format_version is {version!r}")
            if self.manifest.get("term_scheme", 1) != TERM_SCHEME:
                raise IndexNotReadyError(
                    f"{folder}: index was built by an older qa, whose keyword search "
                    "reads words differently; run `qa build` to rebuild it"
                )
            self.passages = read_jsonl(folder / "passages.jsonl")
            self.faqs = read_jsonl(folder / "faqs.jsonl")
            self.vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            self.units = np.load(folder / "units.npy", allow_pickle=False)
            self.index = faiss.read_index(str(folder / "units.faiss"))
            ann.configure(self.index, ann.AnnParams.from_manifest(self.manifest.get("ann")))
            self.bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True, allow_pickle=False)
            self.bm25_sentences = bm25s.BM25.load(
                str(folder / "bm25_sentences"), mmap=True, allow_pickle=False
            )
            self.bm25_faqs = (
                bm25s.BM25.load(str(folder / "bm25_faqs"), mmap=True, allow_pickle=False)
                if self.faqs
                else None
            )
            self.sentence_passage = np.load(folder / "sentence_passage.npy", allow_pickle=False)
            counts = self.manifest["counts"]
            dim = int(self.manifest["dimension"])
            checks = [
                (len(self.passages), counts["passages"], "passages"),
                (len(self.faqs), counts["faqs"], "FAQ pairs"),
                (self.vectors.shape, (counts["vectors"], dim), "vectors"),
                (self.units.shape, (counts["vectors"], 2), "units"),
                (self.index.d, dim, "FAISS dimension"),
            ]
        except QAError:
            raise
        except Exception as exc:  # JSON, numpy, FAISS and bm25s each raise their own
            raise IndexNotReadyError(
                f"{folder}: index is damaged ({type(exc).__name__}: {exc}); "
                "run `qa build` to rebuild it"
            ) from None
        for found, expected, what in checks:
            if found != expected:
                raise IndexNotReadyError(
                    f"{folder}: {what} do not match the manifest ({found} != {expected}); "
                    "run `qa build` to rebuild the index"
                )

    def _check(self, embedder: Embedder | None) -> None:
        """The question model must be the one that embedded the corpus."""
        model = str(self.manifest.get("model", ""))
        self.embedder = embedder or Embedder(model)
        fix = f"run `qa build --model {self.embedder.name}` to rebuild the index with it"
        if self.embedder.name != model:
            raise IndexNotReadyError(
                f"{self.folder}: index was built with model {model!r}, "
                f"not {self.embedder.name!r}; {fix}"
            )
        if self.embedder.dim != self.model_dim:
            raise IndexNotReadyError(
                f"{self.folder}: index vectors have {self.model_dim} dimensions but model "
                f"{model!r} makes {self.embedder.dim}; {fix}"
            )
        built_with = self.manifest.get("model_fingerprint")
        if built_with and built_with != self.embedder.fingerprint():
            raise IndexNotReadyError(
                f"{self.folder}: model {model!r} has changed since the index was built; {fix}"
            )

    # ------------------------------------------------------------ public

    @property
    def model_dim(self) -> int:
        return int(self.manifest["dimension"])

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first.

        Raises:
            QAError: ``k`` is not a positive integer.
        """
        if not isinstance(k, int) or k < 1:
            raise QAError(f"k must be a positive integer, not {k!r}")
        text, _ = self._question_text(question)
        if not text:
            return []
        ranked = self._rank(text)
        return [self._passage(c, with_sentence=False) for c in ranked[:k]]

    def ask(self, question: str) -> Answer:
        """Answer ``question`` from the corpus, or decline.

        Never raises for any string: text with no letter or digit (empty,
        spaces, punctuation, symbols) is declined without consulting the model,
        and a question longer than the model's window is cut to fit, with a note.
        """
        text, note = self._question_text(question)
        if not text:
            return Answer(
                _clean_question(question)[0],
                False,
                None,
                None,
                0.0,
                self.suggestions(None),
                "Type a question about the articles.",
            )
        words = self._words(text)  # the terms and rarities, shared by passages and FAQs
        ranked = self._rank(text, words=words)
        decision = self.scorer.decide(ranked)
        if not decision.answered and self._names_every_word(ranked[0], text, words):
            decision = self.scorer.decide(ranked, named=True)
        faq = self._match_faq(text, ranked[0]["qvec"], words) if decision.answered else None
        if not decision.answered:
            return Answer(
                text,
                False,
                None,
                None,
                decision.confidence,
                self.suggestions(ranked[0]["qvec"]),
                note,
            )
        sources = tuple(self._passage(c, with_sentence=False) for c in ranked[:SOURCES])
        return Answer(
            text,
            True,
            self._passage(ranked[0], with_sentence=True),
            faq,
            decision.confidence,
            (),
            note,
            sources,
        )

    def _question_text(self, question: object) -> tuple[str, str]:
        """The question as the model will read it, and a note if it was cut.

        Empty when there is nothing to search for: no letter or digit at all.
        """
        text, note = _clean_question(question)
        if not any(ch.isalnum() for ch in text):
            return "", ""
        budget = self.embedder.max_tokens - 2  # [CLS] and [SEP]
        # A word piece is at least one character, so a short text always fits.
        if len(text) <= budget:
            return text, note
        # The tokenizer splits on spaces first, so words can be counted one by one.
        words = text.split(" ")
        kept: list[str] = []
        used = 0
        for word, count in zip(words, self.embedder.count_tokens(words), strict=True):
            if used + count > budget:
                if not kept:
                    kept.append(word[:budget])
                break
            kept.append(word)
            used += count
        cut = " ".join(kept)
        if cut != text:
            text = cut
            note = f"Your question was long, so only its first {len(text)} characters were used."
        return text, note

    def suggestions(self, qvec: np.ndarray | None, n: int = 3) -> tuple[str, ...]:
        """Questions the corpus does answer: the FAQ questions nearest ``qvec``,
        or headings when there are no FAQs."""
        if self.faqs:
            options = [f["question"] for f in self.faqs]
            rows = [f["units"][0] for f in self.faqs]  # FAQ_QUESTION is each pair's first unit
        else:
            seen: dict[str, int] = {}
            for p in self.passages:
                if p["heading"] and p["heading"] not in seen:
                    seen[p["heading"]] = p["units"][0]
            options, rows = list(seen), list(seen.values())
        if not options:
            return ()
        if qvec is None:
            return tuple(options[:n])
        sims = np.asarray(self.vectors[rows]) @ qvec
        return tuple(options[i] for i in np.argsort(-sims)[:n])

    # ------------------------------------------------------------ scoring

    def _rank(
        self,
        text: str,
        qvec: np.ndarray | None = None,
        words: list[tuple[str, float]] | None = None,
    ) -> list[dict[str, Any]]:
        """Candidate passages with their signals and fused score, best first.

        One query encoding; the rest is dot products and two BM25 lookups.
        Candidates are the best passages by either signal; their signals are
        computed exactly from the stored vectors.
        """
        if qvec is None:
            qvec = self.embedder.encode([text])[0]
        words = self._words(text) if words is None else words
        known = [t for t, _ in words if t in self._vocab]  # the question's BM25 terms
        want = self.scorer.candidates
        k = min(len(self._passage_units), max(64, 8 * want))
        _, ids = self.index.search(qvec[None, :], k)
        candidates: dict[int, None] = {}
        for unit in ids[0]:
            if unit >= 0:
                candidates[int(self.units[self._passage_units[unit], 0])] = None
            if len(candidates) >= want:
                break
        n = len(self.passages)
        bm25 = self.bm25.get_scores(known) if known else np.zeros(n, dtype=np.float32)
        bm25_sent = (
            self.bm25_sentences.get_scores(known)
            if known
            else np.zeros(len(self.sentence_passage), dtype=np.float32)
        )
        best_sent = _best_per_passage(bm25_sent, self.sentence_passage, n)
        if known:
            for scores in (bm25, best_sent):
                candidates.update(dict.fromkeys(int(p) for p in _top_positive(scores, want)))
        bm25_max = float(bm25.max()) if n else 0.0
        sent_max = float(best_sent.max()) if n else 0.0
        coverage = _coverage(words, self._vocab)
        # Every unit of every candidate in one read and one product: the
        # candidates' units are contiguous runs of rows, one run each.
        chosen = list(candidates)
        spans = [self.passages[p]["units"] for p in chosen]
        lengths = np.array([end - start for start, end in spans])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        unit_rows = np.concatenate([np.arange(start, end) for start, end in spans])
        all_sims = np.asarray(self.vectors[unit_rows]) @ qvec
        all_kinds = self.units[unit_rows, 1]
        windows = np.maximum.reduceat(np.where(all_kinds == WINDOW, all_sims, -np.inf), offsets)
        sentences = np.maximum.reduceat(np.where(all_kinds == SENTENCE, all_sims, -np.inf), offsets)
        rows = []
        for i, p in enumerate(chosen):
            span = slice(offsets[i], offsets[i] + lengths[i])
            dense = float(windows[i])
            sentence = float(sentences[i]) if sentences[i] > -np.inf else dense
            rows.append(
                {
                    "id": p,
                    "qvec": qvec,
                    "dense": dense,
                    "dense_sentence": sentence,
                    "bm25_rel": float(bm25[p]) / bm25_max if bm25_max > 0 else 0.0,
                    "bm25_sentence_rel": float(best_sent[p]) / sent_max if sent_max > 0 else 0.0,
                    **coverage,
                    "sims": all_sims[span],
                    "kinds": all_kinds[span],
                    # Its sentences' BM25 (a view; scaled when a sentence is picked).
                    "sentence_bm25": bm25_sent[
                        self._first_sentence[p] : self._first_sentence[p + 1]
                    ],
                }
            )
        _add_gaps(rows)
        self.scorer.score(rows)
        rows.sort(key=lambda r: -r["score"])
        if rows:
            rows[0]["agree"] = float(
                rows[0]["id"] == max(rows, key=lambda r: r["dense_sentence"])["id"]
                and rows[0]["id"] == max(rows, key=lambda r: r["bm25_rel"])["id"]
            )
            rows[0]["runner_up"] = self._runner_up(rows)
        return rows

    def _names_every_word(
        self, row: dict[str, Any], text: str, words: list[tuple[str, float]]
    ) -> bool:
        """The passage has every content word of the question, and one of
        them is a name or figure (written so by the question or the passage)."""
        if not words or row["coverage"] < 1.0:  # a word the whole corpus lacks: no
            return False
        p = self.passages[row["id"]]
        present = set(terms(context(p["doc"], p["heading"]) + p["text"]))
        if any(term not in present for term, _ in words):
            return False
        named = names(text) | names(p["text"])
        return any(term in named for term, _ in words)

    def _runner_up(self, ranked: list[dict[str, Any]]) -> int:
        """The position of the best candidate that answers differently from the top.

        A passage whose best sentence restates the top one's (a conclusion
        repeating the lead) is the same answer, not a rival: it says nothing
        about doubt, so the confidence's margin is measured past it.
        """
        top = self._best_sentence(ranked[0]) or self.passages[ranked[0]["id"]]["text"]
        for i in range(1, len(ranked)):
            other = self._best_sentence(ranked[i]) or self.passages[ranked[i]["id"]]["text"]
            if not near_copy(top, other):
                return i
        return len(ranked)

    def _best_sentence(self, row: dict[str, Any]) -> str:
        """The candidate's sentence that best answers the question ("" if unknown):
        by cosine and BM25 together, weighed as the ranker weighs a passage's
        best sentence.  By cosine alone, "Where did the ministers gather?"
        picked "The gathering at Nato headquarters ..." over "Defence
        ministers ... gathered in Brussels"."""
        if "sentence" not in row:
            sentences = _sentences(self.passages[row["id"]]["text"])
            sent_sims = row["sims"][row["kinds"] == SENTENCE]
            bm25 = row["sentence_bm25"]
            if len(sentences) == len(sent_sims) == len(bm25) > 1:
                # Relative to the best sentence of any candidate, as bm25_sentence_rel
                # is: this passage's best sentence has exactly that value.
                best = float(bm25.max())
                relative = bm25 * (row["bm25_sentence_rel"] / best) if best > 0 else bm25
                fit = self.scorer.sentence_scores(sent_sims, relative)
                row["sentence"] = sentences[int(np.argmax(fit))]
            else:
                row["sentence"] = sentences[0] if len(sentences) == 1 else ""
        return str(row["sentence"])

    def _words(self, text: str) -> list[tuple[str, float]]:
        """The question's content words, as BM25 terms with their rarity in English."""
        words = content_words(text)
        return list(zip(stems(words), (information(w) for w in words), strict=True))

    def _passage(self, row: dict[str, Any], *, with_sentence: bool) -> Passage:
        p = self.passages[row["id"]]
        sentence = self._best_sentence(row) if with_sentence else ""
        return Passage(
            p["text"], p["heading"], p["doc"], row["score"], row["id"], p["path"], sentence
        )

    def _match_faq(self, text: str, qvec: np.ndarray, words: list[tuple[str, float]]) -> FAQ | None:
        """The FAQ pair that answers the question, if one does.

        The FAQ section is scored as a small corpus of its own, with the same
        fitted ranker and in-scope model as the passages: its best pair is
        shown when that model finds it more likely than not that the FAQ
        section covers the question.  No FAQ-specific parameter is fitted.
        """
        if not self.faqs or self.bm25_faqs is None:
            return None
        known = [t for t, _ in words if t in self._faq_vocab]
        bm25 = self.bm25_faqs.get_scores(known) if known else np.zeros(len(self.faqs))
        top_bm25 = float(bm25.max())
        coverage = _coverage(words, self._faq_vocab)
        rows = []
        for i, f in enumerate(self.faqs):
            start, end = f["units"]
            sims = np.asarray(self.vectors[start:end]) @ qvec
            kinds = list(self.units[start:end, 1])
            relative = float(bm25[i]) / top_bm25 if top_bm25 > 0 else 0.0
            rows.append(
                {
                    "id": i,
                    "dense": float(sims[kinds.index(FAQ_PAIR)]),
                    "dense_sentence": float(
                        max(sims[kinds.index(FAQ_QUESTION)], sims[kinds.index(FAQ_ANSWER)])
                    ),
                    "bm25_rel": relative,
                    "bm25_sentence_rel": relative,
                    **coverage,
                }
            )
        _add_gaps(rows)
        self.scorer.score(rows)
        rows.sort(key=lambda r: -r["score"])
        probability = self.scorer.covers(rows)
        if probability < FAQ_SHOW:
            return None
        f = self.faqs[int(rows[0]["id"])]
        return FAQ(f["question"], f["answer"], probability, f["doc"])


def _coverage(words: list[tuple[str, float]], vocab: set[str]) -> dict[str, float]:
    """How much of the question the corpus mentions at all.

    ``coverage`` is the share of the question's content words (``words``:
    term and rarity, from ``Retriever._words``) found in ``vocab``;
    ``info_coverage`` weighs each word by how rare it is in English, so a
    missing name or topic word counts more than a missing "happen";
    ``missing_info`` is the rarest word the corpus lacks.
    """
    if not words:
        return {"coverage": 0.0, "info_coverage": 0.0, "missing_info": 0.0}
    found = [term in vocab for term, _ in words]
    total = sum(info for _, info in words)
    return {
        "coverage": sum(found) / len(words),
        "info_coverage": sum(info for (_, info), ok in zip(words, found, strict=True) if ok) / total
        if total > 0
        else 0.0,
        "missing_info": max(
            (info for (_, info), ok in zip(words, found, strict=True) if not ok), default=0.0
        ),
    }


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    """A passage's sentences, split once per passage (answers keep coming back
    to the same passages, and splitting is the costly part of picking one)."""
    return tuple(passage_sentences(text))


def _top_positive(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` best scores above 0, in no order.  Only passages
    with a query term score above 0, usually a small part of the corpus."""
    hits = np.nonzero(scores > 0)[0]
    if len(hits) > k:
        hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
    return hits


def _best_per_passage(sentence_scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Each passage's best sentence score, from the scores of every sentence.

    Only sentences scoring above 0 (those with a query term) can matter, and
    a passage's sentences are consecutive rows (``owner`` never decreases),
    so one ``reduceat`` over the runs of those sentences gives the maxima.
    """
    best = np.zeros(n, dtype=np.float32)
    hits = np.nonzero(sentence_scores > 0)[0]
    if len(hits):
        owners = owner[hits]
        starts = np.nonzero(np.diff(owners, prepend=-1))[0]
        best[owners[starts]] = np.maximum.reduceat(sentence_scores[hits], starts)
    return best


def _add_gaps(rows: list[dict[str, Any]]) -> None:
    """Each candidate's dense scores relative to the best candidate's."""
    top_dense = max(r["dense"] for r in rows)
    top_sentence = max(r["dense_sentence"] for r in rows)
    for row in rows:
        row["dense_gap"] = row["dense"] - top_dense
        row["dense_sentence_gap"] = row["dense_sentence"] - top_sentence


def _clean_question(question: object) -> tuple[str, str]:
    """Printable text of at most MAX_QUESTION_CHARS, and a note if it was cut."""
    text = question if isinstance(question, str) else str(question or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text[: MAX_QUESTION_CHARS * 4])
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], (
            f"Your question was long, so only its first {MAX_QUESTION_CHARS} characters were used."
        )
    return text, ""


def load(
    index_dir: str | os.PathLike[str] = "index", *, embedder: Embedder | None = None
) -> Retriever:
    """Open a built index for questions.

    Args:
        index_dir: The folder ``qa build`` wrote.
        embedder: A loaded model to share between retrievers.

    Raises:
        IndexNotReadyError: The index is missing, damaged, or from another
            model or format; the message says to run ``qa build``.
    """
    return Retriever(Path(index_dir), embedder)
