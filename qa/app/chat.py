"""What the chat page does, without Gradio: answer, render, record votes.

The Gradio page (:mod:`qa.app.page`) wires these methods to its events; the
tests call them directly.
"""

from typing import Any

from qa.app.render import render_answer, text
from qa.errors import QAError, StoreUnavailableError
from qa.feedback import FeedbackLog, Vote
from qa.live import LiveIndex

EXAMPLES = 6  # example questions on an empty chat
AUTH_ENV = "QA_AUTH"
# The reply, and the status line, while a server store cannot be reached.
UNREACHABLE = "The index can't be reached right now; try again in a moment."


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
Turns = list[str]  # the conversation's questions, each as it was read (Answer.read_as)
# Only the latest turns can matter to a follow-up; a long chat keeps this many.
MAX_TURNS = 20


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

    def converse(
        self,
        question: str,
        history: History,
        votes: Votes,
        turns: Turns,
        docs: list[str] | None = None,
    ) -> tuple[History, Votes, Turns]:
        """Ask ``question``; the history, votes and turns with the exchange appended.

        A declined question's suggestions become the reply's clickable options.

        Args:
            question: What the user typed; blank leaves everything as it was.
            history: The chat so far, as Gradio's ``messages`` list.
            votes: The vote context of each assistant message so far.
            turns: The earlier questions, each as it was read (``read_as``),
                oldest first; ``[]`` starts a conversation.
            docs: Documents to answer from (the page's picker); empty means all.

        Returns:
            The new history, votes and turns (the arguments are not changed).

        Raises:
            QAError: The index is not ready (see :meth:`LiveIndex.get`).
        """
        question = (question or "").strip()
        if not question:
            return history, votes, turns
        retriever = self.live.get()
        try:
            answer = retriever.ask(question, turns, docs=docs or None)
        except StoreUnavailableError:
            # A server store went away: say so plainly, keep the conversation,
            # and answer again as soon as it is back.
            self.live.notice = UNREACHABLE
            sorry = {"role": "assistant", "content": f"<p>{text(UNREACHABLE)}</p>"}
            return [*history, {"role": "user", "content": text(question)}, sorry], votes, turns
        except QAError as exc:  # a picked document that a rebuild has since removed
            sorry = {"role": "assistant", "content": f"<p>{text(str(exc))}</p>"}
            return [*history, {"role": "user", "content": text(question)}, sorry], votes, turns
        if self.live.notice == UNREACHABLE:
            self.live.notice = ""
        turns = [*turns, answer.read_as][-MAX_TURNS:]
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
            "build": retriever.build_id,
        }
        return history, {**votes, str(len(history) - 1): context}, turns

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
        """Example questions for an empty chat: the corpus's FAQ questions (or headings).

        Raises:
            QAError: The index is not ready (see :meth:`LiveIndex.get`).
        """
        return list(self.live.get().suggestions(None, n=EXAMPLES))

    def status_html(self) -> str:
        """The page's status line (see :meth:`LiveIndex.status`) as inert HTML."""
        return f"<span>{text(self.live.status())}</span>"
