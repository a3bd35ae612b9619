"""The chat page: Gradio over the library, with a JSON API, live index reload and feedback.

Start-up is arranged so the page is up fast: Gradio is imported and its
server started first, then the model loads (and, if the corpus changed, the
index is rebuilt) in a background thread while the server already serves
the page; questions wait for it.  docs/app.md describes the page, the API
and the settings below.
"""

# No `from __future__ import annotations` here: Gradio reads the handlers'
# annotations (gr.LikeData, gr.SelectData) at run time, and gradio is only
# imported inside create_app, so string annotations could not be resolved.

import argparse
import json
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from qa.embed import DEFAULT_MODEL, Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.feedback import FeedbackLog, Vote
from qa.index import build, is_current
from qa.rank.scoring import percent
from qa.retrieve import Answer, Passage, Retriever, load
from qa.store.local.files import build_dir

# Requests that may run Retriever.ask at once (chat and /ask together).  The
# model encode is serialized by a lock in qa/embed.py, so more workers only
# wait on it; 4 lets one encode while the others rank, render and send.
ANSWER_CONCURRENCY = 4
# Events waiting in Gradio's queue before new ones are refused with "queue
# full": 16 busy clients with a request each fit four times over.
QUEUE_MAX_SIZE = 64
# Confidence is a calibrated probability that the answer is right.
HIGH_CONFIDENCE = 0.75
MEDIUM_CONFIDENCE = 0.5
EXAMPLES = 6  # example questions on an empty chat
SOURCE_PREVIEW_CHARS = 320
AUTH_ENV = "QA_AUTH"

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


# ------------------------------------------------------------------ rendering


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
    if not answer.answered or answer.passage is None:
        return render_decline(answer)
    p = answer.passage
    level, words = confidence_level(answer.confidence)
    parts = [
        '<div class="qa-answer qa-answered">',
        '<div class="qa-meta">',
        f'<span class="qa-conf qa-conf-{level}">{words} · {percent(answer.confidence)}</span>',
        f'<span class="qa-source">Source: {text(source_of(p))}</span>',
        "</div>",
        f'<blockquote class="qa-passage">{highlight(p.text, p.sentence)}</blockquote>',
    ]
    if answer.faq is not None:
        parts += [
            '<div class="qa-faq"><div class="qa-label">From the FAQ</div>',
            f'<p class="qa-faq-q">{text(answer.faq.question)}</p>',
            f'<p class="qa-faq-a">{text(answer.faq.answer)}</p></div>',
        ]
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
        '<p class="qa-decline-title">The articles don\'t cover this question.</p>',
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


def _built_at(manifest: dict[str, Any]) -> str:
    raw = str(manifest.get("built_at", "?"))
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return raw


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# ------------------------------------------------------------------ the live index


