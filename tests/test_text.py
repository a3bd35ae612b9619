"""Text utilities: keyword terms, word rarity, names, restatements."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.text import information, names, near_copy, terms

from .conftest import SEED


def test_irregular_word_forms_are_one_keyword_term() -> None:
    assert set(terms("Who leads the talks?")) == set(terms("The talks were led"))
    assert terms("What did Healey say?") == terms("Healey said")
    assert terms("Who wrote it?") == terms("It was written") == terms("writes")
    assert terms("Which countries met?") == terms("The country meets")


def test_word_list_is_read_as_wordfreq_reads_it() -> None:
    from wordfreq import get_frequency_dict

    from qa.text import _centibels

    centibels = _centibels()
    assert centibels is not None
    assert {word: 10 ** (-cb / 100) for word, cb in centibels.items()} == get_frequency_dict("en")


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


def test_lemma_table_is_simplemmas_and_a_damaged_copy_is_decoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simplemma.strategies.dictionaries.dictionary_factory import _load_dictionary_from_disk

    from qa.text import _decoded_table

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    shipped = _load_dictionary_from_disk("en")
    _decoded_table.cache_clear()
    try:
        assert _decoded_table("en") == shipped  # decoded, and written to the cache
        [copy] = (tmp_path / "lexicon").iterdir()
        _decoded_table.cache_clear()
        assert _decoded_table("en") == shipped  # read back from it
        copy.write_bytes(copy.read_bytes()[:4096])  # cut short, as by a full disk
        _decoded_table.cache_clear()
        assert _decoded_table("en") == shipped
        assert copy.stat().st_size > 4096  # and written whole again
    finally:
        _decoded_table.cache_clear()
