"""Bad corpus files, broken indexes, a full disk, rebuilds under a live reader, no pickle.

Every fault here is listed in docs/reliability.md with what the user sees.
"""

from __future__ import annotations

import ast
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.cli import main
from qa.corpus import MAX_FILE_BYTES, read_corpus
from qa.embed import Embedder
from qa.errors import CorpusError, IndexNotReadyError, QAError

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "nato-coalition-of-the-willing-ukraine.txt"

QUESTIONS = [
    "Who leads the coalition of the willing?",
    "Where did the defence ministers meet?",
    "What is the reassurance force for?",
    "What did John Healey say?",
    "How do I bake sourdough bread?",
]
GOOD_TEXT = (
    "Lighthouse Keeping\n"
    "Duties\n"
    "The keeper lit the lamp at dusk and trimmed the wick every four hours.\n"
    "Supplies\n"
    "Oil for the lamp arrived by boat once a month from the mainland.\n"
)


def answers(retriever: qa.Retriever) -> list[dict[str, object]]:
    return [retriever.ask(q).to_dict() for q in QUESTIONS]


# ------------------------------------------------------------------ bad corpus files


def _bad_corpus(root: Path, outside: Path) -> dict[str, str]:
    """A corpus folder with one of every bad file; returns path -> expected reason."""
    root.mkdir()
    shutil.copy(SEED, root / SEED.name)
    (root / "good.txt").write_text(GOOD_TEXT)
    (root / "latin1.txt").write_bytes(
        "Caf\xe9 notes\nThe caf\xe9 opens at nine.\n".encode("latin-1")
    )
    (root / "empty.txt").write_text("")
    (root / "blank.md").write_text("\n   \n\t\n")
    (root / "bom-only.txt").write_bytes(b"\xef\xbb\xbf\x01\x02\n")
    (root / "headings.md").write_text("# Title\n\n## One\n\n## Two\n")
    (root / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    (root / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with open(root / "huge.txt", "wb") as f:  # sparse: no disk space used
        f.truncate(MAX_FILE_BYTES + 1)
    (root / "odd-faq.txt").write_text(
        "Odd FAQ\nIntro\nA paragraph before the questions is here.\n"
        "FAQ\n- Is this the first question?\n- Yes it is.\n- Is there a second one?\n"
    )
    (outside / "secret.txt").write_text("Secret\nThe password is swordfish.\n")
    os.symlink(outside / "secret.txt", root / "escape.txt")
    os.symlink(outside, root / "linked-folder")
    os.symlink(root / "missing.txt", root / "dangling.txt")
    os.mkfifo(root / "pipe.txt")
    # A later copy of a seed paragraph, plus a paragraph of its own.
    seed_paragraph = SEED.read_text("utf-8").splitlines()[2]
    (root / "quoted.txt").write_text(
        f"Duplicates\nCopied\n{seed_paragraph}\nOwn text here, unique.\n"
    )
    (root / "same-a.txt").write_text("Same Title\nAlpha\nThe first file has this title.\n")
    (root / "same-b.txt").write_text("Same Title\nBeta\nThe second file has it too.\n")
    (root / ".swap.txt").write_text("Editor swap\nHidden files are ignored.\n")
    return {
        "latin1.txt:1": "not UTF-8 text (byte 0xe9); save the file as UTF-8",
        "empty.txt": "file is empty; add a title line and paragraphs, or delete it",
        "blank.md": "file is empty",
        "bom-only.txt": "file has no visible text",
        "headings.md": "no paragraphs, only a title and headings",
        "binary.txt": "looks like a binary file",
        "photo.png": "not a .txt or .md file",
        "huge.txt": "over the 32 MiB limit; split it into several files",
        "odd-faq.txt:7": "FAQ question has no answer",
        "escape.txt": "links outside the corpus folder",
        "linked-folder": "links to a folder, which is not read",
        "dangling.txt": "broken link",
        "pipe.txt": "not a regular file",
        "quoted.txt:3": "duplicate of the paragraph at nato-coalition-of-the-willing-ukraine.txt:3",
    }


def test_bad_files_are_skipped_and_listed_and_good_files_build(
    tmp_path: Path, embedder: Embedder
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    expected = _bad_corpus(tmp_path / "corpus", outside)
    report = qa.build(tmp_path / "corpus", tmp_path / "index", embedder=embedder)

    skipped = {s.path: s.reason for s in report.skipped}
    assert set(skipped) == set(expected), "every bad file is listed, nothing else"
    for path, reason in expected.items():
        assert reason in skipped[path], path
    manifest = json.loads((tmp_path / "index" / "current" / "manifest.json").read_text())
    assert manifest["skipped"] == [{"path": s.path, "reason": s.reason} for s in report.skipped]

    # Good files, and the good parts of quoted.txt, still build and answer.
    titles = {d["title"] for d in manifest["documents"]}
    assert {"Lighthouse Keeping", "Duplicates"} <= titles
    assert {"Same Title (same-a.txt)", "Same Title (same-b.txt)"} <= titles
    assert "Editor swap" not in titles and "Secret" not in titles
    retriever = qa.load(tmp_path / "index", embedder=embedder)
    answer = retriever.ask("How often did the oil for the lamp arrive?")
    assert answer.answered and answer.passage is not None
    assert answer.passage.doc == "Lighthouse Keeping"
    texts = [p.text for p in retriever.passages]
    assert len(texts) == len(set(texts)), "a duplicate paragraph is indexed once"
    assert not any("swordfish" in t for t in texts)


def test_strict_build_names_the_first_bad_file_and_keeps_the_old_index(
    tmp_path: Path, seed_corpus: Path, embedder: Embedder
) -> None:
    qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    before = answers(qa.load(tmp_path / "index", embedder=embedder))
    (seed_corpus / "empty.txt").write_text("")
    with pytest.raises(CorpusError, match=r"^empty\.txt: file is empty"):
        qa.build(seed_corpus, tmp_path / "index", embedder=embedder, strict=True)
    assert answers(qa.load(tmp_path / "index", embedder=embedder)) == before


def test_a_corpus_with_no_usable_file_says_which_files_failed(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    (corpus / "latin1.txt").write_bytes(b"Caf\xe9\n")
    with pytest.raises(CorpusError) as err:
        qa.build(corpus, tmp_path / "index", embedder=embedder)
    message = str(err.value)
    assert "no document with paragraphs" in message
    assert "empty.txt: file is empty" in message and "latin1.txt" in message
    assert not (tmp_path / "index" / "current").exists()


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="corpus folder not found"):
        read_corpus(tmp_path / "nope")


def test_a_very_large_paragraph_builds_and_is_found(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = " ".join(f"Filler sentence number {i} is about nothing much." for i in range(300))
    needle = "The harbour master keeps the spare keys in a blue tin."
    (corpus / "long.txt").write_text(f"Long\nOne paragraph\n{filler} {needle} {filler}\n")
    report = qa.build(corpus, tmp_path / "index", embedder=embedder)
    assert report.passages == 1
    answer = qa.load(tmp_path / "index", embedder=embedder).ask(
        "Where does the harbour master keep the spare keys?"
    )
    assert answer.passage is not None and answer.passage.sentence == needle


def test_cli_build_prints_every_skipped_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD_TEXT)
    (corpus / "empty.txt").write_text("")
    (corpus / "latin1.txt").write_bytes(b"Caf\xe9\n")
    assert main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "index")]) == 0
    err = capsys.readouterr().err
    assert "skipped empty.txt: file is empty" in err
    assert "skipped latin1.txt:1: not UTF-8 text (byte 0xe9)" in err
    assert (
        main(["build", "--strict", "--corpus", str(corpus), "--index", str(tmp_path / "i2")]) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("qa: error: empty.txt: file is empty") and "Traceback" not in err


# ------------------------------------------------------------------ broken index


@pytest.fixture
def index_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A private copy of the seed build folder, to break."""
    folder = tmp_path / "index" / "build-1"
    shutil.copytree(seed_index / "current", folder)
    os.symlink("build-1", tmp_path / "index" / "current")
    return folder


def _edit_manifest(**changes: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.update(changes)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return edit


def _truncate(name: str) -> Callable[[Path], None]:
    def cut(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return cut


def _garble(name: str) -> Callable[[Path], None]:
    def garble(folder: Path) -> None:
        path = folder / name
        data = bytearray(path.read_bytes())
        data[: min(len(data), 64)] = os.urandom(min(len(data), 64))
        path.write_bytes(bytes(data))

    return garble


def _delete(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _other_dimension(folder: Path) -> None:
    """A complete, consistent index whose vectors have 8 dimensions."""
    import faiss

    units = np.load(folder / "units.npy")
    vectors = np.random.default_rng(0).standard_normal((len(units), 8)).astype(np.float32)
    np.save(folder / "vectors.npy", vectors)
    index = faiss.IndexFlatIP(8)
    index.add(vectors[units[:, 1] <= 1])
    faiss.write_index(index, str(folder / "units.faiss"))
    _edit_manifest(dimension=8)(folder)


BROKEN = {
    "faiss truncated": (_truncate("units.faiss"), "index is damaged"),
    "faiss garbled": (_garble("units.faiss"), "index is damaged"),
    "faiss missing": (_delete("units.faiss"), "index is damaged"),
    "manifest not JSON": (_garble("manifest.json"), "index is damaged"),
    "manifest missing": (_delete("manifest.json"), "no index found"),
    "manifest without counts": (_edit_manifest(counts=None), "index is damaged"),
    "passages line not JSON": (_truncate("passages.jsonl"), "index is damaged"),
    "passages missing": (_delete("passages.jsonl"), "index is damaged"),
    "faqs missing": (_delete("faqs.jsonl"), "index is damaged"),
    "vectors truncated": (_truncate("vectors.npy"), "index is damaged"),
    "vectors garbled": (_garble("vectors.npy"), "index is damaged"),
    "units missing": (_delete("units.npy"), "index is damaged"),
    "bm25 vocab missing": (_delete("bm25/vocab.index.json"), "index is damaged"),
    "bm25 data truncated": (_truncate("bm25/data.csc.index.npy"), "index is damaged"),
    "counts disagree": (
        _edit_manifest(counts={"passages": 1, "faqs": 4, "vectors": 35}),
        "do not match the manifest",
    ),
    "manifest dimension wrong": (_edit_manifest(dimension=512), "do not match the manifest"),
    "other model name": (
        _edit_manifest(model="other-model"),
        "built with model 'other-model', not 'all-MiniLM-L6-v2'",
    ),
    "model changed": (_edit_manifest(model_fingerprint="0123456789abcdef"), "has changed"),
    "model dimension differs": (_other_dimension, "8 dimensions but model"),
    "newer format": (_edit_manifest(format_version=99), "index format 99 is newer"),
    "format not a number": (_edit_manifest(format_version="1"), "index is damaged"),
}


@pytest.mark.parametrize("fault", list(BROKEN))
def test_broken_index_raises_a_qaerror_that_says_how_to_fix_it(
    fault: str, index_copy: Path, embedder: Embedder
) -> None:
    damage, message = BROKEN[fault]
    damage(index_copy)
    with pytest.raises(IndexNotReadyError) as err:
        qa.load(index_copy.parent, embedder=embedder)
    text = str(err.value)
    assert message in text
    assert "qa build" in text and "\n" not in text
    assert str(index_copy.parent) in text


def test_dangling_current_link_and_missing_index_say_run_qa_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="no index found; run `qa build`"):
        qa.load(tmp_path / "never-built")
    (tmp_path / "index").mkdir()
    os.symlink("build-gone", tmp_path / "index" / "current")
    with pytest.raises(IndexNotReadyError, match="no index found; run `qa build`"):
        qa.load(tmp_path / "index")


def test_index_for_a_model_that_is_not_installed_fails_at_load(index_copy: Path) -> None:
    _edit_manifest(model="no-such-model")(index_copy)
    with pytest.raises(QAError, match="cannot load model 'no-such-model'"):
        qa.load(index_copy.parent)


def test_cli_reports_a_broken_index_in_one_line(
    index_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _truncate("units.faiss")(index_copy)
    assert main(["ask", "Who leads?", "--index", str(index_copy.parent)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: ") and err.count("\n") == 1
    assert "run `qa build` to rebuild it" in err


# ------------------------------------------------------------------ writes and rebuilds


def test_a_full_disk_fails_the_build_cleanly_and_keeps_the_old_index(
    tmp_path: Path, seed_corpus: Path, embedder: Embedder
) -> None:
    qa.build(seed_corpus, tmp_path / "index", embedder=embedder)
    before = answers(qa.load(tmp_path / "index", embedder=embedder))
    (seed_corpus / "more.txt").write_text(GOOD_TEXT)

    def small_files() -> None:
        # Files over 16 KiB fail with EFBIG, as a full disk fails with ENOSPC.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa",
            "build",
            "--corpus",
            str(seed_corpus),
            "--index",
            str(tmp_path / "index"),
        ],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"qa: error: {tmp_path / 'index'}: cannot write the index (")
    assert "free some space" in last
    assert "Traceback" not in run.stderr
    assert answers(qa.load(tmp_path / "index", embedder=embedder)) == before
    assert not list((tmp_path / "index").glob(".tmp-*")), "the half-written build is removed"


def test_a_reader_keeps_its_index_while_a_rebuild_replaces_and_deletes_it(
    tmp_path: Path, seed_corpus: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    old = qa.load(index, embedder=embedder)
    before = answers(old)
    before_search = [p.id for p in old.search(QUESTIONS[0], k=5)]

    # A different corpus: the new build answers differently.
    (seed_corpus / SEED.name).unlink()
    (seed_corpus / "good.txt").write_text(GOOD_TEXT)
    during: list[list[dict[str, object]]] = []
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            qa.build(seed_corpus, index, embedder=embedder)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    builder = threading.Thread(target=rebuild)
    builder.start()
    while builder.is_alive():
        during.append(answers(old))
    builder.join()
    assert not errors
    assert during and all(a == before for a in during)

    assert not old.folder.exists(), "the old build folder was deleted"
    assert answers(old) == before, "memory maps outlive the deleted files"
    assert [p.id for p in old.search(QUESTIONS[0], k=5)] == before_search
    new = qa.load(index, embedder=embedder)
    assert new.folder != old.folder and answers(new) != before


def test_loading_while_builds_swap_the_index_always_succeeds(
    tmp_path: Path, seed_corpus: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    qa.build(seed_corpus, index, embedder=embedder)
    stop = threading.Event()
    loads: list[Path] = []
    errors: list[BaseException] = []

    def keep_loading() -> None:
        while not stop.is_set():
            try:
                loads.append(qa.load(index, embedder=embedder).folder)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

    reader = threading.Thread(target=keep_loading)
    reader.start()
    try:
        for i in range(3):
            (seed_corpus / "extra.txt").write_text(GOOD_TEXT.replace("four", str(i + 5)))
            qa.build(seed_corpus, index, embedder=embedder)
    finally:
        stop.set()
        reader.join()
    assert not errors, errors[:1]
    assert len(set(loads)) >= 2, "loads happened across at least one swap"


def test_build_folder_is_fsynced_before_the_swap(
    tmp_path: Path, seed_corpus: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file and folder of a build is fsynced, and nothing is written in place."""
    synced: set[str] = set()
    real_fsync = os.fsync

    def record(fd: int) -> None:
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    swapped: list[Path] = []
    monkeypatch.setattr(os, "fsync", record)
    qa.build(
        seed_corpus,
        tmp_path / "index",
        embedder=embedder,
        before_swap=lambda folder: swapped.append(folder),
    )
    monkeypatch.undo()
    tmp_folder = swapped[0]
    assert tmp_folder.name.startswith(".tmp-build-")
    live = (tmp_path / "index" / "current").resolve()
    for path in [live, *live.rglob("*")]:
        written = tmp_folder / path.relative_to(live)
        assert str(written) in synced, f"{path.name} was not fsynced"
    assert str(tmp_path / "index") in synced, "the swap itself is fsynced"


# ------------------------------------------------------------------ no pickle, no eval


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_no_pickle_or_eval_on_any_load_path() -> None:
    sources = sorted((ROOT / "qa").rglob("*.py")) + [ROOT / "app.py"]
    for path in sources:
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(
                    n.split(".")[0] in {"pickle", "dill", "joblib", "marshal"} for n in names
                ), f"{path.name}:{node.lineno} imports a pickler"
        for call in _calls(tree):
            name = ast.unparse(call.func)
            assert name not in {"eval", "exec", "compile", "torch.load"}, (
                f"{path.name}:{call.lineno} calls {name}"
            )
            keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
            assert keywords.get("allow_pickle", "False") == "False", f"{path.name}:{call.lineno}"
            if name.endswith(("np.load", "BM25.load")):
                assert keywords.get("allow_pickle") == "False", (
                    f"{path.name}:{call.lineno}: {name} must say allow_pickle=False"
                )


def test_built_index_holds_no_pickled_data(seed_index: Path) -> None:
    folder = seed_index / "current"
    for path in folder.rglob("*.npy"):
        array = np.load(path, allow_pickle=False)  # raises on object arrays
        assert array.dtype != object
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks pickled"
    model = Path(__import__("qa.embed").embed.resolve_model("all-MiniLM-L6-v2"))
    weights = {p.name for p in model.iterdir()}
    assert "model.safetensors" in weights and "pytorch_model.bin" not in weights
