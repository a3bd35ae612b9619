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
import logging
import os
import sys
from pathlib import Path
from typing import Any

from qa.app.api import router as api_router
from qa.app.chat import AUTH_ENV, Chat, History, Turns, Votes, parse_auth
from qa.app.gradio_import import import_gradio
from qa.app.library import edits_enabled
from qa.app.library import router as library_router
from qa.app.library_page import LIBRARY_CSS, library_tab
from qa.app.render import CSS
from qa.cli import show_logs
from qa.corpus import MAX_FILE_BYTES
from qa.errors import QAError
from qa.feedback import FeedbackLog
from qa.library import Library
from qa.live import LiveIndex
from qa.rebuild import Rebuilder

log = logging.getLogger(__name__)

# Requests that may run Retriever.ask at once (chat and /ask together).  The
# model encode is serialized by a lock in qa/embed.py, so more workers only
# wait on it; 4 lets one encode while the others rank, render and send.
ANSWER_CONCURRENCY = 4
# Events waiting in Gradio's queue before new ones are refused with "queue
# full": 16 busy clients with a request each fit four times over.
QUEUE_MAX_SIZE = 64
# More events than a server ever handles: how often the queue sums them up (launch).
NEVER = 10**18


def create_app(
    chat: Chat,
    rebuilder: Rebuilder | None = None,
    edits: bool = False,
    library: Library | None = None,
) -> Any:
    """The Gradio Blocks of the chat page (Ask and Library tabs) and the ``/ask`` API.

    ``edits`` turns on the Library's upload and remove controls.

    Returns:
        A ``gradio.Blocks``; :func:`launch` queues and serves it with the
        settings documented in docs/app.md.
    """
    import_gradio()  # without its stub rewriting: half the import's time
    import gradio as gr

    Reply = tuple[str, History, Votes, Turns, str]
    rebuilder = rebuilder or Rebuilder(chat.live)
    library = library or Library(chat.live.corpus)

    def respond(
        question: str, history: History, votes: Votes, turns: Turns, docs: list[str] | None = None
    ) -> Reply:
        history, votes, turns = chat.converse(question, history, votes, turns, docs)
        return "", history, votes, turns, chat.status_html()

    def ask_suggestion(
        history: History, votes: Votes, turns: Turns, docs: list[str], picked: gr.SelectData
    ) -> Reply:
        return respond(str(picked.value), history, votes, turns, docs)

    def ask_example(
        history: History, votes: Votes, turns: Turns, docs: list[str], picked: gr.SelectData
    ) -> Reply:
        value = picked.value
        question = value.get("text", "") if isinstance(value, dict) else value
        return respond(str(question), history, votes, turns, docs)

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
            ``Answer.to_dict()``: the fields qa/answer/types.py declares (docs/app.md
            lists them); POST /api/ask takes a conversation's history too.
        """
        return chat.live.get().ask(question).to_dict()

    answering: dict[str, Any] = {
        "concurrency_id": "answer",
        "concurrency_limit": ANSWER_CONCURRENCY,
        "api_visibility": "private",  # the page's own events; /ask is the API
    }
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        with gr.Tabs():
            with gr.Tab("Ask", elem_id="qa-tab-ask"), gr.Column(elem_id="qa-page"):
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
                docs = gr.Dropdown(
                    label="Ask within (empty: all documents)",
                    choices=[],
                    multiselect=True,
                    elem_id="qa-docs",
                )
                status = gr.HTML(
                    "<span>Loading the index and the model …</span>", elem_id="qa-status"
                )
            with gr.Tab("Library", elem_id="qa-tab-library"), gr.Column(elem_id="qa-library"):
                refresh, refreshed = library_tab(gr, library, chat.live, rebuilder, edits, docs)
        votes = gr.State({})
        turns = gr.State([])  # the conversation, as each question was read (its read_as)

        outputs = [question, chatbot, votes, turns, status]
        question.submit(respond, [question, chatbot, votes, turns, docs], outputs, **answering)
        chatbot.option_select(ask_suggestion, [chatbot, votes, turns, docs], outputs, **answering)
        chatbot.example_select(ask_example, [chatbot, votes, turns, docs], outputs, **answering)
        page: dict[str, Any] = {"api_visibility": "private"}
        chatbot.like(record_vote, [votes], None, **page)
        # Clear starts a new conversation: no earlier turn is read with the next question.
        clear.click(lambda: ("", [], {}, []), None, [question, chatbot, votes, turns], **page)
        chatbot.clear(lambda: ({}, []), None, [votes, turns], **page)
        # on_load waits for start-up; with no limit, page loads never queue behind it.
        demo.load(on_load, None, [chatbot, status], concurrency_limit=None, **page)
        demo.load(refresh, None, refreshed, concurrency_limit=None, **page)
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
    allow_edits: bool = False,
) -> tuple[Any, str]:
    """Build the page and start serving it in the background.

    Args:
        chat: What the page answers with.
        host: Address to bind; 127.0.0.1 keeps the app on this machine.
        port: Port to bind.
        share: Also open a public gradio.live link.
        auth: A login to require (it also turns on the Library's edits).
        quiet: Print nothing.
        allow_edits: Let the Library upload and remove without a login.

    Returns:
        The running ``gradio.Blocks`` (``.close()`` stops it) and its local URL.

    Raises:
        QAError: The port cannot be used.
    """
    # Gradio would otherwise phone home for analytics and version checks.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # After every event Gradio's queue sums up all recorded events (up to
    # 10,000) in a pandas DataFrame for its monitoring dashboard, which the page
    # turns off: 3 ms of CPU an event at first, 12 ms at 10,000, and pandas's
    # import (0.5 s) after the first answer.  This sums them up never.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(NEVER))
    # Where matplotlib is installed, Gradio asks it for its backend on every
    # event, and the first time matplotlib tries the GUI backends (0.3 s on the
    # way to the first answer).  The page draws no plots.
    os.environ.setdefault("MPLBACKEND", "agg")
    edits = edits_enabled(auth, allow_edits)
    rebuilder = Rebuilder(chat.live)
    library = Library(chat.live.corpus)  # one, so page and API writes share its lock
    demo = create_app(chat, rebuilder, edits, library).queue(
        max_size=QUEUE_MAX_SIZE, default_concurrency_limit=1
    )
    routes = api_router(
        chat.live, auth, ANSWER_CONCURRENCY, rebuild=lambda: rebuilder.state.to_dict()
    )
    documents = library_router(library, chat.live, rebuilder, auth, allow_edits)
    private = [str(Path(p).resolve()) for p in (chat.live.corpus, chat.live.index, chat.log.path)]
    try:
        _, url, _ = demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            auth=auth,
            prevent_thread_lock=True,
            quiet=True,
            css=CSS + LIBRARY_CSS,
            footer_links=["api"],
            run_history=False,
            enable_monitoring=False,
            mcp_server=False,
            ssr_mode=False,
            blocked_paths=private,
            # Uploads only where the Library may take them, at the formats' own limit.
            max_file_size=MAX_FILE_BYTES if edits else "1kb",
            # The JSON API (qa/app/api.py, qa/app/library.py) on Gradio's own
            # FastAPI app: same port and process.
            app_kwargs={"routes": routes.routes + documents.routes},
        )
    except OSError as exc:
        raise QAError(f"cannot serve on {host}:{port} ({exc}); pick another --port") from None
    if not quiet:
        public = f" and {demo.share_url}" if share else ""
        log.info("serving on %s%s", url, public)
    return demo, url


def serve(args: argparse.Namespace) -> int:
    """Run the app until interrupted (``python app.py`` / ``qa serve``).

    Args:
        args: The options of :func:`qa.cli.add_serve_arguments`.

    Returns:
        The exit status: 0, or 1 after a one-line error.
    """
    show_logs()
    try:
        auth = parse_auth(args.auth or os.environ.get(AUTH_ENV))
        live = LiveIndex(args.corpus, args.index, model=args.model)
        demo, _ = launch(
            Chat(live, FeedbackLog(args.feedback)),
            host=args.host,
            port=args.port,
            share=args.share,
            auth=auth,
            allow_edits=getattr(args, "allow_edits", False),
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
