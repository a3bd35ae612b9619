"""The Library tab in headless Chromium, against `python app.py --allow-edits`:
upload a Word file and ask what only it answers, ask within documents, remove
it and see the decline, and upload a broken PDF and see why it was refused.

Needs Debian's Chromium at /usr/bin/chromium, as tests/test_browser.py does.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
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
    call_api,
    free_port,
    wait_rebuilt,
)
from tests.support.samples import (
    BROKEN_PDF,
    FERRY_ANSWER,
    FERRY_QUESTION,
    FERRY_TITLE,
    ferry_docx,
)

from .conftest import SEED
from .test_browser import ANSWER_TIMEOUT_MS, START_TIMEOUT, Page, _require_chromium

pytestmark = pytest.mark.browser


@dataclass
class App:
    url: str
    corpus: Path
    proc: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    _require_chromium()
    folder = tmp_path_factory.mktemp("library-app")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    port = free_port()
    cmd = [*app_command(port, corpus, folder / "index"), "--allow-edits"]
    log: list[str] = []
    with app_process.running(cmd, log, START_TIMEOUT) as proc:
        running = App(f"http://127.0.0.1:{port}", corpus, proc, log)
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


@contextlib.contextmanager
def _open(browser: Any, app: App) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    seen = Page(tab, [], [])
    # The remove button asks for a confirmation: accept it, and remember it.
    tab.on("dialog", lambda d: (seen.dialogs.append(d.message), d.accept()))
    tab.on("pageerror", lambda e: seen.errors.append(str(e)))
    tab.goto(app.url)
    tab.locator("#qa-chat button.example").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, app: App) -> Iterator[Page]:
    with _open(browser, app) as tab:
        yield tab


def _library(page: Page) -> Any:
    page.page.get_by_role("tab", name="Library").click()
    listing = page.page.locator("#qa-lib-list")
    listing.locator("table").wait_for(timeout=ANSWER_TIMEOUT_MS)
    return listing


def _ask_tab(page: Page) -> None:
    page.page.get_by_role("tab", name="Ask").click()
    page.page.locator("#qa-question textarea").wait_for()


def _pick(page: Page, dropdown: str, option: str) -> None:
    page.page.locator(f"{dropdown} input").click()
    page.page.get_by_role("option", name=option, exact=True).click()


def _upload(page: Page, tmp_path: Path, name: str, data: bytes) -> Any:
    file = tmp_path / name
    file.write_bytes(data)
    page.page.locator("#qa-lib-upload input[type=file]").set_input_files(str(file))
    message = page.page.locator("#qa-lib-message p")
    message.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return message


def test_upload_a_docx_ask_within_then_remove_it_and_see_the_decline(
    page: Page, app: App, tmp_path: Path
) -> None:
    listing = _library(page)
    assert "ferry.docx" not in listing.inner_text()
    data = ferry_docx()
    message = _upload(page, tmp_path, "ferry.docx", data)
    assert message.inner_text().startswith("Added ferry.docx (2 passages, 0 FAQ pairs)")
    assert (app.corpus / "ferry.docx").read_bytes() == data
    # The list shows the file at once, and its title once the rebuild is live.
    row = listing.locator('tr[data-name="ferry.docx"]')
    row.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.page.wait_for_function(
        f"document.querySelector('#qa-lib-list tr[data-name=\"ferry.docx\"]')"
        f".innerText.includes({FERRY_TITLE!r})",
        timeout=ANSWER_TIMEOUT_MS * 2,
    )
    assert "docx" in row.inner_text() and "\t2\t" in row.inner_text()
    # Its parse, as `qa show` has it.
    _pick(page, "#qa-lib-pick", "ferry.docx")
    shown = page.page.locator("#qa-lib-show")
    shown.locator("h3").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert shown.locator("h3").inner_text() == FERRY_TITLE
    assert shown.locator("h4").all_inner_texts() == ["Winter sailings", "Boarding"]

    _ask_tab(page)
    reply = page.ask(FERRY_QUESTION)
    assert FERRY_ANSWER in reply.locator(".qa-passage").inner_text()
    assert FERRY_TITLE in reply.locator(".qa-meta").inner_text()
    # Within the seed article only, the same question finds nothing.
    _pick(page, "#qa-docs", "Nato Coalition of the Willing Discusses Reassurance Force for Ukraine")
    within = page.ask(FERRY_QUESTION)
    assert within.locator(".qa-passage").count() == 0
    _pick(page, "#qa-docs", FERRY_TITLE)
    both = page.ask(FERRY_QUESTION)
    assert FERRY_ANSWER in both.locator(".qa-passage").inner_text()

    # Remove it, with the confirmation, and the bot declines.
    _library(page)
    _pick(page, "#qa-lib-pick", "ferry.docx")
    page.page.locator("#qa-lib-remove").click()
    page.page.wait_for_function(
        "document.querySelector('#qa-lib-message').innerText.includes('Removed ferry.docx')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    assert page.dialogs == ["Remove ferry.docx from the corpus?"]
    assert not (app.corpus / "ferry.docx").exists()
    wait_rebuilt(app.url)
    listing.locator('tr[data-name="ferry.docx"]').wait_for(state="detached")
    page.page.reload()
    page.page.locator("#qa-chat button.example").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    declined = page.ask(FERRY_QUESTION)
    assert declined.locator(".qa-passage").count() == 0
    assert "don't" in declined.inner_text()
    assert page.errors == []


def test_a_broken_pdf_is_refused_with_the_reason(page: Page, app: App, tmp_path: Path) -> None:
    before = sorted(p.name for p in app.corpus.iterdir())
    _library(page)
    message = _upload(page, tmp_path, "broken.pdf", BROKEN_PDF)
    text = message.inner_text()
    assert text.startswith("Not added: broken.pdf: damaged or truncated PDF"), text
    assert "qa-lib-error" in (message.get_attribute("class") or "")
    assert sorted(p.name for p in app.corpus.iterdir()) == before
    assert "broken.pdf" not in page.page.locator("#qa-lib-list").inner_text()
    status, body = call_api(app.url, "/api/documents")
    assert status == 200 and "broken.pdf" not in [d["name"] for d in body["documents"]]
