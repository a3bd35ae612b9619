"""Converters measured: web-page quality, pages per second, share of a build spent converting.

    python bench/formats.py            # prints a table, writes bench/results/formats.json

Web pages: ../shared/eval/web-pages/ (Mozilla Readability's test pages); recall
and precision as defined in qa/formats/quality.py.  PDFs: the seed article's
PDF (tests/data/seed.pdf) read by each library; "verbatim" is the share of the
seed's paragraphs found whole in the library's text.  The build share is a
cold-cache build of the fixtures plus the web pages, with the real model.
"""

from __future__ import annotations

import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.corpus import parse_file, read_corpus  # noqa: E402
from qa.formats import docx, html, pdf  # noqa: E402
from qa.formats.quality import expected_paragraphs, score, words  # noqa: E402

PAGES = ROOT.parent / "shared" / "eval" / "web-pages"
DATA = ROOT / "tests" / "data"
SEED = ROOT / "corpus" / "nato-coalition-of-the-willing-ukraine.txt"
REPEAT = 20


def web_pages() -> dict[str, dict[str, float]]:
    out = {}
    for extractor in ("readability", "trafilatura", "both"):
        recalls, precisions, seconds = [], [], 0.0
        for page in sorted(PAGES.iterdir()):
            expected = expected_paragraphs((page / "expected.html").read_text("utf-8"))
            data = (page / "source.html").read_bytes()
            start = time.perf_counter()
            converted = html.convert(data, page.name, extractor)
            seconds += time.perf_counter() - start
            texts = [converted.title, *(b.text for b in converted.blocks)]
            s = score(expected, texts, [b.text for b in converted.blocks if b.kind != "heading"])
            recalls.append(s.recall)
            precisions.append(s.precision)
        out[f"html/{extractor}"] = {
            "median_recall": statistics.median(recalls),
            "min_recall": min(recalls),
            "median_precision": statistics.median(precisions),
            "min_precision": min(precisions),
            "pages_per_s": len(recalls) / seconds,
        }
    return out


def pdfs() -> dict[str, dict[str, float]]:
    data = (DATA / "seed.pdf").read_bytes()
    paragraphs = [" ".join(words(p.text)) for p in parse_file(SEED).paragraphs]
    pages = 2  # the seed PDF's pages

    def pdfminer_text() -> str:
        c = pdf.convert(data, "seed.pdf")
        return "\n".join(b.text for b in c.blocks)

    def pypdf_text() -> str:
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)

    def pdfplumber_text() -> str:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as doc:
            return "\n".join(p.extract_text() or "" for p in doc.pages)

    out = {}
    for name, read in (("pdfminer.six (qa)", pdfminer_text), ("pypdf", pypdf_text),
                       ("pdfplumber", pdfplumber_text)):  # fmt: skip
        text = read()
        start = time.perf_counter()
        for _ in range(REPEAT):
            read()
        seconds = time.perf_counter() - start
        joined = " ".join(words(text))
        out[f"pdf/{name}"] = {
            "verbatim": sum(p in joined for p in paragraphs) / len(paragraphs),
            "pages_per_s": pages * REPEAT / seconds,
        }
    return out


def docxs() -> dict[str, dict[str, float]]:
    data = (DATA / "seed.docx").read_bytes()
    start = time.perf_counter()
    for _ in range(REPEAT):
        docx.convert(data, "seed.docx")
    return {"docx/python-docx": {"pages_per_s": 2 * REPEAT / (time.perf_counter() - start)}}


def build_share() -> dict[str, float]:

    import qa

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for path in (DATA / "seed.html", DATA / "seed.docx", DATA / "seed.pdf"):
            shutil.copy(path, corpus / path.name)
        for page in sorted(PAGES.iterdir()):
            shutil.copy(page / "source.html", corpus / f"{page.name}.html")
        from qa.formats import cache

        real = cache.cache_dir
        cache.cache_dir = lambda: Path(tmp) / "converted"  # type: ignore[assignment]
        start = time.perf_counter()
        read_corpus(corpus)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        read_corpus(corpus)
        warm = time.perf_counter() - start
        shutil.rmtree(Path(tmp) / "converted")
        start = time.perf_counter()
        qa.build(corpus, Path(tmp) / "index")
        total = time.perf_counter() - start
        cache.cache_dir = real  # type: ignore[assignment]
    return {
        "files": 17,
        "convert_s": cold - warm,
        "cached_read_s": warm,
        "build_s": total,
        "share_converting": (cold - warm) / total,
    }


def main() -> int:
    results: dict[str, object] = {}
    if PAGES.is_dir():
        results.update(web_pages())
    results.update(pdfs())
    results.update(docxs())
    if PAGES.is_dir() and "--no-build" not in sys.argv:
        results["build"] = build_share()
    for name, row in results.items():
        cells = ", ".join(f"{k} {v:.3f}" for k, v in row.items())  # type: ignore[union-attr]
        print(f"{name:28s} {cells}")
    out = ROOT / "bench" / "results" / "formats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
