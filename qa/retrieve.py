"""Questions -> scored passages, the matching FAQ pair, or an honest decline."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa import smalltalk
from qa.calibrate import calibrated
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.followup import FollowupModel, Readings, read_with_history
from qa.rank import (
    Decision,
    Ranking,
    Scorer,
    Words,
    answer_signals,
    as_row,
    best_sentence,
    gather,
    match_faq,
    names_every_word,
    question_words,
)
from qa.rank.aliases import CorpusAliases
from qa.rank.answerable import missing_note, missing_words
from qa.store import FAQRecord, PassageRecord, Store, open_store
from qa.store.base import Field
from qa.store.scope import Catalog, ScopedStore
from qa.text import information, stems

# Longer questions are cut: the model reads at most 256 word pieces anyway.
MAX_QUESTION_CHARS = 1000
SOURCES = 3


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
    ``read_as`` is the text that was searched: the question, with the words
    borrowed from the conversation after it ("… (with: ceasefire, Ukraine)")
    when it was read as a follow-up.  ``kind`` is ``"answer"`` for a question (answered or
    declined) and ``"smalltalk"`` for a greeting, thanks or "what can you
    do?"; then ``reply`` holds the bot's reply and ``suggestions`` example
    questions.
    """

    question: str
    answered: bool
    passage: Passage | None
    faq: FAQ | None
    confidence: float
    suggestions: tuple[str, ...] = ()
    note: str = ""  # e.g. that a long question was cut
    sources: tuple[Passage, ...] = ()  # the best passages, best first (shown as "Sources")
    # Names and figures of the question that no passage writes, as the question
    # spells them; shown as one line (qa.rank.answerable.missing_note).
    missing: tuple[str, ...] = ()
    read_as: str = ""  # set to the question when not given
    kind: str = "answer"
    reply: str = ""
    readings: Readings | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.read_as:
            object.__setattr__(self, "read_as", self.question)

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
            "read_as": self.read_as,
            "kind": self.kind,
            "reply": self.reply,
            "missing": list(self.missing),
            "missing_note": missing_note(self.missing),
        }


