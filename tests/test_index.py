from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.embed import Embedder
from qa.errors import IndexNotReadyError
from qa.index import is_current
from qa.store.local.files import build_dir
from qa.text import information, names, near_copy, terms
from qa.units import context

from .conftest import SEED

QUESTIONS = [
    "Where did the defence ministers meet?",
    "Who is leading the coalition of the willing?",
    "What did the Swedish minister say?",
    "How do I bake sourdough bread?",
]


def _answers(retriever: qa.Retriever) -> list[tuple[bool, str | None, float]]:
    out = []
    for q in QUESTIONS:
        a = retriever.ask(q)
        out.append((a.answered, a.passage.text if a.passage else None, round(a.confidence, 6)))
    return out


def test_round_trip_manifest_and_files(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    report = qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    assert (report.documents, report.passages, report.faqs) == (1, 7, 4)
    assert report.embeddings_computed == 11 and report.embeddings_reused == 0
    folder = build_dir(tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["counts"]["passages"] == 7 and manifest["counts"]["faqs"] == 4
    sha = manifest["documents"][0]["sha256"]
    import hashlib

    assert sha == hashlib.sha256(next(seed_corpus.iterdir()).read_bytes()).hexdigest()
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))

    retriever = qa.load(tmp_path / "index", embedder=embedder)
    assert [p.text for p in retriever.passages] == [
        p.text for p in qa.corpus.parse_file(next(seed_corpus.iterdir())).paragraphs
    ]
    # Stored vectors are the model's own unit vectors for those texts, in context.
    first = retriever.passages[0]
    in_context = context(first.doc, first.heading) + first.text
    np.testing.assert_allclose(
        retriever.store.vectors(np.array([first.units[0]]))[0],
        embedder.encode([in_context])[0],
        atol=1e-5,
    )
    assert is_current(seed_corpus, tmp_path / "index")


def test_search_matches_brute_force_cosine(
    seed_retriever: qa.Retriever, embedder: Embedder
) -> None:
    q = "Which minister talked about scenarios such as an escalation by Russia?"
    qvec = embedder.encode([q])[0]
    texts = [context(p.doc, p.heading) + p.text for p in seed_retriever.passages]
    best_dense = int(np.argmax(embedder.encode(texts) @ qvec))
    results = seed_retriever.search(q, k=3)
    assert len(results) == 3
    assert results[0].text == seed_retriever.passages[best_dense].text
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_ask_returns_passage_faq_and_declines(seed_retriever: qa.Retriever) -> None:
    a = seed_retriever.ask("Who is leading the coalition of the willing?")
    assert a.answered and a.passage is not None and 0.0 <= a.confidence <= 1.0
    assert "led by Britain and France" in a.passage.text
    assert a.faq is not None and a.faq.answer == "The coalition is led by Britain and France."
    off = seed_retriever.ask("How do I bake sourdough bread?")
    assert not off.answered and off.passage is None and off.faq is None
    assert off.suggestions  # the nearest FAQ questions, for the reader to try


def test_irregular_word_forms_are_one_keyword_term() -> None:
    assert set(terms("Who leads the talks?")) == set(terms("The talks were led"))
    assert terms("What did Healey say?") == terms("Healey said")
    assert terms("Who wrote it?") == terms("It was written") == terms("writes")
    assert terms("Which countries met?") == terms("The country meets")


def test_word_rarity_is_wordfreqs_zipf_frequency() -> None:
    from wordfreq import zipf_frequency

    words = {*SEED.read_text("utf-8").lower().split(), "kraków", "1066", "北京", "zzzqx"}
    for word in words:
        assert information(word) == 9.0 - zipf_frequency(word, "en"), word


def test_names_are_capitalized_words_and_figures_not_sentence_openings() -> None:
    assert names("Ministers met. The Swedish minister Pal Jonson said 30 were there.") == {
        *terms("swedish pal jonson 30")
    }
    assert names("who is pal jonson") == set()


