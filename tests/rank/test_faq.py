"""The FAQ matcher: its fitted file, and its figures against plain question-to-question cosine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import qa
from qa.app.render import render_answer
from qa.calibrate import label_questions
from qa.embed import Embedder
from qa.evaluate import evaluate, read_questions
from qa.rank.faq import MODEL_FILE, SHOW_SIGNALS, SIGNALS, FAQModel

ROOT = Path(__file__).resolve().parents[2]
OWN_FAQ = ROOT / "tests" / "data" / "faq"
MORE_FAQ = ROOT / "tests" / "data" / "faq-more"  # never fitted on: a check of other topics


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
            assert digest == item["sha256"], f"{item['path']} changed: rerun python -m qa.fit.faq"


@pytest.fixture(scope="module")
def own_faq(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> qa.Retriever:
    index = tmp_path_factory.mktemp("own-faq") / "index"
    qa.build(str(OWN_FAQ), str(index))
    return qa.Retriever(index, embedder)


def test_own_faq_set_floor(own_faq: qa.Retriever) -> None:
    # Measured 49/67 (0.731) in sample, 0.657 out of fold; plain question-to-question
    # cosine gets 51/67; the target of beating it by 0.08 is not met yet (README, "FAQ answers").
    # Before the FAQ matcher had its own models: 31/67.
    report = evaluate(own_faq, read_questions(OWN_FAQ / "questions.jsonl"))
    assert report.faq_labelled == 67
    assert report.faq_accuracy is not None and report.faq_accuracy >= 0.71
    assert report.faq_qq_floor is not None and report.faq_qq_floor > 0.7
    assert report.declined["off_topic"] == 1.0


def test_no_faq_pair_for_a_question_about_other_articles(own_faq: qa.Retriever) -> None:
    # An unknown ferry is not the library's business, however near an FAQ question's words;
    # nor is the seed article's coalition, asked within one document.
    for question, docs in (
        ("When does the Quendale ferry leave Brindlemoor harbour?", None),
        ("Who is leading the coalition of the willing?", ["library.txt"]),
        ("What is the purpose of the Nato meeting?", ["heat-pumps.txt"]),
    ):
        answer = own_faq.ask(question, docs=docs)
        assert not answer.answered and answer.faq is None, question


def test_a_passage_decline_does_not_hide_a_matching_pair(own_faq: qa.Retriever) -> None:
    # Two words: the passage models alone decline them, the FAQ question asks the same.
    text = "noise level"
    ranking = own_faq.rank(text)
    assert not own_faq.ranker.decide(ranking, text, ranking.words).answered
    answer = own_faq.ask(text)
    assert answer.answered and answer.faq is not None
    assert answer.faq.question == "Is a heat pump noisy?"
    assert answer.confidence == answer.faq.score and answer.kind == "faq"
    # The page shows the pair first, then the passage its answer points to.
    markup = render_answer(answer)
    assert markup.index('class="qa-faq"') < markup.index('class="qa-passage"')
    # `qa calibrate` refits the passages' confidence: the pair's own probability is not one.
    row = next(r for r in read_questions(OWN_FAQ / "questions.jsonl") if r["question"] == text)
    assert label_questions(own_faq, [row]) == []


def test_a_shown_pair_lifts_the_passage_its_answer_holds(own_faq: qa.Retriever) -> None:
    # The ranker puts another heat-pump paragraph first; the radiators pair's answer
    # says what the radiators paragraph says, so that one is shown.
    row = next(
        r
        for r in read_questions(OWN_FAQ / "questions.jsonl")
        if r["question"] == "what size radiators are needed"
    )
    needle = row["passage_any"][0]
    assert needle not in own_faq.search(row["question"], k=1)[0].text
    answer = own_faq.ask(row["question"])
    assert answer.faq is not None and answer.faq.question == "Do I need to replace my radiators?"
    assert answer.passage is not None and needle in answer.passage.text
    assert answer.sources and needle in answer.sources[0].text


def test_faq_set_the_fit_never_saw(tmp_path: Path, embedder: Embedder) -> None:
    # Two more articles (bike share, rail refunds), 60 rewordings typed as users do,
    # 10 on-topic questions no pair answers, 8 off-topic. Measured 33/60 (0.550), passage
    # hit@1 48/70, 1 of 10 shown where none applies; before the show model decided on
    # its own and lifted passages, 31/60 and 42/70. Plain question-to-question cosine: 40/60.
    qa.build(str(MORE_FAQ), str(tmp_path / "index"))
    report = evaluate(
        qa.Retriever(tmp_path / "index", embedder), read_questions(MORE_FAQ / "questions.jsonl")
    )
    assert (report.faq_labelled, report.faq_unlabelled, report.in_scope) == (60, 10, 70)
    assert report.faq_accuracy is not None and report.faq_accuracy >= 0.53
    assert report.hit_at_1 >= 0.66
    assert report.faq_false_matches <= 1
    assert report.faq_qq_floor is not None and report.faq_qq_floor > 0.6
