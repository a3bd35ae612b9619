"""The app from the outside: start it on a free port, ask it over HTTP, stop it.

Used by the tests, the benchmark and the scripts, which all talk to a real
``python app.py`` the way a browser or another program would.  Needs only
the standard library.  Import it as ``bench.app_process`` with the
repository's root on ``sys.path`` (pytest and ``bench/run.py`` put it there).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[1] / "app.py"
# Debian's Chromium, headless, as the browser tests and scripts/screenshot.py
# drive it: no sandbox (root in CI), and no background calls to Google's
# hosts, which this offline machine refuses.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_command(
    port: int,
    corpus: str | os.PathLike[str],
    index: str | os.PathLike[str],
    feedback: str | os.PathLike[str] = os.devnull,
) -> list[str]:
    """The command that serves ``corpus`` from ``index`` on ``port``.

    ``python app.py`` in a checkout, else ``python -m qa serve`` (the same).
    Votes go to ``feedback``, by default nowhere.
    """
    start = [sys.executable, str(APP)] if APP.is_file() else [sys.executable, "-m", "qa", "serve"]
    return [
        *start,
        *("--port", str(port), "--corpus", str(corpus), "--index", str(index)),
        *("--feedback", str(feedback)),
    ]


def app_env() -> dict[str, str]:
    """The environment for an app under test: this ``qa`` first, no login."""
    root = str(APP.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    env.pop("QA_AUTH", None)
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    return env


@contextlib.contextmanager
def running(cmd: list[str], log: list[str], timeout: float) -> Iterator[subprocess.Popen[str]]:
    """Start the app ``cmd``, wait until it logs "qa: ready:", yield it, then stop it.

    Its output lines go to ``log`` as they come, so a failure can show them.

    Raises:
        AssertionError: The app exited or was not ready within ``timeout`` seconds.
    """
    proc = subprocess.Popen(
        cmd, env=app_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    ready = threading.Event()

    def read_output() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line.rstrip())
            if line.startswith("qa: ready:"):
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.is_set() and proc.poll() is None and time.monotonic() < deadline:
        ready.wait(0.2)
    try:
        assert ready.is_set(), "the app did not start:\n" + "\n".join(log)
        yield proc
    finally:
        stop(proc)


def wait_for_page(url: str, proc: subprocess.Popen[Any], timeout: float = 300) -> None:
    """Wait until the app at ``url`` serves its page; exit if it dies or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the app did not start") from None
            time.sleep(0.3)


def stop(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stop an app: SIGTERM, then SIGKILL if it is still running after ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ask_over_http(base: str, question: str, timeout: float = 300) -> Any:
    """One /ask call: POST the question, then read its event stream for the answer.

    Args:
        base: The app's address, e.g. ``http://127.0.0.1:7860``.
        question: The question text.
        timeout: Seconds to wait for each of the two HTTP requests.

    Returns:
        The answer as a dict, the shape of ``Answer.to_dict()``.

    Raises:
        RuntimeError: The app answered with an error or no answer.
    """
    body = json.dumps({"data": [question]}).encode()
    request = urllib.request.Request(
        f"{base}/gradio_api/call/ask", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/ask/{event_id}", timeout=timeout) as r:
        event = ""
        for raw in r:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "complete":
                return json.loads(line.split(":", 1)[1])[0]
            elif line.startswith("data:") and event == "error":
                raise RuntimeError(f"/ask answered with an error: {line}")
    raise RuntimeError("/ask stream ended without an answer")


def post_api_ask(
    base: str,
    question: str,
    history: list[str] | None = None,
    timeout: float = 300,
    auth: tuple[str, str] | None = None,
) -> Any:
    """One ``POST /api/ask`` call (qa/app/api.py); the reply's JSON.

    Raises:
        urllib.error.HTTPError: The app answered with an error status.
    """
    import base64

    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    body = json.dumps({"question": question, "history": history or []}).encode()
    request = urllib.request.Request(f"{base}/api/ask", body, headers)
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.load(r)


def multipart(files: list[tuple[str, bytes]], field: str = "files") -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``files`` under ``field``, and its content type."""
    import uuid

    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def call_api(
    base: str,
    path: str,
    method: str = "GET",
    *,
    json_body: Any = None,
    files: list[tuple[str, bytes]] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: float = 300,
) -> tuple[int, Any]:
    """One request to the app's JSON API: its status and JSON reply (errors too)."""
    import base64
    import urllib.error

    headers: dict[str, str] = {}
    body = None
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    if files is not None:
        body, headers["Content-Type"] = multipart(files)
    elif json_body is not None:
        body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    request = urllib.request.Request(f"{base}{path}", body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return int(r.status), json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode() or "null")


def wait_rebuilt(base: str, auth: tuple[str, str] | None = None, timeout: float = 300) -> Any:
    """Poll ``/api/health`` until no rebuild runs or is queued; the last health reply."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        _, health = call_api(base, "/api/health", auth=auth)
        if health.get("ready") and not health.get("rebuilding"):
            return health
        if time.monotonic() > deadline:
            raise RuntimeError(f"the rebuild did not finish: {health}")
        time.sleep(0.2)
