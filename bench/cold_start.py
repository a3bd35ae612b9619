"""Cold start: seconds from launching ``python app.py`` to the first answered ``/ask``."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_process import app_command, app_env, free_port, stop
from bench.common import timed


def cold_start(corpus_dir: Path, index_dir: Path, question: str) -> dict[str, Any]:
    """Seconds from launching ``python app.py`` to the first answered ``/ask``."""
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        app_command(port, corpus_dir, index_dir),
        env=app_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = None
        while client is None:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")[-300:]
                return {"seconds": None, "note": f"app exited: {err}"}
            if time.perf_counter() - started > 180:
                return {"seconds": None, "note": "no answer within 180 s"}
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
            except Exception:  # not listening yet
                time.sleep(0.05)
        try:
            client.predict(question, api_name="/ask")
        except ValueError as exc:
            if "api_name" in str(exc):
                return {"seconds": None, "note": "the app has no /ask endpoint"}
            raise
        return {"seconds": round(time.perf_counter() - started, 2), "note": ""}
    finally:
        stop(proc, timeout=20)
        log.close()


def import_seconds(module: str) -> float:
    """Wall time of ``python -c 'import module'``, to put cold start in context."""
    seconds, _ = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", f"import {module}"], check=True, capture_output=True
        )
    )
    return round(seconds, 2)
