"""The model exported to ONNX and run with ONNX Runtime: the same vectors, a fast start.

Importing torch and sentence-transformers costs about 5 s of CPU before the
first question; ONNX Runtime and the ``tokenizers`` library cost a fraction
of that, and encode a single question faster too.

The first time a model is used, :func:`export` writes it once to the cache
folder (``$QA_CACHE_DIR``, else ``~/.cache/qa``) as ``model.onnx`` with its
tokenizer, then encodes sample texts with both and keeps the export only if
every coordinate of every vector agrees within :data:`TOLERANCE`.  From then
on :class:`OnnxEncoder` does the encoding and torch is never imported.  A
model the export does not support (any pooling but the mean, say) or an
export that disagrees stays with sentence-transformers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CACHE_ENV = "QA_CACHE_DIR"
FORMAT = 1  # bump when the exported graph or meta.json changes

# Float32 arithmetic in another order differs by about 1e-7 per coordinate;
# a wrong export (other pooling, lost truncation) differs by 1e-2 or more.
TOLERANCE = 1e-4

# Texts the export is checked on: short and long (past the model's token
# limit, so truncation is checked), punctuation, accents, other scripts.
SAMPLES = [
    "a",
    "Who leads the coalition?",
    "What did the minister say on 3 March 2025 about the 5% target?",
    "Café, naïve, Zürich — ÅÄÖ; 東京 and Москва.",
    " ".join(["The quick brown fox jumps over the lazy dog."] * 80),
    "Short text.\nWith a line break and\ttabs.",
]


class ExportError(Exception):
    """The model cannot be exported, or the export does not match."""


def cache_root() -> Path:
    """The folder exports are kept in: ``$QA_CACHE_DIR``, else the user's cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qa"