def test_a_question_naming_someone_a_passage_names_is_answered(
    seed_retriever: qa.Retriever,
) -> None:
    # The model's cosine for a bare name is low ("Who is Pal Jonson?" gets
    # 0.09 with the sentence naming him); the passage naming every word of
    # the question answers it, typed in any case.
    for question, where in (
        ("Who is Pal Jonson?", "minister Pal Jonson said"),
        ("who is ruben brekelmans", "minister Ruben Brekelmans said"),
        ("Who is Healey?", "secretary John Healey said"),
    ):
        a = seed_retriever.ask(question)
        assert a.answered and a.passage is not None and where in a.passage.text, question
    # A word the passage lacks still counts: the name alone does not answer.
    for question in ("Where was Pal Jonson born?", "Who is Joe Biden?"):
        assert not seed_retriever.ask(question).answered, question


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


def test_near_copy_tells_a_restatement_from_a_different_claim() -> None:
    lead = "The coalition of mainly European nations is led by Britain and France."
    assert near_copy(lead, "The coalition of mainly European nations, led by Britain and France.")
    assert not near_copy(lead, "The coalition of mainly European nations is led by Germany.")
    assert not near_copy("Trump agreed to send troops.", "Trump declined to send troops.")
    assert not near_copy("", "") and not near_copy("the of and", "the of and")


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


def test_missing_and_corrupt_index_raise_qaerror(
    seed_index: Path, tmp_path: Path, embedder: Embedder
) -> None:
    with pytest.raises(qa.QAError, match="run `qa build`"):
        qa.load(tmp_path / "nothing-here")
    broken = tmp_path / "broken"
    shutil.copytree(build_dir(seed_index), broken)
    (broken / "units.faiss").write_bytes(b"not a faiss file")
    with pytest.raises(IndexNotReadyError, match="run `qa build`"):
        qa.load(broken, embedder=embedder)
    shutil.copy(build_dir(seed_index) / "units.faiss", broken / "units.faiss")
    (broken / "passages.jsonl").unlink()
    with pytest.raises(IndexNotReadyError, match="run `qa build`"):
        qa.load(broken, embedder=embedder)


def test_model_mismatch_raises_qaerror(seed_index: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="built with model 'all-MiniLM-L6-v2'"):
        qa.load(seed_index, embedder=Embedder("some/other-model"))


def test_failed_build_leaves_old_index_answering_the_same(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    before = _answers(qa.load(index, embedder=embedder))
    doc = next(seed_corpus.iterdir())
    doc.write_text(doc.read_text().replace("Brussels", "Vilnius"))

    def explode(folder: Path) -> None:
        assert (folder / "manifest.json").is_file()  # the new build was complete
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        qa.build(seed_corpus, index, embedder=embedder, before_swap=explode)
    after = qa.load(index, embedder=embedder)
    assert _answers(after) == before
    assert "Brussels" in after.passages[0].text
    assert [p.name for p in index.iterdir() if p.name.startswith(".tmp")] == []
    assert not is_current(seed_corpus, index)


def test_editing_one_paragraph_computes_one_embedding(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    again = qa.build(seed_corpus, index, embedder=embedder)
    assert (again.embeddings_reused, again.embeddings_computed) == (11, 0)
    doc = next(seed_corpus.iterdir())
    doc.write_text(
        doc.read_text().replace("gathered in Brussels on Thursday", "gathered in Vilnius on Friday")
    )
    edited = qa.build(seed_corpus, index, embedder=embedder)
    assert (edited.embeddings_reused, edited.embeddings_computed) == (10, 1)
    answer = qa.load(index, embedder=embedder).ask("Where did the ministers gather on Friday?")
    assert answer.passage is not None and "Vilnius on Friday" in answer.passage.text


def test_ask_is_thread_safe(seed_retriever: qa.Retriever) -> None:
    expected = {q: seed_retriever.ask(q) for q in QUESTIONS}
    results: list[tuple[str, qa.Answer]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for q in QUESTIONS * 5:
                results.append((q, seed_retriever.ask(q)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8 * 5 * len(QUESTIONS)
    for q, a in results:
        assert a.passage == expected[q].passage and a.answered == expected[q].answered
