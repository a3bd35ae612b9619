"""Shared fixtures: the real model, loaded once; small corpora in tmp_path; no network."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from qa.embed import Embedder
from qa.live import LiveIndex
from tests.support.samples import HOSTILE

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "nato-coalition-of-the-willing-ukraine.txt"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
# Seed questions for tests that compare two indexes' eval figures: the dev set
# when ../shared is beside the checkout, else our own rewordings of it.
SEED_QUESTIONS = (
    SHARED_EVAL / "article_dev.jsonl"
    if (SHARED_EVAL / "article_dev.jsonl").is_file()
    else ROOT / "tests" / "data" / "seed_rewordings.jsonl"
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_configure(config: pytest.Config) -> None:
    """The model's ONNX export goes to a fresh folder, not the user's cache:
    each run exports once (tests/test_export.py checks it) and the apps the
    tests start, which inherit the environment, share it."""
    if "QA_CACHE_DIR" not in os.environ:
        os.environ["QA_CACHE_DIR"] = tempfile.mkdtemp(prefix="qa-test-cache-")
        config.add_cleanup(
            lambda: shutil.rmtree(os.environ.pop("QA_CACHE_DIR"), ignore_errors=True)
        )


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Unit tests prove the bot runs offline: any non-loopback connection fails."""
    if request.node.get_closest_marker("browser") or request.node.get_closest_marker("network_ok"):
        return
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not (self.family == socket.AF_UNIX)
        ):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    e = Embedder()
    e.encode(["warm up"])
    return e


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A built index of the seed corpus, shared read-only by tests."""
    import qa

    folder = tmp_path_factory.mktemp("seed")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    qa.build(corpus, folder / "index", embedder=embedder)
    return folder / "index"


@pytest.fixture(scope="session")
def seed_retriever(seed_index: Path, embedder: Embedder):  # type: ignore[no-untyped-def]
    import qa

    return qa.load(seed_index, embedder=embedder)


@pytest.fixture
def hostile_corpus(seed_corpus: Path) -> Path:
    """The seed corpus plus a file that tries to inject markup (``samples.HOSTILE``)."""
    (seed_corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    return seed_corpus


@pytest.fixture
def live(seed_corpus: Path, tmp_path: Path, embedder: Embedder) -> LiveIndex:
    """A prepared :class:`LiveIndex` over a fresh build of the seed corpus."""
    import qa

    qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    index = LiveIndex(seed_corpus, tmp_path / "index", embedder=embedder)
    index.prepare()
    return index
