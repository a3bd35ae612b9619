"""Static word vectors (WordLlama's ``l2_supercat_256``), loaded on first use.

MiniLM places things of one kind close together: Germany and England have
a cosine of 0.78, as high as the UK and British (0.74).  WordLlama's
vectors, taken from a large language model's token embeddings, keep names
of one thing close and things of one kind apart: Dutch and Netherlands
0.82, Germany and England 0.03.  :mod:`qa.rank.aliases` reads both.

The model ships inside the ``wordllama`` wheel (16 MB) and needs no
network.  Nothing is imported or loaded until the first call, so the
app's cold start does not grow.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

DIM = 256
_lock = threading.Lock()
_model: Any = None


def _load() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                try:
                    import wordllama
                except ImportError:
                    raise ModelError(
                        "word vectors not installed; run `pip install wordllama==0.4.0.post1`"
                    ) from None
                # The loader looks for the bundled tokenizer in the wrong
                # folder and then tries to download it; the package's own
                # folder holds it.
                _model = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent, disable_download=True
                )
    return _model


_cache: dict[str, np.ndarray] = {}
_CACHE_WORDS = 200_000  # about 200 MB at most


def vectors(words: Sequence[str]) -> np.ndarray:
    """Unit-length vectors of ``words``, one row each (cached per word)."""
    if not words:
        return np.zeros((0, DIM), dtype=np.float32)
    new = [w for w in dict.fromkeys(words) if w not in _cache]
    if new:
        rows = np.asarray(_load().embed(new, norm=True), dtype=np.float32)
        with _lock:
            if len(_cache) + len(new) > _CACHE_WORDS:
                _cache.clear()
            _cache.update(zip(new, rows, strict=True))
        found = dict(zip(new, rows, strict=True))
        return np.stack([_cache.get(w, found.get(w)) for w in words])  # type: ignore[misc]
    return np.stack([_cache[w] for w in words])


def _vector(word: str) -> np.ndarray:
    return vectors([word])[0]


def similarity(a: str, b: str) -> float:
    """The cosine of two words' vectors.

    >>> round(similarity("Dutch", "Netherlands"), 2), round(similarity("Germany", "England"), 2)
    (0.82, 0.03)
    """
    return float(_vector(a) @ _vector(b))
