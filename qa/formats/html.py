"""HTML -> the article's title, headings, paragraphs and list items.

The main article is picked out of the page by both readability-lxml (the
algorithm of Firefox's reader view) and trafilatura, and the one that keeps
more words wins: each of them now and then drops a whole section that the
other keeps, and neither lets in much boilerplate (docs/formats.md has the
measurements).  The winner is then walked into blocks:
``h1``-``h6`` are headings, ``li`` are list items, and every other block
element's own text is a paragraph.  Scripts, styles, frames, forms and
embedded objects are dropped before anything else looks at the page; links
keep their text only, so no URL (``javascript:`` or other) reaches a passage.
Nothing is fetched: lxml's parser never loads external resources.
"""

from __future__ import annotations

import codecs
import re

import lxml.html
from lxml import etree

from qa.errors import CorpusError
from qa.formats import Block, Converted

# Elements whose content is never article text.
DROP = {
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "svg", "math", "canvas", "form", "input", "button", "select",
    "textarea", "nav", "audio", "video", "source", "track", "map", "head",
}  # fmt: skip
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements that start a new block; anything else is inline and joins its neighbours.
BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol",
    "dl", "dt", "dd", "pre", "blockquote", "figure", "figcaption", "table", "thead", "tbody",
    "tfoot", "tr", "td", "th", "caption", "address", "details", "summary", "hr", "body",
    "html", "center", "fieldset", "legend", *HEADINGS,
}  # fmt: skip
# A page's <title> often appends the site: "How to X | Site" -> "How to X".
_SITE_SEPARATORS = re.compile(r"\s+[|–—·•»:-]\s+")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")


def decode(data: bytes) -> str:
    """The page's text: its BOM, else its ``<meta>`` charset, else UTF-8, else cp1252.

    Browsers decode in this order; cp1252 is their fallback for Western pages
    and decodes any byte, so an undeclared legacy page still reads.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
        except (LookupError, UnicodeDecodeError):
            encoding = ""
        # Browsers read "iso-8859-1" and "ascii" pages as windows-1252.
        if encoding in ("latin-1", "iso8859-1", "ascii"):
            encoding = "cp1252"
        if encoding and not encoding.startswith("utf-16"):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def convert(data: bytes, name: str, extractor: str = "both") -> Converted:
    """Convert one HTML page.

    Args:
        data: The page's bytes.
        name: How to name the file in errors.
        extractor: ``"both"`` (what qa uses: the longer of the two),
            ``"readability"`` or ``"trafilatura"``, kept so
            bench/formats.py can measure each.

    Raises:
        CorpusError: The page is not HTML or holds no article text.
    """
    text = decode(data)
    page = _parse(text, name)
    if page is None:
        raise CorpusError(f"{name}: not an HTML page; save the page as HTML and try again")
    _strip(page)
    title = _page_title(page)
    html = etree.tostring(page, encoding="unicode")
    blocks: list[Block] = []
    for each in ("readability", "trafilatura") if extractor == "both" else (extractor,):
        main = _main_content(html, each)
        found = _blocks(_parse(main, name)) if main.strip() else []
        if _word_count(found) > _word_count(blocks):
            blocks = found
    if not any(b.kind != "heading" for b in blocks):
        raise CorpusError(
            f"{name}: no article text found (the page looks like navigation or links only); "
            "save the article's own page, or copy its text into a .txt file"
        )
    # The article's own <h1> beats the metadata title, which often names the site.
    first = next((b for b in blocks if b.kind == "heading"), None)
    h1 = [b for b in blocks if b.kind == "heading" and b.level == 1]
    if len(h1) == 1 and first is h1[0]:
        title = h1[0].text
    return Converted(title=title, blocks=tuple(blocks))


def _word_count(blocks: list[Block]) -> int:
    return sum(len(b.text.split()) for b in blocks)


def _parse(text: str, name: str) -> etree._Element | None:
    if not text.strip():
        raise CorpusError(f"{name}: file is empty; add the page's HTML or delete it")
    try:
        # A parser that never resolves entities or loads DTDs over the network.
        parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _strip(page: etree._Element) -> None:
    for el in list(page.iter()):
        if not isinstance(el.tag, str):
            continue
        for attr in list(el.attrib):
            # Event handlers and script URLs never matter to text; drop them so
            # nothing downstream can carry them along.
            if attr.lower().startswith("on") or (
                attr.lower() in ("href", "src", "action", "formaction")
                and el.attrib[attr].strip().lower().startswith(("javascript:", "vbscript:"))
            ):
                del el.attrib[attr]
    for el in list(page.iter(*DROP)):
        if el.tag == "head":
            # The <title> and <meta> stay for the title; the rest of <head> goes.
            for child in list(el):
                if child.tag not in ("title", "meta"):
                    el.remove(child)
            continue
        parent = el.getparent()
        if parent is not None:
            el.drop_tree() if hasattr(el, "drop_tree") else parent.remove(el)


def _page_title(page: etree._Element) -> str:
    for xpath in ('//meta[@property="og:title"]/@content', '//meta[@name="twitter:title"]/@content',
                  "//title/text()"):  # fmt: skip
        found = [_SPACE.sub(" ", str(v)).strip() for v in page.xpath(xpath)]
        found = [v for v in found if v]
        if found:
            # Keep the longest part of "Article | Site": the site name is the short one.
            return max(_SITE_SEPARATORS.split(found[0]), key=len).strip()
    return ""


def _main_content(html: str, extractor: str) -> str:
    if extractor == "trafilatura":
        import trafilatura

        return (
            trafilatura.extract(
                html,
                output_format="html",
                include_comments=False,
                include_tables=True,
                favor_recall=True,
                include_links=False,
                include_images=False,
            )  # fmt: skip
            or ""
        )
    from readability import Document

    try:
        return str(Document(html).summary(html_partial=True))
    except Exception:  # readability raises its own Unparseable and lxml errors alike
        return ""


def _blocks(root: etree._Element | None) -> list[Block]:
    blocks: list[Block] = []
    if root is None:
        return blocks
    body = root.find("body")
    _walk(body if body is not None else root, blocks, "paragraph")
    return blocks


def _walk(el: etree._Element, out: list[Block], kind: str) -> None:
    """Emit ``el``'s own text as blocks, recursing into the block elements inside it."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in DROP:
        return
    if tag in HEADINGS:
        _emit(out, Block("heading", el.text_content(), HEADINGS[tag]))
        return
    if tag == "li":
        kind = "item"
    buffer: list[str] = [el.text or ""]
    for child in el:
        ctag = child.tag if isinstance(child.tag, str) else ""
        if ctag in BLOCKS:
            _emit(out, Block(kind, "".join(buffer)))
            buffer = []
            # Text after a nested list belongs to the item, but reads as its own paragraph.
            _walk(child, out, "paragraph" if ctag != "li" else "item")
        elif ctag == "br":
            buffer.append(" ")
        elif ctag and ctag not in DROP:
            buffer.append(_inline_text(child))
        buffer.append(child.tail or "")
    _emit(out, Block(kind, "".join(buffer)))


def _inline_text(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in DROP:
            parts.append(" " if child.tag == "br" else _inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _emit(out: list[Block], block: Block) -> None:
    text = _SPACE.sub(" ", block.text).strip()
    if text:
        out.append(Block(block.kind, text, block.level))