def export_dir(name: str, key: str) -> Path:
    """Where the export of model ``name`` with weights ``key`` lives."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-60:]
    return cache_root() / "encoders" / f"{safe}-{key}-v{FORMAT}"


# Padded tokens per forward pass when encoding many texts: short sentences
# go many to a pass, long windows few.  On 400 SQuAD units on the 2-core
# test machine, passes of 1,024 tokens encoded 1.2-1.3x more texts a second
# than 8 texts a pass, and 512 or 2,048 no faster (docs/performance.md,
# "Build throughput"; `make bench` reruns the sweep).
BATCH_TOKENS = 1024

# ------------------------------------------------------------------ running


class OnnxEncoder:
    """Encodes like ``SentenceTransformer.encode(normalize_embeddings=True)``.

    Args:
        folder: An export written by :func:`export`.

    Raises:
        ExportError: The folder holds no usable export.
    """

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ExportError(f"export format {meta.get('format')}, not {FORMAT}")
            self.dim = int(meta["dim"])
            self.max_tokens = int(meta["max_tokens"])
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            # Idle threads sleep instead of spinning: on a shared machine a
            # spinning pool takes cores from the web server and other work.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if threads:  # e.g. one per Ray worker, so two workers don't fight over two cores
                options.intra_op_num_threads = threads
            self._session = ort.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except ExportError:
            raise
        except Exception as exc:  # a missing file, a corrupt model, no onnxruntime
            raise ExportError(f"{type(exc).__name__}: {exc}") from exc
        # The tokenizer file pads and truncates to a fixed 128 tokens; the
        # model truncates at max_tokens, and encode() pads each batch itself.
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()  # each batch is padded to its longest in encode()
        self._pad_id = int(meta["pad_id"])
        self._tokenizer = tokenizer
        self._lock = threading.Lock()  # a Tokenizer's settings are not thread-safe

    def count_tokens(self, texts: list[str]) -> list[int]:
        with self._lock:
            encodings = self._counter.encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def encode(
        self, texts: list[str], batch_size: int | None = None, batch_tokens: int = BATCH_TOKENS
    ) -> np.ndarray:
        """Unit vectors, one row per text.

        Texts are encoded longest first, so a batch pads little, and a batch
        holds as many texts as fit ``batch_tokens`` (padded), so short
        sentences go many to a pass and long windows few; ``batch_size``
        fixes the texts per pass instead.
        """
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)  # truncated, not padded
        # Longest first, as sentence-transformers orders them.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        start = 0
        while start < len(order):
            end, longest = start + 1, len(encodings[order[start]].ids)
            while end < len(order) and end - start < (batch_size or len(order)):
                length = max(longest, len(encodings[order[end]].ids))
                if not batch_size and (end - start + 1) * length > batch_tokens:
                    break
                end, longest = end + 1, length
            rows, start = order[start:end], end
            feed = {
                name: np.zeros((len(rows), longest), dtype=np.int64)
                for name in ("input_ids", "attention_mask", "token_type_ids")
            }
            feed["input_ids"][:] = self._pad_id
            for n, i in enumerate(rows):
                e = encodings[i]
                feed["input_ids"][n, : len(e.ids)] = e.ids
                feed["attention_mask"][n, : len(e.ids)] = e.attention_mask
                feed["token_type_ids"][n, : len(e.ids)] = e.type_ids
            out[rows] = self._session.run(None, feed)[0]
        return out


# ------------------------------------------------------------------ exporting


def export(model: SentenceTransformer, folder: Path) -> None:
    """Write ``model`` to ``folder`` as ONNX, checked against the model itself.

    The folder appears complete or not at all: the export is written to a
    temporary folder beside it and renamed.  If another process got there
    first, its export is kept.

    Raises:
        ExportError: The model is not a mean-pooled transformer, the export
            failed, or its vectors differ from the model's.
    """
    import torch

    modules: list[Any] = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]):
        raise ExportError(f"only Transformer + mean Pooling models export; this is {kinds}")
    pooling = modules[1].get_config_dict()
    modes = pooling.get("pooling_mode") or [  # older sentence-transformers: one flag per mode
        k.removeprefix("pooling_mode_")
        for k, v in pooling.items()
        if k.startswith("pooling_mode_") and v
    ]
    if modes not in ("mean", ["mean"], ["mean_tokens"]):
        raise ExportError(f"only mean pooling exports; this model pools by {modes}")
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ExportError("the model has no fast tokenizer (tokenizer.json)")

    class Pooled(torch.nn.Module):
        """The transformer, its mean pooling and normalisation, as one graph."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = modules[0].auto_model.eval()

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        example = tokenizer(
            ["a question", "a longer example text"], padding=True, return_tensors="pt"
        )
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "tokens"} for n in names}
        try:
            with torch.no_grad(), warnings.catch_warnings():
                # The tracer warns about Python-level branches on shapes; the
                # check below is what tells a faithful export from a wrong one.
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Pooled(),
                    tuple(example[n] for n in names),
                    str(tmp / "model.onnx"),
                    input_names=names,
                    output_names=["vector"],
                    dynamic_axes=axes,
                    opset_version=17,
                    dynamo=False,
                )
        except Exception as exc:  # torch raises many kinds
            raise ExportError(f"torch.onnx.export failed: {type(exc).__name__}: {exc}") from exc
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        meta = {
            "format": FORMAT,
            "dim": int(model.get_embedding_dimension() or 0),
            "max_tokens": int(model.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token or "[PAD]"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _check(model, OnnxEncoder(tmp))
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check(model: SentenceTransformer, encoder: OnnxEncoder) -> None:
    """Raise ExportError unless ``encoder`` gives ``model``'s vectors and token counts."""
    expected = model.encode(SAMPLES, normalize_embeddings=True, convert_to_numpy=True)
    batched = encoder.encode(SAMPLES, batch_size=4)  # padded batches
    alone = np.vstack([encoder.encode([text], batch_size=1) for text in SAMPLES])  # no padding
    worst = float(max(np.abs(expected - batched).max(), np.abs(expected - alone).max()))
    if worst > TOLERANCE:
        raise ExportError(f"the export's vectors differ from the model's by {worst:.2g}")
    ids = model.tokenizer(SAMPLES, add_special_tokens=False, verbose=False)["input_ids"]
    counts = [len(i) for i in ids]
    if counts != encoder.count_tokens(SAMPLES):
        raise ExportError("the export's tokenizer counts tokens differently")
