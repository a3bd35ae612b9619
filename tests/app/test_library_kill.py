"""The app killed (SIGKILL) during the rebuild that follows an upload: the old index
still answers, the upload is on disk, and the next start finishes the build."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import qa
from bench.app_process import app_command, app_env, call_api, free_port, stop
from qa.store import live_build
from tests.conftest import SEED
from tests.support.samples import FERRY_ANSWER, FERRY_QUESTION, IN_SCOPE, ferry_docx

START_TIMEOUT = 300


def _start(corpus: Path, index: Path, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    port = free_port()
    proc = subprocess.Popen(
        [*app_command(port, corpus, index), *extra],
        env=app_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line.rstrip())
            if line.startswith("qa: ready:"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.is_set() and proc.poll() is None and time.monotonic() < deadline:
        ready.wait(0.2)
    assert ready.is_set(), "the app did not start:\n" + "\n".join(log)
    return proc, f"http://127.0.0.1:{port}", log


def _ask(url: str, question: str) -> Any:
    status, answer = call_api(url, "/api/ask", "POST", json_body={"question": question})
    assert status == 200, answer
    return answer


def test_a_kill_during_the_rebuild_keeps_the_old_index_and_the_next_start_finishes(
    tmp_path: Path, embedder: Any
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    proc, url, _ = _start(corpus, index, "--allow-edits")
    try:
        before = live_build(index)
        # Enough new paragraphs that embedding them takes a while to catch.
        upload = ferry_docx(extra_paragraphs=1500)
        status, body = call_api(
            url, "/api/documents", "POST", files=[("ferry.docx", upload)], timeout=120
        )
        assert status == 202, body
        deadline = time.monotonic() + 300
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            health = call_api(url, "/api/health")[1]
            state = health["rebuild"]
            if state["running"] and state["stage"] == "embed" and 0 < state["total"]:
                break
            assert state["builds"] == 0, "the rebuild finished before it could be killed"
            time.sleep(0.05)
        assert health["rebuilding"] and health["build"] == before
        # While it rebuilds, the chat answers from the old build.
        assert _ask(url, IN_SCOPE)["answered"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop(proc)
    assert live_build(index) == before
    old = qa.load(index, embedder=embedder)
    assert old.ask(IN_SCOPE).answered and not old.ask(FERRY_QUESTION).answered
    assert (corpus / "ferry.docx").read_bytes() == upload
    assert not [p for p in corpus.iterdir() if p.name.startswith(".upload-")]

    proc, url, log = _start(corpus, index)
    try:
        assert any("rebuilding the index" in line and "corpus changed" in line for line in log)
        assert live_build(index) != before
        answer = _ask(url, FERRY_QUESTION)
        assert answer["answered"] and FERRY_ANSWER in answer["passage"]["text"]
        listed = {d["name"]: d for d in call_api(url, "/api/documents")[1]["documents"]}
        assert listed["ferry.docx"]["status"] == "read"
    finally:
        stop(proc)
