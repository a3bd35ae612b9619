"""The ONNX export encodes exactly like sentence-transformers, and answering never needs torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embed import Embedder, resolve_model
from qa.errors import ModelError
from qa.export import ExportError, OnnxEncoder, export, export_dir

from .conftest import ROOT, SEED


def seed_texts() -> list[str]:
    """Every line of the seed article, and one text far past the token limit."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [*lines, " ".join(lines)]


def test_the_default_encoder_is_the_export_and_matches_the_model(embedder: Embedder) -> None:
    assert embedder.uses_onnx
    reference = Embedder(backend="torch")
    assert not reference.uses_onnx
    texts = seed_texts()
    got, expected = embedder.encode(texts, batch_size=16), reference.encode(texts)
    assert got.shape == expected.shape == (len(texts), 384)
    assert float(np.abs(got - expected).max()) < 1e-4
    # The same ranking: each text's nearest neighbour is the same under both.
    assert (
        np.argsort(-(got @ got.T), axis=1)[:, 1]
        == np.argsort(-(expected @ expected.T), axis=1)[:, 1]
    ).all()
    assert embedder.count_tokens(texts) == reference.count_tokens(texts)
    assert (embedder.dim, embedder.max_tokens) == (reference.dim, reference.max_tokens)


def test_exporting_over_an_existing_export_keeps_it(embedder: Embedder) -> None:
    """What a second process racing to export sees: the first export stays."""
    folder = export_dir(embedder.name, embedder._weights_key())
    before = (folder / "model.onnx").stat().st_mtime_ns
    export(embedder.model, folder)
    assert (folder / "model.onnx").stat().st_mtime_ns == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".export-")]


def test_a_damaged_export_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    first = Embedder()
    assert first.uses_onnx
    folder = export_dir(first.name, first._weights_key())
    expected = first.encode(["Who leads the coalition?"])
    (folder / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ExportError, match="InvalidProtobuf|INVALID"):
        OnnxEncoder(folder)

    again = Embedder()
    assert again.uses_onnx
    assert "exporting again" in caplog.text
    assert float(np.abs(again.encode(["Who leads the coalition?"]) - expected).max()) < 1e-6


def copy_model(tmp_path: Path) -> Path:
    """The shipped model folder, copied (weights linked, not copied)."""
    source = Path(resolve_model("all-MiniLM-L6-v2"))
    folder = tmp_path / "model"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    for weights in source.glob("*.safetensors"):
        os.symlink(weights, folder / weights.name)
    return folder


def test_a_model_the_export_cannot_express_stays_with_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    folder = copy_model(tmp_path)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    pooling.write_text(json.dumps(config))

    auto = Embedder(str(folder))
    assert not auto.uses_onnx
    assert "encoding with sentence-transformers" in caplog.text
    # Still a working model, and a different one: CLS pooling, not the mean.
    vector = auto.encode(["Who leads the coalition?"])[0]
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    assert float(vector @ Embedder().encode(["Who leads the coalition?"])[0]) < 0.99
    with pytest.raises(ModelError, match="cannot export"):
        _ = Embedder(str(folder), backend="onnx").dim
    assert not export_dir(auto.name, auto._weights_key()).exists()


def test_changed_weights_get_their_own_export(tmp_path: Path) -> None:
    folder = copy_model(tmp_path)
    weights = folder / "config.json"
    before = Embedder(str(folder))._weights_key()
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert Embedder(str(folder))._weights_key() != before


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown backend 'gpu'"):
        Embedder(backend="gpu")


def test_answering_never_imports_torch(seed_index: Path, embedder: Embedder) -> None:
    """What makes the app start fast: with the export made, a question needs no torch."""
    assert embedder.uses_onnx  # the session's export exists, in QA_CACHE_DIR
    script = (
        "import sys, qa\n"
        f"answer = qa.load({str(seed_index)!r}).ask('Who leads the coalition of the willing?')\n"
        "print(answer.answered, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    assert out.stdout.split() == ["True", "False", "False"]
