"""`qa calibrate`: the confidence refit on a deployment's own labels, stored with the index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.calibrate import FILE, calibrated, fit
from qa.embed import Embedder
from qa.feedback import FeedbackLog, Vote
from qa.rank import Scorer

from .conftest import ROOT
from .test_cli import run_qa

REWORDINGS = ROOT / "tests/data/seed_rewordings.jsonl"


@pytest.fixture
def index(seed_index: Path, tmp_path: Path) -> Path:
    """A copy of the seed index that a test may calibrate."""
    folder = tmp_path / "index"
    shutil.copytree(seed_index, folder, symlinks=True)
    return folder


def test_fit_finds_the_scale_and_shift_that_made_the_labels() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, 20000)
    right = rng.random(20000) < 1.0 / (1.0 + np.exp(-(2.0 * logits + 1.0)))
    scale, shift = fit(logits, right.astype(float), prior=1.0)
    assert scale == pytest.approx(2.0, abs=0.1) and shift == pytest.approx(1.0, abs=0.1)
    # A strong prior keeps a few labels from moving it far from no change.
    few_scale, few_shift = fit(logits[:10], right[:10].astype(float), prior=1000.0)
    assert abs(few_scale - 1.0) < 0.1 and abs(few_shift) < 0.1


def test_calibrate_changes_the_confidence_only(index: Path, embedder: Embedder) -> None:
    questions = [json.loads(line)["question"] for line in REWORDINGS.read_text().splitlines()]
    before = qa.load(index, embedder=embedder)
    result = run_qa("calibrate", REWORDINGS, "--index", index)
    assert result.returncode == 0, result.stderr
    assert "calibrated on" in result.stdout and "right at High" in result.stdout
    stored = json.loads((index / FILE).read_text("utf-8"))
    assert stored["labels"] >= 10 and stored["source"] == REWORDINGS.name
    after = qa.load(index, embedder=embedder)
    assert after.scorer.correct != before.scorer.correct
    assert after.scorer.rank == before.scorer.rank
    assert after.scorer.in_scope == before.scorer.in_scope
    changed = 0
    for q in questions:
        a, b = before.ask(q), after.ask(q)
        assert (a.answered, a.passage) == (b.answered, b.passage), q
        changed += a.answered and a.confidence != b.confidence
    assert changed > 0
    # The rewordings are mostly answered right: the calibrated confidence says so more often.
    assert stored["after"]["right_at_high"] > stored["before"]["right_at_high"]


def test_calibrate_reads_the_thumbs_log(index: Path, embedder: Embedder, tmp_path: Path) -> None:
    retriever = qa.load(index, embedder=embedder)
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for line in REWORDINGS.read_text().splitlines():
        row = json.loads(line)
        answer = retriever.ask(row["question"])
        if not answer.answered or answer.passage is None:
            continue
        right = row["in_scope"] and any(n in answer.passage.text for n in row["passage_any"])
        log.append(
            Vote(
                "up" if right else "down",
                row["question"],
                answer.passage.id,
                True,
                answer.confidence,
                answer.passage.doc,
                answer.passage.heading,
                retriever.build_id,
            )
        )
    result = run_qa("calibrate", log.path, "--index", index, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["labels"] >= 10


def test_too_few_labels_is_one_clear_line(index: Path, tmp_path: Path) -> None:
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join(REWORDINGS.read_text().splitlines()[:3]) + "\n")
    result = run_qa("calibrate", few, "--index", index)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("qa: error: few.jsonl:")
    assert "at least 10" in result.stderr and "Traceback" not in result.stderr
    assert not (index / FILE).exists()


def test_a_calibration_over_another_confidence_model_is_ignored(
    index: Path, embedder: Embedder
) -> None:
    (index / FILE).write_text(
        json.dumps({"scale": 3.0, "shift": 2.0, "model": "0" * 64, "labels": 20, "right": 10})
    )
    retriever = qa.load(index, embedder=embedder)
    assert retriever.scorer.correct == Scorer.default().correct
    assert calibrated(Scorer.default(), retriever.store).correct == Scorer.default().correct
