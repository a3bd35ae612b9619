"""The chat's HTML: answers, declines and the page's CSS, as pure functions.

Every corpus or user string passes through :func:`text`, which makes it inert
(no tag, entity, Markdown or LaTeX survives), so hostile articles and
questions render as the very characters typed.  No Gradio here: the tests
check this markup directly.
"""

from qa.answer import Answer, Passage
from qa.rank.answerable import missing_note
from qa.rank.scoring import HIGH_CONFIDENCE, percent

# Confidence is a calibrated probability that the answer is right (High from
# qa.rank.scoring.HIGH_CONFIDENCE up).
MEDIUM_CONFIDENCE = 0.5
SOURCE_PREVIEW_CHARS = 320

CSS = """
#qa-page { max-width: 860px; margin: 0 auto; }
#qa-status { font-size: 0.85em; opacity: 0.8; }
.qa-answer { overflow-wrap: anywhere; }
.qa-answer p { margin: 0.35em 0; }
.qa-meta { display: flex; flex-wrap: wrap; gap: 0.4em 0.6em; align-items: center;
           font-size: 0.9em; }
.qa-conf { border-radius: 999px; padding: 0.05em 0.65em; font-weight: 600; white-space: nowrap; }
.qa-conf-high { background: #dcfce7; color: #14532d; }
.qa-conf-medium { background: #fef3c7; color: #78350f; }
.qa-conf-low { background: #fee2e2; color: #7f1d1d; }
.qa-source { opacity: 0.85; }
.qa-passage { margin: 0.5em 0; padding-left: 0.8em; border-left: 3px solid #94a3b8; }
mark.qa-hl { background: #fde68a; color: #111827; padding: 0 0.15em; border-radius: 3px; }
.qa-faq { margin-top: 0.6em; padding: 0.45em 0.8em; border-radius: 8px;
          background: var(--background-fill-secondary);
          border: 1px solid var(--border-color-primary); }
.qa-label { font-size: 0.78em; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.75; }
.qa-faq-q { font-weight: 600; }
.qa-sources { margin-top: 0.6em; }
.qa-sources summary { cursor: pointer; }
.qa-sources ol { margin: 0.3em 0 0 1.2em; padding: 0; }
.qa-sources li { margin-bottom: 0.4em; }
.qa-declined .qa-decline-title { font-weight: 600; }
.qa-note { font-size: 0.85em; font-style: italic; }
.qa-missing { font-size: 0.9em; margin: 0.3em 0; }
.qa-read-as { font-size: 0.8em; opacity: 0.75; margin: 0 0 0.3em 0; }
"""

# Every character that HTML or Markdown (or the chat's LaTeX) could read as
# markup becomes a numeric entity, so corpus and user text always render as
# the very characters typed.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'`*_[](){}#+-!|~$\\:.="})


def text(value: str) -> str:
    """``value`` as inert HTML text: no tag, entity, Markdown or LaTeX in it survives.

    >>> text("<b>*hi*</b>")
    '&#60;b&#62;&#42;hi&#42;&#60;/b&#62;'
    """
    return " ".join(str(value).split()).translate(_INERT)


def confidence_level(confidence: float) -> tuple[str, str]:
    """A CSS level and the words for a confidence between 0 and 1."""
    if confidence >= HIGH_CONFIDENCE:
        return "high", "High confidence"
    if confidence >= MEDIUM_CONFIDENCE:
        return "medium", "Medium confidence"
    return "low", "Low confidence: check the passage"


def source_of(passage: Passage) -> str:
    """Where a passage comes from: "document · heading"."""
    return f"{passage.doc} · {passage.heading}" if passage.heading else passage.doc


def highlight(passage: str, sentence: str) -> str:
    """The passage as inert HTML, with ``sentence`` (if it occurs in it) marked."""
    at = passage.find(sentence) if sentence else -1
    if at < 0 or sentence == passage:
        return text(passage)
    before, after = passage[:at], passage[at + len(sentence) :]
    return (f'{text(before)} <mark class="qa-hl">{text(sentence)}</mark> {text(after)}').strip()


def _preview(value: str) -> str:
    if len(value) <= SOURCE_PREVIEW_CHARS:
        return value
    return value[:SOURCE_PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"


def render_answer(answer: Answer) -> str:
    """One chat reply as HTML.  Every corpus or user string in it goes through :func:`text`.

    The HTML has no blank line, so the chat's Markdown renderer passes it
    through as one block and reads nothing inside it as Markdown.
    """
    if answer.kind == "smalltalk":
        return render_smalltalk(answer)
    if not answer.answered or answer.passage is None:
        return render_decline(answer)
    p = answer.passage
    level, words = confidence_level(answer.confidence)
    parts = [
        '<div class="qa-answer qa-answered">',
        read_as_line(answer),
        '<div class="qa-meta">',
        f'<span class="qa-conf qa-conf-{level}">{words} · {percent(answer.confidence)}</span>',
        f'<span class="qa-source">Source: {text(source_of(p))}</span>',
        "</div>",
        render_missing(answer),
    ]
    passage = [f'<blockquote class="qa-passage">{highlight(p.text, p.sentence)}</blockquote>']
    faq = []
    if answer.faq is not None:
        faq = [
            '<div class="qa-faq"><div class="qa-label">From the FAQ</div>',
            f'<p class="qa-faq-q">{text(answer.faq.question)}</p>',
            f'<p class="qa-faq-a">{text(answer.faq.answer)}</p></div>',
        ]
    # Answered by the FAQ pair alone: it comes first, the passage it points to after.
    parts += faq + passage if answer.kind == "faq" else passage + faq
    if answer.sources:
        items = "".join(
            f'<li><div class="qa-source">{text(source_of(s))} · score {s.score:.2f}</div>'
            f"<div>{text(_preview(s.text))}</div></li>"
            for s in answer.sources
        )
        parts.append(
            f'<details class="qa-sources"><summary>Sources ({len(answer.sources)})</summary>'
            f"<ol>{items}</ol></details>"
        )
    if answer.note:
        parts.append(f'<p class="qa-note">{text(answer.note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def render_decline(answer: Answer) -> str:
    """The reply when the bot declines: no passage, the suggestions as follow-ups."""
    parts = [
        '<div class="qa-answer qa-declined">',
        read_as_line(answer),
        '<p class="qa-decline-title">The articles don\'t cover this question.</p>',
        render_missing(answer),
        "<p>I only answer from the articles, and no passage matches it well enough "
        f"(confidence {percent(answer.confidence)}).",
    ]
    if answer.suggestions:
        parts.append(" Questions they do answer are below; click one to ask it.")
    parts.append("</p>")
    if answer.note:
        parts.append(f'<p class="qa-note">{text(answer.note)}</p>')
    parts.append("</div>")
    return "".join(parts)


def render_missing(answer: Answer) -> str:
    """The one line saying what the articles never mention ("" when nothing is missing)."""
    note = missing_note(answer.missing)
    return f'<p class="qa-missing">{text(note)}</p>' if note else ""


def read_as_line(answer: Answer) -> str:
    """ "Read as: …" in small text when a follow-up was read with context ('' otherwise)."""
    if answer.read_as == answer.question:
        return ""
    return f'<p class="qa-read-as">Read as: {text(answer.read_as)}</p>'


def render_smalltalk(answer: Answer) -> str:
    """The reply to a greeting, thanks or "what can you do?"; examples follow as options."""
    return f'<div class="qa-answer qa-smalltalk"><p>{text(answer.reply)}</p></div>'
