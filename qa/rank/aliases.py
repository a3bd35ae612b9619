"""Whether a word the articles lack is named by another word they have.

"Which Scandinavian country might take part?" over an article that writes
"Sweden" and "Swedish" but never "Scandinavian": the articles do mention a
Scandinavian country, so saying they don't would be false.  "Will Finland
send troops?" over the same article: Sweden is Finland's neighbour, not
another name for it, so "the articles don't mention Finland" is true.

One logistic model tells the two apart from a pair of words (the
question's, the corpus's): the cosine of their static WordLlama vectors
(:mod:`qa.words`: names of one thing close, things of one kind apart),
the cosine of their MiniLM vectors (a group word and its members close),
how much of the shorter word opens the longer, and the element-wise
product and difference of the two WordLlama vectors.  It is fit on general
English word relations (``scripts/data/word_pairs.json``: demonyms, short
forms, group words and their members, synonyms, against things of one
kind and opposites) by ``python -m qa.fit.aliases``; nothing in it is about
one corpus.  The fitted weights are in ``qa/rank/aliases.json``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa import words as wordvectors
from qa.text import content_words, information

if TYPE_CHECKING:
    from qa.embed import Embedder
    from qa.store import Store

PARAMS_FILE = Path(__file__).with_name("aliases.json")
# Corpus words the pair model reads for one question word: the nearest by
# WordLlama's cosine (the pair model's strongest signal), so a big corpus
# costs one matrix product and a few MiniLM encodings.
NEAREST = 16
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Z]")


def common_opening(a: str, b: str) -> float:
    """How much of the shorter word opens the longer one, case aside.

    >>> common_opening("Sweden", "Swedish"), common_opening("UK", "Ukraine")
    (0.6666666666666666, 1.0)
    """
    a, b = a.lower(), b.lower()
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n / max(1, min(len(a), len(b)))


def pair_features(
    question_word: str,
    corpus_words: Sequence[str],
    wl_question: np.ndarray,
    wl_corpus: np.ndarray,
    minilm_cosines: np.ndarray,
) -> np.ndarray:
    """One row of features per (question word, corpus word) pair.

    ``wl_*`` are unit WordLlama vectors (one row per corpus word),
    ``minilm_cosines`` the MiniLM cosine of each pair.
    """
    wl_cos = wl_corpus @ wl_question
    opening = np.array([common_opening(question_word, c) for c in corpus_words], np.float32)
    return np.hstack(
        [
            wl_cos[:, None],
            np.asarray(minilm_cosines, np.float32)[:, None],
            opening[:, None],
            wl_corpus * wl_question,
            wl_question - wl_corpus,
        ]
    )


@dataclass(frozen=True)
class AliasModel:
    """The fitted pair model: ``weights`` over :func:`pair_features`' columns."""

    weights: np.ndarray
    bias: float
    threshold: float
    model: str  # the MiniLM model whose cosines it read

    @classmethod
    def default(cls) -> AliasModel:
        return cls.from_dict(json.loads(PARAMS_FILE.read_text("utf-8")))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AliasModel:
        return cls(
            np.asarray(d["weights"], np.float32),
            float(d["bias"]),
            float(d["threshold"]),
            str(d["model"]),
        )

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = np.clip(features @ self.weights + self.bias, -50.0, 50.0)
        return 1.0 / (1.0 + np.exp(-z))


def corpus_names(texts: Sequence[str]) -> list[str]:
    """The capitalized words of ``texts`` that are not stop words, once each.

    A sentence's first word counts too: "Dutch defence minister Ruben
    Brekelmans said" may be the only place the corpus writes "Dutch".
    """
    found: dict[str, None] = {}
    for text in texts:
        for w in _WORD.findall(text):
            if w[0].isupper() and content_words(w):
                found[re.sub(r"['’]s$", "", w)] = None
    return list(found)


# The rarity (qa.text.information) of a word wordfreq has never seen.
UNKNOWN_WORD = 9.0


class CorpusAliases:
    """The names one store's passages write, and which of them name a question word.

    Built on first use (it reads every passage once) and kept for the
    store's life; thread-safe.
    """

    def __init__(self, store: Store, embedder: Embedder, model: AliasModel | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.model = model or AliasModel.default()
        self._names: list[str] | None = None
        self._wl: np.ndarray | None = None
        self._lock = threading.Lock()
        self._minilm: dict[str, np.ndarray] = {}  # corpus words' MiniLM vectors, as needed
        self._alias: dict[str, str] = {}  # each question word's answer, once

    @property
    def usable(self) -> bool:
        """The pair model read this embedder's cosines (another model's differ)."""
        return self.embedder.name == self.model.model

    def _corpus(self) -> tuple[list[str], np.ndarray]:
        if self._names is None or self._wl is None:
            with self._lock:
                if self._names is None:
                    names = corpus_names([p.text for p in self.store.passages])
                    self._wl = wordvectors.vectors(names)
                    self._names = names
        assert self._names is not None and self._wl is not None
        return self._names, self._wl

    def alias(self, word: str) -> str:
        """A word of the corpus that names what ``word`` names ("" when none does)."""
        if word not in self._alias:
            if len(self._alias) > 100_000:
                self._alias.clear()
            self._alias[word] = self._find(word)
        return self._alias[word]

    def _find(self, word: str) -> str:
        names, wl = self._corpus()
        if not names or information(word.lower()) >= UNKNOWN_WORD:
            # A word general English never writes ("Zorblax") is beyond word
            # knowledge: its vector says nothing of what it names.
            return ""
        q = wordvectors.vectors([word])[0]
        nearest = np.argsort(-(wl @ q))[:NEAREST]
        picked = [names[i] for i in nearest]
        if word in picked:
            return word
        new = [w for w in picked if w not in self._minilm]
        enc = self.embedder.encode([word, *new])
        self._minilm.update(zip(new, enc[1:], strict=True))
        others = np.stack([self._minilm[w] for w in picked])
        probs = self.model.probabilities(
            pair_features(word, picked, q, wl[nearest], others @ enc[0])
        )
        best = int(np.argmax(probs))
        return picked[best] if probs[best] >= self.model.threshold else ""

    def named(self, missing: Sequence[str]) -> dict[str, str]:
        """The words of ``missing`` that a word of the corpus names, with that word."""
        if not missing or not self.usable:
            return {}
        found = {w: self.alias(w) for w in missing}
        return {w: a for w, a in found.items() if a}

    def unnamed(self, missing: Sequence[str]) -> tuple[str, ...]:
        """The words of ``missing`` that no word of the corpus names either."""
        named = self.named(missing)
        return tuple(w for w in missing if w not in named)
