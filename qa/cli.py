"""The ``qa`` command: thin wrappers over the library."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qa.embed import DEFAULT_MODEL
from qa.errors import QAError
from qa.feedback import DEFAULT_LOG as DEFAULT_FEEDBACK_LOG
from qa.rank.scoring import percent

if TYPE_CHECKING:
    from qa.evaluate import EvalReport
    from qa.evaluate_conversations import ConversationReport


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a message comes (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def show_logs(level: int = logging.INFO) -> None:
    """Show the library's messages on stderr as ``qa: ...`` lines (once per process).

    The library only logs (``logging.getLogger(__name__)``); the command
    line and the app decide that their user sees them.
    """
    logger = logging.getLogger("qa")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("qa: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


def _build(args: argparse.Namespace) -> int:
    from qa.index import Encode, build, encode_here

    encode: Encode = encode_here
    if args.ray is not None:
        from qa.ray_build import RayEncode, import_ray

        import_ray()  # says how to install Ray before any work is done
        encode = RayEncode(address=args.ray or None, workers=args.workers)
    report = build(
        args.corpus,
        args.index,
        model=args.model,
        strict=args.strict,
        progress=sys.stderr.isatty(),
        encode=encode,
    )
    print(report.summary())
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    return 0


def _ask(args: argparse.Namespace) -> int:
    from qa.answer import load

    answer = load(args.index).ask(args.question)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    if answer.note:
        print(f"({answer.note})")
    if answer.kind == "smalltalk":
        print(answer.reply)
        return 0
    if answer.read_as != answer.question:
        print(f"(Read as: {answer.read_as})")
    if not answer.answered:
        print("The articles do not cover this question.")
        if answer.suggestions:
            print("Questions they do answer: " + " | ".join(answer.suggestions))
        return 0
    assert answer.passage is not None
    p = answer.passage
    where = f"{p.doc} · {p.heading}" if p.heading else p.doc
    print(f"{where}  (confidence {percent(answer.confidence)})\n\n{p.text}")
    if answer.faq:
        print(f"\nFAQ: {answer.faq.question}\n{answer.faq.answer}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from qa.answer import Retriever, load
    from qa.evaluate import evaluate, read_questions
    from qa.evaluate_conversations import (
        evaluate_conversations,
        is_conversation_file,
        read_conversations,
    )
    from qa.index import build

    run: Callable[[Retriever], EvalReport | ConversationReport]
    if is_conversation_file(args.file):
        conversations = read_conversations(args.file)
        run = lambda retriever: evaluate_conversations(retriever, conversations)  # noqa: E731
    else:
        questions = read_questions(args.file)
        run = lambda retriever: evaluate(retriever, questions)  # noqa: E731
    if args.corpus:
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            build(args.corpus, tmp, model=args.model, progress=sys.stderr.isatty())
            report = run(load(tmp))
    else:
        report = run(load(args.index))
    print(report.to_json() if args.json else report.table())
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from qa.calibrate import calibrate, label_questions, label_votes
    from qa.evaluate import read_questions
    from qa.feedback import FeedbackLog
    from qa.rank import Scorer
    from qa.retrieve import Retriever
    from qa.store import open_store

    # The shipped confidence, not a calibration already stored: the fit is over it.
    retriever = Retriever(open_store(args.index), scorer=Scorer.default())
    skipped = 0
    if _is_vote_log(args.file):
        votes, unreadable = FeedbackLog(args.file).read()
        labelled, skipped = label_votes(retriever, votes)
        skipped += unreadable
    else:
        rows = read_questions(args.file)
        labelled = label_questions(retriever, rows)
        skipped = len(rows) - len(labelled)
    cal = calibrate(retriever, labelled, os.path.basename(args.file))
    if args.json:
        print(json.dumps(dataclasses.asdict(cal), indent=1))
        return 0
    assert cal.before is not None and cal.after is not None
    print(
        f"calibrated on {cal.labels} answered questions ({cal.right} right; "
        f"{skipped} declined or not comparable, left out): scale {cal.scale:.3f}, "
        f"shift {cal.shift:+.3f} (prior worth {cal.prior:g} labels)"
    )
    for name, f in (("before", cal.before), ("after", cal.after)):
        print(
            f"  {name}: right at High {f['right_at_high']:.3f}, High right "
            f"{f['high_precision']:.3f} ({f['high_answers']} at High), on these questions"
        )
    return 0


def _is_vote_log(path: str) -> bool:
    """A thumbs log (lines with "vote") rather than a question file."""
    try:
        with open(path, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        return isinstance(row := json.loads(first), dict) and "vote" in row
    except (OSError, ValueError):
        return False  # read_questions says what is wrong with it


def _show(args: argparse.Namespace) -> int:
    from qa.corpus import parse

    doc = parse(args.file)
    if args.json:
        from qa.library import describe

        print(
            json.dumps(
                describe(doc),
                ensure_ascii=False,
                indent=1,
            )
        )
        return 0
    print(f"# {doc.title}")
    heading = None
    for passage in doc.passages:
        if passage.heading != heading:
            heading = passage.heading
            print(f"\n## {heading}" if heading else "")
        print(f"\n{passage.text}")
    if doc.faqs:
        print(f"\n## FAQ ({len(doc.faqs)} pairs)")
        for faq in doc.faqs:
            print(f"\nQ: {faq.question}\nA: {faq.answer}")
    print(f"\n({len(doc.passages)} passages, {len(doc.faqs)} FAQ pairs)", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from qa.app.page import serve

    return serve(args)


def _feedback(args: argparse.Namespace) -> int:
    from qa.feedback import FeedbackLog, summarize

    votes, unreadable = FeedbackLog(args.log).read()
    summary = summarize(votes, unreadable)
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(summary.table(top=args.top))
    return 0


INDEX_HELP = (
    "where the index is: a folder (default: index), qdrant:PATH (Qdrant's local mode), "
    "or qdrant://HOST:PORT/NAME or https://HOST/NAME (a Qdrant server; API key from "
    "$QA_QDRANT_API_KEY)"
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="qa", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="parse corpus/ and (re)build index/")
    b.add_argument("--corpus", default="corpus", help="folder of .txt/.md files (default: corpus)")
    b.add_argument("--index", default="index", help=INDEX_HELP)
    b.add_argument(
        "--model", default=DEFAULT_MODEL, help="sentence-transformers model name or folder"
    )
    b.add_argument(
        "--strict", action="store_true", help="fail on any bad file instead of skipping it"
    )
    b.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="embed on Ray: a local Ray started for the build, or the cluster at ADDRESS "
        "(auto, HOST:PORT or ray://HOST:10001); needs pip install 'qa[ray]'",
    )
    b.add_argument(
        "--workers",
        type=_positive,
        help="with --ray: encoder workers (default: every core here, or the cluster's CPUs)",
    )
    b.set_defaults(run=_build)

    a = sub.add_parser("ask", help="answer one question")
    a.add_argument("question")
    a.add_argument("--index", default="index", help=INDEX_HELP)
    a.add_argument("--json", action="store_true", help="print the answer as JSON")
    a.set_defaults(run=_ask)

    e = sub.add_parser("eval", help="score the retriever on a JSONL question set")
    e.add_argument(
        "file",
        help="questions, one JSON object a line, or conversations, one "
        '{"turns": [...]} a line (see the README)',
    )
    e.add_argument("--index", default="index", help=INDEX_HELP)
    e.add_argument("--corpus", help="build a temporary index of this folder and evaluate on it")
    e.add_argument("--model", default=DEFAULT_MODEL, help="model for --corpus builds")
    e.add_argument("--json", action="store_true", help="print every figure and miss as JSON")
    e.set_defaults(run=_eval)

    c = sub.add_parser(
        "calibrate",
        help="refit the shown confidence (only) on your own labelled questions or thumbs log",
    )
    c.add_argument(
        "file",
        help="questions as `qa eval` reads them, or the chat's thumbs log (feedback.jsonl)",
    )
    c.add_argument("--index", default="index", help="the index folder (default: index)")
    c.add_argument("--json", action="store_true", help="print the fit as JSON")
    c.set_defaults(run=_calibrate)

    w = sub.add_parser("show", help="print how qa reads one file: title, headings, FAQ pairs")
    w.add_argument("file", help="a .txt, .md, .html, .htm, .pdf or .docx file")
    w.add_argument("--json", action="store_true", help="print the document as JSON")
    w.set_defaults(run=_show)

    s = sub.add_parser("serve", help="serve the chat app (same as python app.py)")
    add_serve_arguments(s)
    s.set_defaults(run=_serve)

    f = sub.add_parser("feedback", help="summarise the chat's thumbs up/down votes")
    f.add_argument(
        "--log",
        default=DEFAULT_FEEDBACK_LOG,
        help=f"the votes file the app wrote (default: {DEFAULT_FEEDBACK_LOG})",
    )
    f.add_argument(
        "--top",
        type=_positive,
        default=20,
        help="how many down-voted questions to list (default: 20)",
    )
    f.add_argument("--json", action="store_true", help="print every question's votes as JSON")
    f.set_defaults(run=_feedback)
    return top


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {value!r}")
    return n


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port to bind (default: 7860)")
    p.add_argument(
        "--corpus", default="corpus", help="corpus folder, rebuilt from at start if it changed"
    )
    p.add_argument("--index", default="index", help=INDEX_HELP)
    p.add_argument(
        "--model",
        help="model to answer with (default: the one the index was built with, "
        f"or {DEFAULT_MODEL})",
    )
    p.add_argument(
        "--feedback",
        default=DEFAULT_FEEDBACK_LOG,
        help=f"file the thumbs up/down votes are appended to (default: {DEFAULT_FEEDBACK_LOG})",
    )
    p.add_argument(
        "--share",
        action="store_true",
        help="also serve on a public gradio.live link (off unless given)",
    )
    p.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require this login; or set QA_AUTH=user:password, which keeps the "
        "password out of the process list.  It also turns on the Library's uploads and removals",
    )
    p.add_argument(
        "--allow-edits",
        action="store_true",
        help="let the Library upload and remove documents without --auth "
        "(only on a machine nobody else can reach)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    show_logs()
    try:
        return int(args.run(args))
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`qa ask ... | head`); stop Python's exit-time
        # flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # the disk or the OS, not a bug in qa: one line, not a traceback
        print(f"qa: error: {exc}; check the path, free space and permissions", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
