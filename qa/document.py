"""One corpus file -> a document of headed paragraphs and FAQ pairs.

The format, in short (the README has the full rules):

* UTF-8 ``.txt`` or ``.md`` files, one document each.
* The first non-empty line is the title (``# Title`` in Markdown).
* A heading is a Markdown ``#`` line, or a short line with no closing
  punctuation.
* In ``.txt`` every other non-empty line is a paragraph.  In ``.md`` a
  paragraph is a blank-line-separated block, as Markdown renders it.
* A heading named ``FAQ``, ``FAQs`` or ``Frequently asked questions`` starts
  question/answer pairs: alternating ``- question`` / ``- answer`` lines, or
  ``Q:`` / ``A:`` lines.  FAQ pairs are not passages.
* ``.html``/``.htm``, ``.pdf`` and ``.docx`` files are converted by
  :mod:`qa.formats` into headings, paragraphs and list items, which are then
  read by the same rules (their headings are known, never guessed).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from qa import formats
from qa.errors import CorpusError

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = TEXT_SUFFIXES + formats.SUFFIXES
MAX_FILE_BYTES = 32 * 1024 * 1024
# A heading is short: longer lines without a full stop are still paragraphs.
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 100
CLOSING_PUNCTUATION = ".!?:;,…\"'”’»"
FAQ_HEADINGS = {"faq", "faqs", "frequently asked questions"}

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^[-*+•]\s+")
_QA_LINE = re.compile(r"^(Q|A|Question|Answer)\s*[:.)]\s*", re.IGNORECASE)
# Control characters other than tab and newline never belong in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a document, verbatim, with the heading above it."""

    heading: str
    text: str
    line: int


@dataclass(frozen=True)
class FAQPair:
    """One question/answer pair from a document's FAQ section."""

    question: str
    answer: str
    line: int


@dataclass(frozen=True)
class Document:
    """A parsed corpus file."""

    path: str  # relative to the corpus folder, with forward slashes
    title: str
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    faqs: tuple[FAQPair, ...]

    @property
    def passages(self) -> tuple[Paragraph, ...]:
        """The paragraphs that become passages (each with ``.text`` and ``.heading``)."""
        return self.paragraphs


@dataclass
class _Block:
    line: int
    text: str
    md_heading: bool = False
    # From a converted file: a paragraph or list item that its format marks as
    # such, so it is never guessed to be a heading.
    plain: bool = False
    item: bool = False


