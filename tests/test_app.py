"""The chat app without a browser: rendering, the live index, feedback, the served API."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qa
from qa.app.chat import AUTH_ENV, Chat, parse_auth
from qa.app.page import launch, serve
from qa.app.render import render_answer, render_decline, text
from qa.cli import main as qa_main
from qa.cli import parser as qa_parser
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.feedback import FeedbackLog, Vote, summarize
from qa.index import build_dir
from qa.live import LiveIndex
from qa.scoring import percent
from tests.support.app_process import app_command, app_env, ask_over_http, free_port, stop

# Gradio's queue trips pandas deprecation warnings on every event; they are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

IN_SCOPE = "Who leads the coalition of the willing?"
OFF_TOPIC = "Which football team won the 1998 World Cup?"
# A corpus file that tries to inject markup through its title, heading and text.
HOSTILE = (
    'Harbour Manual <i onmouseover="window.__xss=7">tides</i>\n'
    "Bells <img src=y onerror=window.__xss=5>\n"
    "The lighthouse keeper rings the harbour bell at dawn <script>window.__xss=1</script> "
    'and again at dusk <img src=x onerror="window.__xss=2">. Nobody else may ring it.\n'
    "Signals\n"
    "Fishing boats come home when the keeper raises a **red flag** over the "
    "[harbour wall](javascript:alert(1)) and $$x^2$$ `code`.\n"
)
HOSTILE_QUESTION = "When does the lighthouse keeper ring the harbour bell?"
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


def current_target(index: Path) -> str:
    return os.readlink(index / "current")


@pytest.fixture
def hostile_corpus(seed_corpus: Path) -> Path:
    (seed_corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    return seed_corpus


@pytest.fixture
def live(seed_corpus: Path, tmp_path: Path, embedder: Embedder) -> LiveIndex:
    qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    index = LiveIndex(seed_corpus, tmp_path / "index", embedder=embedder)
    index.prepare()
    return index


# ------------------------------------------------------------------ rendering


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
        assert text(p["text"])[:60] not in markup


def test_corpus_and_question_markup_render_as_text(
    hostile_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    qa.build(hostile_corpus, tmp_path / "index", embedder=embedder)
    live = LiveIndex(hostile_corpus, tmp_path / "index", embedder=embedder)
    live.prepare()
    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    question = HOSTILE_QUESTION + ' <script>alert(1)</script><img src=x onerror="alert(2)">'
    history, _ = chat.respond(question, [], {})
    user, reply = history
    assert_only_own_markup(user["content"])
    assert html.unescape(user["content"]) == question
    assert_only_own_markup(reply["content"])
    shown = html.unescape("".join(parse(reply["content"]).text))
    assert "rings the harbour bell at dawn <script>window.__xss=1</script>" in shown
    assert "Bells <img src=y onerror=window.__xss=5>" in shown
    assert "<i onmouseover=" in shown
    assert "<script" not in reply["content"] and "<img" not in reply["content"]


# ------------------------------------------------------------------ the chat


def test_chat_respond_appends_exchange_and_vote_context(live: LiveIndex, tmp_path: Path) -> None:
    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    history, votes = chat.respond(IN_SCOPE, [], {})
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "options" not in history[1]
    context = votes["1"]
    assert context["question"] == IN_SCOPE and context["answered"] is True
    assert context["passage_id"] == live.get().ask(IN_SCOPE).passage.id  # type: ignore[union-attr]
    assert context["build"] == live.get().folder.name

    history, votes = chat.respond(OFF_TOPIC, history, votes)
    assert len(history) == 4
    options = [o["value"] for o in history[3]["options"]]
    assert options == list(live.get().ask(OFF_TOPIC).suggestions)
    assert votes["3"]["passage_id"] is None and votes["3"]["answered"] is False

    assert chat.respond("   ", history, votes) == (history, votes)


def test_vote_is_logged_with_question_passage_vote_and_time(
    live: LiveIndex, tmp_path: Path
) -> None:
    log = FeedbackLog(tmp_path / "logs" / "votes.jsonl")
    chat = Chat(live, log)
    history, votes = chat.respond(IN_SCOPE, [], {})
    assert chat.record_vote(votes, 0, False) is None  # the user's own message
    assert chat.record_vote(votes, 1, None) is None  # a withdrawn vote
    vote = chat.record_vote(votes, 1, False)
    assert vote is not None
    rows = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["vote"] == "down" and row["question"] == IN_SCOPE
    assert row["passage_id"] == votes["1"]["passage_id"] and row["time"].endswith("+00:00")


def test_examples_are_the_faq_questions(live: LiveIndex, tmp_path: Path) -> None:
    chat = Chat(live, FeedbackLog(tmp_path / "v.jsonl"))
    assert sorted(chat.examples()) == sorted(f["question"] for f in live.get().faqs)


# ------------------------------------------------------------------ the live index


def test_start_builds_a_missing_index_with_the_serving_embedder(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    live = LiveIndex(seed_corpus, tmp_path / "index", embedder=embedder)
    live.prepare()
    retriever = live.get()
    assert retriever.embedder is embedder
    assert "there was no index" in live.status()
    assert "1 document · 7 passages · 4 FAQ pairs · index built " in live.status()


def test_start_does_not_rebuild_a_current_index(live: LiveIndex, embedder: Embedder) -> None:
    before = current_target(live.index)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert current_target(live.index) == before
    assert again.notice == ""


def test_start_rebuilds_once_when_the_corpus_changed(live: LiveIndex, embedder: Embedder) -> None:
    before = current_target(live.index)
    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert current_target(live.index) != before
    assert "corpus changed" in again.notice
    assert again.get().manifest["counts"]["documents"] == 2
    assert again.get().embedder is embedder


def test_start_rebuilds_an_unreadable_index(live: LiveIndex, embedder: Embedder) -> None:
    (build_dir(live.index) / "vectors.npy").write_bytes(b"not numpy")
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "could not be used, so it was rebuilt" in again.notice
    assert again.get().ask(IN_SCOPE).answered


def test_start_rebuilds_an_index_whose_keyword_terms_are_outdated(
    live: LiveIndex, embedder: Embedder
) -> None:
    # An index from a qa whose terms() differed (no "term_scheme" in its
    # manifest) would match question words against the wrong vocabulary.
    manifest_path = build_dir(live.index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["term_scheme"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexNotReadyError, match="older qa.*run `qa build`"):
        qa.load(live.index, embedder=embedder)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "could not be used, so it was rebuilt" in again.notice
    assert again.get().ask(IN_SCOPE).answered


def test_start_uses_the_model_the_index_was_built_with(live: LiveIndex) -> None:
    manifest_path = build_dir(live.index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model"] = "no-such-model"
    manifest_path.write_text(json.dumps(manifest))
    again = LiveIndex(live.corpus, live.index)
    assert again.embedder.name == "no-such-model"
    again.prepare()
    with pytest.raises(QAError) as err:
        again.get()
    assert "cannot load model 'no-such-model'" in str(err.value) and "--model" in str(err.value)
    assert "\n" not in str(err.value)


def test_start_serves_the_old_index_when_the_rebuild_fails(
    live: LiveIndex, embedder: Embedder
) -> None:
    shutil.rmtree(live.corpus)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "Could not rebuild the index" in again.notice and "corpus" in again.notice
    assert again.get().ask(IN_SCOPE).answered


def test_start_fails_in_one_line_with_no_index_and_no_corpus(
    tmp_path: Path, embedder: Embedder
) -> None:
    live = LiveIndex(tmp_path / "missing", tmp_path / "index", embedder=embedder)
    live.prepare()
    with pytest.raises(QAError) as err:
        live.get()
    assert "cannot rebuild the index" in str(err.value) and "\n" not in str(err.value)


def test_a_new_build_is_served_on_the_next_question(live: LiveIndex, embedder: Embedder) -> None:
    old = live.get()
    before = old.ask(HOSTILE_QUESTION)
    assert before.passage is None or "lighthouse" not in before.passage.text
    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    qa.build(live.corpus, live.index, embedder=embedder)
    new = live.get()
    assert new is not old and new.embedder is old.embedder is embedder
    answer = new.ask(HOSTILE_QUESTION)
    assert answer.answered and "lighthouse keeper" in answer.passage.text  # type: ignore[union-attr]
    assert "Index reloaded at" in live.status() and "2 documents" in live.status()
    assert live.get() is new  # no second load


def test_an_unloadable_new_build_keeps_the_old_one(live: LiveIndex, embedder: Embedder) -> None:
    old = live.get()

    def damage(folder: Path) -> None:
        (folder / "passages.jsonl").write_text("{not json\n")

    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    qa.build(live.corpus, live.index, embedder=embedder, before_swap=damage)
    assert live.get() is old
    assert "could not be loaded" in live.status()
    assert live.get().ask(IN_SCOPE).answered


# ------------------------------------------------------------------ feedback


def test_feedback_log_survives_concurrent_writers(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")

    def write(n: int) -> None:
        for i in range(50):
            log.append(
                Vote("up" if i % 2 else "down", f"question {n}-{i} " + "x" * 500, i, True, 0.9)
            )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    votes, bad = log.read()
    assert len(votes) == 400 and bad == 0


def test_summary_lists_the_questions_voted_down_most(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")
    log.append(Vote("down", "Who pays?", None, False, 0.1, time="2026-01-01T00:00:01+00:00"))
    log.append(Vote("down", "who  PAYS?", None, False, 0.1, time="2026-01-01T00:00:02+00:00"))
    log.append(Vote("up", "Who leads?", 3, True, 0.9, "Doc", "Intro"))
    log.append(Vote("down", "Who leads?", 3, True, 0.9, "Doc", "Intro"))
    with open(log.path, "a") as f:
        f.write("not json\n[1]\n{}\n")
    votes, bad = log.read()
    summary = summarize(votes, bad)
    assert (summary.up, summary.down, summary.unreadable) == (1, 3, 3)
    first, second = summary.questions
    assert (first.question, first.down, first.up, first.shown) == ("Who pays?", 2, 0, "declined")
    assert (second.down, second.up, second.shown) == (1, 1, "Doc · Intro")
    table = summary.table()
    assert table.splitlines()[0] == "4 votes: 1 up, 3 down (3 unreadable lines skipped)"
    assert table.index("Who pays?") < table.index("Who leads?")


def test_a_vote_is_up_or_down() -> None:
    with pytest.raises(QAError, match="'up' or 'down'"):
        Vote("maybe", "q", None, False, 0.0)


def test_qa_feedback_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "votes.jsonl"
    assert qa_main(["feedback", "--log", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: no feedback log at") and err.count("\n") == 1

    FeedbackLog(path).append(Vote("down", "Who pays?", None, False, 0.1))
    assert qa_main(["feedback", "--log", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 votes: 0 up, 1 down" in out and "Who pays?  ->  declined" in out
    assert qa_main(["feedback", "--log", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["down"] == 1 and data["questions"][0]["question"] == "Who pays?"


# ------------------------------------------------------------------ serving


def test_auth_is_user_colon_password() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss")
    for bad in ("ann", "ann:", ":pass"):
        with pytest.raises(QAError, match="user:password"):
            parse_auth(bad)


def test_serve_rejects_a_bad_login_setting_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(AUTH_ENV, "nopassword")
    args = qa_parser().parse_args(["serve", "--index", str(tmp_path / "i")])
    assert args.host == "127.0.0.1" and args.share is False and args.auth is None
    assert serve(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "user:password" in err


@pytest.fixture
def served(live: LiveIndex, tmp_path: Path) -> Iterator[tuple[str, Chat]]:
    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    demo, url = launch(chat, port=free_port(), quiet=True)
    try:
        yield url.rstrip("/"), chat
    finally:
        demo.close()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_ask_endpoint_returns_the_json_answer(served: tuple[str, Chat]) -> None:
    from gradio_client import Client

    url, chat = served
    client = Client(url, verbose=False)
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"]  # the page's own events are private
    answer: dict[str, Any] = client.predict(IN_SCOPE, api_name="/ask")
    assert answer == chat.live.get().ask(IN_SCOPE).to_dict()
    assert set(answer) >= {"answered", "confidence", "passage", "faq"}
    assert set(answer["passage"]) >= {"text", "doc", "heading", "score"}
    assert set(answer["faq"]) >= {"question", "answer", "score"}
    declined = client.predict(OFF_TOPIC, api_name="/ask")
    assert declined["answered"] is False and declined["passage"] is None


def test_no_files_are_served_but_the_page(served: tuple[str, Chat], tmp_path: Path) -> None:
    url, chat = served
    assert _get(f"{url}/") == 200
    corpus_file = next(chat.live.corpus.iterdir()).resolve()
    manifest = (build_dir(chat.live.index) / "manifest.json").resolve()
    for path in (corpus_file, manifest, Path("/etc/passwd"), Path(__file__).resolve()):
        assert _get(f"{url}/gradio_api/file={path}") in (403, 404), path
    assert _get(f"{url}/monitoring") in (403, 404)


def test_login_is_required_when_auth_is_set(live: LiveIndex, tmp_path: Path) -> None:
    from gradio_client import Client

    chat = Chat(live, FeedbackLog(tmp_path / "votes.jsonl"))
    demo, url = launch(chat, port=free_port(), auth=("ann", "s3cret"), quiet=True)
    try:
        assert _get(f"{url}config") == 401
        with pytest.raises(Exception, match="(?i)login|auth|401"):
            Client(url, verbose=False)
        client = Client(url, auth=("ann", "s3cret"), verbose=False)
        assert client.predict(IN_SCOPE, api_name="/ask")["answered"] is True
    finally:
        demo.close()


@pytest.fixture
def app_process(live: LiveIndex, tmp_path: Path) -> Iterator[str]:
    """`python app.py` in its own process (its own GIL, as in production) over a built index."""
    port = free_port()
    cmd = app_command(port, live.corpus, live.index, tmp_path / "v.jsonl")
    proc = subprocess.Popen(
        cmd, env=app_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the app did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        stop(proc)


@pytest.mark.slow
def test_sixteen_clients_asking_fifty_questions_each_see_no_errors(
    app_process: str, live: LiveIndex
) -> None:
    # Plain HTTP clients: gradio_client shares one event stream per client and
    # can drop a reply when it starts a new request just as the server closes
    # that stream (seen once in 800 calls with 16 clients in one busy process).
    questions = [IN_SCOPE, OFF_TOPIC, "Where did the defence ministers meet?", "Who is Pal Jonson?"]
    expected = {q: live.get().ask(q).to_dict() for q in questions}
    errors: list[str] = []
    answered = [0] * 16

    def client_run(n: int) -> None:
        for i in range(50):
            q = questions[(n + i) % len(questions)]
            try:
                if ask_over_http(app_process, q) != expected[q]:
                    errors.append(f"client {n}: wrong answer to {q!r}")
                answered[n] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
                errors.append(f"client {n}, question {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client_run, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert errors == []
    assert answered == [50] * 16
