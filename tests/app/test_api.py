"""The JSON API (qa/app/api.py) served beside the page: answers, errors, login, schema."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.app_process import free_port, post_api_ask
from qa.app.api import MAX_BODY_BYTES
from qa.app.chat import Chat
from qa.app.page import launch
from qa.feedback import FeedbackLog
from qa.live import LiveIndex
from tests.support.samples import IN_SCOPE, OFF_TOPIC

FIRST = "What has Ukraine said about a ceasefire?"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any
) -> Iterator[tuple[str, LiveIndex]]:
    import shutil

    from tests.conftest import SEED

    folder = tmp_path_factory.mktemp("api")
    (folder / "corpus").mkdir()
    shutil.copy(SEED, folder / "corpus" / SEED.name)
    live = LiveIndex(folder / "corpus", folder / "index", embedder=embedder)
    live.prepare()
    demo, url = launch(Chat(live, FeedbackLog(folder / "v.jsonl")), port=free_port(), quiet=True)
    try:
        yield url.rstrip("/"), live
    finally:
        demo.close()


def _raw(
    url: str, body: bytes | None, method: str = "POST", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, body, headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return int(r.status), json.load(r)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode()
        assert "\n" not in text.strip()  # one line
        return exc.code, json.loads(text)


def test_api_ask_answers_as_the_library_does(served: tuple[str, LiveIndex]) -> None:
    url, live = served
    library = live.get()
    for q in (IN_SCOPE, OFF_TOPIC, "thanks!"):
        assert post_api_ask(url, q) == library.ask(q).to_dict()
    reply = post_api_ask(url, "And Russia?", [FIRST])
    assert reply == library.ask("And Russia?", [FIRST]).to_dict()
    assert reply["answered"] and reply["read_as"] != "And Russia?"
    assert post_api_ask(url, "What is the capital of Australia?", [FIRST])["answered"] is False


def test_api_health(served: tuple[str, LiveIndex]) -> None:
    url, live = served
    status, body = _raw(f"{url}/api/health", None, "GET")
    assert status == 200
    assert body["ready"] is True and body["build"] == live.get().build_id


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b"", 400),
        (b"[1, 2]", 422),
        (b"{}", 422),
        (b'{"question": ""}', 422),
        (b'{"question": "   "}', 422),
        (b'{"question": 7}', 422),
        (b'{"question": null}', 422),
        (b'{"question": "hi", "history": "What?"}', 422),
        (b'{"question": "hi", "history": [1]}', 422),
        (b'{"question": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}', 413),
    ],
)
def test_bad_requests_get_a_one_line_4xx(
    served: tuple[str, LiveIndex], body: bytes, status: int
) -> None:
    url, _ = served
    got, reply = _raw(f"{url}/api/ask", body, headers={"Content-Type": "application/json"})
    assert got == status
    assert set(reply) == {"error"} and reply["error"]


def test_openapi_documents_the_api(served: tuple[str, LiveIndex]) -> None:
    url, _ = served
    status, schema = _raw(f"{url}/openapi.json", None, "GET")
    assert status == 200
    ask = schema["paths"]["/api/ask"]["post"]
    body = ask["requestBody"]["content"]["application/json"]["schema"]
    assert {"question", "history"} <= set(body["properties"])
    assert "200" in ask["responses"] and "422" in ask["responses"]
    assert "/api/health" in schema["paths"]


def _keys(value: Any) -> Any:
    """The keys of a reply, nested objects' keys under their field."""
    return {k: _keys(v) for k, v in value.items()} if isinstance(value, dict) else None


def _schema_keys(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    refs = [node] + node.get("anyOf", [])
    for ref in refs:
        if "$ref" in ref:
            return _schema_keys(schema, schema["components"]["schemas"][ref["$ref"].split("/")[-1]])
    if "properties" in node:
        return {k: _schema_keys(schema, v) for k, v in node["properties"].items()}
    return None


def test_openapi_reply_is_what_ask_returns(served: tuple[str, LiveIndex]) -> None:
    """Every field /api/ask returns is in /openapi.json, missing and missing_note included."""
    url, _ = served
    _, schema = _raw(f"{url}/openapi.json", None, "GET")
    reply = schema["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]
    documented = _schema_keys(schema, reply["application/json"]["schema"])
    # An answer with a passage and an FAQ pair, so the nested objects are compared too.
    answer = post_api_ask(url, "Who leads the coalition of the willing?")
    assert answer["passage"] is not None and answer["faq"] is not None
    assert {"missing", "missing_note"} <= set(documented)
    returned = _keys(answer)
    assert set(documented) == set(returned)
    for name in ("passage", "faq"):
        assert documented[name] == returned[name]
    declined = post_api_ask(url, "What is the capital of Australia?")
    assert set(_keys(declined)) == set(documented)


def test_docs_field_table_is_the_schema() -> None:
    """docs/app.md's table of the reply's fields is the one qa.answer.types derives."""
    from qa.answer.types import field_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "app.md").read_text("utf-8")
    start = docs.index("<!-- answer-fields")
    start = docs.index("\n", start) + 1
    end = docs.index("<!-- /answer-fields -->")
    assert docs[start:end] == field_table()


def test_api_needs_the_pages_login(live: LiveIndex, tmp_path: Path) -> None:
    chat = Chat(live, FeedbackLog(tmp_path / "v.jsonl"))
    demo, url = launch(chat, port=free_port(), auth=("ann", "s3cret"), quiet=True)
    url = url.rstrip("/")
    body = json.dumps({"question": IN_SCOPE}).encode()
    try:
        for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"ann:wrong").decode()}):
            status, reply = _raw(f"{url}/api/ask", body, headers=headers)
            assert status == 401 and "error" in reply
        assert _raw(f"{url}/api/health", None, "GET")[0] == 401
        reply = post_api_ask(url, IN_SCOPE, auth=("ann", "s3cret"))
        assert reply == live.get().ask(IN_SCOPE).to_dict()
    finally:
        demo.close()
