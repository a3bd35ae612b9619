"""The chat page in headless Chromium, against `python app.py` running in a subprocess.

Needs Debian's Chromium at /usr/bin/chromium (`make browser-deps`).  Without it
these tests skip, saying so, unless QA_REQUIRE_BROWSER=1 (as in CI), which
turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench import app_process
from bench.app_process import (
    CHROMIUM,
    CHROMIUM_ARGS,
    app_command,
    free_port,
)
from tests.support.samples import HOSTILE, HOSTILE_QUESTION, IN_SCOPE, OFF_TOPIC

from .conftest import ROOT, SEED

pytestmark = pytest.mark.browser

START_TIMEOUT = 300  # seconds; the app builds its index at start
ANSWER_TIMEOUT_MS = 60_000
NEW_DOC = (
    "Quendale Observatory\n"
    "Instruments\n"
    "The Zorblax telescope in Quendale photographs purple comets every winter night.\n"
)
NEW_QUESTION = "What does the Zorblax telescope photograph?"


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} not found; install it with `make browser-deps`"
    if os.environ.get("QA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"QA_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@dataclass
class App:
    url: str
    corpus: Path
    index: Path
    feedback: Path
    proc: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def api(self, question: str) -> dict[str, Any]:
        from gradio_client import Client

        return Client(self.url, verbose=False).predict(question, api_name="/ask")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """`python app.py` on a free port, over the seed corpus plus a hostile file, no index yet."""
    _require_chromium()
    folder = tmp_path_factory.mktemp("app")
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    (corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    port = free_port()
    cmd = app_command(port, corpus, folder / "index", folder / "feedback.jsonl")
    log: list[str] = []
    with app_process.running(cmd, log, START_TIMEOUT) as proc:
        running = App(
            f"http://127.0.0.1:{port}/",
            corpus,
            folder / "index",
            folder / "feedback.jsonl",
            proc,
            log,
        )
        yield running


@pytest.fixture(scope="module")
def browser(app: App) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Page:
    """A browser tab on the app, with the alerts and page errors it saw."""

    page: Any
    dialogs: list[str]
    errors: list[str]

    def ask(self, question: str) -> Any:
        """Type ``question``, press Enter, and return the new reply's locator."""
        replies = self.page.locator("#qa-chat .qa-answer")
        before = replies.count()
        box = self.page.locator("#qa-question textarea")
        box.fill(question)
        box.press("Enter")
        return self.wait_reply(before)

    def wait_reply(self, before: int) -> Any:
        replies = self.page.locator("#qa-chat .qa-answer")
        self.page.wait_for_function(
            f"document.querySelectorAll('#qa-chat .qa-answer').length > {before}",
            timeout=ANSWER_TIMEOUT_MS,
        )
        return replies.nth(before)

    def user_messages(self) -> list[str]:
        return [
            t.strip() for t in self.page.locator('#qa-chat [data-testid="user"]').all_inner_texts()
        ]


@contextlib.contextmanager
def _open(browser: Any, app: App, width: int = 1100, height: int = 900) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    seen = Page(tab, [], [])
    tab.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
    tab.on("pageerror", lambda e: seen.errors.append(str(e)))
    tab.goto(app.url)
    # The example questions appear once the page has loaded and the app is ready.
    tab.locator("#qa-chat button.example").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, app: App) -> Iterator[Page]:
    with _open(browser, app) as tab:
        yield tab


# ------------------------------------------------------------------ tests


def test_in_scope_answer_shows_passage_highlight_source_and_faq(page: Page, app: App) -> None:
    expected = app.api(IN_SCOPE)
    assert expected["answered"] and expected["faq"] and expected["passage"]["sentence"]
    reply = page.ask(IN_SCOPE)
    passage = expected["passage"]
    assert " ".join(reply.locator(".qa-passage").inner_text().split()) == " ".join(
        passage["text"].split()
    )
    mark = reply.locator("mark.qa-hl")
    assert mark.is_visible() and mark.inner_text().strip() == passage["sentence"]
    assert f"{passage['doc']} · {passage['heading']}" in reply.locator(".qa-meta").inner_text()
    faq = reply.locator(".qa-faq")
    assert faq.is_visible()
    assert expected["faq"]["question"] in faq.inner_text()
    assert expected["faq"]["answer"] in faq.inner_text()
    assert re.search(r"(High|Medium|Low) confidence", reply.locator(".qa-conf").inner_text())
    sources = reply.locator("details.qa-sources")
    assert not sources.locator("li").first.is_visible()  # collapsed until opened
    sources.locator("summary").click()
    assert sources.locator("li").count() == 3 and sources.locator("li").first.is_visible()


