"""`qa build --ray`: the same index as a plain build, workers that die, jobs that fail."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qa
from qa.cli import main
from qa.embed import Embedder
from qa.errors import QAError
from qa.evaluate import evaluate, read_questions
from qa.store import live_build, open_store
from tests.conftest import SEED_QUESTIONS

ray = pytest.importorskip("ray", reason="Ray is the qa[ray] extra, which make test installs")

from qa.ray_build import Encoder, RayEncode  # noqa: E402


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """One local Ray for the module: two CPUs, on 127.0.0.1, no dashboard."""
    import ray.cloudpickle

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # The failing encoders below travel to the workers by value, not by import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level="WARNING",
        log_to_driver=False,
        runtime_env={"env_vars": {"QA_CACHE_DIR": os.environ["QA_CACHE_DIR"]}},
    )
    yield ray
    ray.shutdown()


def _vectors(location: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    store = open_store(location)
    rows = np.arange(store.manifest.counts.vectors)
    return store.vectors(rows), store.kinds(rows), [p.text for p in store.passages]


@pytest.mark.slow
def test_ray_build_is_the_plain_index(seed_corpus: Path, tmp_path: Path, embedder: Embedder,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # The command itself: it starts a local Ray of two workers and stops it after.
    plain, on_ray = tmp_path / "plain", tmp_path / "ray"
    qa.build(seed_corpus, plain, embedder=embedder)
    code = main(["build", "--corpus", str(seed_corpus), "--index", str(on_ray), "--ray",
                 "--workers", "2"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert not ray.is_initialized()
    want, got = _vectors(plain), _vectors(on_ray)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]
    questions = read_questions(SEED_QUESTIONS)
    figures = [
        evaluate(qa.load(i, embedder=embedder), questions).to_json() for i in (plain, on_ray)
    ]
    assert figures[0] == figures[1]


class DiesOnce(Encoder):
    """Kills its worker process at its first batch (a node lost mid-build)."""

    marker = ""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not os.path.exists(self.marker):
            Path(self.marker).write_text("died", "utf-8")
            os._exit(1)
        return super().__call__(batch)


class Fails(Encoder):
    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise ValueError("this worker cannot encode")


@pytest.mark.slow
def test_a_worker_that_dies_is_restarted(
    local_ray: Any, seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    dies = type("DiesHere", (DiesOnce,), {"marker": str(tmp_path / "died")})
    qa.build(seed_corpus, tmp_path / "plain", embedder=embedder)
    qa.build(seed_corpus, tmp_path / "ray", embedder=embedder,
             encode=RayEncode(workers=2, batch_size=16, encoder=dies))  # fmt: skip
    assert (tmp_path / "died").exists()  # a worker did die
    assert ray.is_initialized()  # a Ray it did not start is left running
    np.testing.assert_allclose(_vectors(tmp_path / "ray")[0], _vectors(tmp_path / "plain")[0],
                               atol=1e-5)  # fmt: skip


@pytest.mark.slow
def test_a_failed_ray_job_publishes_nothing(
    local_ray: Any, seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    before = live_build(index)
    (seed_corpus / "more.txt").write_text("More\nNews\nA paragraph nobody has embedded.\n", "utf-8")
    with pytest.raises(QAError, match="Ray job failed.*not changed"):
        qa.build(seed_corpus, index, embedder=embedder, encode=RayEncode(workers=1, encoder=Fails))
    assert live_build(index) == before


def test_without_ray_it_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, seed_corpus: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when it is not installed
    code = main(["build", "--corpus", str(seed_corpus), "--index", str(tmp_path / "i"), "--ray"])
    assert code == 1
    assert "pip install 'qa[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "i").exists()
