"""Write the seed article as .html, .docx and .pdf test fixtures (tests/data/seed.*).

The HTML is written from the article's parsed text (title as <h1>, headings
as <h2>, paragraphs as <p>, the FAQ as a bulleted list), then LibreOffice
converts it to .docx (heading styles kept) and the .docx to .pdf, as a
maintainer's word processor would.  Needs LibreOffice (Debian:
libreoffice-writer-nogui); the tests only read the committed files.

    python scripts/make_format_fixtures.py [../shared/seed/article.txt]
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from qa.corpus import parse_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data"


def seed_html(article: Path) -> str:
    """The article as a plain HTML page with real headings and a list for the FAQ."""
    doc = parse_file(article)
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(doc.title)}</title></head><body>",
        f"<h1>{e(doc.title)}</h1>",
    ]
    heading = None
    for para in doc.paragraphs:
        if para.heading != heading:
            heading = para.heading
            parts.append(f"<h2>{e(heading)}</h2>")
        parts.append(f"<p>{e(para.text)}</p>")
    if doc.faqs:
        parts.append("<h2>FAQs</h2>")
        parts.append("<ul>")
        for faq in doc.faqs:
            parts.append(f"<li>{e(faq.question)}</li>")
            parts.append(f"<li>{e(faq.answer)}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main() -> int:
    article = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/seed/article.txt")
    soffice = shutil.which("soffice")
    if soffice is None:
        print("needs LibreOffice: apt-get install libreoffice-writer-nogui", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "seed.html").write_text(seed_html(article), "utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        profile = f"-env:UserInstallation=file://{tmp}/profile"
        run = [soffice, profile, "--headless", "--convert-to"]
        subprocess.run(
            [*run, "docx:MS Word 2007 XML", "--outdir", tmp, str(OUT / "seed.html")],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*run, "pdf:writer_pdf_Export", "--outdir", tmp, f"{tmp}/seed.docx"],
            check=True,
            capture_output=True,
        )
        shutil.copy(f"{tmp}/seed.docx", OUT / "seed.docx")
        shutil.copy(f"{tmp}/seed.pdf", OUT / "seed.pdf")
    for suffix in ("html", "docx", "pdf"):
        print(OUT / f"seed.{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
