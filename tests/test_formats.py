"""Web pages, PDFs and Word files read into the same documents as text files.

The seed article was made into tests/data/seed.{html,docx,pdf} by
scripts/make_format_fixtures.py (LibreOffice); each must read exactly as the
.txt does.  The web-page figures are measured on Mozilla Readability's test
pages in ../shared/eval/web-pages/ (see docs/formats.md).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest

import qa
from qa import cli
from qa.corpus import parse_file, read_corpus
from qa.embed import Embedder
from qa.formats import cache
from qa.formats.pdf import _join
from qa.formats.quality import expected_paragraphs, score, words
from tests.conftest import SEED, SEED_QUESTIONS, SHARED_EVAL

DATA = Path(__file__).parent / "data"
WEB_PAGES = SHARED_EVAL / "web-pages"
FIXTURES = [DATA / "seed.html", DATA / "seed.docx", DATA / "seed.pdf"]
needs_pages = pytest.mark.skipif(not WEB_PAGES.is_dir(), reason="../shared/eval/web-pages absent")


def _shape(doc: qa.corpus.Document) -> tuple[object, ...]:
    return (
        doc.title,
        [(p.heading, p.text) for p in doc.passages],
        [(f.question, f.answer) for f in doc.faqs],
    )


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.suffix)
def test_seed_article_reads_the_same_in_every_format(path: Path) -> None:
    # Same title, headings, verbatim passages (PDF lines joined back) and FAQ pairs.
    assert _shape(qa.parse(path)) == _shape(parse_file(SEED))


def test_parse_reads_all_five_formats(tmp_path: Path) -> None:
    md = tmp_path / "note.md"
    md.write_text("# Note\n\n## Part\n\nA paragraph of the note.\n")
    for path in [SEED, md, *FIXTURES]:
        doc = qa.parse(path)
        assert doc.title and doc.passages
        assert all(p.text and isinstance(p.heading, str) for p in doc.passages)


def test_parse_names_the_file_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(qa.QAError, match=r"missing\.pdf: no such file"):
        qa.parse(tmp_path / "missing.pdf")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    with pytest.raises(qa.QAError, match=r"photo\.png: not a file qa reads"):
        qa.parse(tmp_path / "photo.png")


def test_show_prints_title_headings_passages_and_faqs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", str(DATA / "seed.pdf")]) == 0
    out = capsys.readouterr().out
    doc = parse_file(SEED)
    assert out.startswith(f"# {doc.title}\n")
    assert "\n## Stepping Up as One\n" in out
    assert doc.passages[0].text in out
    assert f"Q: {doc.faqs[1].question}\nA: {doc.faqs[1].answer}" in out

    assert cli.main(["show", str(DATA / "seed.docx"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["title"] == doc.title
    assert shown["passages"][0] == {
        "heading": doc.passages[0].heading,
        "text": doc.passages[0].text,
    }
    assert shown["faqs"][0] == {"question": doc.faqs[0].question, "answer": doc.faqs[0].answer}


def test_show_bad_file_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj <<")
    assert cli.main(["show", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.pdf" in err and "Traceback" not in err


def test_html_faq_and_question_headings(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Tides | Sea Site</title></head><body><nav><a href='/'>Home</a></nav>"
        "<article><h1>Tides</h1><p>The moon pulls the sea toward it, and the sea rises twice a"
        " day on most coasts of the world.</p><p>Spring tides come at full and new moon, when"
        " the sun and the moon pull in one line.</p><h2>FAQ</h2><h3>What is a neap tide?</h3>"
        "<p>A tide of small range, at the quarter moons.</p><h3>How high are tides?</h3>"
        "<p>From a few centimetres to sixteen metres in the Bay of Fundy.</p></article></body>"
        "</html>"
    )
    doc = qa.parse(page)
    assert doc.title == "Tides"
    assert [f.question for f in doc.faqs] == ["What is a neap tide?", "How high are tides?"]
    assert all("Home" not in p.text for p in doc.passages)


def test_pdf_line_end_hyphens() -> None:
    from collections import Counter

    assert _join("the govern-", "ment said", Counter()) == "the government said"
    assert _join("our decision-", "making process", Counter()) == "our decision-making process"
    assert _join("a soft\u00ad", "ware", Counter()) == "a software"
    assert _join("end of", "line", Counter()) == "end of line"


def test_conversions_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))  # a cold cache
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    shutil.copy(DATA / "seed.pdf", corpus / "a.pdf")
    (corpus / "other.txt").write_text("Other\nPart\nA paragraph of its own here.\n")
    before = cache.conversions
    first = read_corpus(corpus)
    assert cache.conversions == before + 1  # the PDF, converted once
    entries = list(cache.cache_dir().glob(f"{cache.key((corpus / 'a.pdf').read_bytes(), '.pdf')}*"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["blocks"]

    # An unrelated edit, a rename: the PDF is not converted again, and reads the same.
    (corpus / "other.txt").write_text("Other\nPart\nAn edited paragraph of its own.\n")
    (corpus / "a.pdf").rename(corpus / "b.pdf")
    second = read_corpus(corpus)
    assert cache.conversions == before + 1
    pdf_docs = [d for d in first.documents + second.documents if d.path.endswith(".pdf")]
    assert len(pdf_docs) == 2 and pdf_docs[0].paragraphs == pdf_docs[1].paragraphs

    # A damaged entry is converted again, not trusted.
    entries[0].write_text("{not json")
    (corpus / "b.pdf").rename(corpus / "c.pdf")
    read_corpus(corpus)
    assert cache.conversions == before + 2


def test_build_reads_every_format_and_lists_what_it_skips(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in FIXTURES:
        shutil.copy(path, corpus / path.name)
    (corpus / "broken.docx").write_bytes(b"not a zip at all")
    report = qa.build(corpus, tmp_path / "index", embedder=embedder)
    assert report.documents == 3
    assert [(s.path, s.reason.split(";")[0]) for s in report.skipped if "broken" in s.path] == [
        ("broken.docx", "not a Word .docx file (not a zip archive)")
    ]


def _page_scores() -> dict[str, tuple[float, float]]:
    scores = {}
    for page in sorted(WEB_PAGES.iterdir()):
        expected = expected_paragraphs((page / "expected.html").read_text("utf-8"))
        doc = qa.parse(page / "source.html")
        kept = [doc.title, *(p.text for p in doc.passages), *(p.heading for p in doc.passages)]
        kept += [t for f in doc.faqs for t in (f.question, f.answer)]
        s = score(expected, kept, [p.text for p in doc.passages])
        scores[page.name] = (s.recall, s.precision)
    return scores


@needs_pages
def test_web_pages_keep_the_article_and_little_else() -> None:
    scores = _page_scores()
    recalls = [r for r, _ in scores.values()]
    precisions = [p for _, p in scores.values()]
    print(
        f"web pages: median recall {statistics.median(recalls):.3f} (min {min(recalls):.3f}), "
        f"median precision {statistics.median(precisions):.3f} (min {min(precisions):.3f})"
    )
    assert statistics.median(recalls) >= 0.95
    assert statistics.median(precisions) >= 0.95
    # No page loses most of its article or is mostly chrome (docs/formats.md has each page).
    assert min(recalls) >= 0.3 and min(precisions) >= 0.9


@needs_pages
@pytest.mark.slow
def test_web_pages_known_items_are_found(tmp_path: Path, embedder: Embedder) -> None:
    """A paragraph's first sentence, asked as a question, finds that paragraph in the top 3."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    probes = []
    for page in sorted(WEB_PAGES.iterdir()):
        shutil.copy(page / "source.html", corpus / f"{page.name}.html")
        expected = expected_paragraphs((page / "expected.html").read_text("utf-8"))
        long = [p for p in expected if len(words(p)) >= 25]
        probes += [(page.name, p) for p in long[:: max(1, len(long) // 5)][:5]]
    qa.build(corpus, tmp_path / "index", embedder=embedder)
    retriever = qa.load(tmp_path / "index", embedder=embedder)
    found = 0
    for _, paragraph in probes:
        first = re.split(r"(?<=[.!?])\s+", paragraph)[0]
        top = retriever.search(first, k=3)
        found += any(" ".join(words(paragraph)) in " ".join(words(p.text)) for p in top)
    share = found / len(probes)
    print(f"known items: {found}/{len(probes)} in the top 3")
    assert share >= 0.85


@pytest.mark.slow
def test_seed_formats_give_the_same_eval_figures(tmp_path: Path, embedder: Embedder) -> None:
    from qa.evaluate import evaluate, read_questions

    questions = read_questions(SEED_QUESTIONS)
    figures = {}
    for path in [SEED, *FIXTURES]:
        corpus = tmp_path / path.suffix.lstrip(".") / "corpus"
        corpus.mkdir(parents=True)
        shutil.copy(path, corpus / path.name)
        qa.build(corpus, corpus.parent / "index", embedder=embedder)
        figures[path.suffix] = evaluate(
            qa.load(corpus.parent / "index", embedder=embedder), questions
        ).to_json()
    assert figures[".html"] == figures[".txt"]
    assert figures[".docx"] == figures[".txt"]
    assert figures[".pdf"] == figures[".txt"]
