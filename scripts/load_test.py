"""Many clients asking at once through the /ask API: errors, throughput, latency.

    python app.py &                      # or any running qa app
    python scripts/load_test.py [--url http://127.0.0.1:7860/] [--clients 16] [--questions 50]

Each client is a gradio_client.Client in its own thread asking its questions
one after another, as a script calling the API would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

QUESTIONS = [
    "Who leads the coalition of the willing?",
    "Where did the defence ministers meet?",
    "What did the Swedish defence minister say?",
    "Which football team won the 1998 World Cup?",
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:7860/")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--questions", type=int, default=50)
    args = p.parse_args()
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            client = Client(args.url, verbose=False)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"client {n}: {type(exc).__name__}: {exc}")
            return
        for i in range(args.questions):
            started = time.perf_counter()
            try:
                client.predict(QUESTIONS[(n + i) % len(QUESTIONS)], api_name="/ask")
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
        f"{args.clients} clients x {args.questions} questions: {len(latencies)} answered, "
        f"{len(errors)} errors in {elapsed:.1f} s ({len(latencies) / elapsed:.1f} answers/s); "
        f"latency median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    for e in errors[:10]:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
