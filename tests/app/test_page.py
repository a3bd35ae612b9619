"""The Gradio page (qa/app/page.py) without a browser: `/ask`, served files, logins, load."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.app_process import app_command, app_env, ask_over_http, free_port, stop
from qa.app.chat import AUTH_ENV, Chat
from qa.app.page import launch, serve
from qa.cli import parser as qa_parser
from qa.feedback import FeedbackLog
from qa.live import LiveIndex
from qa.store.local.files import build_dir
from tests.support.samples import IN_SCOPE, OFF_TOPIC


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


def test_the_queue_sums_up_no_events_for_the_dashboard_it_does_not_serve(
    live: LiveIndex, tmp_path: Path
) -> None:
    """Gradio's queue would sum up every recorded event in a pandas DataFrame after
    each event (3-12 ms of CPU) for a monitoring dashboard the page turns off."""
    from gradio_client import Client

    demo, url = launch(Chat(live, FeedbackLog(tmp_path / "v.jsonl")), port=free_port(), quiet=True)
    try:
        client = Client(url, verbose=False)
        assert client.predict(IN_SCOPE, api_name="/ask")["answered"]
        assert not client.predict(OFF_TOPIC, api_name="/ask")["answered"]
        queue = demo._queue
        assert queue.events_recorded >= 2
        assert queue.cached_event_analytics_summary == {"functions": {}}
    finally:
        demo.close()


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
