"""The fits (qa/fit): what a fitted file records about its making; the registry the models read."""

from __future__ import annotations

from pathlib import Path

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