def test_off_topic_question_is_declined_with_suggestions(page: Page, app: App) -> None:
    expected = app.api(OFF_TOPIC)
    assert not expected["answered"] and expected["suggestions"]
    reply = page.ask(OFF_TOPIC)
    assert "The articles don't cover this question." in reply.inner_text()
    assert reply.locator(".qa-passage").count() == 0
    options = page.page.locator("#qa-chat button.option")
    assert options.all_inner_texts() == expected["suggestions"]


def test_clicking_a_suggestion_asks_it(page: Page, app: App) -> None:
    page.ask(OFF_TOPIC)
    option = page.page.locator("#qa-chat button.option").first
    suggestion = option.inner_text().strip()
    before = page.page.locator("#qa-chat .qa-answer").count()
    option.click()
    reply = page.wait_reply(before)
    assert page.user_messages()[-1] == suggestion
    assert (reply.locator(".qa-passage").count() == 1) == app.api(suggestion)["answered"]


def test_example_questions_on_an_empty_chat_and_clear(page: Page) -> None:
    examples = page.page.locator("#qa-chat button.example")
    first = examples.first.inner_text().strip()
    assert examples.count() >= 1
    examples.first.click()
    page.wait_reply(0)
    assert page.user_messages() == [first]
    page.page.locator("#qa-clear").click()
    page.page.locator("#qa-chat button.example").first.wait_for()
    assert page.page.locator("#qa-chat .qa-answer").count() == 0


def test_markup_in_questions_and_corpus_is_shown_as_text(page: Page) -> None:
    question = (
        f'{HOSTILE_QUESTION} <script>window.__xss=9</script><img src=x onerror="window.__xss=8">'
    )
    reply = page.ask(question)
    assert page.user_messages()[-1] == question
    shown = reply.inner_text()
    assert "<script>window.__xss=1</script>" in shown  # the corpus text, as typed
    assert "Bells <img src=y onerror=window.__xss=5>" in shown
    page.page.wait_for_timeout(500)  # give an injected handler time to fire
    assert page.page.evaluate("window.__xss") is None
    assert page.dialogs == [] and page.errors == []
    chat = page.page.locator("#qa-chat")
    assert chat.locator("script, img, [onerror], [onmouseover], a[href^='javascript']").count() == 0


