"""``Retriever``: a question in, an :class:`~qa.answer.types.Answer` out.

Wiring only: :mod:`qa.answer.question` cleans and cuts the question,
:class:`~qa.rank.Ranker` ranks it, :func:`qa.answer.policy.decide` decides,
and the :class:`Answer` is put together here.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from qa.answer import smalltalk, suggest
from qa.answer.followup import FollowupModel
from qa.answer.policy import Kind, decide
from qa.answer.question import clean, question_text
from qa.answer.types import FAQ, Answer, Passage, Turn
from qa.calibrate import calibrated
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.rank import Ranker, Ranking, Scorer, Words, question_words
from qa.rank.aliases import CorpusAliases
from qa.rank.answerable import missing_words
from qa.store import FAQRecord, PassageRecord, Store, open_store
from qa.store.base import Field
from qa.store.scope import Catalog, ScopedStore
from qa.text import information, stems

SOURCES = 3


class Retriever:
    """Answers questions from one opened store.  Thread-safe for ``ask``/``search``.

    Load one with :func:`qa.load`.

    Args:
        store: The opened index (:func:`qa.store.open_store`), or its location.
        embedder: The question model; it must be the one that built the index.
        scorer: The fitted models (by default ``qa/rank/scoring.json``).
        followups: How follow-ups are read (by default ``qa/answer/followup.json``).

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
        opened = open_store(store) if isinstance(store, str | os.PathLike) else store
        self.store = opened
        self.manifest = opened.manifest
        self.embedder = embedder or Embedder(self.manifest.model)
        self._check()
        # The confidence as `qa calibrate` refit it for this index, if it was.
        self.ranker = Ranker(opened, scorer or calibrated(Scorer.default(), opened))
        self.followups = followups or FollowupModel.default()
        # Load the word-form and word-frequency tables now, not at the first question.
        information(stems(["said"])[0])

    def _check(self) -> None:
        """The question model must be the one that embedded the corpus."""
        model = self.manifest.model
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
        built_with = self.manifest.model_fingerprint
        if built_with and built_with != self.embedder.fingerprint():
            raise IndexNotReadyError(
                f"{where}: model {model!r} has changed since the index was built; {fix}"
            )

    # ------------------------------------------------------------ public

    @property
    def scorer(self) -> Scorer:
        """The fitted models the ranker uses."""
        return self.ranker.scorer

    @property
    def model_dim(self) -> int:
        return self.manifest.dimension

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
        scoped.__dict__.pop("titles", None)  # the chosen documents' titles, not all
        scoped.store = ScopedStore(self.store, self.catalog.resolve(docs))
        scoped.ranker = Ranker(scoped.store, self.scorer)
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
        text, _ = question_text(question, self.embedder)
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
        return self.ranker.gather(qvec, words, question=text)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
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
                (``qa/answer/followup.py``); ``read_as`` shows how it was read.
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
        text, note = question_text(question, self.embedder)
        verdict = decide(text, history, self.rank, self.ranker, self.followups)
        if verdict.kind is Kind.EMPTY:
            return Answer(
                clean(question)[0],
                False,
                None,
                None,
                0.0,
                self.suggestions(None),
                "Type a question about the articles.",
            )
        if verdict.kind is Kind.SMALLTALK:
            assert verdict.smalltalk is not None
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
                reply=smalltalk.reply(verdict.smalltalk, self.titles, examples),
            )
        ranking = verdict.ranking
        assert ranking is not None
        # "Not mentioned" only when no other name of the word is in the articles either.
        missing = self.aliases.unnamed(missing_words(text, self.store.vocabulary(Field.PASSAGE)))
        if verdict.kind is Kind.DECLINE:
            return Answer(
                text,
                False,
                None,
                None,
                verdict.confidence,
                self.suggestions(ranking.qvec),
                note,
                read_as=verdict.read_as,
                missing=missing,
            )
        match = verdict.faq
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
            verdict.confidence,
            (),
            note,
            sources,
            read_as=verdict.read_as,
            missing=missing,
            kind="faq" if verdict.kind is Kind.FAQ else "answer",
        )

    @cached_property
    def aliases(self) -> CorpusAliases:
        """Which names of the corpus name a word it lacks (read on first use)."""
        return CorpusAliases(self.store, self.embedder)

    @cached_property
    def titles(self) -> tuple[str, ...]:
        """The corpus's document titles, in corpus order (read once: the store is fixed)."""
        return suggest.titles(self.store)

    def suggestions(self, qvec: np.ndarray | None, n: int = 3) -> tuple[str, ...]:
        """Questions the corpus does answer: the FAQ questions nearest ``qvec``,
        or headings when there are no FAQs."""
        return suggest.suggestions(self.store, qvec, n)

    def _passage(self, ranking: Ranking, position: int, *, with_sentence: bool) -> Passage:
        candidate = ranking[position]
        p = self.store.passages[candidate.id]
        sentence = self.ranker.best_sentence(ranking, position) if with_sentence else ""
        return Passage(p.text, p.heading, p.doc, candidate.score, candidate.id, p.path, sentence)


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
