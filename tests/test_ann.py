"""The FAISS index choice: approximate search against brute force, settings in the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.errors import IndexNotReadyError
from qa.store.local import ann
from qa.store.local.files import build_dir

from .conftest import SEED


def clustered(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors in topics and tight groups, like sentence embeddings.

    Uniform random vectors would make every neighbour nearly equidistant,
    which no real corpus looks like; groups of about 8 inside topics of about
    1,000 give a similar profile of nearest-neighbour similarities to MiniLM
    on SQuAD paragraphs (see bench/synthetic.py).
    """
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(dim)
    topics = rng.standard_normal((max(1, n // 1000), dim)) / np.sqrt(dim)
    groups = 0.55 * topics[rng.integers(0, len(topics), max(1, n // 8))]
    groups += 0.75 * rng.standard_normal(groups.shape) / np.sqrt(dim)
    groups += 0.15 * mean / np.linalg.norm(mean)
    x = groups[rng.integers(0, len(groups), n)] + 0.6 * rng.standard_normal((n, dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1)[:, :k]


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    x = clustered(30_200, seed=3)
    return x[:30_000], x[30_000:]


def test_flat_index_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    index = ann.build_index(vectors, ann.AnnParams())
    scores, ids = index.search(queries, 10)
    exact = -np.sort(-(queries @ vectors.T), axis=1)[:, :10]
    # Equal scores, not equal ids: near-ties may swap places by rounding.
    np.testing.assert_allclose(scores, exact, atol=1e-5)
    assert recall_at(ids, exact_top(vectors, queries, 10)) >= 0.99


@pytest.mark.parametrize("storage", list(ann.Storage))
def test_ivf_recall_against_brute_force(
    data: tuple[np.ndarray, np.ndarray], storage: ann.Storage
) -> None:
    vectors, queries = data
    params = ann.choose(len(vectors), flat_max=1_000)
    params = ann.AnnParams(params.kind, params.nlist, params.nprobe, storage, params.train_size)
    assert params.kind is ann.IndexKind.IVF
    index = ann.build_index(vectors, params)
    assert index.nprobe == params.nprobe
    _, ids = index.search(queries, 10)
    assert recall_at(ids, exact_top(vectors, queries, 10)) >= 0.95
    # Searching every cluster must find the exact answer (up to 8-bit rounding).
    index.nprobe = params.nlist
    _, ids = index.search(queries, 10)
    floor = 0.97 if storage is ann.Storage.INT8 else 0.999
    assert recall_at(ids, exact_top(vectors, queries, 10)) >= floor


def test_rows_keep_their_order(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    rows = np.arange(1, len(vectors), 3)
    index = ann.build_index(vectors, ann.AnnParams(), rows)
    _, ids = index.search(queries[:5], 3)
    np.testing.assert_array_equal(rows[ids], exact_top(vectors[rows], queries[:5], 3) * 3 + 1)


def test_reused_centroids_skip_training(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    params = ann.choose(len(vectors), flat_max=1_000)
    first = ann.build_index(vectors, params)
    centroids = ann.centroids_of(first)
    assert centroids is not None and centroids.shape == (params.nlist, vectors.shape[1])
    second = ann.build_index(vectors, params, centroids=centroids, seed=99)
    np.testing.assert_array_equal(ann.centroids_of(second), centroids)
    _, ids = second.search(queries, 10)
    assert recall_at(ids, exact_top(vectors, queries, 10)) >= 0.95


def test_choose_switches_at_the_threshold() -> None:
    assert ann.choose(ann.FLAT_MAX_VECTORS).kind is ann.IndexKind.FLAT
    big = ann.choose(ann.FLAT_MAX_VECTORS + 1)
    assert big.kind is ann.IndexKind.IVF
    assert 1 <= big.nprobe <= big.nlist <= big.train_size
    million = ann.choose(1_000_000)
    assert million.nlist > big.nlist and million.train_size <= 1_000_000


def test_params_round_trip_through_json() -> None:
    params = ann.choose(1_000_000)
    again = ann.AnnParams.from_manifest(json.loads(json.dumps(params.to_manifest())))
    assert again == params
    assert ann.AnnParams.from_manifest(None) == ann.AnnParams()
    assert ann.AnnParams.from_manifest({"kind": "flat"}).kind is ann.IndexKind.FLAT


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "hnsw"},
        {"kind": "ivf"},
        {"kind": "ivf", "nlist": 8, "nprobe": 9},
        "flat",
        {"kind": "ivf", "nlist": 8, "nprobe": 2, "storage": "int4"},
    ],
)
def test_unreadable_params_say_rebuild(bad: object) -> None:
    with pytest.raises(IndexNotReadyError, match="qa build"):
        ann.AnnParams.from_manifest(bad)


def test_manifest_and_index_must_agree(data: tuple[np.ndarray, np.ndarray]) -> None:
    flat = ann.build_index(data[0][:100], ann.AnnParams())
    with pytest.raises(IndexNotReadyError, match="qa build"):
        ann.configure(flat, ann.choose(100, flat_max=10))


def test_build_records_ivf_and_load_reads_it_back(
    tmp_path: Path,
    embedder,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """A corpus above the threshold gets IVF; its nprobe comes back from the manifest."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    monkeypatch.setattr(ann, "FLAT_MAX_VECTORS", 10)
    index_dir = tmp_path / "index"
    qa.build(corpus, index_dir, embedder=embedder)
    folder = build_dir(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    params = ann.AnnParams.from_manifest(manifest["ann"])
    assert params.kind is ann.IndexKind.IVF and params.nprobe > 1

    retriever = qa.load(index_dir, embedder=embedder)
    assert retriever.store.index.nprobe == params.nprobe
    assert retriever.store.index.ntotal == int((retriever.store.units[:, 1] <= 1).sum())
    answer = retriever.ask("Where did the ministers meet?")
    assert answer.answered

    # Editing one paragraph reuses the clusters instead of training again.
    centroids = np.load(folder / ann.CENTROIDS_FILE)
    path = corpus / SEED.name
    lines = path.read_text("utf-8").splitlines()
    longest = max(range(len(lines)), key=lambda i: len(lines[i]))
    lines[longest] += " This sentence was added."
    path.write_text("\n".join(lines) + "\n", "utf-8")
    report = qa.build(corpus, index_dir, embedder=embedder)
    assert report.embeddings_computed == 1
    np.testing.assert_array_equal(np.load(build_dir(index_dir) / ann.CENTROIDS_FILE), centroids)


def test_small_build_stays_exact(seed_index: Path) -> None:
    manifest = json.loads((build_dir(seed_index) / "manifest.json").read_text("utf-8"))
    assert manifest["ann"] == {"kind": "flat"}