def test_thumbs_down_writes_the_vote_to_the_log(page: Page, app: App) -> None:
    expected = app.api(IN_SCOPE)
    reply = page.ask(IN_SCOPE)
    assert reply.is_visible()
    page.page.locator("#qa-chat button[aria-label='Dislike']").last.click()
    deadline = time.monotonic() + 30
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if app.feedback.is_file():
            rows = [json.loads(line) for line in app.feedback.read_text().splitlines()]
            if any(r["vote"] == "down" and r["question"] == IN_SCOPE for r in rows):
                break
        time.sleep(0.2)
    row = next(r for r in rows if r["vote"] == "down" and r["question"] == IN_SCOPE)
    passage = expected["passage"]
    assert row["answered"] is True and isinstance(row["passage_id"], int)
    assert (row["doc"], row["heading"]) == (passage["doc"], passage["heading"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["time"])


def test_phone_width_has_no_sideways_scroll(browser: Any, app: App) -> None:
    with _open(browser, app, width=375, height=740) as tab:
        reply = tab.ask(IN_SCOPE)
        assert reply.locator("mark.qa-hl").is_visible()
        assert tab.page.locator("#qa-question textarea").is_visible()
        width, viewport = tab.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width <= viewport


def test_status_line_shows_the_index(page: Page) -> None:
    status = page.page.locator("#qa-status").inner_text()
    assert re.search(
        r"\d+ documents · \d+ passages · \d+ FAQ pairs · index built \d{4}-\d\d-\d\d \d\d:\d\d"
        r" · model all-MiniLM-L6-v2",
        status,
    ), status


def test_ask_endpoint_through_gradio_client(app: App) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    answer = client.predict(IN_SCOPE, api_name="/ask")
    assert answer["answered"] is True and 0 < answer["confidence"] <= 1
    assert set(answer["passage"]) >= {"text", "doc", "heading", "score"}
    assert set(answer["faq"]) >= {"question", "answer", "score"}
    declined = client.predict(OFF_TOPIC, api_name="/ask")
    assert declined["answered"] is False and declined["passage"] is None


FIRST_TURN = "What has Ukraine said about a ceasefire?"
FOLLOW_UP = "And Russia?"


def test_a_follow_up_is_answered_from_context_with_read_as(page: Page) -> None:
    page.ask(FIRST_TURN)
    reply = page.ask(FOLLOW_UP)
    assert reply.locator(".qa-passage").count() == 1
    assert "Russia has said it needs answers" in reply.locator(".qa-passage").inner_text()
    read_as = reply.locator(".qa-read-as")
    assert read_as.is_visible() and read_as.inner_text().startswith("Read as: And Russia? (with: ")


def test_an_off_topic_follow_up_is_declined(page: Page) -> None:
    page.ask(FIRST_TURN)
    reply = page.ask("How do I bake sourdough bread?")
    assert "The articles don't cover this question." in reply.inner_text()
    assert reply.locator(".qa-passage").count() == 0


def test_thanks_is_answered_kindly(page: Page, app: App) -> None:
    page.ask(FIRST_TURN)
    reply = page.ask("thanks!")
    assert reply.inner_text().startswith("You're welcome!")
    assert "don't cover" not in reply.inner_text()
    options = page.page.locator("#qa-chat button.option")
    assert options.count() >= 1  # example questions to click


def test_clear_starts_a_new_conversation(page: Page) -> None:
    page.ask(FIRST_TURN)
    assert page.ask(FOLLOW_UP).locator(".qa-read-as").count() == 1
    page.page.locator("#qa-clear").click()
    page.page.locator("#qa-chat button.example").first.wait_for()
    reply = page.ask(FOLLOW_UP)  # the same follow-up, now with no context
    assert reply.locator(".qa-read-as").count() == 0
    assert page.user_messages() == [FOLLOW_UP]


def test_a_rebuild_while_running_is_served_without_restart(page: Page, app: App) -> None:
    before = page.ask(NEW_QUESTION)
    # The old index knows nothing of it, and says so: no passage names it.
    assert "The articles don't mention Zorblax." in before.inner_text()
    assert "Zorblax" not in before.inner_text().replace("don't mention Zorblax.", "")
    (app.corpus / "observatory.txt").write_text(NEW_DOC, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa",
            "build",
            "--corpus",
            str(app.corpus),
            "--index",
            str(app.index),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert build.returncode == 0, build.stderr
    reply = page.ask(NEW_QUESTION)
    assert "The Zorblax telescope in Quendale photographs purple comets" in reply.inner_text()
    status = page.page.locator("#qa-status").inner_text()
    assert "Index reloaded at" in status and "3 documents" in status
    assert any("loaded the new index" in line for line in app.log)


def test_library_without_a_login_lists_but_says_how_to_turn_on_edits(page: Page, app: App) -> None:
    page.page.get_by_role("tab", name="Library").click()
    listing = page.page.locator("#qa-lib-list table")
    listing.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert SEED.name in listing.inner_text() and "harbour.txt" in listing.inner_text()
    off = page.page.locator("#qa-lib-off")
    assert "--auth" in off.inner_text() and "--allow-edits" in off.inner_text()
    assert (
        page.page.locator("#qa-lib-upload").count() == 0
        or not page.page.locator("#qa-lib-upload").is_visible()
    )
    assert (
        page.page.locator("#qa-lib-remove").count() == 0
        or not page.page.locator("#qa-lib-remove").is_visible()
    )
