"""Text utilities: keyword terms, word rarity, names, restatements."""

from __future__ import annotations

from qa.text import information, names, near_copy, terms

from .conftest import SEED


def test_irregular_word_forms_are_one_keyword_term() -> None:
    assert set(terms("Who leads the talks?")) == set(terms("The talks were led"))
    assert terms("What did Healey say?") == terms("Healey said")
    assert terms("Who wrote it?") == terms("It was written") == terms("writes")
    assert terms("Which countries met?") == terms("The country meets")


def test_word_list_is_read_as_wordfreq_reads_it() -> None:
    from wordfreq import get_frequency_dict

    from qa.text import _frequencies

    assert _frequencies() == get_frequency_dict("en")


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


def test_near_copy_tells_a_restatement_from_a_different_claim() -> None:
    lead = "The coalition of mainly European nations is led by Britain and France."
    assert near_copy(lead, "The coalition of mainly European nations, led by Britain and France.")
    assert not near_copy(lead, "The coalition of mainly European nations is led by Germany.")
    assert not near_copy("Trump agreed to send troops.", "Trump declined to send troops.")
    assert not near_copy("", "") and not near_copy("the of and", "the of and")