class LiveIndex:
    """The retriever the app serves, swapped for a new one when ``qa build`` runs.

    Every question calls :meth:`get`, which compares the build ``index/current``
    points at with the one loaded (a readlink and a stat) and loads the new
    build when it changed, with the same :class:`Embedder`, so the model is
    loaded once for the life of the app.

    Args:
        corpus: The corpus folder (rebuilt from at start if it changed).
        index: The index folder.
        model: The model to answer with, when no ``embedder`` is given.  By
            default, the model the index was built with (or the default
            model); an index built with another model is rebuilt at start.
        embedder: A loaded model to use.
    """

    def __init__(
        self,
        corpus: str | os.PathLike[str],
        index: str | os.PathLike[str],
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.corpus = Path(corpus)
        self.index = Path(index)
        self.embedder = embedder or Embedder(model or self._built_with() or DEFAULT_MODEL)
        self.notice = ""  # what start-up or the last reload did, for the status line
        self._retriever: Retriever | None = None
        self._error: QAError | None = None
        self._failed_folder: Path | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # -------------------------------------------------------------- start

    def start(self) -> None:
        """Prepare in a background thread; :meth:`get` waits for it."""
        threading.Thread(target=self.prepare, name="qa-prepare", daemon=True).start()

    def prepare(self) -> None:
        """Rebuild if needed, open the index and load the model.  Errors surface in get()."""
        try:
            self._retriever = self._open()
            self.embedder.encode(["warm up"])  # loads the model now, not on the first question
        except QAError as exc:
            self._error = exc
        except Exception as exc:  # noqa: BLE001 - a crash here must not leave get() waiting
            self._error = QAError(f"start-up failed: {type(exc).__name__}: {exc}")
        finally:
            self._ready.set()

    def _open(self) -> Retriever:
        build_error: QAError | None = None
        if not is_current(self.corpus, self.index):
            reason = "the corpus changed since the last build"
            if not self._has_build():
                reason = "there was no index"
            print(f"qa: rebuilding the index of {self.corpus}/: {reason}", file=sys.stderr)
            try:
                report = build(self.corpus, self.index, embedder=self.embedder)
                self.notice = f"Rebuilt the index at start: {reason}."
                print(f"qa: {report.summary()}", file=sys.stderr)
                for s in report.skipped:
                    print(f"qa: skipped {s.path}: {s.reason}", file=sys.stderr)
            except QAError as exc:
                build_error = exc
        try:
            retriever = load(self.index, embedder=self.embedder)
        except IndexNotReadyError as exc:
            if build_error is not None:
                raise QAError(f"cannot rebuild the index: {build_error}") from None
            # The corpus is unchanged but the index cannot be read: rebuild it once.
            print(f"qa: {exc}; rebuilding it", file=sys.stderr)
            try:
                build(self.corpus, self.index, embedder=self.embedder)
            except QAError as err:
                raise QAError(f"the index is unusable and cannot be rebuilt: {err}") from None
            self.notice = "The index could not be used, so it was rebuilt at start."
            retriever = load(self.index, embedder=self.embedder)
        if build_error is not None:
            self.notice = (
                f"Could not rebuild the index ({build_error}); serving the build of "
                f"{_built_at(retriever.manifest)}."
            )
            print(f"qa: {self.notice}", file=sys.stderr)
        return retriever

    def _built_with(self) -> str | None:
        try:
            manifest = json.loads((build_dir(self.index) / "manifest.json").read_text("utf-8"))
            return str(manifest["model"])
        except (QAError, OSError, ValueError, KeyError, TypeError):
            return None

    def _has_build(self) -> bool:
        try:
            build_dir(self.index)
            return True
        except IndexNotReadyError:
            return False

    # -------------------------------------------------------------- serve

    def wait(self, timeout: float | None = None) -> Retriever:
        """The retriever, once start-up is done.

        Raises:
            QAError: Start-up failed, or did not finish within ``timeout`` seconds.
        """
        if not self._ready.wait(timeout):
            raise QAError("the index is still loading; try again in a moment")
        if self._error is not None:
            raise self._error
        assert self._retriever is not None
        return self._retriever

    def get(self) -> Retriever:
        """The retriever of the newest complete build (see the class docstring)."""
        retriever = self.wait()
        try:
            live = build_dir(self.index)
        except IndexNotReadyError:
            return retriever  # the folder was emptied: keep answering from memory
        if live == retriever.folder or live == self._failed_folder:
            return retriever
        with self._lock:
            assert self._retriever is not None
            if live == self._retriever.folder:
                return self._retriever
            try:
                fresh = load(self.index, embedder=self.embedder)
            except QAError as exc:
                self._failed_folder = live
                self.notice = f"A new build could not be loaded ({exc}); still serving the old one."
                print(f"qa: {self.notice}", file=sys.stderr)
                return self._retriever
            self._retriever = fresh
            self.notice = f"Index reloaded at {time.strftime('%H:%M:%S')}."
            print(f"qa: loaded the new index {fresh.folder.name}", file=sys.stderr)
            return fresh

    def status(self) -> str:
        """One line: documents, passages, FAQ pairs, build time, model, and any notice."""
        try:
            retriever = self.get()
        except QAError as exc:
            return f"Not ready: {exc}"
        m = retriever.manifest
        counts = m.get("counts", {})
        line = (
            f"{_plural(counts.get('documents', 0), 'document', 'documents')} · "
            f"{_plural(counts.get('passages', 0), 'passage', 'passages')} · "
            f"{_plural(counts.get('faqs', 0), 'FAQ pair', 'FAQ pairs')} · "
            f"index built {_built_at(m)} · model {m.get('model', '?')}"
        )
        return f"{line} · {self.notice}" if self.notice else line


# ------------------------------------------------------------------ the page


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` as a pair, or None when ``value`` is empty.

    Raises:
        QAError: ``value`` is not ``user:password``.
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise QAError(f"--auth and ${AUTH_ENV} take user:password, for example admin:s3cret")
    return user.strip(), password


History = list[dict[str, Any]]
Votes = dict[str, dict[str, Any]]  # chat message index -> what a vote on it is logged with


class Chat:
    """What the page does, without Gradio: answer, render, record votes.

    The conversation lives in the browser (the chat history) and in a
    per-session ``votes`` dict; this object holds no per-user state.

    Args:
        live: The index to answer from.
        log: Where thumbs up/down votes go.
    """

    def __init__(self, live: LiveIndex, log: FeedbackLog) -> None:
        self.live = live
        self.log = log

    def respond(self, question: str, history: History, votes: Votes) -> tuple[History, Votes]:
        """Ask ``question``; the history and votes with the exchange appended.

        A declined question's suggestions become the reply's clickable options.
        """
        question = (question or "").strip()
        if not question:
            return history, votes
        retriever = self.live.get()
        answer = retriever.ask(question)
        reply: dict[str, Any] = {"role": "assistant", "content": render_answer(answer)}
        if not answer.answered and answer.suggestions:
            reply["options"] = [{"value": s} for s in answer.suggestions]
        history = [*history, {"role": "user", "content": text(question)}, reply]
        p = answer.passage
        context = {
            "question": answer.question,
            "passage_id": None if p is None else p.id,
            "answered": answer.answered,
            "confidence": round(answer.confidence, 4),
            "doc": "" if p is None else p.doc,
            "heading": "" if p is None else p.heading,
            "build": retriever.folder.name,
        }
        return history, {**votes, str(len(history) - 1): context}

    def record_vote(self, votes: Votes, index: Any, liked: Any) -> Vote | None:
        """Log a thumbs up (``liked`` True) or down (False) on chat message ``index``.

        Returns:
            The vote written, or None for a user message or a withdrawn vote.
        """
        context = votes.get(str(index))
        if context is None or liked not in (True, False):
            return None
        vote = Vote(vote="up" if liked else "down", **context)
        self.log.append(vote)
        return vote

    def examples(self) -> list[str]:
        """Example questions for an empty chat: the corpus's FAQ questions (or headings)."""
        return list(self.live.get().suggestions(None, n=EXAMPLES))

    def status_html(self) -> str:
        return f"<span>{text(self.live.status())}</span>"


def create_app(chat: Chat) -> Any:
    """The Gradio Blocks of the chat page and the ``/ask`` API.

    Returns:
        A ``gradio.Blocks``; :func:`launch` queues and serves it with the
        settings documented in docs/app.md.
    """
    import gradio as gr

    def respond(question: str, history: History, votes: Votes) -> tuple[str, History, Votes, str]:
        history, votes = chat.respond(question, history, votes)
        return "", history, votes, chat.status_html()

    def ask_suggestion(
        history: History, votes: Votes, picked: gr.SelectData
    ) -> tuple[str, History, Votes, str]:
        return respond(str(picked.value), history, votes)

    def ask_example(
        history: History, votes: Votes, picked: gr.SelectData
    ) -> tuple[str, History, Votes, str]:
        value = picked.value
        question = value.get("text", "") if isinstance(value, dict) else value
        return respond(str(question), history, votes)

    def record_vote(votes: Votes, liked: gr.LikeData) -> None:
        chat.record_vote(votes, liked.index, liked.liked)

    def on_load() -> tuple[Any, str]:
        try:
            examples = chat.examples()
        except QAError:
            return gr.Chatbot(), chat.status_html()
        return gr.Chatbot(examples=[{"text": q} for q in examples]), chat.status_html()

    def ask(question: str) -> dict[str, Any]:
        """Answer one question from the articles.

        Args:
            question: The question, in plain text.

        Returns:
            {answered, confidence, passage: {text, doc, heading, score, sentence} | null,
            faq: {question, answer, score} | null, suggestions, note}
        """
        return chat.live.get().ask(question).to_dict()

    answering: dict[str, Any] = {
        "concurrency_id": "answer",
        "concurrency_limit": ANSWER_CONCURRENCY,
        "api_visibility": "private",  # the page's own events; /ask is the API
    }
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        with gr.Column(elem_id="qa-page"):
            gr.Markdown(
                "## Ask the articles\n"
                "Answers are quoted word for word from the articles, with their source. "
                "When the articles don't cover a question, the bot says so."
            )
            chatbot = gr.Chatbot(
                elem_id="qa-chat",
                show_label=False,
                height="62vh",
                placeholder="Ask a question, or pick one of these:",
                latex_delimiters=[],
                buttons=[],
                allow_tags=False,
                group_consecutive_messages=False,
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(
                    elem_id="qa-question",
                    show_label=False,
                    placeholder="Ask a question about the articles",
                    max_lines=4,
                    autofocus=True,
                    submit_btn="Ask",
                    scale=6,
                )
                clear = gr.Button(
                    "Clear", elem_id="qa-clear", variant="secondary", scale=1, min_width=80
                )
            status = gr.HTML("<span>Loading the index and the model …</span>", elem_id="qa-status")
        votes = gr.State({})

        outputs = [question, chatbot, votes, status]
        question.submit(respond, [question, chatbot, votes], outputs, **answering)
        chatbot.option_select(ask_suggestion, [chatbot, votes], outputs, **answering)
        chatbot.example_select(ask_example, [chatbot, votes], outputs, **answering)
        page: dict[str, Any] = {"api_visibility": "private"}
        chatbot.like(record_vote, [votes], None, **page)
        clear.click(lambda: ("", [], {}), None, [question, chatbot, votes], **page)
        chatbot.clear(lambda: {}, None, [votes], **page)
        # on_load waits for start-up; with no limit, page loads never queue behind it.
        demo.load(on_load, None, [chatbot, status], concurrency_limit=None, **page)
        gr.api(ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
    return demo


def launch(
    chat: Chat,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    quiet: bool = False,
) -> tuple[Any, str]:
    """Build the page and start serving it in the background.

    Args:
        chat: What the page answers with.
        host: Address to bind; 127.0.0.1 keeps the app on this machine.
        port: Port to bind.
        share: Also open a public gradio.live link.
        auth: A login to require.
        quiet: Print nothing.

    Returns:
        The running ``gradio.Blocks`` (``.close()`` stops it) and its local URL.

    Raises:
        QAError: The port cannot be used.
    """
    # Gradio would otherwise phone home for analytics and version checks.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = create_app(chat).queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=1)
    private = [str(Path(p).resolve()) for p in (chat.live.corpus, chat.live.index, chat.log.path)]
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            auth=auth,
            prevent_thread_lock=True,
            quiet=True,
            css=CSS,
            footer_links=["api"],
            run_history=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
            blocked_paths=private,
            max_file_size="1kb",  # the page takes no uploads
        )
    except OSError as exc:
        raise QAError(f"cannot serve on {host}:{port} ({exc}); pick another --port") from None
    if not quiet:
        public = f" and {demo.share_url}" if share else ""
        print(f"qa: serving on {url}{public}", file=sys.stderr)
    return demo, url


def serve(args: argparse.Namespace) -> int:
    """Run the app until interrupted (``python app.py`` / ``qa serve``).

    Args:
        args: The options of :func:`qa.cli.add_serve_arguments`.

    Returns:
        The exit status: 0, or 1 after a one-line error.
    """
    try:
        auth = parse_auth(args.auth or os.environ.get(AUTH_ENV))
        live = LiveIndex(args.corpus, args.index, model=args.model)
        demo, _ = launch(
            Chat(live, FeedbackLog(args.feedback)),
            host=args.host,
            port=args.port,
            share=args.share,
            auth=auth,
        )
        # Only now: imports hold the GIL, so loading the model alongside Gradio's
        # import delayed the page by seconds and brought the first answer no sooner.
        live.start()
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    try:
        live.wait()
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        demo.close()
        return 1
    print(f"qa: ready: {live.status()}", file=sys.stderr)
    demo.block_thread()
    return 0
