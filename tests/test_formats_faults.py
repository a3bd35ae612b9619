"""Bad web pages, PDFs and Word files: one clear line naming the file, the rest build.

The fault files are made here, byte by byte, rather than committed.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

import qa
from qa.corpus import read_corpus

DATA = Path(__file__).parent / "data"


def make_pdf(pages: list[str | list[tuple[int, str]]], *, image_only: bool = False) -> bytes:
    """A small valid PDF: per page one line, or (font size, text) lines, of Helvetica.

    With ``image_only`` each page is an image and holds no text, as a scan does.
    """
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    image = len(objects) + 2 * count + 1
    for i, text in enumerate(pages):
        if image_only:
            stream = b"q 200 0 0 200 100 400 cm /Im1 Do Q"
            resources = f"<< /XObject << /Im1 {image} 0 R >> >>"
        else:
            lines = [(12, text)] if isinstance(text, str) else text
            shown = []
            for row, (size, line) in enumerate(lines):
                safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                shown.append(f"BT /F1 {size} Tf 72 {700 - 36 * row} Td ({safe}) Tj ET")
            stream = "\n".join(shown).encode()
            resources = "<< /Font << /F1 3 0 R >> >>"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {resources}"
            f" /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if image_only:
        pixels = b"\x80" * (8 * 8)
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray"
            b" /BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream" % (len(pixels), pixels)
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _error(path: Path) -> str:
    with pytest.raises(qa.QAError) as caught:
        qa.parse(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def test_handmade_pdf_reads(tmp_path: Path) -> None:
    # The generator itself makes readable PDFs, so the faults below are the faults.
    page = [(20, "Handmade"), (12, "A first line that is a whole sentence.")]
    (tmp_path / "ok.pdf").write_bytes(make_pdf([page]))
    doc = qa.parse(tmp_path / "ok.pdf")
    assert doc.title == "Handmade"
    assert [p.text for p in doc.passages] == ["A first line that is a whole sentence."]


def test_corrupt_and_truncated_pdf(tmp_path: Path) -> None:
    seed = (DATA / "seed.pdf").read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(seed[: len(seed) // 3])
    (tmp_path / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (tmp_path / "notpdf.pdf").write_bytes(b"<html>this is a web page</html>")
    for name in ("truncated.pdf", "garbage.pdf"):
        message = _error(tmp_path / name)
        assert "PDF" in message and ("damaged" in message or "no text" in message)
    assert "not a PDF file" in _error(tmp_path / "notpdf.pdf")


def test_encrypted_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(DATA / "seed.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(tmp_path / "locked.pdf", "wb") as f:
        writer.write(f)
    assert "encrypted (password-protected)" in _error(tmp_path / "locked.pdf")


def test_scanned_pdf_says_it_has_no_text(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(make_pdf(["", ""], image_only=True))
    message = _error(tmp_path / "scan.pdf")
    assert "no text layer" in message and "OCR" in message


def test_thousand_page_pdf_hits_a_clear_limit(tmp_path: Path) -> None:
    (tmp_path / "book.pdf").write_bytes(
        make_pdf([f"Page {i} says something." for i in range(1000)])
    )
    message = _error(tmp_path / "book.pdf")
    assert "1000 pages, over the 500-page limit" in message and "split" in message


def test_docx_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "fake.docx").write_text("I am plain text with a .docx name.")
    assert "not a Word .docx file (not a zip archive)" in _error(tmp_path / "fake.docx")


def test_docx_zip_bomb_is_refused_before_unpacking(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b" " * (100 * 2**20))  # 100 MiB packs to ~100 KiB
    assert bomb.stat().st_size < 2**20
    assert "zip bomb" in _error(bomb)


def test_docx_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    source = zipfile.ZipFile(DATA / "seed.docx")
    evil = tmp_path / "evil.docx"
    with zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                head, _, rest = data.partition(b"?>")
                data = (
                    head
                    + b'?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://'
                    + str(secret).encode()
                    + b'"><!ENTITY net SYSTEM "http://198.51.100.1/x">]>'
                    + rest.replace(b"Defence ministers", b"&xxe; &net; Defence ministers", 1)
                )
            z.writestr(item, data)
    message = _error(evil)
    assert "declares XML entities" in message and "TOP-SECRET" not in message


def test_html_scripts_frames_handlers_and_script_links_never_reach_a_passage(
    tmp_path: Path,
) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(
        "<html><head><title>Garden Notes</title><script>var stolen = document.cookie;</script>"
        "<link rel=stylesheet href='http://198.51.100.1/s.css'></head>"
        "<body onload=\"alert('loaded')\"><article><h1>Garden Notes</h1>"
        "<p onclick=\"alert('clicked')\">Tomatoes want six hours of sun a day and deep, even"
        " watering, or their fruit splits when the rain comes.</p>"
        "<iframe src='http://198.51.100.1/ad'>IFRAME-FALLBACK-TEXT</iframe>"
        "<p>Beans fix their own nitrogen, so <a href=\"javascript:alert('x')\">feed them</a>"
        " lightly and sow them after the last frost.</p><script>alert('inline')</script>"
        "<img src='http://198.51.100.1/pixel.gif' onerror=\"alert('img')\">"
        "<noscript>NOSCRIPT-TEXT</noscript></article></body></html>"
    )
    doc = qa.parse(page)
    text = " ".join(
        [doc.title, *(p.text for p in doc.passages), *(p.heading for p in doc.passages)]
    )
    for bad in ("alert", "stolen", "cookie", "javascript", "IFRAME-FALLBACK", "NOSCRIPT", "http"):
        assert bad not in text
    assert "Beans fix their own nitrogen, so feed them lightly" in text


def test_html_in_a_legacy_encoding_declared_in_meta(tmp_path: Path) -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Погода</title></head><body><article><h1>Погода в Москве</h1>"
        "<p>Завтра в Москве"
        " будет солнечно, а вечером пройдёт короткий дождь с грозой.</p>"
        "<p>В выходные температура поднимется до двадцати пяти градусов.</p>"
        "</article></body></html>"
    )
    (tmp_path / "ru.html").write_bytes(body.encode("cp1251"))
    latin = (
        "<html><head><meta charset='iso-8859-1'></head><body><h1>Café</h1><p>Le café crème,"
        " à la française, se boit le matin avec un croissant beurré.</p></body></html>"
    )
    (tmp_path / "fr.htm").write_bytes(latin.encode("latin-1"))
    ru = qa.parse(tmp_path / "ru.html")
    assert ru.title == "Погода в Москве"
    assert ru.passages[0].text.startswith("Завтра в Москве будет солнечно")
    fr = qa.parse(tmp_path / "fr.htm")
    assert fr.title == "Café" and "café crème, à la française" in fr.passages[0].text


def test_html_that_is_only_navigation(tmp_path: Path) -> None:
    links = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(30))
    (tmp_path / "nav.html").write_text(
        f"<html><head><title>Site</title></head><body><nav><ul>{links}</ul></nav>"
        "<footer><a href='/about'>About</a></footer></body></html>"
    )
    assert "no article text found" in _error(tmp_path / "nav.html")


def test_bad_files_are_listed_and_the_others_still_build(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Notes\nPart\nA paragraph of the notes, on its own.\n")
    shutil.copy(DATA / "seed.docx", corpus / "good.docx")
    (corpus / "fake.docx").write_text("plain text")
    (corpus / "scan.pdf").write_bytes(make_pdf([""], image_only=True))
    (corpus / "cut.pdf").write_bytes((DATA / "seed.pdf").read_bytes()[:2000])
    (corpus / "nav.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (corpus / "empty.pdf").write_bytes(b"")
    result = read_corpus(corpus)
    assert sorted(d.path for d in result.documents) == ["good.docx", "notes.txt"]
    skipped = {s.path: s.reason for s in result.skipped}
    assert sorted(skipped) == ["cut.pdf", "empty.pdf", "fake.docx", "nav.html", "scan.pdf"]
    assert all("\n" not in reason and ";" in reason for reason in skipped.values())
