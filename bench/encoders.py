"""Encoder options: PyTorch float32, one thread, int8, ONNX Runtime; and batch sizes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import summary, timed
from qa.embed import BATCH_SIZE, Embedder


def encoder_options(embedder: Embedder, texts: list[str], questions: list[str]) -> dict[str, Any]:
    """The default PyTorch encoder against one thread, int8, and ONNX Runtime.

    Every option encodes each question in turn, and the batch of texts in
    turn, so they share the machine's load alike.
    """
    import warnings

    import torch

    warnings.filterwarnings("ignore", module="torch.ao")  # deprecation notices
    model = embedder.model
    threads = torch.get_num_threads()

    def one_thread(xs: list[str]) -> np.ndarray:
        # On a busy machine a second thread can cost more in waiting than it gains.
        torch.set_num_threads(1)
        try:
            return model.encode(xs, batch_size=BATCH_SIZE, normalize_embeddings=True)
        finally:
            torch.set_num_threads(threads)

    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch float32": lambda xs: model.encode(
            xs, batch_size=BATCH_SIZE, normalize_embeddings=True
        ),
        "torch float32, 1 thread": one_thread,
        "torch int8 (dynamic)": lambda xs: quantized.encode(
            xs, batch_size=BATCH_SIZE, normalize_embeddings=True
        ),
    }
    options: dict[str, Any] = {}
    for backend in ("onnx", "openvino"):
        try:
            from sentence_transformers import SentenceTransformer

            from qa.embed import resolve_model

            other = SentenceTransformer(
                resolve_model(embedder.name), backend=backend, device="cpu", local_files_only=True
            )
            encoders[f"sentence-transformers {backend}"] = lambda xs, m=other: m.encode(
                xs, normalize_embeddings=True
            )
        except Exception as exc:  # each backend fails in its own way when not installed
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            options[f"sentence-transformers {backend} backend"] = {"error": error}
    try:
        encoders.update(onnx_encoders(embedder))
    except Exception as exc:  # onnxruntime missing, or the export failed
        options["onnx runtime (exported)"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}

    ref_q = model.encode(questions, normalize_embeddings=True)
    ref_t = model.encode(texts, normalize_embeddings=True)
    singles: dict[str, list[float]] = {name: [] for name in encoders}
    batches: dict[str, list[float]] = {name: [] for name in encoders}
    for encode in encoders.values():
        encode(questions[:3])
    names = list(encoders)
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            singles[name].append(timed(lambda q=q, e=encoders[name]: e([q]))[0])
    for r in range(2):
        for name in names if r == 0 else names[::-1]:
            batches[name].append(timed(lambda e=encoders[name]: e(texts))[0])
    for name, encode in encoders.items():
        options[name] = {
            "query": summary(singles[name]),
            "texts_per_s": round(len(texts) / float(np.median(batches[name])), 1),
            "cosine_to_float32": round(float(np.mean(np.sum(encode(texts) * ref_t, axis=1))), 4),
            "query_cosine_to_float32": round(
                float(np.mean(np.sum(encode(questions) * ref_q, axis=1))), 4
            ),
        }
        print(
            f"  {name}: query p50 {options[name]['query']['p50_ms']:.1f} ms, "
            f"{options[name]['texts_per_s']} texts/s, cosine to float32 "
            f"{options[name]['cosine_to_float32']}",
            flush=True,
        )
    return options


def batch_sizes(embedder: Embedder, texts: list[str]) -> dict[str, float]:
    """Texts per second of the default encoder: fixed texts per pass, and
    passes filled to a number of tokens (the ONNX encoder's way), interleaved."""
    runs: dict[str, Callable[[], np.ndarray]] = {
        f"{b} texts": lambda b=b: embedder.encode(texts, batch_size=b) for b in (4, 8, 16, 32)
    }
    if embedder.uses_onnx:
        encoder = embedder.encoder
        runs |= {
            f"{t} tokens": lambda t=t: encoder.encode(texts, batch_tokens=t)
            for t in (256, 512, 1024, 2048)
        }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    embedder.encode(texts[:8])
    for r in range(2):
        for name in runs if r == 0 else list(runs)[::-1]:
            seconds[name].append(timed(runs[name])[0])
    return {name: round(len(texts) / float(np.median(seconds[name])), 1) for name in runs}


def onnx_encoders(embedder: Embedder) -> dict[str, Callable[[list[str]], np.ndarray]]:
    """The model's ONNX export (qa.export, float32) and an int8 copy of it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.export import OnnxEncoder, export, export_dir

    folder = export_dir(embedder.name, embedder._weights_key())
    if not (folder / "meta.json").is_file():
        export(embedder.model, folder)
    fp32 = OnnxEncoder(folder)
    tmp = Path(tempfile.mkdtemp(prefix="qa-int8-"))
    try:
        for name in ("meta.json", "tokenizer.json"):
            shutil.copy(folder / name, tmp / name)
        quantize_dynamic(
            str(folder / "model.onnx"),
            str(tmp / "model.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,  # one scale per output column: cosine 0.994, not 0.96
        )
        int8 = OnnxEncoder(tmp)  # the session has read the file
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "onnx runtime float32": lambda xs: fp32.encode(xs),
        "onnx runtime int8 (dynamic, per channel)": lambda xs: int8.encode(xs),
    }