class Retriever:
    """Answers questions from one opened store.  Thread-safe for ``ask``/``search``.

    Load one with :func:`qa.load`.

    Args:
        store: The opened index (:func:`qa.store.open_store`), or its location.
        embedder: The question model; it must be the one that built the index.
        scorer: The fitted models (by default ``qa/rank/scoring.json``).
        followups: How follow-ups are read (by default ``qa/followup.json``).

    Raises:
        IndexNotReadyError: The store was built with another model.

    Example:
        >>> r = qa.load("index")  # doctest: +SKIP
        >>> r.ask("Where did the ministers meet?").passage.heading  # doctest: +SKIP
        'Meeting at Nato Headquarters'
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str],
        embedder: Embedder | None = None,
        scorer: Scorer | None = None,
        followups: FollowupModel | None = None,
    ) -> None:
        # An index location is opened here, as qa.load does.
        self.store = open_store(store) if isinstance(store, str | os.PathLike) else store
        self.manifest = self.store.manifest
        self.embedder = embedder or Embedder(str(self.manifest.get("model", "")))
        self._check()
        # The confidence as `qa calibrate` refit it for this index, if it was.
        self.scorer = scorer or calibrated(Scorer.default(), self.store)
        self.followups = followups or FollowupModel.default()
        # Load the word-form and word-frequency tables now, not at the first question.
        information(stems(["said"])[0])

    def _check(self) -> None:
        """The question model must be the one that embedded the corpus."""
        model = str(self.manifest.get("model", ""))
        where = self.folder
        fix = f"run `qa build --model {self.embedder.name}` to rebuild the index with it"
        if self.embedder.name != model:
            raise IndexNotReadyError(
                f"{where}: index was built with model {model!r}, not {self.embedder.name!r}; {fix}"
            )
        if self.embedder.dim != self.model_dim:
            raise IndexNotReadyError(
                f"{where}: index vectors have {self.model_dim} dimensions but model "
                f"{model!r} makes {self.embedder.dim}; {fix}"
            )
        built_with = self.manifest.get("model_fingerprint")
        if built_with and built_with != self.embedder.fingerprint():
            raise IndexNotReadyError(
                f"{where}: model {model!r} has changed since the index was built; {fix}"
            )

    # ------------------------------------------------------------ public

    @property
    def model_dim(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def folder(self) -> Path:
        """The build folder being served (folder stores only)."""
        return Path(getattr(self.store, "folder", self.store.build_id))

    @property
    def build_id(self) -> str:
        """Names the build being served."""
        return self.store.build_id

    @property
    def passages(self) -> Sequence[PassageRecord]:
        return self.store.passages

    @property
    def faqs(self) -> Sequence[FAQRecord]:
        return self.store.faqs

    @cached_property
    def catalog(self) -> Catalog:
        """The served build's documents, by file name and title (read once)."""
        return Catalog(self.store.passages, self.store.faqs)

    def within(self, docs: Iterable[str]) -> Retriever:
        """This retriever, searching only the documents named (file names or titles).

        Raises:
            QAError: A name matches no document; the message lists them.
        """
        scoped = copy.copy(self)
        scoped.store = ScopedStore(self.store, self.catalog.resolve(docs))
        return scoped

    def search(self, question: str, k: int = 5, docs: Iterable[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first.

        ``docs`` names documents (file names or titles) to search within;
        None or empty means all of them.

        Raises:
            QAError: ``k`` is not a positive integer, or a name in ``docs``
                matches no document.
        """
        if not isinstance(k, int) or k < 1:
            raise QAError(f"k must be a positive integer, not {k!r}")
        if docs:
            return self.within(docs).search(question, k)
        text, _ = self._question_text(question)
        if not text:
            return []
        ranking = self.rank(text)
        return [self._passage(ranking, i, with_sentence=False) for i in range(min(k, len(ranking)))]

    def rank(
        self, text: str, qvec: np.ndarray | None = None, words: Words | None = None
    ) -> Ranking:
        """The candidates for an already cleaned question, best first.

        ``qvec`` and ``words`` are computed when not given (scripts that
        rank many questions pass cached vectors).
        """
        if qvec is None:
            qvec = self.embedder.encode([text])[0]
        words = question_words(text) if words is None else words
        return gather(self.store, self.scorer, qvec, words, question=text)

    def ask(
        self,
        question: str,
        history: Sequence[Answer | str] = (),
        docs: Iterable[str] | None = None,
    ) -> Answer:
        """Answer ``question`` from the corpus, or decline.

        Never raises for any string: text with no letter or digit (empty,
        spaces, punctuation, symbols) is declined without consulting the model,
        and a question longer than the model's window is cut to fit, with a note.

        Args:
            question: The user's text.
            history: The conversation's earlier turns, oldest first: the
                :class:`Answer` each got, or the question strings.  A
                follow-up ("And Russia?") is then read with the latest
                turn's words when that reading is better supported
                (``qa/followup.py``); ``read_as`` shows how it was read.
                Without history a question is answered exactly as alone.
            docs: Documents to answer from, by file name or title (as
                ``qa show`` and the Library list them); None or empty
                means all.  The store searches only their passages and
                FAQ pairs (:mod:`qa.store.scope`).

        Raises:
            QAError: A name in ``docs`` matches no document.

        Example:
            >>> first = r.ask("What has Ukraine said about a ceasefire?")  # doctest: +SKIP
            >>> r.ask("And Russia?", [first]).read_as  # doctest: +SKIP
            'And Russia? (with: ceasefire, Ukraine)'
        """
        if docs:
            return self.within(docs).ask(question, history)
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
        chat = smalltalk.classify(text)
        if chat is not None:
            examples = self.suggestions(None)
            return Answer(
                text,
                False,
                None,
                None,
                0.0,
                examples,
                note,
                kind="smalltalk",
                reply=smalltalk.reply(chat, self.titles, examples),
            )
        ranking = self.rank(text)
        # "Not mentioned" only when no other name of the word is in the articles either.
        missing = self.aliases.unnamed(missing_words(text, self.store.vocabulary(Field.PASSAGE)))
        own_words = ranking.words
        readings = None
        read_as = text
        if history:
            readings = read_with_history(
                self.store, self.scorer, self.followups, text, ranking, history
            )
            ranking, read_as = readings.chosen, readings.read_as
        decision = self._decide(ranking, text, own_words)
        if readings is not None and readings.with_context and self.followups.answer.features:
            # A reading with context has its own fitted decline model: the
            # in-scope model never saw borrowed words.
            answered = readings.answered(self.followups.answer.threshold)
            correct = self.scorer.correct.probability(as_row(answer_signals(ranking)))
            decision = Decision(
                answered, correct if answered else correct * decision.in_scope, decision.in_scope
            )
        if not decision.answered and readings is not None and readings.with_context:
            # Context only ever helps find an answer: a reading with it that is
            # declined gives way to the question alone, as asked.
            ranking, read_as = readings.alone, text
            decision = self._decide(ranking, text, own_words)
        if not decision.answered:
            return Answer(
                text,
                False,
                None,
                None,
                decision.confidence,
                self.suggestions(ranking.qvec),
                note,
                read_as=read_as,
                readings=readings,
                missing=missing,
            )
        match = match_faq(
            self.store,
            self.scorer,
            ranking.qvec,
            ranking.words,
            text,
            top_passage=ranking[0].id,
            in_scope=decision.in_scope,
        )
        faq = None
        if match is not None:
            f = self.store.faqs[match.id]
            faq = FAQ(f.question, f.answer, match.probability, f.doc)
        sources = tuple(
            self._passage(ranking, i, with_sentence=False)
            for i in range(min(SOURCES, len(ranking)))
        )
        return Answer(
            text,
            True,
            self._passage(ranking, 0, with_sentence=True),
            faq,
            decision.confidence,
            (),
            note,
            sources,
            read_as=read_as,
            readings=readings,
            missing=missing,
        )

    def _decide(self, ranking: Ranking, text: str, own_words: Words) -> Decision:
        decision = self.scorer.decide(ranking)
        # The names rule reads the question's own words: borrowed ones name nothing asked.
        if not decision.answered and names_every_word(self.store, ranking.top, text, own_words):
            decision = self.scorer.decide(ranking, named=True)
        return decision

    @cached_property
    def aliases(self) -> CorpusAliases:
        """Which names of the corpus name a word it lacks (read on first use)."""
        return CorpusAliases(self.store, self.embedder)

    @cached_property
    def titles(self) -> tuple[str, ...]:
        """The corpus's document titles, in corpus order (read once: the store is fixed)."""
        return tuple(dict.fromkeys(p.doc for p in self.store.passages if p.doc))

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
        faqs = self.store.faqs
        if faqs:
            options = [f.question for f in faqs]
            rows = [f.units[0] for f in faqs]  # FAQ_QUESTION is each pair's first unit
        else:
            seen: dict[str, int] = {}
            for p in self.store.passages:
                if p.heading and p.heading not in seen:
                    seen[p.heading] = p.units[0]
            options, rows = list(seen), list(seen.values())
        if not options:
            return ()
        if qvec is None:
            return tuple(options[:n])
        sims = self.store.vectors(np.asarray(rows, dtype=np.int64)) @ qvec
        return tuple(options[i] for i in np.argsort(-sims)[:n])

    def _passage(self, ranking: Ranking, position: int, *, with_sentence: bool) -> Passage:
        candidate = ranking[position]
        p = self.store.passages[candidate.id]
        sentence = (
            best_sentence(self.store, self.scorer, ranking, position) if with_sentence else ""
        )
        return Passage(p.text, p.heading, p.doc, candidate.score, candidate.id, p.path, sentence)


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
        index_dir: Where ``qa build`` wrote the index: a folder, or a Qdrant
            location (``qdrant://HOST:PORT/NAME``, ``https://HOST/NAME``,
            ``qdrant:PATH``; see docs/scale.md).
        embedder: A loaded model to share between retrievers.

    Raises:
        IndexNotReadyError: The index is missing, damaged, or from another
            model or format; the message says to run ``qa build``.
    """
    return Retriever(open_store(index_dir), embedder)
