"""The fits (qa/fit): what a fitted file records about its making; the registry the models read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.answer.followup import FollowupModel
from qa.fit.common import ROOT, provenance, relative, rounded, sha256
from qa.rank import features
from qa.rank.scoring import Scorer


def test_the_models_read_the_registry() -> None:
    scorer = Scorer.default()
    assert scorer.rank.features == features.RANK
    assert scorer.in_scope.features == features.IN_SCOPE
    assert scorer.correct.features == features.CORRECT
    followups = FollowupModel.default()
    assert followups.select.features == features.SELECT
    assert followups.answer.features == features.ANSWER


def test_provenance_names_the_data_and_rounds_the_scores(tmp_path: Path) -> None:
    data = tmp_path / "questions.jsonl"
    data.write_text('{"question": "Who?"}\n', "utf-8")
    made = provenance([data], "qa.fit.scoring", ["--cache", "x"], {"hit@1": 0.123456789})
    assert made["data"] == [{"path": relative(data), "sha256": sha256(data)}]
    assert made["command"] == "python -m qa.fit.scoring --cache x"
    assert made["scores"] == {"hit@1": 0.123457}
    assert rounded({"a": [1.0000004, 2]}) == {"a": [1.0, 2]}
    assert relative(ROOT.parent / "shared" / "eval" / "x.jsonl") == "../shared/eval/x.jsonl"


FITTED = sorted((ROOT / "qa").rglob("*.json"))
REQUIRED = {"data", "commit", "date", "command", "scores"}


def test_every_fitted_file_is_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FITTED}
    assert {
        "qa/rank/scoring.json",
        "qa/rank/faq.json",
        "qa/rank/aliases.json",
        "qa/answer/followup.json",
    } <= names


@pytest.mark.parametrize("fitted", FITTED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_fitted_file_says_what_made_it(fitted: Path) -> None:
    made = json.loads(fitted.read_text("utf-8"))["provenance"]
    assert REQUIRED <= set(made), f"{fitted.name}: provenance lacks {REQUIRED - set(made)}"
    assert made["command"].startswith("python -m qa.fit.") and made["scores"]
    assert made["commit"] and made["date"]
    paths = [item["path"] for item in made["data"]]
    assert paths and len(paths) == len(set(paths)), f"{fitted.name}: data listed twice"
    rerun = made["command"].split()[2]
    for item in made["data"]:
        path = ROOT / item["path"]
        if item["path"].startswith("../") and not path.exists():
            continue  # the shared data is not beside every checkout
        assert path.is_file(), f"{item['path']} is gone: rerun python -m {rerun}"
        assert sha256(path) == item["sha256"], f"{item['path']} changed: rerun python -m {rerun}"
