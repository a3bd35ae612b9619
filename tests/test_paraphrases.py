"""Questions that share few words with their answer: the paraphrase set.

``tests/data/paraphrases.jsonl`` holds 75 questions on the seed article and
four SQuAD dev articles, each written in other words than its paragraph's
(other names for places, roles and verbs: "Stockholm" for Sweden, "the
Netherlands' minister" for the Dutch one).  Nothing is fitted on it.  It is
asked of one index of the seed corpus and those four articles together.
Floors are today's measured figures (docs/retrieval.md, "Questions that
share few words with the answer").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa
from qa.corpus import parse_file
from qa.embed import Embedder
from qa.evaluate import evaluate, read_questions

from .conftest import ROOT, SHARED_EVAL

PARAPHRASES = Path(__file__).parent / "data" / "paraphrases.jsonl"

# Measured with `python scripts/ablation.py --no-squad` on 2026-12-02: ask()
# 52/75 at hit@1 (plain dense 51/75 over "title. heading. paragraph", 53/75
# over the paragraph alone, BM25 37/75; the six-signal ranker got 42/75),
# 72/75 at hit@5, 69/75 answered.  The target, the better baseline + 0.05
# (57/75), is not met yet; these floors keep what was gained.
FLOORS = {"hit_at_1": 52 / 75, "hit_at_5": 72 / 75, "answered": 69 / 75}

pytestmark = pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="shared eval data not present")


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> qa.Retriever:
    folder = tmp_path_factory.mktemp("paraphrases")
    corpus = folder / "corpus"
    corpus.mkdir()
    for f in (ROOT / "corpus").iterdir():
        shutil.copy(f, corpus / f.name)
    wanted = {q["doc"] for q in read_questions(PARAPHRASES) if q.get("doc")}
    for f in sorted((SHARED_EVAL / "squad2-dev" / "corpus").glob("*.txt")):
        if parse_file(f).title in wanted:
            shutil.copy(f, corpus / f.name)
    assert len(list(corpus.iterdir())) == 1 + len(wanted)
    qa.build(corpus, folder / "index", embedder=embedder)
    return qa.load(folder / "index", embedder=embedder)


def test_the_set_is_written_as_documented() -> None:
    questions = read_questions(PARAPHRASES)
    assert len(questions) >= 60
    assert all(q["in_scope"] and q["passage_any"] for q in questions)
    squad = {q["doc"] for q in questions if q.get("doc")}
    assert len(squad) >= 4
    assert sum(not q.get("doc") for q in questions) >= 20  # the seed's


@pytest.mark.slow
def test_paraphrased_questions(retriever: qa.Retriever) -> None:
    questions = read_questions(PARAPHRASES)
    report = evaluate(retriever, questions)
    assert report.in_scope == len(questions)
    assert report.hit_at_1 >= FLOORS["hit_at_1"]
    assert report.hit_at_5 >= FLOORS["hit_at_5"]
    assert report.answered_in_scope >= FLOORS["answered"]
