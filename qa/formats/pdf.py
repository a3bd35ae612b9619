"""PDF -> title, headings, paragraphs and list items, via pdfminer.six.

A PDF holds positioned lines, not paragraphs, so the structure is rebuilt
from the layout, measured per document:

* the body size is the font size that most characters are set in; a line set
  at least 15% larger, or wholly bold and short, is a heading, its level the
  rank of its size among the document's heading sizes;
* lines of one text box are joined into one paragraph, a line starting with a
  bullet starts a list item, and a paragraph cut by a page break is joined
  back when it stops mid-sentence;
* a line-end hyphen is dropped only when the joined word is a known English
  word (wordfreq), so "decision-making" stays whole but "govern- ment" joins;
* lines repeated in the top or bottom margin of most pages (running headers
  and footers) and lone page numbers are dropped.

pdfminer.six was chosen over pypdf (no font sizes per line) and pdfplumber
(built on pdfminer, slower) by the measurements in docs/formats.md.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from qa.errors import CorpusError
from qa.formats import Block, Converted

# A clear limit instead of an unbounded wait: about 15 s of converting on this
# project's reference machine; a longer book is better split by chapter.
MAX_PAGES = 500
HEADING_SCALE = 1.15
HEADING_MAX_WORDS = 12
MARGIN = 0.08  # top and bottom share of a page where running headers live
_BULLET = re.compile(r"^([•◦▪▫■□●○‣⁃∙·*–—-]|[\ue000-\uf8ff])\s+")
_PAGE_NUMBER = re.compile(r"^(page\s+)?\d{1,4}(\s*(/|of)\s*\d{1,4})?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’»)\]]*$")


@dataclass
class _Line:
    page: int
    box: int
    text: str
    size: float
    bold: bool
    top: float  # distance from the page top, in points
    bottom: float
    height: float


def convert(data: bytes, name: str) -> Converted:
    """Convert one PDF file.

    Raises:
        CorpusError: The file is not a PDF, is damaged or encrypted, has no
            text layer, or has more than :data:`MAX_PAGES` pages.
    """
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    if b"%PDF-" not in data[:1024]:
        raise CorpusError(f"{name}: not a PDF file (no %PDF header); export it as PDF again")
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        pages_count = int(resolve1(resolve1(document.catalog.get("Pages")).get("Count", 0)) or 0)
        if pages_count > MAX_PAGES:
            raise CorpusError(
                f"{name}: {pages_count} pages, over the {MAX_PAGES}-page limit; "
                "split it into several PDFs (by chapter)"
            )
        title = _info_title(document)
        manager = PDFResourceManager(caching=True)
        device = PDFPageAggregator(manager, laparams=LAParams())
        interpreter = PDFPageInterpreter(manager, device)
        lines: list[_Line] = []
        for number, page in enumerate(PDFPage.create_pages(document)):
            if number >= MAX_PAGES:  # a lying /Count
                raise CorpusError(
                    f"{name}: over {MAX_PAGES} pages; split it into several PDFs (by chapter)"
                )
            interpreter.process_page(page)
            lines.extend(_page_lines(device.get_result(), number))
    except CorpusError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise CorpusError(
            f"{name}: the PDF is encrypted (password-protected); save an unprotected copy"
        ) from None
    except Exception as exc:  # pdfminer raises many types for damaged files
        raise CorpusError(
            f"{name}: damaged or truncated PDF ({type(exc).__name__}); export it as PDF again"
        ) from None
    if not any(line.text.strip() for line in lines):
        raise CorpusError(
            f"{name}: the PDF has no text layer (a scanned image?); qa does no OCR: "
            "run it through an OCR tool first, or add a .txt of its text"
        )
    blocks = _blocks(_drop_running(lines))
    if blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        title = blocks[0].text
    return Converted(title=title, blocks=tuple(blocks))


def _info_title(document: object) -> str:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    for info in getattr(document, "info", []):
        raw = resolve1(info.get("Title"))
        if isinstance(raw, bytes):
            return " ".join(decode_text(raw).split())
        if isinstance(raw, str):
            return " ".join(raw.split())
    return ""


def _page_lines(layout: Any, page: int) -> list[_Line]:
    from pdfminer.layout import LTChar, LTTextBox, LTTextLine

    height = float(getattr(layout, "height", 0)) or 1.0
    out = []
    for box_number, box in enumerate(layout):
        if not isinstance(box, LTTextBox):
            continue
        for line in box:
            if not isinstance(line, LTTextLine):
                continue
            chars = [c for c in line if isinstance(c, LTChar) and c.get_text().strip()]
            text = line.get_text().replace("\n", " ").strip()
            if not chars or not text:
                continue
            size = statistics.median(round(c.size * 2) / 2 for c in chars)
            bold = sum(_is_bold(c.fontname) for c in chars) > 0.9 * len(chars)
            out.append(
                _Line(
                    page, box_number, text, size, bold, height - line.y1, height - line.y0, height
                )  # fmt: skip
            )
    return out


def _is_bold(font: str) -> bool:
    return any(w in font.lower() for w in ("bold", "black", "heavy", "semibold", "demi"))


def _drop_running(lines: list[_Line]) -> list[_Line]:
    """Drop running headers, footers and page numbers."""
    pages = len({line.page for line in lines})

    def in_margin(line: _Line) -> bool:
        return line.top < MARGIN * line.height or line.bottom > (1 - MARGIN) * line.height

    def shape(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    repeats = Counter(shape(line) for line in lines if in_margin(line))
    return [
        line
        for line in lines
        if not (
            in_margin(line)
            and (
                _PAGE_NUMBER.match(line.text) or (pages >= 3 and repeats[shape(line)] >= pages / 2)
            )
        )
    ]


def _blocks(lines: list[_Line]) -> list[Block]:
    if not lines:
        return []
    weight: Counter[float] = Counter()
    for line in lines:
        weight[line.size] += len(line.text)
    body = weight.most_common(1)[0][0]

    def heading(line: _Line) -> bool:
        if len(line.text.split()) > HEADING_MAX_WORDS * 2 or _BULLET.match(line.text):
            return False
        larger = line.size >= body * HEADING_SCALE
        return larger or (line.bold and line.size >= body and len(line.text.split()) <= 12)

    sizes = sorted({line.size for line in lines if heading(line)}, reverse=True)
    levels = {size: min(index + 1, 6) for index, size in enumerate(sizes)}
    vocabulary = Counter(w.lower() for line in lines for w in re.findall(r"[^\W\d_]+", line.text))
    blocks: list[Block] = []
    previous: _Line | None = None
    for line in lines:
        kind = "heading" if heading(line) else "paragraph"
        bullet = _BULLET.match(line.text)
        text = line.text[bullet.end() :] if bullet else line.text
        if bullet:
            kind = "item"
        same_box = previous is not None and (previous.page, previous.box) == (line.page, line.box)
        last = blocks[-1] if blocks else None
        continues = False
        if last is not None and previous is not None and not bullet:
            if kind == "heading":
                continues = (
                    last.kind == "heading" and same_box and previous.size == line.size
                )  # a heading wrapped over lines
            elif last.kind != "heading":
                gap = line.top - previous.bottom
                near = line.page == previous.page and gap < previous.bottom - previous.top
                # A list item's wrapped lines are often a text box of their own.
                continues = (near and (same_box or last.kind == "item")) or (
                    # The page broke the paragraph mid-sentence: join it back.
                    line.page == previous.page + 1 and not _SENTENCE_END.search(last.text)
                )
        if continues and last is not None:
            blocks[-1] = Block(last.kind, _join(last.text, text, vocabulary), last.level)
        else:
            blocks.append(Block(kind, text, levels.get(line.size, 1) if kind == "heading" else 0))
        previous = line
    return blocks


def _join(left: str, right: str, vocabulary: Counter[str]) -> str:
    """Join two wrapped lines, undoing a line-end hyphen only where it split a word."""
    if left.endswith("\u00ad"):  # a soft hyphen marks a break inside a word
        return left[:-1] + right
    tail = re.search(r"([^\W\d_]+)-$", left)
    head = re.match(r"[^\W\d_]+", right)
    if tail and head and right[:1].islower():
        joined = (tail.group(1) + head.group(0)).lower()
        if vocabulary[joined] or _known_word(joined):
            return left[:-1] + right
        return left + right  # a real hyphen: "decision-" + "making"
    return f"{left} {right}"


def _known_word(word: str) -> bool:
    from wordfreq import zipf_frequency

    # Zipf 3 is a word seen about once per million words: real, if uncommon.
    return zipf_frequency(word, "en") >= 3.0
