"""The Library's JSON routes (qa/app/library.py) on a served app: login, edits switch,
file names that try to leave the corpus, refused formats, the whole upload -> ask
within -> remove round, and uploads at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.app_process import call_api, free_port, wait_rebuilt
from qa.app.chat import Chat
from qa.app.page import launch
from qa.feedback import FeedbackLog
from qa.library import RefusedFile, safe_name
from qa.live import LiveIndex
from tests.conftest import ROOT, SEED
from tests.support.samples import (
    BROKEN_PDF,
    FERRY_ANSWER,
    FERRY_QUESTION,
    FERRY_TITLE,
    IN_SCOPE,
    ferry_docx,
)

LOGIN = ("editor", "s3cret-pass")


@dataclass
class Served:
    url: str
    corpus: Path
    index: Path
    live: LiveIndex


def _serve(folder: Path, embedder: Any, **options: Any) -> Iterator[Served]:
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    live = LiveIndex(corpus, folder / "index", embedder=embedder)
    live.prepare()
    chat = Chat(live, FeedbackLog(folder / "votes.jsonl"))
    demo, url = launch(chat, port=free_port(), quiet=True, **options)
    try:
        yield Served(url.rstrip("/"), corpus, folder / "index", live)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Served]:
    """An app with a login, so the Library may edit."""
    yield from _serve(tmp_path_factory.mktemp("library"), embedder, auth=LOGIN)


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Served]:
    """An app with neither --auth nor --allow-edits."""
    yield from _serve(tmp_path_factory.mktemp("viewer"), embedder)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _names(app: Served) -> list[str]:
    status, body = call_api(app.url, "/api/documents", auth=LOGIN)
    assert status == 200
    return [d["name"] for d in body["documents"]]


def test_every_library_route_needs_the_login(app: Served) -> None:
    before = _files(app.corpus)
    for method, path, files in (
        ("GET", "/api/documents", None),
        ("POST", "/api/documents", [("x.txt", b"X\nA paragraph about x.\n")]),
        ("GET", f"/api/documents/{SEED.name}", None),
        ("DELETE", f"/api/documents/{SEED.name}", None),
    ):
        for auth in (None, ("editor", "wrong"), ("someone", LOGIN[1])):
            status, body = call_api(app.url, path, method, files=files, auth=auth)
            assert status == 401 and "log in" in body["error"], (method, path, auth)
    assert _files(app.corpus) == before
    status, body = call_api(app.url, f"/api/documents/{SEED.name}", auth=LOGIN)
    assert status == 200 and body["title"].startswith("Nato Coalition")


def test_without_auth_or_allow_edits_the_library_is_read_only(viewer: Served) -> None:
    before = _files(viewer.corpus)
    status, body = call_api(viewer.url, "/api/documents")
    assert status == 200 and body["edits"] is False
    assert [d["name"] for d in body["documents"]] == [SEED.name]
    status, body = call_api(viewer.url, "/api/documents", "POST", files=[("a.txt", b"A\nB c.\n")])
    assert status == 403 and "--auth" in body["error"] and "--allow-edits" in body["error"]
    status, body = call_api(viewer.url, f"/api/documents/{SEED.name}", "DELETE")
    assert status == 403
    assert _files(viewer.corpus) == before


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "../../etc/escape.txt",
        "/tmp/escape.txt",
        "sub/../../escape.txt",
        "..\\escape.txt",
        "C:\\Windows\\escape.txt",
        ".hidden.txt",
        "..",
        "",
        "x" * 200 + ".txt",
        "notes.exe",
    ],
)
def test_names_that_leave_the_corpus_or_hide_are_refused(app: Served, name: str) -> None:
    outside = app.corpus.parent
    before, around = _files(app.corpus), sorted(p.name for p in outside.iterdir())
    with pytest.raises(RefusedFile):
        safe_name(name)
    status, body = call_api(
        app.url, "/api/documents", "POST", files=[(name, b"Title\nA paragraph.\n")], auth=LOGIN
    )
    assert sorted(p.name for p in outside.iterdir()) == around
    assert not Path("/tmp/escape.txt").exists()
    if status == 202:
        # The multipart parser kept only the last part of a Windows path: a
        # plain name, saved inside the corpus.
        saved = body["saved"][0]["name"]
        assert "\\" in name and saved == "escape.txt" and (app.corpus / saved).is_file()
        assert call_api(app.url, f"/api/documents/{saved}", "DELETE", auth=LOGIN)[0] == 202
        wait_rebuilt(app.url, LOGIN)
    else:
        assert status == 422, body
        assert body["file"] and body["reason"] and body["error"].startswith(body["file"])
    assert _files(app.corpus) == before


def test_odd_characters_are_made_safe(app: Served) -> None:
    status, body = call_api(
        app.url,
        "/api/documents",
        "POST",
        files=[('we:ird*na"me?<1>.md', b"# Odd Name Notes\n\nA paragraph about odd names.\n")],
        auth=LOGIN,
    )
    assert status == 202, body
    saved = body["saved"][0]["name"]
    assert saved == "we_ird_na_me__1_.md" and (app.corpus / saved).is_file()
    wait_rebuilt(app.url, LOGIN)
    status, _ = call_api(app.url, f"/api/documents/{saved}", "DELETE", auth=LOGIN)
    assert status == 202
    wait_rebuilt(app.url, LOGIN)


def test_removing_a_name_outside_the_listing_is_refused(app: Served, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\nDo not delete me.\n")
    (app.corpus / "link.txt").symlink_to(secret)  # a link out of the corpus is never listed
    try:
        for name in ("../index", "link.txt", "%2e%2e/%2e%2e/etc/passwd", "nope.txt"):
            status, body = call_api(app.url, f"/api/documents/{name}", "DELETE", auth=LOGIN)
            assert status == 404, (name, body)
            assert "no such document" in body["error"]
        assert secret.read_text().startswith("Secret") and app.index.is_dir()
        assert "link.txt" not in _names(app)
    finally:
        (app.corpus / "link.txt").unlink()


def _bomb() -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b" " * (100 * 2**20))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", BROKEN_PDF, "damaged or truncated PDF"),
        ("bomb.docx", _bomb(), "zip bomb"),
        ("latin1.txt", "Caf\xe9\nA paragraph in Latin-1.\n".encode("latin-1"), "not UTF-8"),
        ("headings.md", b"# Only a title\n\n## And a heading\n", "no paragraphs"),
        ("empty.txt", b"", "file is empty"),
        ("fake.docx", b"plain text named .docx", "not a Word .docx file"),
    ],
)
def test_a_refused_file_names_itself_and_the_reason_and_nothing_changes(
    app: Served, name: str, data: bytes, reason: str
) -> None:
    before = _files(app.corpus)
    good = ("fine.txt", b"Fine Notes\nA perfectly good paragraph.\n")
    status, body = call_api(
        app.url, "/api/documents", "POST", files=[good, (name, data)], auth=LOGIN
    )
    assert status == 422, body
    assert body["file"] == name and reason in body["reason"]
    assert body["error"] == f"{name}: {body['reason']}"
    assert _files(app.corpus) == before  # not even the good file of the batch


def test_upload_ask_within_and_remove(app: Served) -> None:
    before = call_api(app.url, "/api/health", auth=LOGIN)[1]["build"]
    data = ferry_docx()
    status, body = call_api(
        app.url, "/api/documents", "POST", files=[("ferry.docx", data)], auth=LOGIN
    )
    assert status == 202, body
    assert body["saved"] == [
        {"name": "ferry.docx", "title": FERRY_TITLE, "passages": 2, "faqs": 0, "replaced": False}
    ]
    assert (app.corpus / "ferry.docx").read_bytes() == data
    health = wait_rebuilt(app.url, LOGIN)
    assert health["build"] != before and health["rebuild"]["last"].startswith("indexed 2")
    listed = {d["name"]: d for d in call_api(app.url, "/api/documents", auth=LOGIN)[1]["documents"]}
    ferry = listed["ferry.docx"]
    assert (ferry["title"], ferry["format"], ferry["passages"], ferry["faqs"]) == (
        FERRY_TITLE, "docx", 2, 0,
    )  # fmt: skip
    assert ferry["status"] == "read" and ferry["size"] == len(data) and ferry["added"]
    shown = subprocess.run(
        [sys.executable, "-m", "qa", "show", "--json", str(app.corpus / "ferry.docx")],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    import json

    want = json.loads(shown)
    got = call_api(app.url, "/api/documents/ferry.docx", auth=LOGIN)[1]
    assert {k: v for k, v in got.items() if k != "path"} == {
        k: v for k, v in want.items() if k != "path"
    }

    def ask(docs: list[str]) -> tuple[int, Any]:
        return call_api(
            app.url,
            "/api/ask",
            "POST",
            json_body={"question": FERRY_QUESTION, "docs": docs},
            auth=LOGIN,
        )

    status, answer = ask(["ferry.docx"])
    assert status == 200 and answer["answered"] and FERRY_ANSWER in answer["passage"]["text"]
    assert ask([FERRY_TITLE])[1]["passage"] == answer["passage"]
    status, within_seed = ask([SEED.name])
    assert status == 200 and not within_seed["answered"]
    status, unknown = ask(["nowhere.pdf"])
    assert status == 422 and "no document named 'nowhere.pdf'" in unknown["error"]

    status, body = call_api(app.url, "/api/documents/ferry.docx", "DELETE", auth=LOGIN)
    assert status == 202 and body["removed"] == "ferry.docx"
    assert not (app.corpus / "ferry.docx").exists()
    wait_rebuilt(app.url, LOGIN)
    assert "ferry.docx" not in _names(app)
    status, gone = ask([])
    assert status == 200 and not gone["answered"]
    assert ask(["ferry.docx"])[0] == 422


def test_uploads_at_once_all_land_in_one_consistent_index(app: Served) -> None:
    count = 6
    results: list[tuple[int, Any]] = [(0, None)] * count
    start = threading.Barrier(count)

    def upload(i: int) -> None:
        body = (
            f"Island {i} Lighthouse\nKeepers\n"
            f"The keeper of island {i} is called Warden{i}son and rings bell number {i}.\n"
        )
        start.wait()
        results[i] = call_api(
            app.url, "/api/documents", "POST", files=[(f"island{i}.txt", body.encode())], auth=LOGIN
        )

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [202] * count, results
    wait_rebuilt(app.url, LOGIN)
    listed = call_api(app.url, "/api/documents", auth=LOGIN)[1]["documents"]
    islands = [d for d in listed if d["name"].startswith("island")]
    assert len(islands) == count and all(d["status"] == "read" for d in islands)
    assert not [p for p in app.corpus.iterdir() if p.name.startswith(".upload-")]
    for i in range(count):
        status, answer = call_api(
            app.url,
            "/api/ask",
            "POST",
            json_body={"question": f"Who is the keeper of island {i}?", "docs": [f"island{i}.txt"]},
            auth=LOGIN,
        )
        assert status == 200 and f"Warden{i}son" in answer["passage"]["text"]
    for i in range(count):
        assert call_api(app.url, f"/api/documents/island{i}.txt", "DELETE", auth=LOGIN)[0] == 202
    wait_rebuilt(app.url, LOGIN)
    status, answer = call_api(
        app.url, "/api/ask", "POST", json_body={"question": IN_SCOPE}, auth=LOGIN
    )
    assert status == 200 and answer["answered"]


def test_a_failed_rebuild_keeps_the_old_build_and_says_why(app: Served) -> None:
    seed = (app.corpus / SEED.name).read_bytes()
    before = call_api(app.url, "/api/health", auth=LOGIN)[1]["build"]
    # Removing the only article leaves nothing to index: that build must fail.
    status, _ = call_api(app.url, f"/api/documents/{SEED.name}", "DELETE", auth=LOGIN)
    assert status == 202
    health = wait_rebuilt(app.url, LOGIN)
    assert health["build"] == before and health["rebuild"]["failed"]
    assert "no document with paragraphs to index" in health["rebuild"]["last"]
    status, answer = call_api(
        app.url, "/api/ask", "POST", json_body={"question": IN_SCOPE}, auth=LOGIN
    )
    assert status == 200 and answer["answered"]  # still the old build
    status, _ = call_api(app.url, "/api/documents", "POST", files=[(SEED.name, seed)], auth=LOGIN)
    assert status == 202
    health = wait_rebuilt(app.url, LOGIN)
    assert not health["rebuild"]["failed"] and health["build"] != before
    assert [
        d["status"] for d in call_api(app.url, "/api/documents", auth=LOGIN)[1]["documents"]
    ] == ["read"]
