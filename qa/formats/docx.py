"""Word ``.docx`` -> title, headings, paragraphs and list items, via python-docx.

Headings are paragraphs in a "Heading N" style (or a style based on one, or
with an outline level); "Title" is the title.  List paragraphs (numbered or
bulleted, or in a "List" style) are list items, so an FAQ written as a list
reads as in text files.  Table cells are read row by row as paragraphs.

A .docx is a zip of XML.  Before python-docx opens it, the zip is checked:
its members' declared sizes must stay small (a zip bomb declares gigabytes),
and no XML part may declare a DTD or entities, which Word never writes and
which are how XML external-entity attacks read local files or the network.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from qa.errors import CorpusError
from qa.formats import Block, Converted

# Far above any real document's text (a 500-page report's XML is a few MiB),
# far below what would exhaust memory.
MAX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_MEMBERS = 10_000
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def check_zip(data: bytes, name: str) -> None:
    """Refuse a file that is not a zip, is a zip bomb, or carries XML entities.

    Raises:
        CorpusError: Naming the file and what to do.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CorpusError(
            f"{name}: not a Word .docx file (not a zip archive); save it as .docx from Word"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(m.file_size for m in members)
            if len(members) > MAX_MEMBERS or declared > MAX_UNCOMPRESSED:
                raise CorpusError(
                    f"{name}: unpacks to {declared // 2**20} MiB in {len(members)} parts, over the "
                    f"{MAX_UNCOMPRESSED // 2**20} MiB limit (a damaged file or a zip bomb); "
                    "re-save it from Word"
                )
            for member in members:
                if not member.filename.endswith((".xml", ".rels")):
                    continue
                # Read no more than declared: a lying header cannot inflate past it.
                with archive.open(member) as part:
                    head = part.read(min(member.file_size, MAX_UNCOMPRESSED) + 1)
                if len(head) > member.file_size or _DTD.search(head):
                    raise CorpusError(
                        f"{name}: {member.filename} declares XML entities or a DTD, which Word "
                        "never writes and qa does not read; re-save the file from Word"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise CorpusError(f"{name}: damaged .docx ({exc}); re-save it from Word") from None
    except NotImplementedError:  # a compression method zipfile lacks
        raise CorpusError(f"{name}: unsupported .docx compression; re-save it from Word") from None


def convert(data: bytes, name: str) -> Converted:
    """Convert one ``.docx`` file.

    Raises:
        CorpusError: The file is not a usable .docx or holds no text.
    """
    check_zip(data, name)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, its own errors
        raise CorpusError(
            f"{name}: not a readable Word .docx file ({type(exc).__name__}); "
            "open and re-save it in Word"
        ) from None
    title = ""
    blocks: list[Block] = []
    for kind, level, text in _paragraphs(document):
        if kind == "title":
            title = title or text
            continue
        blocks.append(Block(kind, text, level))
    if not title and blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
        title = blocks[0].text
    title = title or (document.core_properties.title or "").strip()
    if not blocks:
        raise CorpusError(f"{name}: the document has no text; add paragraphs or delete it")
    return Converted(title=title, blocks=tuple(blocks))


def _paragraphs(document: Any) -> list[tuple[str, int, str]]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[tuple[str, int, str]] = []
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            out.append(_classify(Paragraph(child, document)))
        elif child.tag == f"{_W}tbl":
            for row in Table(child, document).rows:
                for cell in row.cells:
                    out.extend(_classify(p) for p in cell.paragraphs)
    return [(k, lv, " ".join(t.split())) for k, lv, t in out if t.strip()]


def _classify(paragraph: object) -> tuple[str, int, str]:
    text = paragraph.text  # type: ignore[attr-defined]
    style = paragraph.style  # type: ignore[attr-defined]
    level = _heading_level(style)
    if level == 0 and style is not None and style.name and style.name.lower() == "title":
        return ("title", 1, text)
    if level:
        return ("heading", level, text)
    ppr = paragraph._p.pPr  # type: ignore[attr-defined]
    listed = ppr is not None and ppr.numPr is not None
    if listed or (style is not None and "list" in (style.name or "").lower()):
        return ("item", 0, text)
    return ("paragraph", 0, text)


def _heading_level(style: object) -> int:
    """The heading level of a style or the style it is based on (0: not a heading)."""
    seen = 0
    while style is not None and seen < 10:  # base chains are short; a loop is not
        found = _HEADING_STYLE.match((style.name or "").strip())  # type: ignore[attr-defined]
        if found:
            return int(found.group(1))
        ppr = style.element.pPr  # type: ignore[attr-defined]
        outline = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
        if outline is not None:
            value = outline.get(f"{_W}val", "")
            if value.isdigit() and int(value) < 9:
                return int(value) + 1
        style = style.base_style  # type: ignore[attr-defined]
        seen += 1
    return 0
