"""Take docs/screenshot.png: the chat page answering a question, in headless Chromium.

    python scripts/screenshot.py [--question "..."] [--out docs/screenshot.png]

Builds an index of a temporary copy of corpus/ (the real index is left
alone), starts `python app.py` on it, asks the question in the page and
saves the screenshot.  Needs /usr/bin/chromium (`make browser-deps`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is in the checkout, not the qa package

from bench.app_process import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    app_command,
    app_env,
    free_port,
    stop,
    wait_for_page,
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--question", default="Who leads the coalition of the willing?")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--height", type=int, default=1000)
    args = p.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qa-shot-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        cmd = app_command(port, corpus, Path(tmp) / "index")
        env = app_env()
        # Built beforehand, so the status line shows a plain index, not a start-up rebuild.
        build = [
            sys.executable,
            "-m",
            "qa",
            "build",
            "--corpus",
            str(corpus),
            "--index",
            str(Path(tmp) / "index"),
        ]
        subprocess.run(build, env=env, check=True, capture_output=True)
        app = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_page(url, app)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(url)
                page.locator("#qa-chat button.example").first.wait_for(timeout=300_000)
                box = page.locator("#qa-question textarea")
                box.fill(args.question)
                box.press("Enter")
                page.locator("#qa-chat .qa-answer").first.wait_for(timeout=120_000)
                page.wait_for_timeout(800)  # let the chat finish scrolling
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            stop(app)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
