"""Anything a person can type: Retriever.ask never raises, and declines what is not a question.

Inputs: a fixed list of known-nasty strings, plus hypothesis-generated text.
Time is bounded by construction (the question is cut to the model's window
before any model work); pytest-timeout fails a call that hangs.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qa
from qa.answer.question import MAX_QUESTION_CHARS
from qa.corpus import parse_bytes
from qa.errors import CorpusError
from qa.store.scores import best_per_passage

NOT_A_QUESTION = [
    "",
    " ",
    "\t\n\r \u00a0\u2003\u3000",
    "\x00",
    "\x00\x01\x02\x1b\x7f\x9b",
    "?",
    "?!?!...;;;",
    string.punctuation,
    "¿¡«»—–…“”‘’",
    "😀🔥👍🏽🇺🇦",
    "\u200b\u200d\ufeff",  # zero-width and byte-order marks
    "\u0301\u0301\u0301",  # combining accents with nothing to sit on
    "\ud800\udfff",  # lone surrogates, invalid UTF-16
    "<>&\"'/\\",
    " " * 1_000_000,
    "!" * 1_000_000,
]

ODD_QUESTIONS = [
    "a" * 1_000_000,
    "word " * 200_000,
    "Who leads the coalition? " * 5_000,
    "中文問題" * 250_000,
    "x" * (MAX_QUESTION_CHARS * 4) + " Who leads the coalition?",
    "Who leads\x00 the coalition?",
    "Who leads the\u202e coalition?",  # right-to-left override
    "من يقود التحالف؟",
    "מי מוביל את הקואליציה?",
    "Кто возглавляет коалицию?",
    "谁领导这个联盟？",
    "連合を率いているのは誰ですか？",
    "연합을 이끄는 사람은 누구입니까?",
    "कौन गठबंधन का नेतृत्व करता है?",
    "Who leads the коалиция 联盟 التحالف?",
    "Who 👑 leads the coalition 🤝?",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)> Who leads the coalition?",
    "**Who** _leads_ the [coalition](http://example.com)?",
    "# Heading\n\n- item\n\n```\ncode\n```",
    "'; DROP TABLE passages; --",
    "SELECT * FROM answers WHERE 1=1 OR ''=''",
    "{{7*7}} ${7*7} %s %n %x",
    "../../../../etc/passwd",
    "0",
    "1234567890",
    "3.14159 2.71828 1e308 -0 NaN inf",
    "٣٤٥ ४५६ ๔๕๖",  # digits in other scripts
    "ａｂｃ ＷＨＯ ｌｅａｄｓ",  # full-width Latin
    "W\u0336h\u0336o\u0336",  # strike-through combining marks
    "i" * 99 + "\n" * 99,
]


def check(answer: qa.Answer) -> None:
    """Properties every answer has, whatever the question."""
    assert isinstance(answer, qa.Answer)
    assert 0.0 <= answer.confidence <= 1.0
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert answer.question.isprintable()
    assert answer.answered == (answer.passage is not None)
    if not answer.answered:
        assert answer.faq is None and answer.sources == ()
    answer.to_dict()  # the API shape serialises


@pytest.mark.parametrize("text", NOT_A_QUESTION, ids=range(len(NOT_A_QUESTION)))
def test_text_without_a_letter_or_digit_is_declined(
    text: str, seed_retriever: qa.Retriever
) -> None:
    answer = seed_retriever.ask(text)
    check(answer)
    assert not answer.answered and answer.confidence == 0.0
    assert answer.note == "Type a question about the articles."
    assert answer.suggestions, "a decline points to questions the articles answer"
    assert seed_retriever.search(text) == []


@pytest.mark.parametrize("text", ODD_QUESTIONS, ids=range(len(ODD_QUESTIONS)))
def test_odd_questions_never_raise(text: str, seed_retriever: qa.Retriever) -> None:
    answer = seed_retriever.ask(text)
    check(answer)
    tokens = seed_retriever.embedder.count_tokens([answer.question])[0]
    assert tokens <= seed_retriever.embedder.max_tokens - 2, "cut to the model's window"
    if len(text) > MAX_QUESTION_CHARS:
        assert answer.note.startswith("Your question was long, so only its first")
        assert f"first {len(answer.question)} characters" in answer.note
    assert len(seed_retriever.search(text, k=3)) <= 3


def test_a_long_question_is_cut_to_the_window_at_a_word_boundary(
    seed_retriever: qa.Retriever,
) -> None:
    question = "Who leads? " * 90  # 990 characters, 270 word pieces
    answer = seed_retriever.ask(question)
    assert answer.note
    assert question.startswith(answer.question) and question[len(answer.question)] == " "
    budget = seed_retriever.embedder.max_tokens - 2
    assert budget - 10 < seed_retriever.embedder.count_tokens([answer.question])[0] <= budget


def test_non_string_questions_do_not_raise(seed_retriever: qa.Retriever) -> None:
    for value in (None, 0, 42, 3.5, b"bytes", ["list"], {"q": 1}):
        check(seed_retriever.ask(value))  # type: ignore[arg-type]


# Letters and digits are rare in random text; no letter or digit means no model call.
no_alnum = st.text(
    st.characters(exclude_categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No")),
    max_size=300,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(no_alnum)
def test_property_no_letter_or_digit_is_declined_without_the_model(
    seed_retriever: qa.Retriever, text: str
) -> None:
    answer = seed_retriever.ask(text)
    check(answer)
    assert not answer.answered and answer.confidence == 0.0


any_text = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=2_000),
    st.text(st.sampled_from("abc xyz?.!\x00\t\n<>'\";-#*_😀中ع"), max_size=500),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(any_text)
def test_property_ask_never_raises(seed_retriever: qa.Retriever, text: str) -> None:
    check(seed_retriever.ask(text))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)), st.booleans())
def test_property_corpus_parser_fails_only_with_a_corpus_error(data: bytes, markdown: bool) -> None:
    try:
        doc = parse_bytes(data, "fuzz.txt", markdown=markdown)
    except CorpusError as exc:
        assert str(exc).startswith("fuzz.txt")
    else:
        assert doc.paragraphs or doc.faqs


@given(st.lists(st.integers(0, 4), max_size=30), st.data())
def test_best_sentence_per_passage_is_the_plain_maximum(
    sentences: list[int], data: st.DataObject
) -> None:
    """The fast per-passage maximum of sentence scores, against ``np.maximum.at``:
    passages with no sentence, no score above 0, ties and single sentences."""
    owner = np.repeat(np.arange(len(sentences)), sentences)
    values = st.sampled_from([0.0, 0.0, 0.5, 1.25, 3.0])
    scores = np.array(
        data.draw(st.lists(values, min_size=len(owner), max_size=len(owner))), dtype=np.float32
    )
    expected = np.zeros(len(sentences), dtype=np.float32)
    np.maximum.at(expected, owner, scores)
    assert np.array_equal(best_per_passage(scores, owner, len(sentences)), expected)


# Pieces of text that exercise sentence breaks, abbreviations and word tokens:
# closing quotes, initials, digits of other scripts, combining accents.
_TEXT_PARTS = st.lists(
    st.sampled_from(
        [*"abcXYZ9_ .!?\n\t\"')]([’”“‘é", "٣", "²", "e\u0301", "ß", "Mr", "Dr", "e.g", "i.e"]
        + ["U.S", "Jan", "approx", "No", " A", "..", "?!", "x1", ". The", '." He', "! 30"]
    ),
    max_size=20,
).map("".join)


@given(_TEXT_PARTS)
def test_sentences_and_tokens_are_the_plain_patterns(text: str) -> None:
    """Sentence splitting and word tokens are read with faster patterns: the
    same sentences and words as the plain ones (a look-behind at every
    break, a search of the whole sentence for an abbreviation, word
    boundaries tried at every position)."""
    import re

    from qa.text import _NO_BREAK_BEFORE, split_sentences, tokens

    boundary = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
    sentences: list[str] = []
    start = 0
    for match in boundary.finditer(text):
        candidate = text[start : match.start()].rstrip()
        if _NO_BREAK_BEFORE.search(candidate.rstrip("\"'”’)]")):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    assert split_sentences(text) == [s for s in sentences if s]
    assert tokens(text) == re.findall(r"(?u)\b\w\w+\b|\b\d\b", text)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_bm25_scores_are_bm25s_own(seed_retriever: qa.Retriever, data: st.DataObject) -> None:
    """The store reads bm25s's saved index without bm25s and adds up BM25
    term by term as bm25s does: the same float32 scores for any terms,
    repeated or unknown ones among them, and each term's postings."""
    import bm25s

    from qa.store import Field

    store = seed_retriever.store
    bm25 = store._bm25[Field.SENTENCE]  # type: ignore[attr-defined]
    own = bm25s.BM25.load(str(store.folder / "bm25_sentences"))  # type: ignore[attr-defined]
    # bm25s adds "" to every vocabulary, for empty documents; no question has it.
    vocab = sorted(store.vocabulary(Field.SENTENCE) - {""})
    assert vocab == sorted(set(own.vocab_dict) - {""})
    terms = data.draw(st.lists(st.sampled_from([*vocab, "zzyzx"]), min_size=1, max_size=8))
    scores, postings = bm25.scores(terms)
    expected = own.get_scores(terms)
    assert scores.dtype == expected.dtype and np.array_equal(scores, expected)
    assert len(postings) == len(terms)
    for term, posting in zip(terms, postings, strict=True):
        assert set(posting) == set(np.flatnonzero(own.get_scores([term])))
