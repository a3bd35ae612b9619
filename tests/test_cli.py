from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.app_process import app_env, free_port, stop

from .conftest import ROOT


def run_qa(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "qa", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from .conftest import SEED

    folder = tmp_path_factory.mktemp("cli")
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    result = run_qa("build", "--corpus", corpus, "--index", folder / "index")
    assert result.returncode == 0, result.stderr
    assert "7 passages, 4 FAQ pairs" in result.stdout
    assert "computed 11" in result.stdout
    return corpus, folder / "index"


def test_build_again_reuses_everything(built: tuple[Path, Path]) -> None:
    corpus, index = built
    result = run_qa("build", "--corpus", corpus, "--index", index)
    assert result.returncode == 0
    assert "reused 11, computed 0" in result.stdout


def test_ask_text_and_json(built: tuple[Path, Path]) -> None:
    _, index = built
    text = run_qa("ask", "Who is leading the coalition of the willing?", "--index", index)
    assert text.returncode == 0, text.stderr
    assert "led by Britain and France" in text.stdout
    assert "FAQ: Who is leading the coalition of the willing?" in text.stdout
    js = run_qa("ask", "Who is leading the coalition of the willing?", "--index", index, "--json")
    payload = json.loads(js.stdout)
    assert payload["answered"] is True
    assert set(payload["passage"]) >= {"text", "doc", "heading", "score"}
    assert set(payload["faq"]) >= {"question", "answer", "score"}
    assert 0.0 <= payload["confidence"] <= 1.0


def test_eval_reports_figures_and_misses(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, index = built
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "question": "Who leads the coalition of the willing?",
                "in_scope": True,
                "passage_any": ["led by Britain and France"],
                "faq_any": [1],
            }
        )
        + "\n"
        + json.dumps(
            {
                "question": "What did the Swedish minister say?",
                "in_scope": True,
                "passage_any": ["this text is in no passage"],
            }
        )
        + "\n"
        + json.dumps(
            {"question": "How do I bake sourdough bread?", "in_scope": False, "kind": "off_topic"}
        )
        + "\n"
    )
    result = run_qa("eval", questions, "--index", index, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["in_scope"] == 2
    assert report["hit_at_1"] == 0.5 and report["hit_at_5"] == 0.5
    assert report["faq_accuracy"] == 1.0
    assert "off_topic" in report["declined"]
    assert any(m["problem"] == "wrong passage" for m in report["misses"])
    table = run_qa("eval", questions, "--index", index)
    assert "passage hit@1" in table.stdout and "misses" in table.stdout


def test_eval_with_corpus_builds_a_temporary_index(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus, _ = built
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "question": "Who leads the coalition?",
                "in_scope": True,
                "passage_any": ["led by Britain"],
            }
        )
        + "\n"
    )
    result = run_qa("eval", questions, "--corpus", corpus, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hit_at_5"] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", "hello", "--index", "{tmp}/none"), "no index found; run `qa build`"),
        (("build", "--corpus", "{tmp}/none", "--index", "{tmp}/i"), "corpus folder not found"),
        (("eval", "{tmp}/missing.jsonl", "--index", "{tmp}/none"), "cannot read question file"),
    ],
)
def test_expected_errors_are_one_line_without_traceback(
    args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    result = run_qa(*(a.format(tmp=tmp_path) for a in args))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_serve_builds_if_needed_and_serves_on_localhost(tmp_path: Path) -> None:
    from .conftest import SEED

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    port = free_port()
    # `qa serve`, not app.py: the command line entry point is what is tested here.
    serve = [sys.executable, "-m", "qa", "serve", "--port", str(port)]
    serve += ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    proc = subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=app_env()
    )
    try:
        deadline = time.monotonic() + 180
        page = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert "<html" in page
        # The page is served first; the start-up build finishes in the background.
        manifest = tmp_path / "index" / "current" / "manifest.json"
        while not manifest.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        assert manifest.is_file()
    finally:
        stop(proc)
