"""Web pages, PDFs and Word files -> titled blocks that the corpus parser reads.

Each converter turns one file's bytes into a :class:`Converted`: the file's
own title, if it names one, and its text as a flat list of :class:`Block` s
(headings with their level, paragraphs and list items), in reading order.
``qa.corpus`` then reads those blocks with the same rules as ``.txt`` and
``.md`` files, so a heading, a passage and an FAQ section mean the same thing
in every format.  Converting never touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa.errors import CorpusError

# Bumped whenever a converter's output can change, so cached conversions
# made by an older version are not reused.
VERSION = 1


@dataclass(frozen=True)
class Block:
    """One unit of a converted file's text.

    ``kind`` is ``"heading"`` (with ``level`` 1-6), ``"paragraph"`` or
    ``"item"`` (a list item).
    """

    kind: str
    text: str
    level: int = 0


@dataclass(frozen=True)
class Converted:
    """A converted file: its own title ("" when it names none) and its blocks."""

    title: str
    blocks: tuple[Block, ...]


SUFFIXES = (".html", ".htm", ".pdf", ".docx")


def convert_bytes(data: bytes, suffix: str, name: str) -> Converted:
    """Convert one file's content, without the cache.

    Args:
        data: The file's bytes.
        suffix: Its suffix, lower case, with the dot (``".pdf"``).
        name: How to name the file in errors.

    Raises:
        CorpusError: The file is damaged, protected, has no text, or is
            not one of :data:`SUFFIXES`.
    """
    # Imported here: building a text-only corpus never loads lxml or pdfminer.
    if suffix in (".html", ".htm"):
        from qa.formats import html

        return html.convert(data, name)
    if suffix == ".pdf":
        from qa.formats import pdf

        return pdf.convert(data, name)
    if suffix == ".docx":
        from qa.formats import docx

        return docx.convert(data, name)
    raise CorpusError(f"{name}: {suffix} files are not read; use one of {', '.join(SUFFIXES)}")


def convert(data: bytes, suffix: str, name: str) -> Converted:
    """Convert one file's content, reusing an earlier conversion of the same bytes.

    Args:
        data: The file's bytes.
        suffix: Its suffix, lower case, with the dot.
        name: How to name the file in errors.

    Returns:
        The conversion, from the cache when these bytes were converted before
        by this version of qa.

    Raises:
        CorpusError: As :func:`convert_bytes`.
    """
    from qa.formats import cache

    return cache.cached(data, suffix, name, convert_bytes)
