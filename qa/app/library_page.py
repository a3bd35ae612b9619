"""The page's Library tab: the documents, upload (drag and drop), remove, and each file's parse.

Gradio only wires it: the corpus work is :class:`qa.library.Library`, the
rebuild :class:`qa.rebuild.Rebuilder`, and the HTML comes from the pure
functions below, where every corpus or user string goes through
:func:`qa.app.render.text`.
"""

# No `from __future__ import annotations`: Gradio reads handler annotations at run time.

from pathlib import Path
from typing import Any

from qa.app.library import EDITS_OFF, listing
from qa.app.render import text
from qa.errors import QAError
from qa.library import Library, RefusedFile
from qa.live import LiveIndex
from qa.rebuild import Rebuilder

LIBRARY_CSS = """
#qa-lib-list table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
#qa-lib-list th, #qa-lib-list td { text-align: left; padding: 4px 6px;
  border-bottom: 1px solid var(--border-color-primary); }
#qa-lib-list td:first-child, #qa-lib-list td:nth-child(2) { overflow-wrap: anywhere; }
#qa-lib-list th, #qa-lib-list td:nth-child(n+3) { white-space: nowrap; }
.qa-lib-skipped { color: var(--error-text-color, #b91c1c); }
.qa-lib-pending { opacity: 0.7; font-style: italic; }
.qa-lib-error { color: var(--error-text-color, #b91c1c); font-weight: 600; }
.qa-lib-ok { color: var(--color-green-600, #15803d); }
#qa-lib-show { max-height: 60vh; overflow-y: auto; }
#qa-lib-show dt { font-weight: 600; margin-top: 0.5em; }
/* The theme's web font is not bundled with every glyph weight; system faces are. */
#qa-lib-list, #qa-lib-show { font-family: ui-sans-serif, system-ui, "Liberation Sans", sans-serif; }
"""


