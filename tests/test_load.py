"""The running app's `/ask` endpoint: any input, and 16 clients at once.

Starts `python app.py` on a free port over a small corpus, and compares every
reply with the library's answer to the same question.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qa
from bench.app_process import app_command, app_env, free_port, stop
from qa.embed import Embedder

from .test_fuzz import NOT_A_QUESTION, ODD_QUESTIONS

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "nato-coalition-of-the-willing-ukraine.txt"
CLIENTS = 16
QUESTIONS_PER_CLIENT = 50

pytestmark = pytest.mark.slow

QUESTIONS = [
    "Where was the meeting held?",
    "How many countries took part in the meeting?",
    "What is a reassurance force?",
    "Who leads the coalition of the willing?",
    "Who is leading the coalition?",
    "What did John Healey say?",
    "What is the purpose of the Nato meeting?",
    "What is the goal of the reassurance force?",
    "Does the US support the reassurance force?",
    "What does Trump expect from Europe?",
    "Is Putin interested in halting the invasion?",
    "Has Ukraine accepted a ceasefire?",
    "What does Russia need before deciding on a ceasefire?",
    "Which countries lead the coalition?",
    "Where is Nato headquarters?",
    "When did the ministers meet?",
    "What are European nations ready to do?",
    "What assurances do Europeans need from the US?",
    "Who is the British defence secretary?",
    "What would the force protect?",
    "How do I bake sourdough bread?",
    "What is the capital of Australia?",
    "Who won the 1998 football world cup?",
    "How many legs does a spider have?",
    "What is the boiling point of water?",
    "Recommend a good science fiction novel.",
    "How do I reset my router password?",
    "What is the speed of light?",
    "",
    "   ",
    "???",
    "😀😀😀",
    "<script>alert(1)</script>",
    "'; DROP TABLE passages; --",
    "1234567890",
    "ceasefire",
    "Ukraine",
    "nato",
    "BRITAIN AND FRANCE",
    "who leads?",
    "coalition of the willing reassurance force ceasefire Ukraine Russia",
    "Кто возглавляет коалицию?",
    "谁领导这个联盟？",
    "من يقود التحالف؟",
    "Who 👑 leads the coalition 🤝?",
    "Who leads the coalition? " * 100,
    "x" * 5_000,
    "Who leads\x00 the coalition?",
    "What is the reassurance force for, and who leads it, and where did they meet?",
    "Tell me about logistics and intelligence support.",
]
assert len(QUESTIONS) == QUESTIONS_PER_CLIENT


def _sendable(text: str) -> bool:
    """HTTP carries UTF-8: lone surrogates cannot leave the client; the library tests them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


SENDABLE_NOT_A_QUESTION = [t for t in NOT_A_QUESTION if _sendable(t)]
SENDABLE_ODD = [t for t in ODD_QUESTIONS if _sendable(t)]


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, Path]:
    """A corpus and its index, built before the app starts so both read one build."""
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    qa.build(corpus, root / "index", embedder=embedder)
    return corpus, root / "index"


@pytest.fixture(scope="module")
def library(app_dirs: tuple[Path, Path], embedder: Embedder) -> qa.Retriever:
    return qa.load(app_dirs[1], embedder=embedder)


