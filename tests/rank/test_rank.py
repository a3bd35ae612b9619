"""Ranking: the highlighted sentence and the runner-up."""

from __future__ import annotations

from pathlib import Path

import qa
from qa.embed import Embedder
from tests.conftest import SEED


def test_the_highlighted_sentence_is_chosen_by_words_and_meaning(
    seed_retriever: qa.Retriever,
) -> None:
    # By cosine alone the lead's second sentence ("The gathering at Nato
    # headquarters was ...") is nearest to both questions; the sentence that
    # answers them is the one naming the ministers gathering in Brussels.
    for question in (
        "Where did the defence ministers gather?",
        "In which city did the ministers meet?",
    ):
        a = seed_retriever.ask(question)
        assert a.passage is not None, question
        assert "gathered in Brussels on Thursday" in a.passage.sentence, (
            question,
            a.passage.sentence,
        )
    a = seed_retriever.ask("Will the US provide assurances?")
    assert a.passage is not None
    assert a.passage.sentence == "Trump has so far declined to provide such assurances."


def test_a_conclusion_restating_the_lead_does_not_lower_confidence(
    tmp_path: Path, seed_retriever: qa.Retriever, embedder: Embedder
) -> None:
    # The seed's conclusion restates its lead.  Two passages giving the same
    # answer are not a sign of doubt: the confidence should be about what it
    # is for the same article without the conclusion.
    lines = SEED.read_text("utf-8").splitlines()
    cut = lines.index("Conclusion")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_text("\n".join(lines[:cut] + lines[cut + 2 :]) + "\n", "utf-8")
    qa.build(corpus, tmp_path / "index", embedder=embedder)
    without = qa.load(tmp_path / "index", embedder=embedder)
    for question in ("Who leads the coalition?", "What happens next for the coalition?"):
        ranked = seed_retriever.rank(question)
        assert ranked.runner_up > 1  # the restatement is passed over
        a, b = seed_retriever.ask(question), without.ask(question)
        assert a.passage is not None and "led by Britain and France" in a.passage.text
        assert a.confidence >= b.confidence - 0.1, (a.confidence, b.confidence)
