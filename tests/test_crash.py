"""`qa build` killed with SIGKILL at random moments, and two builds at once.

After every kill the index that was live before still loads and answers
exactly as before, or the new build is live and complete; never a mix.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import qa
from qa.corpus import file_hashes
from qa.embed import Embedder
from qa.errors import QAError
from qa.store.local.files import build_lock

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "nato-coalition-of-the-willing-ukraine.txt"
KILLS = 20
QUESTIONS = [
    "Who leads the coalition of the willing?",
    "Where did the defence ministers meet?",
    "Which harbour has the red crane?",
    "How long is the festival parade?",
    "How do I bake sourdough bread?",
]

pytestmark = pytest.mark.slow


def _doc(title: str, topic: str, n: int) -> str:
    """A document long enough that embedding it takes a noticeable part of a build."""
    lines = [title]
    for i in range(n):
        lines.append(f"{topic} part {i}")
        lines.append(
            f"Report {i} on the {topic.lower()} says the red crane at pier {i} was repaired "
            f"on day {i}, and the festival parade lasted {i + 2} hours along the harbour road. "
            f"Volunteers counted {i * 7} visitors and {i * 3} boats near the {topic.lower()}."
        )
    return "\n".join(lines) + "\n"


VARIANTS = {
    "a": ("harbour.txt", _doc("Harbour News", "Harbour", 40)),
    "b": ("festival.txt", _doc("Festival News", "Festival", 40)),
}


def _use_variant(corpus: Path, name: str) -> None:
    for file, _ in VARIANTS.values():
        (corpus / file).unlink(missing_ok=True)
    file, text = VARIANTS[name]
    (corpus / file).write_text(text)


def _variant_of(index: Path, hashes: dict[str, dict[str, str]]) -> str:
    files = json.loads((index / "current" / "manifest.json").read_text())["files"]
    return next(name for name, h in hashes.items() if h == files)


def _answers(retriever: qa.Retriever) -> list[dict[str, Any]]:
    return [retriever.ask(q).to_dict() for q in QUESTIONS]


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """The same answers; confidences may differ in the last digit between two builds."""
    for x, y in zip(a, b, strict=True):
        px, py = x["passage"], y["passage"]
        if x["answered"] != y["answered"] or (px is None) != (py is None):
            return False
        if px is not None and px["text"] != py["text"]:
            return False
        if abs(x["confidence"] - y["confidence"]) > 1e-3:
            return False
    return True


def _qa_build(corpus: Path, index: Path, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def _wait_for_temp_folder(index: Path, proc: subprocess.Popen[str]) -> bool:
    """Poll until the build starts writing its folder; False if it ended first."""
    while proc.poll() is None:
        if any(p.name.startswith(".tmp-build-") for p in index.iterdir()):
            return True
        time.sleep(0.002)
    return False


def _wait_for_swap(index: Path, proc: subprocess.Popen[str]) -> None:
    live = os.readlink(index / "current")
    while proc.poll() is None and os.readlink(index / "current") == live:
        time.sleep(0.001)


@pytest.mark.timeout(2400)  # 20 cold starts of `qa build` on a busy 2-core machine
def test_sigkill_at_random_moments_never_loses_the_index(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    hashes = {}
    for name in VARIANTS:
        _use_variant(corpus, name)
        hashes[name] = file_hashes(corpus)

    # Calibrate: one whole build through the CLI, timing when it starts
    # writing its folder and when it swaps it in.
    _use_variant(corpus, "a")
    qa.build(corpus, index, embedder=embedder)
    _use_variant(corpus, "b")
    started = time.monotonic()
    proc = _qa_build(corpus, index)
    assert _wait_for_temp_folder(index, proc)
    writing_starts = time.monotonic() - started
    _wait_for_swap(index, proc)
    writing = max(time.monotonic() - started - writing_starts, 0.01)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    reference = {}
    for name in VARIANTS:
        _use_variant(corpus, name)
        qa.build(corpus, index, embedder=embedder)
        reference[name] = _answers(qa.load(index, embedder=embedder))
    assert reference["a"] != reference["b"]

    rng = random.Random(20261124)
    outcomes = {"kept old": 0, "new is live": 0, "leftover folder": 0}
    for run in range(KILLS):
        before_variant = _variant_of(index, hashes)
        live = qa.load(index, embedder=embedder)
        before = _answers(live)
        target = "b" if before_variant == "a" else "a"
        _use_variant(corpus, target)

        proc = _qa_build(corpus, index)
        if run % 3 == 0:  # anywhere from start-up to embedding
            time.sleep(rng.uniform(0, writing_starts))
        else:  # the short stretch that writes files and swaps them in, and just after
            _wait_for_temp_folder(index, proc)
            time.sleep(rng.uniform(0, writing * 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)

        leftovers = [p.name for p in index.iterdir() if p.name.startswith((".tmp-", "build-"))]
        if len(leftovers) > 1:
            outcomes["leftover folder"] += 1
        after = qa.load(index, embedder=embedder)
        if after.folder == live.folder:
            outcomes["kept old"] += 1
            assert _answers(after) == before, f"run {run}: the old index answers differently"
            assert _answers(live) == before
        else:
            outcomes["new is live"] += 1
            assert _variant_of(index, hashes) == target, f"run {run}: a mixed index is live"
            assert after.manifest.counts.passages == len(after.passages)
            assert _same(_answers(after), reference[target]), f"run {run}: new index differs"

    print(f"\n{KILLS} kills: {outcomes}")
    # The kills must have hit both sides of the swap, and builds cut off while writing.
    assert outcomes["kept old"] >= 5 and outcomes["new is live"] >= 1
    assert outcomes["leftover folder"] >= 3

    # The next build is not blocked by a dead build's lock and cleans up after it.
    proc = _qa_build(corpus, index)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "waiting" not in err
    left = sorted(p.name for p in index.iterdir())
    assert left == sorted([".build.lock", "current", (index / "current").resolve().name])


def _hold_build_lock(index: Path) -> subprocess.Popen[str]:
    """Another process that takes the build lock of ``index``, prints "held",
    and keeps it until its stdin closes."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, filelock; l = filelock.FileLock(sys.argv[1]); l.acquire(); "
            "print('held', flush=True); sys.stdin.read()",
            str(index / ".build.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_builds_at_once_take_turns(tmp_path: Path, embedder: Embedder) -> None:
    corpora = {}
    for name in VARIANTS:
        corpora[name] = tmp_path / f"corpus-{name}"
        corpora[name].mkdir()
        shutil.copy(SEED, corpora[name] / SEED.name)
        _use_variant(corpora[name], name)
    index = tmp_path / "index"
    qa.build(corpora["a"], index, embedder=embedder)

    # Hold the lock so both builds are sure to find it taken, then let go.
    holder = _hold_build_lock(index)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    logs = {name: tmp_path / f"build-{name}.log" for name in VARIANTS}
    builds = {
        name: _qa_build(corpora[name], index, stderr=logs[name].open("w")) for name in VARIANTS
    }
    deadline = time.monotonic() + 600
    while not all("waiting for it" in log.read_text() for log in logs.values()):
        assert time.monotonic() < deadline, "the builds never reached the lock"
        assert all(p.poll() is None for p in builds.values()), "a build ran despite the lock"
        time.sleep(0.1)
    holder.communicate("", timeout=30)
    for name, proc in builds.items():
        proc.communicate(timeout=900)
        err = logs[name].read_text()
        assert proc.returncode == 0, err
        assert f"another build of {index} is running; waiting for it" in err
    retriever = qa.load(index, embedder=embedder)
    files = retriever.manifest.files
    assert files in (file_hashes(corpora["a"]), file_hashes(corpora["b"]))
    assert len(retriever.passages) == retriever.manifest.counts.passages
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]


def test_a_build_that_cannot_get_the_lock_says_what_to_do(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    holder = _hold_build_lock(index)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(QAError, match="another build has held the lock for 1 s; wait"):
            with build_lock(index, wait=1):
                pass
    finally:
        holder.communicate("", timeout=30)
    with build_lock(index, wait=1):  # free again once the holder is gone
        pass
