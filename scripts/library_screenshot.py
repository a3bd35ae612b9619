"""Take docs/library.png: the page's Library tab after a Word file was uploaded.

    python scripts/library_screenshot.py [--out docs/library.png]

Starts `python app.py --allow-edits` on a temporary copy of corpus/ (the real
corpus and index are left alone), uploads a small .docx through the page's
upload control, waits for the rebuild, opens the file's parse and saves the
screenshot.  Needs /usr/bin/chromium (`make browser-deps`).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support is in the checkout, not the qa package

from bench.app_process import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    app_command,
    app_env,
    free_port,
    stop,
    wait_for_page,
)


def sample_docx() -> bytes:
    """A short timetable, written with python-docx: a title, two headings, an FAQ."""
    import docx

    document = docx.Document()
    document.add_heading("Harbour Ferry Timetable", 0)
    document.add_heading("Winter sailings", 1)
    document.add_paragraph("The first ferry leaves the harbour at 07:40 every weekday in winter.")
    document.add_paragraph("At weekends the first sailing is at 09:15, weather permitting.")
    document.add_heading("Boarding", 1)
    document.add_paragraph("Passengers with bicycles board first, through the north gangway.")
    document.add_heading("FAQ", 1)
    for line in ("Can I bring a dog?", "Yes, dogs on a lead travel free on the open deck."):
        document.add_paragraph(line, style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "library.png")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--height", type=int, default=1150)
    args = p.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qa-shot-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        upload = Path(tmp) / "harbour-ferry.docx"
        upload.write_bytes(sample_docx())
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        env = app_env()
        index = Path(tmp) / "index"
        build = [
            sys.executable,
            "-m",
            "qa",
            "build",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
        ]
        subprocess.run(build, env=env, check=True, capture_output=True)
        cmd = [*app_command(port, corpus, index), "--allow-edits"]
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
                page.get_by_role("tab", name="Library").click()
                page.locator("#qa-lib-list table").wait_for(timeout=60_000)
                page.locator("#qa-lib-upload input[type=file]").set_input_files(str(upload))
                page.locator("#qa-lib-message p").wait_for(timeout=60_000)
                page.wait_for_function(
                    "document.querySelector('#qa-lib-list').innerText"
                    ".includes('Harbour Ferry Timetable')",
                    timeout=120_000,
                )
                page.locator("#qa-lib-pick input").click()
                page.get_by_role("option", name=upload.name, exact=True).click()
                page.locator("#qa-lib-show h3").wait_for(timeout=60_000)
                page.wait_for_timeout(800)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            stop(app)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