@pytest.fixture(scope="module")
def app_url(app_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    corpus, index = app_dirs
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "app.log").open("w+")
    proc = subprocess.Popen(
        app_command(port, corpus, index), env=app_env(), stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the app exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the app did not answer within 300 s")
                time.sleep(0.5)
        yield url
    finally:
        stop(proc)
        log.close()


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def client(app_url: str) -> Any:
    return _client(app_url)


def _each_client(run: Callable[[int], None]) -> float:
    """Run ``run(n)`` for every client n at once, in its own thread; the seconds taken."""
    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started


def _ask(client: Any, question: str) -> dict[str, Any]:
    result = client.predict(question, api_name="/ask")
    assert isinstance(result, dict), f"/ask returned {type(result).__name__}, not an answer"
    return result


# ------------------------------------------------------------------ any input


@pytest.mark.parametrize("text", SENDABLE_NOT_A_QUESTION, ids=range(len(SENDABLE_NOT_A_QUESTION)))
def test_ask_endpoint_declines_text_without_a_letter_or_digit(
    text: str, client: Any, library: qa.Retriever
) -> None:
    reply = _ask(client, text)
    assert reply["answered"] is False and reply["passage"] is None
    assert reply == library.ask(text).to_dict()


@pytest.mark.parametrize("text", SENDABLE_ODD, ids=range(len(SENDABLE_ODD)))
def test_ask_endpoint_answers_odd_input_like_the_library(
    text: str, client: Any, library: qa.Retriever
) -> None:
    reply = _ask(client, text)
    assert reply == library.ask(text).to_dict()
    if len(text) > 1000:
        assert reply["note"].startswith("Your question was long")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=300),
        st.text(st.sampled_from("abc xyz?.!\x00\t\n<>'\";-#*_😀中ع"), max_size=300),
    )
)
def test_property_ask_endpoint_never_fails(client: Any, library: qa.Retriever, text: str) -> None:
    assert _ask(client, text) == library.ask(text).to_dict()


# ------------------------------------------------------------------ load


def test_sixteen_clients_get_the_library_answer_every_time(
    app_url: str, library: qa.Retriever
) -> None:
    expected = {q: library.ask(q).to_dict() for q in QUESTIONS}
    errors: list[str] = []
    mismatches: list[str] = []
    done = [0] * CLIENTS

    def run(n: int) -> None:
        questions = QUESTIONS[:]
        random.Random(n).shuffle(questions)  # clients ask in different orders
        try:
            client = _client(app_url)
        except Exception as exc:  # every failure is counted, none stops the others
            errors.append(f"client {n} could not connect: {exc!r}")
            return
        for q in questions:
            try:
                reply = client.predict(q, api_name="/ask")
            except Exception as exc:  # counted as an error
                errors.append(f"client {n}, {q[:40]!r}: {exc!r}")
                continue
            done[n] += 1
            if reply != expected[q]:
                mismatches.append(f"client {n}, {q[:40]!r}: {reply!r} != {expected[q]!r}")

    seconds = _each_client(run)
    total = sum(done)
    print(
        f"\n{CLIENTS} clients x {QUESTIONS_PER_CLIENT} questions: {total} answers, "
        f"{len(errors)} errors, {len(mismatches)} differing, {seconds:.1f} s"
    )
    assert not errors, errors[:3]
    assert not mismatches, mismatches[:3]
    assert total == CLIENTS * QUESTIONS_PER_CLIENT


def test_sixteen_clients_on_the_json_api_get_the_library_answer_every_time(
    app_url: str, library: qa.Retriever
) -> None:
    from bench.app_process import post_api_ask

    # Every other request is a follow-up, its history one earlier question.  A
    # blank question is a 422 here by design (tests/app/test_api.py); the
    # clients ask 50 questions each all the same.
    sendable = [q for q in QUESTIONS if q.strip()]
    asks = [
        (q, [] if i % 2 == 0 else [QUESTIONS[(i * 7) % len(QUESTIONS)]])
        for i, q in enumerate(sendable * 2)
    ][:QUESTIONS_PER_CLIENT]
    expected = {i: library.ask(q, h).to_dict() for i, (q, h) in enumerate(asks)}
    errors: list[str] = []
    mismatches: list[str] = []
    done = [0] * CLIENTS

    def run(n: int) -> None:
        order = list(range(len(asks)))
        random.Random(n).shuffle(order)
        for i in order:
            q, history = asks[i]
            try:
                reply = post_api_ask(app_url.rstrip("/"), q, history)
            except Exception as exc:  # counted as an error
                errors.append(f"client {n}, {q[:40]!r}: {exc!r}")
                continue
            done[n] += 1
            if reply != expected[i]:
                mismatches.append(f"client {n}, {q[:40]!r}: {reply!r} != {expected[i]!r}")

    _each_client(run)
    assert not errors, errors[:3]
    assert not mismatches, mismatches[:3]
    assert sum(done) == CLIENTS * QUESTIONS_PER_CLIENT
