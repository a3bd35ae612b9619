"""Seconds from `python app.py` to the first answered `/ask` request, with the index built.

    python scripts/cold_start.py [--runs 3] [--corpus corpus] [--index index]

Builds the index first if needed (not timed), then starts the app on a free
port several times and, for each run, polls the API until a question is
answered.  Uses only the standard library on the client side, so the client
adds next to nothing to the figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is in the checkout, not the qa package

from bench.app_process import app_command, app_env, free_port, stop  # noqa: E402
from bench.app_process import ask_over_http as ask  # noqa: E402

QUESTION = "Who leads the coalition of the willing?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(corpus: Path, index: Path) -> tuple[float, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        app_command(port, corpus, index),
        env=app_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait for the port to open (a bare connect costs the server nothing),
        # then ask once: that request waits for the model if it is still loading.
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        answer = ask(base, QUESTION)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        if not answer.get("answered"):
            raise RuntimeError(f"the question was not answered: {answer}")
        return elapsed, cpu
    finally:
        stop(proc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--index", type=Path, default=ROOT / "index")
    args = p.parse_args()
    from qa.index import build, is_current

    if not is_current(args.corpus, args.index):
        print(build(args.corpus, args.index).summary(), file=sys.stderr)
    load_before = os.getloadavg()[0]
    runs = [one_run(args.corpus, args.index) for _ in range(args.runs)]
    times = [t for t, _ in runs]
    cpus = [c for _, c in runs]
    print(
        f"cold start to first answer: median {statistics.median(times):.1f} s "
        f"(runs {', '.join(f'{t:.1f}' for t in times)} s); "
        f"app CPU time median {statistics.median(cpus):.1f} s; "
        f"{os.cpu_count()} cores, load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
