"""Many clients asking at once through the /ask API: errors, throughput, latency.

    python app.py &                      # or any running qa app
    python scripts/load_test.py [--url http://127.0.0.1:7860/] [--clients 16] [--questions 50]
                                [--client http|gradio|api]

Each client is a thread asking its questions one after another, as a script
calling the API would: over Gradio's plain HTTP API (``http``, the default),
through a ``gradio_client.Client`` (``gradio``), which shares one event
stream per client and can rarely drop a reply when it starts a request just as
the server closes that stream, or over the plain JSON API ``POST /api/ask``
(``api``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is in the checkout, not the qa package

from bench.app_process import ask_over_http, post_api_ask  # noqa: E402

QUESTIONS = [
    "Who leads the coalition of the willing?",
    "Where did the defence ministers meet?",
    "What did the Swedish defence minister say?",
    "Which football team won the 1998 World Cup?",
]


def make_asker(kind: str, url: str) -> Callable[[str], Any]:
    if kind == "gradio":
        from gradio_client import Client

        client = Client(url, verbose=False)
        return lambda q: client.predict(q, api_name="/ask")
    base = url.rstrip("/")
    if kind == "api":
        return lambda q: post_api_ask(base, q)
    return lambda q: ask_over_http(base, q)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:7860/")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--questions", type=int, default=50)
    p.add_argument("--client", choices=["http", "gradio", "api"], default="http")
    args = p.parse_args()

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            ask = make_asker(args.client, args.url)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"client {n}: {type(exc).__name__}: {exc}")
            return
        for i in range(args.questions):
            started = time.perf_counter()
            try:
                ask(QUESTIONS[(n + i) % len(QUESTIONS)])
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"client {n}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(
        f"{args.clients} {args.client} clients x {args.questions} questions: "
        f"{len(latencies)} answered, "
        f"{len(errors)} errors in {elapsed:.1f} s ({len(latencies) / elapsed:.1f} answers/s); "
        f"latency median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    for e in errors[:10]:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