def parse(path: str | os.PathLike[str]) -> Document:
    """How qa reads one corpus file, of any supported format.

    Args:
        path: A ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf`` or ``.docx`` file.

    Returns:
        The document: ``.title``, ``.passages`` (each ``.text`` and
        ``.heading``) and ``.faqs`` (each ``.question`` and ``.answer``).

    Raises:
        CorpusError: Naming the file, when it is missing, of another format,
            or cannot be used (the message says why and what to do).
    """
    path = Path(path)
    name = str(path)
    if path.suffix.lower() not in SUFFIXES:
        raise CorpusError(f"{name}: not a file qa reads; use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise CorpusError(f"{name}: no such file; check the path")
    return parse_file(path, name)


def parse_file(path: str | os.PathLike[str], name: str | None = None) -> Document:
    """Read and parse one corpus file.

    Args:
        path: The file.
        name: How to name the file in the document and in errors.

    Raises:
        CorpusError: The file is empty, too large, binary, not UTF-8, or
            does not parse.
    """
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError(
                f"{name}: file is {size // 2**20} MiB, over the "
                f"{MAX_FILE_BYTES // 2**20} MiB limit; split it into several files"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{name}: cannot read file ({exc.strerror})") from None
    if path.suffix.lower() in formats.SUFFIXES:
        return parse_converted(data, name, path.suffix.lower())
    return parse_bytes(data, name, markdown=path.suffix.lower() == ".md")


def parse_converted(data: bytes, name: str, suffix: str) -> Document:
    """Parse a web page, PDF or Word file's content by the corpus rules.

    The converter's headings are headings and its paragraphs and list items
    are never taken for headings; FAQ sections read as in text files.  The
    title is the file's own (``<h1>``, document title) or else its first
    heading, else its first paragraph.

    Raises:
        CorpusError: The file cannot be converted, or holds no paragraphs.
    """
    if not data.strip():
        raise CorpusError(f"{name}: file is empty; add text or delete it")
    converted = formats.convert(data, suffix, name)
    blocks = [
        _Block(
            number,
            _clean(b.text),
            md_heading=b.kind == "heading",
            plain=b.kind != "heading",
            item=b.kind == "item",
        )
        for number, b in enumerate(converted.blocks, start=1)
    ]
    blocks = [b for b in blocks if b.text]
    title = _clean(converted.title)
    if blocks and blocks[0].md_heading and (not title or blocks[0].text == title):
        # The title is also the first heading: it heads the document, not a section.
        title = blocks.pop(0).text
    elif not title and blocks:
        title = blocks.pop(0).text
    if not title:
        raise CorpusError(f"{name}: file has no visible text; add a title and paragraphs")
    return _document(data, name, title, blocks)


def parse_bytes(data: bytes, name: str, *, markdown: bool = False) -> Document:
    """Parse one corpus file's content; see the module docstring for the format."""
    if not data.strip():
        raise CorpusError(f"{name}: file is empty; add a title line and paragraphs, or delete it")
    if b"\x00" in data:
        raise CorpusError(f"{name}: looks like a binary file; corpus files must be UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _markdown_blocks(text) if markdown else _line_blocks(text)
    if not blocks:  # only a BOM, control characters or Unicode spaces
        raise CorpusError(f"{name}: file has no visible text; add a title line and paragraphs")
    title_block, body = blocks[0], blocks[1:]
    title = _MD_HEADING.sub(r"\2", title_block.text).strip()
    return _document(data, name, title, body)


def _document(data: bytes, name: str, title: str, body: list[_Block]) -> Document:
    """The document of a file's title and body blocks, by the corpus rules.

    Raises:
        CorpusError: The body holds no paragraph and no FAQ pair.
    """
    paragraphs, faqs = _parse_body(body, name)
    if not paragraphs and not faqs:
        raise CorpusError(
            f"{name}: no paragraphs, only a title and headings; add text or delete the file"
        )
    return Document(
        path=name,
        title=title,
        sha256=hashlib.sha256(data).hexdigest(),
        paragraphs=tuple(paragraphs),
        faqs=tuple(faqs),
    )


def _clean(line: str) -> str:
    return _CONTROL.sub("", line).strip()


def _line_blocks(text: str) -> list[_Block]:
    blocks = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _clean(raw)
        if line:
            blocks.append(_Block(number, line, bool(_MD_HEADING.match(line))))
    return blocks


def _markdown_blocks(text: str) -> list[_Block]:
    """Blank-line-separated blocks; headings and list items stand alone."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _clean(raw)
        if not line:
            current = None
            continue
        heading = bool(_MD_HEADING.match(line))
        if heading or current is None or _LIST_ITEM.match(line) or _QA_LINE.match(line):
            current = _Block(number, line, heading)
            blocks.append(current)
            if heading:
                current = None
        else:
            current.text += " " + line
    return blocks


def _is_heading(block: _Block) -> bool:
    if block.md_heading:
        return True
    if block.plain:
        return False
    text = block.text
    if _LIST_ITEM.match(text) or _QA_LINE.match(text):
        return False
    return (
        len(text) <= HEADING_MAX_CHARS
        and len(text.split()) <= HEADING_MAX_WORDS
        and text[-1] not in CLOSING_PUNCTUATION
    )


def _heading_text(block: _Block) -> str:
    return _MD_HEADING.sub(r"\2", block.text).strip() if block.md_heading else block.text


def _is_faq_heading(heading: str) -> bool:
    return re.sub(r"[^a-z ]", "", heading.lower()).strip() in FAQ_HEADINGS


def _parse_body(blocks: list[_Block], name: str) -> tuple[list[Paragraph], list[FAQPair]]:
    paragraphs: list[Paragraph] = []
    faqs: list[FAQPair] = []
    heading = ""
    in_faq = False
    question: _Block | None = None  # an FAQ question still waiting for its answer
    for block in blocks:
        is_question_heading = in_faq and block.md_heading and block.text.rstrip().endswith("?")
        if _is_heading(block) and not is_question_heading:
            if question is not None:
                break  # reported below
            heading = _heading_text(block)
            in_faq = _is_faq_heading(heading)
            continue
        if not in_faq:
            paragraphs.append(Paragraph(heading, block.text, block.line))
            continue
        text = _QA_LINE.sub("", _LIST_ITEM.sub("", _heading_text(block))).strip()
        if question is None:
            if _QA_LINE.match(block.text) and block.text[0] in "Aa":
                raise CorpusError(f"{name}:{block.line}: FAQ answer has no question before it")
            if faqs and not (
                block.md_heading
                or block.item
                or _LIST_ITEM.match(block.text)
                or _QA_LINE.match(block.text)
                or text.endswith("?")
            ):
                # A plain paragraph after an answer continues that answer.
                last = faqs[-1]
                faqs[-1] = FAQPair(last.question, f"{last.answer}\n\n{text}", last.line)
                continue
            question = _Block(block.line, text)
        else:
            faqs.append(FAQPair(question.text, text, question.line))
            question = None
    if question is not None:
        raise CorpusError(
            f"{name}:{question.line}: FAQ question has no answer; "
            "FAQ lines must alternate question and answer"
        )
    return paragraphs, faqs
