"""What only the Qdrant store has: locations, the alias swap, the cache, and faults.

Faults of a server are made on 127.0.0.1: a port nobody listens on, and a
stand-in HTTP server that refuses every request as Qdrant does without the
right API key.  No Qdrant server runs here, so a networked cluster itself is
not tested (docs/scale.md).
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError, StoreUnavailableError
from qa.rank import question_words
from qa.store import Field, live_build, live_manifest, open_store

pytest.importorskip("qdrant_client", reason="the qa[qdrant] extra, which make test installs")

from qa.store.qdrant.connection import connect  # noqa: E402
from qa.store.qdrant.layout import builds, live_target, parts  # noqa: E402
from qa.store.qdrant.location import QdrantLocation, parse  # noqa: E402
from tests.conftest import SEED_QUESTIONS  # noqa: E402
from tests.store.conftest import write_corpus  # noqa: E402
from tests.store.test_contract import QUESTIONS  # noqa: E402

# ------------------------------------------------------------------ locations


def test_locations() -> None:
    assert parse("index") is None and parse(Path("qdrant:x")) is None
    local = parse("qdrant:some/folder")
    assert local == QdrantLocation("qa", path="some/folder", text="qdrant:some/folder")
    server = parse("qdrant://db.internal:6333/articles")
    assert server is not None and (server.url, server.name) == (
        "http://db.internal:6333",
        "articles",
    )
    cloud = parse("https://xyz.cloud.qdrant.io/articles")
    assert cloud is not None and cloud.url == "https://xyz.cloud.qdrant.io:443"
    ipv6 = parse("qdrant://[::1]:7000/a")
    assert ipv6 is not None and ipv6.url == "http://[::1]:7000"
    for bad in ("qdrant:", "qdrant://host:6333/", "qdrant://host:port/a", "qdrant:///a",
                "https://host/a/b"):  # fmt: skip
        with pytest.raises(QAError, match="qdrant|name|port|server"):
            parse(bad)


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    where = parse("https://example.invalid/a")
    assert where is not None
    monkeypatch.delenv("QA_QDRANT_API_KEY", raising=False)
    assert where.api_key is None
    monkeypatch.setenv("QA_QDRANT_API_KEY", "s3cret")
    assert where.api_key == "s3cret"


# ------------------------------------------------------------------ same ranking

SIGNALS = ("dense", "dense_sentence", "dense_gap", "dense_sentence_gap", "bm25_rel",
           "bm25_sentence_rel", "coverage", "info_coverage", "missing_info", "score")  # fmt: skip


ENGINES = ["qdrant"] + (["qdrant-edge"] if importlib.util.find_spec("qdrant_edge") else [])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> qa.Retriever:
    tmp = tmp_path_factory.mktemp("same")
    qa.build(write_corpus(tmp / "corpus"), tmp / "index", embedder=embedder)
    return qa.load(tmp / "index", embedder=embedder)


@pytest.fixture(scope="module", params=ENGINES)
def two_stores(
    request: pytest.FixtureRequest,
    folder: qa.Retriever,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
) -> tuple[qa.Retriever, qa.Retriever]:
    """The folder store and one Qdrant engine (local mode, or Edge), on one corpus."""
    tmp = tmp_path_factory.mktemp("same-qdrant")
    location = f"{request.param}:{tmp / 'q'}"
    qa.build(write_corpus(tmp / "corpus"), location, embedder=embedder)
    return folder, qa.load(location, embedder=embedder)


@pytest.mark.parametrize("question", [*QUESTIONS, "Where was most capacity added?", "Zanzibar?"])
def test_every_candidate_signal_is_the_folder_stores(
    two_stores: tuple[qa.Retriever, qa.Retriever], question: str, embedder: Embedder
) -> None:
    folder, qdrant = two_stores
    qvec = embedder.encode([question])[0]
    words = question_words(question)
    a, b = (r.ranker.gather(qvec, words) for r in (folder, qdrant))
    assert [c.id for c in a] == [c.id for c in b]
    for x, y in zip(a, b, strict=True):
        for name in SIGNALS:
            assert getattr(x, name) == pytest.approx(getattr(y, name), abs=1e-5), name
        np.testing.assert_allclose(x.sims, y.sims, atol=1e-5)
        np.testing.assert_allclose(x.sentence_bm25, y.sentence_bm25, rtol=1e-5, atol=1e-6)
    assert a.runner_up == b.runner_up and a.agree == b.agree
    x, y = folder.ask(question), qdrant.ask(question)
    assert (x.answered, x.confidence) == (y.answered, pytest.approx(y.confidence, abs=1e-5))
    assert (x.passage and x.passage.id) == (y.passage and y.passage.id)
    assert (x.faq and x.faq.question) == (y.faq and y.faq.question)


def test_vocabularies_are_the_folder_stores(two_stores: tuple[qa.Retriever, qa.Retriever]) -> None:
    folder, qdrant = two_stores
    for field in Field:
        # bm25s adds "" to every vocabulary, for empty documents; no question has it.
        assert qdrant.store.vocabulary(field) == folder.store.vocabulary(field) - {""}


# ------------------------------------------------------------------ publishing


def test_rebuild_swaps_the_alias_reuses_vectors_and_removes_the_old(
    tmp_path: Path, embedder: Embedder
) -> None:
    location = f"qdrant:{tmp_path / 'q'}"
    corpus = write_corpus(tmp_path / "corpus")
    first = qa.build(corpus, location, embedder=embedder)
    old = open_store(location)
    before = live_build(location)
    # A build killed before its swap leaves collections behind; the next build removes them.
    conn = connect(parse(location))  # type: ignore[arg-type]
    dead = f"{conn.where.build_prefix()}20200101T000000-1-abcdef"
    conn.call("create_collection", parts(dead)["units"], vectors_config={})
    (corpus / "solar.txt").write_text("Solar\nGrowth\nA new paragraph.\n", "utf-8")
    second = qa.build(corpus, location, embedder=embedder)
    after = live_build(location)
    assert after is not None and after != before
    assert second.embeddings_reused == first.passages + first.faqs - 6  # solar: 4 passages, 2 FAQs
    assert set(builds(conn)) == {before, after}  # the dead build is gone
    new = open_store(location)
    assert any(p.text == "A new paragraph." for p in new.passages)
    # A reader of the replaced build goes on until it notices the new one.
    np.testing.assert_array_equal(new.vectors(np.array([0])), old.vectors(np.array([0])))
    manifest = live_manifest(location)
    assert manifest is not None and manifest.counts.passages == len(new.passages)
    qa.build(write_corpus(tmp_path / "corpus"), location, embedder=embedder)
    third = live_build(location)
    assert set(builds(conn)) == {after, third}  # the one before is removed now


def test_an_alias_name_taken_by_a_collection(tmp_path: Path, embedder: Embedder) -> None:
    location = f"qdrant:{tmp_path / 'q'}"
    conn = connect(parse(location), create=True)  # type: ignore[arg-type]
    conn.call("create_collection", "qa", vectors_config={})
    with pytest.raises(QAError, match="is a collection.*another name"):
        qa.build(write_corpus(tmp_path / "corpus"), location, embedder=embedder)


# ------------------------------------------------------------------ faults


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> str:
    tmp = tmp_path_factory.mktemp("faults")
    location = f"qdrant:{tmp / 'q'}"
    qa.build(write_corpus(tmp / "corpus"), location, embedder=embedder)
    return location


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server(tmp_path: Path, embedder: Embedder) -> None:
    location = f"qdrant://127.0.0.1:{_free_port()}/articles"
    with pytest.raises(StoreUnavailableError, match="cannot reach the Qdrant server.*running"):
        open_store(location)
    assert live_build(location) is None
    with pytest.raises(StoreUnavailableError):
        qa.build(write_corpus(tmp_path / "corpus"), location, embedder=embedder)


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A stand-in on 127.0.0.1 that answers every request as Qdrant does to a wrong key."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": {"error": "Invalid API key or JWT"}}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"qdrant://127.0.0.1:{server.server_address[1]}/articles"
    server.shutdown()
    server.server_close()


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_a_wrong_api_key(refusing_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_QDRANT_API_KEY", "wrong")
    with pytest.raises(QAError, match="refused.*403.*QA_QDRANT_API_KEY") as raised:
        open_store(refusing_server)
    assert not isinstance(raised.value, StoreUnavailableError)


def test_no_alias_says_to_build(tmp_path: Path) -> None:
    location = f"qdrant:{tmp_path / 'q'}"
    connect(parse(location), create=True)  # type: ignore[arg-type]  # an empty local Qdrant
    with pytest.raises(IndexNotReadyError, match="no index found.*qa build --index qdrant:"):
        open_store(location)
    assert live_build(location) is None and live_manifest(location) is None


def test_an_alias_on_a_collection_qa_did_not_write(tmp_path: Path) -> None:
    from qdrant_client import models

    location = f"qdrant:{tmp_path / 'q'}"
    conn = connect(parse(location), create=True)  # type: ignore[arg-type]
    for name in ("docs", "docs-meta"):
        conn.call("create_collection", name, vectors_config={})
        conn.call("update_collection_aliases", [models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=name, alias_name="qa"))])  # fmt: skip
        with pytest.raises(IndexNotReadyError, match="not an index qa wrote.*another name"):
            open_store(location)


def _set_meta(location: str, change: dict[str, object]) -> None:
    conn = connect(parse(location))  # type: ignore[arg-type]
    target = live_target(conn)
    meta = conn.call("retrieve", target, [0], with_payload=True)[0].payload
    conn.call("overwrite_payload", target, payload={**meta, **change}, points=[0])


def test_another_model_or_format(built: str, embedder: Embedder) -> None:
    good = open_store(built).manifest.to_dict()
    try:
        _set_meta(built, {"manifest": {**good, "model": "another-model"}})
        with pytest.raises(IndexNotReadyError, match="another-model.*qa build --model"):
            qa.load(built, embedder=embedder)
        _set_meta(built, {"manifest": good, "layout": 99})
        with pytest.raises(IndexNotReadyError, match="layout 99.*upgrade qa"):
            open_store(built)
        _set_meta(built, {"manifest": {**good, "format_version": 0}, "layout": 1})
        with pytest.raises(IndexNotReadyError, match="format 0.*qa build"):
            open_store(built)
    finally:
        _set_meta(built, {"manifest": good, "layout": 1})
    open_store(built)


def test_a_server_that_goes_away_while_serving(built: str, embedder: Embedder) -> None:
    from qdrant_client import QdrantClient

    retriever = qa.load(built, embedder=embedder)
    assert retriever.ask("Who leads the coalition?").answered
    store = retriever.store
    gone = QdrantClient(url=f"http://127.0.0.1:{_free_port()}", timeout=2,
                        check_compatibility=False)  # fmt: skip
    real = store.conn.client  # type: ignore[attr-defined]
    store.conn.client = gone  # type: ignore[attr-defined]
    try:
        with pytest.raises(StoreUnavailableError, match="cannot reach"):
            retriever.ask("Who leads the coalition?")
    finally:
        store.conn.client = real  # type: ignore[attr-defined]
    assert retriever.ask("Who leads the coalition?").answered  # and back again


# ------------------------------------------------------------------ the command


def test_the_command_on_a_qdrant_index(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa build / ask / eval --index qdrant:PATH answer as the folder store does."""
    from qa.cli import main

    questions = str(SEED_QUESTIONS)
    out: dict[str, list[object]] = {}
    for name, location in (("folder", str(tmp_path / "index")),
                           ("qdrant", f"qdrant:{tmp_path / 'q'}")):  # fmt: skip
        assert main(["build", "--corpus", str(seed_corpus), "--index", location]) == 0
        capsys.readouterr()
        assert main(["ask", "Who leads the coalition?", "--index", location, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert main(["eval", questions, "--index", location, "--json"]) == 0
        out[name] = [answer, json.loads(capsys.readouterr().out)]
    assert out["folder"][0] == out["qdrant"][0]  # rounded to 4 places, as the API shows it
    _assert_close(out["folder"][1], out["qdrant"][1])


def _assert_close(a: object, b: object) -> None:
    """Equal JSON, floats to 1e-6 (the confidences are printed in full)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_close(a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-6)
    else:
        assert a == b
