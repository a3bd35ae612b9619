"""The FAQ matcher: its fitted file, and its figures against plain question-to-question cosine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import qa
from qa.embed import Embedder
from qa.evaluate import evaluate, read_questions
from qa.rank.faq import MODEL_FILE, SHOW_SIGNALS, SIGNALS, FAQModel

ROOT = Path(__file__).resolve().parents[2]
OWN_FAQ = ROOT / "tests" / "data" / "faq"


def test_fitted_file_names_its_signals_and_data() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["signals"] == list(SIGNALS) and data["show"]["signals"] == list(SHOW_SIGNALS)
    FAQModel.load()  # the weights fit the signals
    provenance = data["provenance"]
    assert provenance["command"] and provenance["scores"]
    for item in provenance["data"]:
        path = ROOT / item["path"]
        if path.exists():  # ../shared is not in every checkout
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == item["sha256"], f"{item['path']} changed: rerun scripts/fit_faq.py"


@pytest.fixture(scope="module")
def own_faq(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> qa.Retriever:
    index = tmp_path_factory.mktemp("own-faq") / "index"
    qa.build(str(OWN_FAQ), str(index))
    return qa.Retriever(index, embedder)


def test_own_faq_set_beats_plain_question_cosine(own_faq: qa.Retriever) -> None:
    report = evaluate(own_faq, read_questions(OWN_FAQ / "questions.jsonl"))
    assert report.faq_labelled == 67
    assert report.faq_accuracy is not None and report.faq_qq_floor is not None
    assert report.faq_accuracy >= report.faq_qq_floor
    assert report.declined["off_topic"] == 1.0


def test_faq_pair_shown_even_when_the_passages_decline(own_faq: qa.Retriever) -> None:
    # The passage models decline this one (it shares few words with the paragraph);
    # the FAQ matcher's own decision still shows the pair, with the passage.
    answer = own_faq.ask("penalty for bringing a dvd back after the due date")
    assert answer.faq is not None and "Late fees" in answer.faq.answer
    assert answer.answered
