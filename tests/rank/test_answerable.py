"""The answer-level checks: what a question asks for and whether a sentence holds it."""

from __future__ import annotations

from qa.rank import question_words
from qa.rank.answerable import (
    answer_checks,
    missing_note,
    missing_words,
    negations,
    passage_coverage,
    type_missing,
    wanted,
)
from qa.text import terms

SENTENCE = "Defence ministers from some 30 countries gathered in Brussels on Thursday."


def test_what_a_question_asks_for() -> None:
    assert wanted("How many troops will Germany send?") == "number"
    assert wanted("How much will the force cost?") == "number"
    assert wanted("In what year was the treaty signed?") == "date"
    assert wanted("When will troops be deployed?") == "date"
    assert wanted("Who leads the coalition?") == "name"
    assert wanted("Where did the ministers meet?") == "name"
    assert wanted("What is the reassurance force for?") == ""


def test_a_sentence_holds_the_kind_of_answer_asked_for() -> None:
    assert type_missing("How many countries took part?", SENTENCE) == 0.0
    assert type_missing("When did they meet?", SENTENCE) == 0.0  # "Thursday"
    assert type_missing("Where did they meet?", SENTENCE) == 0.0  # "Brussels"
    assert type_missing("How many troops will they send?", "They will send troops.") == 1.0
    assert type_missing("What is the force for?", "They will send troops.") == 0.0


def test_a_figure_the_question_already_writes_is_no_answer() -> None:
    question = "How many troops did the 30 countries pledge?"
    assert type_missing(question, SENTENCE) == 1.0
    assert type_missing("Who met in Brussels?", "They met in Brussels.") == 1.0


def test_negations() -> None:
    assert negations("Which country did not send troops?")
    assert negations("What wasn't discussed?")
    assert negations("What is the least common form?")
    assert not negations("Which country sent troops?")


def test_passage_coverage_weighs_missing_words_by_rarity() -> None:
    words = question_words("How many troops will Germany send?")
    rarest, share = passage_coverage(words, SENTENCE)
    assert rarest == max(info for _, info in words)  # nothing of the question is there
    assert share == 0.0
    covered = question_words("How many countries gathered in Brussels?")
    assert passage_coverage(covered, SENTENCE) == (0.0, 1.0)


def test_answer_checks_see_a_negation_the_sentence_lacks() -> None:
    question = "Which ministers did not gather in Brussels?"
    checks = answer_checks(question, question_words(question), SENTENCE, SENTENCE)
    assert checks["negation_unmatched"] == 1.0
    assert checks["sentence_missing_info"] == 0.0
    other = "Which ministers gathered in Paris?"
    checks = answer_checks(other, question_words(other), SENTENCE, SENTENCE)
    assert checks["negation_unmatched"] == 0.0
    assert checks["sentence_name_missing"] == 1.0  # Paris
    assert checks["sentence_missing_info"] > 0.0


def test_missing_words_are_names_and_figures_in_the_questions_spelling() -> None:
    vocabulary = frozenset(terms(SENTENCE + " The US and Britain lead it."))
    assert missing_words("How many troops will Germany send?", vocabulary) == ("Germany",)
    assert missing_words("What did Japan's prime minister say in 2030?", vocabulary) == (
        "Japan",
        "2030",
    )
    # Common words the corpus lacks are no news, and names it has are not missing.
    assert missing_words("How many nations attended in Brussels?", vocabulary) == ()


def test_missing_note() -> None:
    assert missing_note(()) == ""
    assert missing_note(("Germany",)) == "The articles don't mention Germany."
    assert missing_note(("Italy", "Japan")) == "The articles don't mention Italy or Japan."
