"""The live index (qa/live.py): rebuild at start, reload on a new build, keep the model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import qa
from qa.embed import Embedder
from qa.errors import IndexNotReadyError, QAError
from qa.live import LiveIndex
from qa.store.local.files import build_dir
from tests.support.samples import HOSTILE, HOSTILE_QUESTION, IN_SCOPE


def current_target(index: Path) -> str:
    return os.readlink(index / "current")


def test_start_builds_a_missing_index_with_the_serving_embedder(
    seed_corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    live = LiveIndex(seed_corpus, tmp_path / "index", embedder=embedder)
    live.prepare()
    retriever = live.get()
    assert retriever.embedder is embedder
    assert "there was no index" in live.status()
    assert "1 document · 7 passages · 4 FAQ pairs · index built " in live.status()


def test_start_does_not_rebuild_a_current_index(live: LiveIndex, embedder: Embedder) -> None:
    before = current_target(live.index)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert current_target(live.index) == before
    assert again.notice == ""


def test_start_rebuilds_once_when_the_corpus_changed(live: LiveIndex, embedder: Embedder) -> None:
    before = current_target(live.index)
    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert current_target(live.index) != before
    assert "corpus changed" in again.notice
    assert again.get().manifest.counts.documents == 2
    assert again.get().embedder is embedder


def test_start_rebuilds_an_unreadable_index(live: LiveIndex, embedder: Embedder) -> None:
    (build_dir(live.index) / "vectors.npy").write_bytes(b"not numpy")
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "could not be used, so it was rebuilt" in again.notice
    assert again.get().ask(IN_SCOPE).answered


@pytest.mark.parametrize("scheme", ["term_scheme", "unit_scheme"])
def test_start_rebuilds_an_index_from_an_older_scheme(
    live: LiveIndex, embedder: Embedder, scheme: str
) -> None:
    # An index from a qa whose terms() differed (no "term_scheme" in its
    # manifest) would match question words against the wrong vocabulary; one
    # whose passages were embedded as other texts ("unit_scheme") would lack
    # signals the ranker was fitted on.
    manifest_path = build_dir(live.index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest[scheme]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexNotReadyError, match="older qa.*run `qa build`"):
        qa.load(live.index, embedder=embedder)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "could not be used, so it was rebuilt" in again.notice
    assert again.get().ask(IN_SCOPE).answered


def test_start_uses_the_model_the_index_was_built_with(live: LiveIndex) -> None:
    manifest_path = build_dir(live.index) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model"] = "no-such-model"
    manifest_path.write_text(json.dumps(manifest))
    again = LiveIndex(live.corpus, live.index)
    assert again.embedder.name == "no-such-model"
    again.prepare()
    with pytest.raises(QAError) as err:
        again.get()
    assert "cannot load model 'no-such-model'" in str(err.value) and "--model" in str(err.value)
    assert "\n" not in str(err.value)


def test_start_serves_the_old_index_when_the_rebuild_fails(
    live: LiveIndex, embedder: Embedder
) -> None:
    shutil.rmtree(live.corpus)
    again = LiveIndex(live.corpus, live.index, embedder=embedder)
    again.prepare()
    assert "Could not rebuild the index" in again.notice and "corpus" in again.notice
    assert again.get().ask(IN_SCOPE).answered


def test_start_fails_in_one_line_with_no_index_and_no_corpus(
    tmp_path: Path, embedder: Embedder
) -> None:
    live = LiveIndex(tmp_path / "missing", tmp_path / "index", embedder=embedder)
    live.prepare()
    with pytest.raises(QAError) as err:
        live.get()
    assert "cannot rebuild the index" in str(err.value) and "\n" not in str(err.value)


def test_a_new_build_is_served_on_the_next_question(live: LiveIndex, embedder: Embedder) -> None:
    old = live.get()
    before = old.ask(HOSTILE_QUESTION)
    assert before.passage is None or "lighthouse" not in before.passage.text
    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    qa.build(live.corpus, live.index, embedder=embedder)
    new = live.get()
    assert new is not old and new.embedder is old.embedder is embedder
    answer = new.ask(HOSTILE_QUESTION)
    assert answer.answered and "lighthouse keeper" in answer.passage.text  # type: ignore[union-attr]
    assert "Index reloaded at" in live.status() and "2 documents" in live.status()
    assert live.get() is new  # no second load


def test_an_unloadable_new_build_keeps_the_old_one(live: LiveIndex, embedder: Embedder) -> None:
    old = live.get()

    def damage(folder: Path) -> None:
        (folder / "passages.jsonl").write_text("{not json\n")

    (live.corpus / "harbour.txt").write_text(HOSTILE, encoding="utf-8")
    qa.build(live.corpus, live.index, embedder=embedder, before_swap=damage)
    assert live.get() is old
    assert "could not be loaded" in live.status()
    assert live.get().ask(IN_SCOPE).answered
