"""How long a newcomer waits: a fresh clone, `make run`, the first answered /api/health.

    python scripts/fresh_install.py [--port 7871] [--keep]

Clones this repository (its committed HEAD) into a temporary folder, runs `make run` there
with no pip cache, and times the first /api/health that says an index is loaded. Then it
reports the size of the run venv, installs the test extras (`make install-test`) and reports
that venv's size too, and which of Ray, Playwright and hypothesis each one holds. Needs the
package registries; a machine's load changes the figures, so it prints the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("ray", "playwright", "hypothesis")


def size_mib(folder: Path) -> float:
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 2**20


def installed(venv: Path) -> list[str]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {p["name"].lower() for p in json.loads(out)}
    return [name for name in HEAVY if name in names]


def wait_ready(port: int, proc: subprocess.Popen[bytes], limit: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if json.loads(r.read()).get("ready"):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.5)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    parser.add_argument("--limit", type=float, default=1800, help="seconds to wait at most")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="qa-fresh-"))
    env = dict(os.environ, PIP_NO_CACHE_DIR="1", QA_CACHE_DIR=str(folder / "cache"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder / "qa")], check=True)
    clone = folder / "qa"
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    start = time.monotonic()
    proc = subprocess.Popen(
        ["make", "run", f"ARGS=--port {args.port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        ready = wait_ready(args.port, proc, args.limit)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    if ready is None:
        print("make run never answered /api/health", file=sys.stderr)
        return 1
    venv = clone / ".venv"
    print(f"fresh clone -> make run -> first ready /api/health: {ready - start:.0f} s")
    print(f"run venv: {size_mib(venv):,.0f} MiB; holds {installed(venv) or 'none'} of {HEAVY}")
    subprocess.run(["make", "install-test"], cwd=clone, env=env, check=True)
    print(f"test venv: {size_mib(venv):,.0f} MiB; holds {installed(venv)} of {HEAVY}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
