from __future__ import annotations

from pathlib import Path

import pytest

from qa.corpus import parse_bytes, parse_file, read_corpus
from qa.errors import CorpusError, QAError

from .conftest import SEED, SHARED_EVAL


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_seed_parses_to_seven_headed_paragraphs_and_four_faqs() -> None:
    doc = parse_file(SEED)
    lines = _lines(SEED)
    assert doc.title == lines[0]
    assert len(doc.paragraphs) == 7
    assert [p.heading for p in doc.paragraphs] == [
        "Meeting at Nato Headquarters",
        "Stepping Up as One",
        "US Support and Assurances Needed",
        "US Support and Assurances Needed",
        "Clarity on Mission and Rules of Engagement Needed",
        "Clarity on Mission and Rules of Engagement Needed",
        "Conclusion",
    ]
    # Verbatim: every paragraph is exactly the file's line it came from.
    raw = SEED.read_text("utf-8").splitlines()
    for para in doc.paragraphs:
        assert para.text == raw[para.line - 1]
    assert len(doc.faqs) == 4
    faq_lines = lines[lines.index("FAQs") + 1 :]
    assert [f"- {f.question}" for f in doc.faqs] == faq_lines[0::2]
    assert [f"- {f.answer}" for f in doc.faqs] == faq_lines[1::2]
    # FAQ lines are not passages.
    assert not {p.text for p in doc.paragraphs} & {line.removeprefix("- ") for line in faq_lines}


def test_markdown_blocks_headings_and_qa_faq() -> None:
    text = (
        "# Solar Power in Spain\n\n"
        "## Growth\n\n"
        "Spain added record solar capacity in 2024,\n"
        "mostly in the south.\n\n"
        "Prices fell at midday.\n\n"
        "## Frequently asked questions\n\n"
        "Q: How much capacity was added?\n"
        "A: A record amount.\n\n"
        "Q: Where?\n"
        "A: Mostly in the south.\n"
    )
    doc = parse_bytes(text.encode(), "solar.md", markdown=True)
    assert doc.title == "Solar Power in Spain"
    assert [(p.heading, p.text) for p in doc.paragraphs] == [
        ("Growth", "Spain added record solar capacity in 2024, mostly in the south."),
        ("Growth", "Prices fell at midday."),
    ]
    assert [(f.question, f.answer) for f in doc.faqs] == [
        ("How much capacity was added?", "A record amount."),
        ("Where?", "Mostly in the south."),
    ]


def test_blank_line_layout_and_multi_document_corpus(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha\n\nFirst paragraph here.\n\nSecond paragraph here.\n")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "b.md").write_text("# Beta\n\nOnly paragraph, in Markdown.\n")
    corpus = read_corpus(tmp_path)
    assert [(d.path, d.title, len(d.paragraphs)) for d in corpus.documents] == [
        ("a.txt", "Alpha", 2),
        ("more/b.md", "Beta", 1),
    ]
    assert corpus.skipped == []


@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="shared eval data not present")
def test_squad_corpus_parses_to_646_paragraphs() -> None:
    corpus = read_corpus(SHARED_EVAL / "squad2-dev" / "corpus")
    assert len(corpus.documents) == 16
    assert sum(len(d.paragraphs) for d in corpus.documents) == 646
    assert all(p.heading == "" for d in corpus.documents for p in d.paragraphs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"Title\xff\nText here.\n", "not UTF-8"),
        (b"Title\nSome text.\n\x00\x01binary", "binary"),
        (b"Title\nJust A Heading\nAnother Heading\n", "no paragraphs"),
        (b"Title\nFAQ\n- Who?\n- Them.\n- And why?\n", "FAQ question has no answer"),
    ],
)
def test_bad_files_fail_clearly_naming_the_file(content: bytes, message: str) -> None:
    with pytest.raises(CorpusError, match=message) as info:
        parse_bytes(content, "bad.txt")
    assert str(info.value).startswith("bad.txt")
    assert isinstance(info.value, QAError)


def test_not_utf8_names_the_line() -> None:
    with pytest.raises(CorpusError, match=r"^bad.txt:3: "):
        parse_bytes(b"Title\nGood line.\nBad \xe9 line.\n", "bad.txt")


def test_bad_file_is_skipped_and_reported_but_good_files_build(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good\nA real paragraph.\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    corpus = read_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["good.txt"]
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        ("empty.txt", "file is empty; add a title line and paragraphs, or delete it")
    ]
    with pytest.raises(CorpusError, match="empty.txt"):
        read_corpus(tmp_path, strict=True)


def test_no_documents_fails(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no document"):
        read_corpus(tmp_path)
    with pytest.raises(CorpusError, match="not found"):
        read_corpus(tmp_path / "missing")
