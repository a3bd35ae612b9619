"""The chat's HTML (qa/app/render.py): inert text, answers, declines, hostile markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import qa
from qa.app.chat import Chat
from qa.app.render import render_answer, render_decline, text
from qa.embed import Embedder
from qa.feedback import FeedbackLog
from qa.live import LiveIndex
from qa.rank.scoring import percent
from tests.support.samples import HOSTILE_QUESTION, IN_SCOPE, OFF_TOPIC

# The only markup the app itself writes into a reply.
OWN_TAGS = {"div", "span", "p", "blockquote", "mark", "details", "summary", "ol", "li"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


def assert_only_own_markup(markup: str) -> None:
    for tag, attrs in parse(markup).tags:
        assert tag in OWN_TAGS, f"unexpected <{tag}> in {markup[:200]}"
        assert all(name == "class" for name, _ in attrs), f"unexpected attribute on <{tag}>"
    assert "\n\n" not in markup  # one HTML block: Markdown never reads inside it


@given(st.text())
def test_text_is_inert_and_keeps_every_character(value: str) -> None:
    out = text(value)
    assert not set(re.sub(r"&#[0-9]+;", "", out)) & set("&<>\"'`*_[](){}#+-!|~$\\:=")
    assert html.unescape(out) == " ".join(value.split())


def test_answer_shows_passage_highlight_source_faq_sources_and_confidence(
    seed_retriever: qa.Retriever,
) -> None:
    answer = seed_retriever.ask(IN_SCOPE)
    assert answer.answered and answer.passage and answer.faq and answer.passage.sentence
    markup = render_answer(answer)
    assert_only_own_markup(markup)
    parsed = parse(markup)
    shown = "".join(parsed.text)
    assert answer.passage.text in " ".join(shown.split())
    assert f'<mark class="qa-hl">{text(answer.passage.sentence)}</mark>' in markup
    assert text(f"{answer.passage.doc} · {answer.passage.heading}") in markup
    assert text(answer.faq.question) in markup and text(answer.faq.answer) in markup
    assert f"Sources ({len(answer.sources)})" in markup and len(answer.sources) == 3
    assert 'class="qa-conf qa-conf-' in markup and f"· {percent(answer.confidence)}<" in markup
    assert "100%" not in markup  # a near-certain answer still reads 99%, not 100%


def test_decline_shows_no_passage(seed_retriever: qa.Retriever) -> None:
    answer = seed_retriever.ask(OFF_TOPIC)
    assert not answer.answered and answer.suggestions
    markup = render_answer(answer)
    assert markup == render_decline(answer)
    assert_only_own_markup(markup)
    assert "don't cover this question" in markup
    for p in seed_retriever.passages:
        assert text(p.text)[:60] not in markup


def test_corpus_and_question_markup_render_as_text(
    hostile_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    qa.build(hostile_corpus, tmp_path / "index", embedder=embedder)
    live = LiveIndex(hostile_corpus, tmp_path / "index", embedder=embedder)
    live.prepare()
    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    question = HOSTILE_QUESTION + ' <script>alert(1)</script><img src=x onerror="alert(2)">'
    history, _ = chat.converse(question, [], {}, [])[:2]
    user, reply = history
    assert_only_own_markup(user["content"])
    assert html.unescape(user["content"]) == question
    assert_only_own_markup(reply["content"])
    shown = html.unescape("".join(parse(reply["content"]).text))
    assert "rings the harbour bell at dawn <script>window.__xss=1</script>" in shown
    assert "Bells <img src=y onerror=window.__xss=5>" in shown
    assert "<i onmouseover=" in shown
    assert "<script" not in reply["content"] and "<img" not in reply["content"]


def test_a_name_the_articles_never_mention_is_said_in_one_line(
    seed_retriever: qa.Retriever,
) -> None:
    answer = seed_retriever.ask("How many troops will Germany send?")
    assert "Germany" in answer.missing
    markup = render_answer(answer)
    assert_only_own_markup(markup)
    assert "The articles don't mention Germany." in html.unescape(markup)
    # A question whose words the articles all use gets no such line.
    assert "qa-missing" not in render_answer(seed_retriever.ask("Who leads the coalition?"))
