"""A dependency-free client for the app's ``/ask`` endpoint over Gradio's HTTP API."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


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
