"""The Gradio chat page over the library."""

from __future__ import annotations

import argparse
import html
import sys
from typing import Any

from qa.embed import Embedder
from qa.errors import QAError
from qa.index import build, is_current
from qa.retrieve import Answer, Retriever, load


def ensure_index(args: argparse.Namespace, embedder: Embedder) -> None:
    """Build the index when it is missing or older than the corpus."""
    if is_current(args.corpus, args.index):
        return
    print(f"building the index of {args.corpus}/ ...", file=sys.stderr)
    report = build(args.corpus, args.index, embedder=embedder, progress=True)
    print(report.summary(), file=sys.stderr)
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)


def render(answer: Answer) -> str:
    """The answer as Markdown; corpus and user text are escaped, never HTML."""
    if not answer.answered or answer.passage is None:
        text = "**The articles don't cover this question.**"
        if answer.suggestions:
            text += "\n\nThey do answer:\n" + "\n".join(
                f"- {html.escape(s)}" for s in answer.suggestions
            )
        return text
    p = answer.passage
    source = html.escape(f"{p.doc} · {p.heading}" if p.heading else p.doc)
    parts = [f"{html.escape(p.text)}", f"*Source: {source} · confidence {answer.confidence:.0%}*"]
    if answer.faq:
        parts.append(
            f"**FAQ: {html.escape(answer.faq.question)}**\n\n{html.escape(answer.faq.answer)}"
        )
    return "\n\n".join(parts)


def create_app(retriever: Retriever) -> Any:
    import gradio as gr

    def respond(message: str, history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        answer = retriever.ask(message)
        history = history + [
            {"role": "user", "content": html.escape(message)},
            {"role": "assistant", "content": render(answer)},
        ]
        return "", history

    with gr.Blocks(title="qa") as demo:
        gr.Markdown("## Ask the articles")
        chat = gr.Chatbot(label="Answers")
        box = gr.Textbox(placeholder="Ask a question about the articles", show_label=False)
        box.submit(respond, [box, chat], [box, chat])
    return demo


def serve(args: argparse.Namespace) -> int:
    try:
        embedder = Embedder(args.model)
        ensure_index(args, embedder)
        retriever = load(args.index, embedder=embedder)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    create_app(retriever).launch(server_name=args.host, server_port=args.port)
    return 0