def render_list(rows: list[dict[str, Any]]) -> str:
    """The documents table."""
    if not rows:
        return "<p>The corpus folder has no documents yet.</p>"
    head = "".join(
        f"<th>{h}</th>" for h in ("File", "Title", "Format", "Passages", "FAQ", "Size", "Added")
    )
    body = []
    for r in rows:
        if r["status"] == "skipped":
            title = f'<span class="qa-lib-skipped">skipped: {text(r["reason"])}</span>'
        elif r["status"] == "pending":
            title = '<span class="qa-lib-pending">waiting for the rebuild</span>'
        else:
            title = text(r["title"])
        body.append(
            f'<tr data-name="{text(r["name"])}"><td>{text(r["name"])}</td><td>{title}</td>'
            f"<td>{text(r['format'])}</td><td>{r['passages']}</td><td>{r['faqs']}</td>"
            f"<td>{_size(r['size'])}</td><td>{text(r['added'][:16].replace('T', ' '))}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_parse(shown: dict[str, Any]) -> str:
    """One file as qa reads it: title, headings with their paragraphs, FAQ pairs."""
    parts = [f"<h3>{text(shown['title'])}</h3>"]
    heading = None
    for p in shown["passages"]:
        if p["heading"] != heading:
            heading = p["heading"]
            if heading:
                parts.append(f"<h4>{text(heading)}</h4>")
        parts.append(f"<p>{text(p['text'])}</p>")
    if shown["faqs"]:
        pairs = len(shown["faqs"])
        parts.append(f"<h4>FAQ ({pairs} pair{'' if pairs == 1 else 's'})</h4><dl>")
        parts += [
            f"<dt>{text(f['question'])}</dt><dd>{text(f['answer'])}</dd>" for f in shown["faqs"]
        ]
        parts.append("</dl>")
    parts.append(
        f"<p><small>{len(shown['passages'])} passages, {len(shown['faqs'])} FAQ pairs</small></p>"
    )
    return "".join(parts)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB" if n < 2**20 else f"{n / 2**20:.1f} MB"


def _message(ok: bool, words: str) -> str:
    return f'<p class="{"qa-lib-ok" if ok else "qa-lib-error"}">{text(words)}</p>'


def doc_choices(live: LiveIndex) -> list[tuple[str, str]]:
    """The document picker's options: (title, file name) of each document in the live build."""
    try:
        live.wait(timeout=0)
        catalog = live.get().catalog
    except QAError:
        return []
    return [(title, path) for path, title in catalog.titles.items()]


def library_tab(
    gr: Any, library: Library, live: LiveIndex, rebuilder: Rebuilder, edits: bool, picker: Any
) -> tuple[Any, list[Any]]:
    """Lay out the Library tab inside the current Blocks.

    ``picker`` is the Ask tab's document picker, whose choices follow the
    live build.  Returns ``(refresh, outputs)`` for the page to run on load.
    """
    names = {"api_visibility": "private"}  # the page's own events, not API endpoints
    gr.Markdown(
        "## Library\nThe articles the bot answers from: the files of the corpus folder. "
        "Pick one to see how it was read; changes rebuild the index in the background."
    )
    progress = gr.HTML("", elem_id="qa-lib-progress")
    if not edits:
        gr.Markdown(f"Viewing only: {EDITS_OFF}.", elem_id="qa-lib-off")
    upload = gr.File(
        label="Add documents (.txt .md .html .htm .pdf .docx): drop files here or click",
        file_count="multiple",
        file_types=[".txt", ".md", ".html", ".htm", ".pdf", ".docx"],
        elem_id="qa-lib-upload",
        height=140,
        visible=edits,
    )
    message = gr.HTML("", elem_id="qa-lib-message")
    table = gr.HTML("", elem_id="qa-lib-list")
    pick = gr.Dropdown(
        label="Document: pick one to see how qa read it",
        choices=[],
        elem_id="qa-lib-pick",
        allow_custom_value=False,
    )
    with gr.Row():
        remove = gr.Button(
            "Remove this document",
            elem_id="qa-lib-remove",
            variant="stop",
            size="md",
            scale=0,
            min_width=260,
            visible=edits,
        )
    shown = gr.HTML("", elem_id="qa-lib-show")
    seen = gr.State(None)  # (builds finished, build id) the list was drawn for
    timer = gr.Timer(1.0)

    def refresh() -> tuple[Any, Any, Any, Any, Any]:
        rows = listing(library, live)
        state = rebuilder.state
        return (
            state.line(),
            render_list(rows),
            gr.Dropdown(choices=[r["name"] for r in rows]),
            gr.Dropdown(choices=doc_choices(live)),
            (state.builds, _build(live)),
        )

    def tick(last: Any) -> tuple[Any, Any, Any, Any, Any]:
        state = rebuilder.state
        now = (state.builds, _build(live))
        if now == last:
            return state.line(), gr.skip(), gr.skip(), gr.skip(), last
        return refresh()

    def add(files: list[str] | None) -> tuple[Any, ...]:
        if not files:
            return (gr.skip(),) * 4
        try:
            saved = library.add([(Path(f).name, Path(f).read_bytes()) for f in files])
        except RefusedFile as exc:
            return _message(False, f"Not added: {exc}"), None, gr.skip(), gr.skip()
        rebuilder.request()
        words = ", ".join(f"{s.name} ({s.passages} passages, {s.faqs} FAQ pairs)" for s in saved)
        _, listed, choices, _, _ = refresh()
        return _message(True, f"Added {words}; rebuilding the index."), None, listed, choices

    def show(name: str | None) -> str:
        if not name:
            return ""
        try:
            return render_parse(library.show(name))
        except RefusedFile as exc:
            return _message(False, str(exc))

    def drop(name: str | None) -> tuple[Any, Any, Any, Any]:
        if not name:  # nothing picked, or the confirmation was cancelled
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            library.remove(name)
        except RefusedFile as exc:
            return _message(False, str(exc)), gr.skip(), gr.skip(), gr.skip()
        rebuilder.request()
        _, listed, choices, _, _ = refresh()
        return _message(True, f"Removed {name}; rebuilding the index."), listed, choices, ""

    upload.upload(add, [upload], [message, upload, table, pick], **names)
    pick.change(show, [pick], [shown], **names)
    remove.click(
        drop,
        [pick],
        [message, table, pick, shown],
        js="(name) => (name && confirm('Remove ' + name + ' from the corpus?')) ? name : null",
        **names,
    )
    outputs = [progress, table, pick, picker, seen]
    # A tick only reads the rebuild's state: never queue it behind answers.
    timer.tick(tick, [seen], outputs, concurrency_limit=None, **names)
    return refresh, outputs


def _build(live: LiveIndex) -> str | None:
    try:
        live.wait(timeout=0)
        return live.get().build_id
    except QAError:
        return None
